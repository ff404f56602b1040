//! `/assets/{file}` — the stylesheet, a little JavaScript and htmx, embedded in the binary.
//!
//! Pages link them with `?v=<content hash>`, so they can be cached for a year: a new build
//! with different assets links new URLs.

use std::sync::OnceLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::templates::WebError;
use crate::error::AppError;
use crate::json::ApiPath;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx.min.js"),
    ),
];

/// A short hash of all assets, for cache-busting URLs.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        // FNV-1a: not for security, only to change when the bytes change.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (_, _, bytes) in FILES {
            for b in *bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{:08x}", h >> 32)
    })
}

/// `GET /assets/{file}`.
pub async fn serve(ApiPath(file): ApiPath<String>) -> Result<Response, WebError> {
    let Some((_, content_type, bytes)) = FILES.iter().find(|(name, ..)| *name == file) else {
        return Err(AppError::NotFound(format!("no asset {file}")).into());
    };
    let mut response = (StatusCode::OK, *bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
