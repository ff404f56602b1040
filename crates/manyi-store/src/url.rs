//! Reading a database URL into the backend it names.
//!
//! The rule is "never a silent fallback": a URL is SQLite only when it says so (`sqlite:`) or
//! is plainly a path (no `://`); `postgres://` and `postgresql://` are PostgreSQL; any other
//! scheme is an error that names it. Otherwise `mysql://…` would quietly become a SQLite file
//! called `mysql:`.

use std::path::PathBuf;

use crate::StoreError;

/// The backend a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A SQLite database file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, as given (the driver parses the rest, and its complaints
    /// become [`StoreError::Connect`]).
    Postgres(String),
}

pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
    if let Some(rest) = strip_prefix_ignore_case(url, "sqlite://")
        .or_else(|| strip_prefix_ignore_case(url, "sqlite:"))
    {
        if rest.contains('?') {
            return Err(invalid(
                "query parameters are not supported in a sqlite URL; use StoreOptions",
            ));
        }
        return sqlite_path(rest);
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(Target::Postgres(url.to_owned())),
            _ => Err(StoreError::BadUrl {
                scheme: scheme.to_owned(),
            }),
        };
    }
    sqlite_path(url)
}

fn sqlite_path(path: &str) -> Result<Target, StoreError> {
    if path.is_empty() {
        return Err(invalid("no SQLite file path given"));
    }
    // Each pooled connection to `:memory:` would get its own private, empty database: the
    // readers would never see what the writer wrote.
    if path == ":memory:" || path.starts_with("file::memory:") || path.contains("mode=memory") {
        return Err(invalid(
            "an in-memory SQLite database cannot be shared by the writer and the readers; \
             give a file path",
        ));
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

fn invalid(reason: &str) -> StoreError {
    StoreError::Invalid {
        what: "database URL",
        reason: reason.to_owned(),
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The URL without a password or query string, fit for error messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let without_query = url.split_once('?').map_or(url, |(head, _)| head);
    let Some((scheme, rest)) = without_query.split_once("://") else {
        return without_query.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => without_query.to_owned(),
        },
        None => without_query.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(p: &str) -> Target {
        Target::Sqlite(PathBuf::from(p))
    }

    #[test]
    fn sqlite_urls_and_bare_paths_name_a_file() {
        assert_eq!(
            parse("sqlite:data/manyi.db").ok(),
            Some(sqlite("data/manyi.db"))
        );
        assert_eq!(
            parse("sqlite://data/manyi.db").ok(),
            Some(sqlite("data/manyi.db"))
        );
        assert_eq!(
            parse("sqlite:///var/lib/manyi.db").ok(),
            Some(sqlite("/var/lib/manyi.db"))
        );
        assert_eq!(parse("SQLite:x.db").ok(), Some(sqlite("x.db")));
        assert_eq!(parse("/tmp/manyi.db").ok(), Some(sqlite("/tmp/manyi.db")));
        assert_eq!(parse("manyi.db").ok(), Some(sqlite("manyi.db")));
    }

    #[test]
    fn postgres_urls_name_postgres_in_either_spelling() {
        for url in [
            "postgres://u:p@localhost/manyi",
            "postgresql://localhost/manyi",
            "POSTGRES://localhost/manyi?sslmode=disable",
        ] {
            assert_eq!(
                parse(url).ok(),
                Some(Target::Postgres(url.to_owned())),
                "{url}"
            );
        }
    }

    #[test]
    fn an_unknown_scheme_is_an_error_that_names_it() {
        let err = parse("mysql://localhost/manyi").err();
        assert!(matches!(&err, Some(StoreError::BadUrl { scheme }) if scheme == "mysql"));
        assert!(
            err.map(|e| e.to_string())
                .unwrap_or_default()
                .contains("`mysql`")
        );
    }

    #[test]
    fn in_memory_and_empty_sqlite_urls_are_refused() {
        for url in [
            "sqlite::memory:",
            ":memory:",
            "sqlite:",
            "",
            "sqlite:x.db?mode=rwc",
        ] {
            assert!(
                matches!(parse(url), Err(StoreError::Invalid { .. })),
                "{url:?}"
            );
        }
    }

    #[test]
    fn redaction_removes_passwords_and_query_strings() {
        assert_eq!(
            redact("postgres://manyi:s3cret@db:5432/manyi?sslmode=require"),
            "postgres://manyi:***@db:5432/manyi"
        );
        assert_eq!(redact("postgres://db/manyi"), "postgres://db/manyi");
        assert_eq!(
            redact("postgres://manyi@db/manyi"),
            "postgres://manyi@db/manyi"
        );
        assert_eq!(redact("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
    }
}
