//! `manyi serve` refuses to start on a database it cannot use, at once, with one line that
//! says which database, which backend and why — and exits non-zero. None of these needs a
//! database server: they are all failures to reach or to name one.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest a refused start-up may take (an unreachable server is refused by the store's
/// connect time-out of 10 s at worst; these fail at once).
const PROMPT: Duration = Duration::from_secs(15);

/// `manyi serve --database URL`, with no `MANYI_*` variable of the caller's.
fn serve(database: &str, extra: &[&str]) -> (Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_manyi"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MANYI_") {
            cmd.env_remove(key);
        }
    }
    let started = Instant::now();
    let out = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args(extra)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run manyi serve");
    (out, started.elapsed())
}

/// Asserts a prompt failure whose message contains every one of `needles`; returns stderr.
fn refused(database: &str, extra: &[&str], needles: &[&str]) -> String {
    let (out, took) = serve(database, extra);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{database}: started anyway:\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{database}:\n{stderr}");
    assert!(took < PROMPT, "{database}: took {took:?}");
    assert!(
        !stderr.contains("listening"),
        "{database}: listened before failing:\n{stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{database}: {stderr}");
    for needle in needles {
        assert!(
            last.contains(needle),
            "{database}: `{needle}` not in `{last}`"
        );
    }
    last.to_owned()
}

#[test]
fn an_unreachable_postgres_server_is_named_with_the_reason() {
    let message = refused(
        "postgres://nobody@127.0.0.1:1/x",
        &[],
        &[
            "PostgreSQL",
            "postgres://nobody@127.0.0.1:1/x",
            "cannot be reached",
            "Connection refused",
        ],
    );
    // Said once, not repeated by each layer of the error.
    assert_eq!(
        message.matches("Connection refused").count(),
        1,
        "{message}"
    );
}

#[test]
fn an_unknown_url_scheme_is_refused_rather_than_taken_for_a_file_name() {
    refused("mysql://x", &[], &["--database", "mysql://x", "`mysql`"]);
}

#[test]
fn a_password_in_the_url_is_never_printed() {
    let message = refused(
        "postgres://manyi:s3cret-pw@127.0.0.1:1/x",
        &[],
        &["postgres://manyi:***@127.0.0.1:1/x"],
    );
    assert!(!message.contains("s3cret-pw"), "{message}");
}

#[test]
fn a_sqlite_file_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("no/such/dir/manyi.db");
    let path = path.to_str().expect("a UTF-8 path");
    refused(path, &[], &["SQLite", path, "unable to open database file"]);
}

#[test]
fn an_in_memory_sqlite_database_is_refused() {
    refused("sqlite::memory:", &[], &["--database", "in-memory"]);
}

#[test]
fn a_missing_clock_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("manyi.db");
    let clock = dir.path().join("missing-clock");
    let clock = clock.to_str().expect("a UTF-8 path");
    refused(
        db.to_str().expect("a UTF-8 path"),
        &["--clock-file", clock],
        &["--clock-file", clock],
    );
}
