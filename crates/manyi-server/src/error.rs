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
            StoreError::BatchFailed {
                ref cause,
                transient: true,
            } => {
                tracing::warn!(error = %cause, "database unavailable (503 for a request)");
                AppError::Unavailable
            }
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

/// Whether a driver error means "the database cannot take this right now" (an outage, a full
/// pool, a full disk) rather than a bug or bad data: these become 503 with `Retry-After`. The
/// classification is the store's ([`manyi_store::is_transient`], which lists the cases), so
/// that a group commit can give each write of a failed batch the class of the batch's error.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    manyi_store::is_transient(e)
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

    /// Which driver errors are transient is the store's test (`manyi_store::is_transient`);
    /// this one checks what the server makes of each class.
    #[test]
    fn a_transient_database_error_is_a_503_and_another_is_a_500() {
        let app: AppError = StoreError::Database(sqlx::Error::PoolTimedOut).into();
        assert!(matches!(app, AppError::Unavailable), "{app:?}");
        let app: AppError = StoreError::Database(sqlx::Error::Decode("bad".into())).into();
        assert!(matches!(app, AppError::Internal(_)), "{app:?}");
    }

    #[test]
    fn a_failed_batch_is_a_503_only_if_its_cause_passes() {
        let app: AppError = StoreError::BatchFailed {
            cause: "terminating connection due to administrator command".into(),
            transient: true,
        }
        .into();
        assert!(matches!(app, AppError::Unavailable), "{app:?}");
        let app: AppError = StoreError::BatchFailed {
            cause: "a bug".into(),
            transient: false,
        }
        .into();
        assert!(
            matches!(app, AppError::Internal(ref m) if m.contains("a bug")),
            "{app:?}"
        );
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
