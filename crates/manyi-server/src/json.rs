//! JSON bodies with errors in our problem+json shape: malformed JSON and unknown fields are
//! 400 with serde's message (line and column), an oversized body is 413, a missing JSON
//! content type is 415.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::AppError;

/// A JSON body, parsed into `T`.
pub struct ApiJson<T>(pub T);

/// The raw bytes of a JSON body (for hashing an idempotent request), checked for size and
/// content type.
pub struct JsonBytes(pub Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(AppError::UnsupportedMediaType(
                "send the body as `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge(state.config.body_limit)
            } else {
                AppError::BadRequest(rejection.body_text())
            }
        })?;
        Ok(JsonBytes(bytes))
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming where it went wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
}

/// A raw body (e.g. a TOML policy), with the size limit mapped to our 413 problem.
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge(state.config.body_limit)
                } else {
                    AppError::BadRequest(rejection.body_text())
                }
            })
    }
}

/// Path parameters, with a malformed one (bad percent-encoding, a non-number where a number
/// belongs) as a 400 problem rather than axum's plain text.
pub struct ApiPath<T>(pub T);

impl<T> axum::extract::FromRequestParts<AppState> for ApiPath<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| AppError::BadRequest(e.body_text()))
    }
}
