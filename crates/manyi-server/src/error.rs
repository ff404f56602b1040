//! One error story for the HTTP API: every handler returns `Result<_, AppError>`; errors become
//! `application/problem+json` (RFC 9457) here, in one place. Internal errors are logged once,
//! with a request id and without personal data, and the client gets only that id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use manyi_core::engine::{FieldError, Refusal, RefusalReason};
use manyi_core::policy::Diagnostic;
use manyi_store::StoreError;
use serde::Serialize;

/// An error a handler can return.
#[derive(Debug)]
pub enum AppError {
    /// 400: the request is malformed (bad JSON, unknown JSON field, bad query parameter).
    BadRequest(String),
    /// 401: no valid session or token.
    Unauthenticated,
    /// 403: authenticated, but not allowed.
    Forbidden(String),
    /// 404: no such thing, or not visible to this user (we do not reveal which).
    NotFound(String),
    /// 409: the request conflicts with the current state.
    Conflict(String),
    /// 410: the thing existed but is no longer usable (an expired survey link).
    Gone(String),
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge(usize),
    /// 415: the body is not of a type this endpoint reads.
    UnsupportedMediaType(String),
    /// 422: per-field validation errors.
    Invalid {
        detail: String,
        fields: Vec<FieldError>,
    },
    /// 422: a policy file with errors.
    InvalidPolicy(Vec<Diagnostic>),
    /// A refusal by the case engine: the status depends on the reason.
    Refused(Refusal),
    /// 503: the database is unreachable or overloaded (see [`is_unavailable`]); retry.
    Unavailable,
    /// 500: a bug or an unexpected failure. The message is logged, never sent.
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, key } => AppError::NotFound(format!("no {what} `{key}`")),
            StoreError::Duplicate { what, key } => {
                AppError::Conflict(format!("{what} `{key}` already exists"))
            }
            StoreError::Conflict => AppError::Conflict(
                "the case was changed by someone else meanwhile; reload and try again".into(),
            ),
            StoreError::Invalid { what, reason } => AppError::Invalid {
                detail: format!("{what}: {reason}"),
                fields: Vec::new(),
            },
            StoreError::Database(ref db) if is_unavailable(db) => {
                // Logged (without the request: nothing personal) so that an outage shows in
                // the log; the client gets 503 and `Retry-After`.
                tracing::warn!(error = %describe(db), "database unavailable (503 for a request)");
                AppError::Unavailable
            }
            other => {
                let source = std::error::Error::source(&other)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default();
                AppError::Internal(format!("{other}{source}"))
            }
        }
    }
}

/// Whether a driver error means "the database cannot be reached right now" — a restart, a
/// failover, a network cut, a full pool — rather than a bug or bad data. These become 503
/// with `Retry-After`; the pool opens fresh connections by itself once the server is back
/// (each idle connection is tested before it is handed out, so dead ones are dropped).
///
/// - the connection itself: `Io` (reset, refused, EOF), `Protocol` (the stream broke off
///   mid-message), `PoolTimedOut` (no connection within the acquire time-out: the server is
///   down or every connection is busy), `PoolClosed` (shutting down), `WorkerCrashed`;
/// - PostgreSQL's SQLSTATEs of class 08 (connection exception), 57P01 `admin_shutdown` (the
///   server is stopping or restarting: what a connection in use sees), 57P02
///   `crash_shutdown`, 57P03 `cannot_connect_now` (still starting up), and class 53
///   (insufficient resources: 53100 `disk_full`, 53200 `out_of_memory`, 53300
///   `too_many_connections` — several instances above the server's `max_connections`);
/// - SQLite's `SQLITE_BUSY` and `SQLITE_FULL` ([`is_transient_sqlite_code`]).
///
/// A 503 does not prove that nothing was written: a connection lost during `COMMIT` leaves
/// the outcome unknown. A retry with the same `Idempotency-Key` is safe either way.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            // SQLSTATEs are PostgreSQL's; SQLite's codes are numbers with other meanings.
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                return is_connection_sqlstate(pg.code());
            }
            db.try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .and_then(|e| sqlx::error::DatabaseError::code(e)?.parse::<i32>().ok())
                .is_some_and(is_transient_sqlite_code)
        }
        _ => false,
    }
}

/// SQLite result codes (extended; the primary code is the low byte) that say the database
/// cannot take the write right now, not that the request was wrong: `SQLITE_BUSY` (5: another
/// process, a CLI import say, held the lock past the busy time-out) and `SQLITE_FULL` (13: the
/// disk is full). Both pass once the operator (or the other process) is done; until then a
/// 503 with `Retry-After` says so, where a 500 would say manyi is broken.
fn is_transient_sqlite_code(extended: i32) -> bool {
    matches!(extended & 0xff, 5 | 13)
}

/// A driver error for the log: a server's message with its SQLSTATE (rather than sqlx's
/// `Display`, which appends the line of the server's C source that raised it).
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_owned(),
        },
        other => other.to_string(),
    }
}

/// SQLSTATEs that say the connection or the server went away, not that the request was wrong.
fn is_connection_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// The RFC 9457 body.
#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    clause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<RefusalReason>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<DiagnosticBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

#[derive(Serialize)]
struct DiagnosticBody {
    severity: &'static str,
    line: usize,
    column: usize,
    message: String,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &'static str, detail: String) -> Problem {
        Problem {
            kind: format!("https://manyi.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail,
            clause: None,
            reason: None,
            errors: Vec::new(),
            diagnostics: Vec::new(),
            request_id: None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        use StatusCode as S;
        let problem = match self {
            AppError::BadRequest(d) => {
                Problem::new(S::BAD_REQUEST, "bad-request", "Bad request", d)
            }
            AppError::Unauthenticated => Problem::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                "Not signed in",
                "sign in, or send `Authorization: Bearer <token>`".into(),
            ),
            AppError::Forbidden(d) => Problem::new(S::FORBIDDEN, "forbidden", "Forbidden", d),
            AppError::NotFound(d) => Problem::new(S::NOT_FOUND, "not-found", "Not found", d),
            AppError::Conflict(d) => Problem::new(S::CONFLICT, "conflict", "Conflict", d),
            AppError::Gone(d) => Problem::new(S::GONE, "gone", "Gone", d),
            AppError::PayloadTooLarge(limit) => Problem::new(
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
                format!("the body exceeds the limit of {limit} bytes"),
            ),
            AppError::UnsupportedMediaType(d) => Problem::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                d,
            ),
            AppError::Invalid { detail, fields } => {
                let mut p = Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Validation failed",
                    detail,
                );
                p.errors = fields;
                p
            }
            AppError::InvalidPolicy(diagnostics) => {
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                let mut p = Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "invalid-policy",
                    "The policy has errors",
                    format!("{errors} error(s); nothing was stored or activated"),
                );
                p.diagnostics = diagnostics
                    .into_iter()
                    .map(|d| DiagnosticBody {
                        severity: if d.is_error() { "error" } else { "warning" },
                        line: d.line,
                        column: d.column,
                        message: d.message,
                    })
                    .collect();
                p
            }
            AppError::Refused(r) => {
                let (status, slug, title) = match r.reason {
                    RefusalReason::InvalidFields | RefusalReason::UnknownKind => {
                        (S::UNPROCESSABLE_ENTITY, "validation", "Validation failed")
                    }
                    RefusalReason::RoleNotAllowed
                    | RefusalReason::OutsideJurisdiction
                    | RefusalReason::Recused
                    | RefusalReason::SelfDecision
                    | RefusalReason::NotIndependent => {
                        (S::FORBIDDEN, "refused", "Refused by the policy")
                    }
                    RefusalReason::OutOfRange
                    | RefusalReason::ReasonRequired
                    | RefusalReason::NotSubstantiated => {
                        (S::UNPROCESSABLE_ENTITY, "refused", "Refused by the policy")
                    }
                    RefusalReason::ConditionError => (
                        S::UNPROCESSABLE_ENTITY,
                        "policy-condition",
                        "A policy condition could not be evaluated",
                    ),
                    RefusalReason::UnknownAction
                    | RefusalReason::SoftRule
                    | RefusalReason::WrongState
                    | RefusalReason::ConditionFailed
                    | RefusalReason::NoParentUnit
                    | RefusalReason::AlreadyAppealed
                    | RefusalReason::CallbackOwed
                    | RefusalReason::Archived => (S::CONFLICT, "refused", "Refused by the policy"),
                };
                let mut p = Problem::new(status, slug, title, r.message_zh.clone());
                p.clause = r.clause;
                p.reason = Some(r.reason);
                p.errors = r.fields;
                // Both languages travel: `detail` is Chinese first, `detail_en` follows below.
                p.detail = format!("{} / {}", r.message_zh, r.message);
                p
            }
            AppError::Unavailable => {
                let p = Problem::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "the database is unavailable right now; retry shortly (creates sent with an \
                     Idempotency-Key are safe to retry: they never open a second case)"
                        .into(),
                );
                let mut response = problem_response(p);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
            AppError::Internal(message) => {
                let request_id = crate::auth::random_token(8);
                // Logged once, here. Store errors carry no personal data by construction.
                tracing::error!(%request_id, error = %message, "internal error");
                let mut p = Problem::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    format!("an internal error occurred; quote request id {request_id}"),
                );
                p.request_id = Some(request_id);
                p
            }
        };
        problem_response(problem)
    }
}

fn problem_response(p: Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(p)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_unavailable_and_other_errors_are_not() {
        let io = |kind| sqlx::Error::Io(std::io::Error::from(kind));
        for e in [
            io(std::io::ErrorKind::ConnectionRefused),
            io(std::io::ErrorKind::ConnectionReset),
            io(std::io::ErrorKind::UnexpectedEof),
            sqlx::Error::Protocol("unexpected end of stream".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(is_unavailable(&e), "{e}");
            let app: AppError = StoreError::Database(e).into();
            assert!(matches!(app, AppError::Unavailable), "{app:?}");
        }
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
            sqlx::Error::Decode("bad".into()),
        ] {
            assert!(!is_unavailable(&e), "{e}");
        }
    }

    #[test]
    fn connection_class_sqlstates_are_unavailable() {
        for code in [
            "08000", "08003", "08006", "08P01", "57P01", "57P02", "57P03", "53000", "53100",
            "53200", "53300", "53400",
        ] {
            assert!(is_connection_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "40P01", "57014", "42P01", "22P02"] {
            assert!(!is_connection_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_busy_or_full_sqlite_database_is_unavailable_and_other_sqlite_errors_are_not() {
        // Extended codes: SQLITE_BUSY_SNAPSHOT (517) and SQLITE_BUSY_TIMEOUT (773) are BUSY.
        for code in [5, 517, 773, 13] {
            assert!(is_transient_sqlite_code(code), "{code}");
        }
        // SQLITE_CONSTRAINT_UNIQUE, _FOREIGNKEY, SQLITE_ERROR, SQLITE_READONLY, SQLITE_CORRUPT,
        // SQLITE_IOERR (a failing disk is not "try again in a second").
        for code in [2067, 787, 1, 8, 11, 10, 266] {
            assert!(!is_transient_sqlite_code(code), "{code}");
        }
    }

    #[test]
    fn a_503_carries_retry_after_and_a_problem_body() {
        let response = AppError::Unavailable.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static("1"))
        );
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/problem+json"))
        );
    }
}
