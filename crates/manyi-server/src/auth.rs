//! Who is calling: sessions for browsers, bearer tokens for programs.
//!
//! Passwords are hashed with Argon2id. Session ids and API tokens are random 256-bit values;
//! only their BLAKE2s hash is stored, so a database dump does not hand out live credentials.
//! Both live in the database, so a session works on every instance (nothing per-instance).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use blake2::{Blake2s256, Digest};
use jiff::SignedDuration;
use manyi_store::User;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::AppError;
use crate::json::ApiJson;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "manyi_session";

/// A random token of `bytes` bytes, hex-encoded.
pub fn random_token(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let b: u8 = rand::random();
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What is stored for a token: its BLAKE2s-256 hash, hex-encoded.
pub fn token_hash(token: &str) -> String {
    Blake2s256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes a password (Argon2id, a random salt, default parameters), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h: PasswordHash| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored Argon2 PHC string (false for a malformed hash).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The signed-in user, from a bearer token or the session cookie. Rejects with 401.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.0.roles.iter().any(|r| r == "admin")
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "this needs the `admin` role / 需要系统管理员角色".into(),
            ))
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            // The scheme is case-insensitive (RFC 9110 §11.1).
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token)
                .ok_or(AppError::Unauthenticated)?;
            let user = state.store.token_user(&token_hash(token.trim())).await?;
            return user.map(CurrentUser).ok_or(AppError::Unauthenticated);
        }
        if let Some(session) = session_cookie(&parts.headers) {
            let now = state.clock.now();
            let user = state.store.session_user(&token_hash(&session), now).await?;
            return user.map(CurrentUser).ok_or(AppError::Unauthenticated);
        }
        Err(AppError::Unauthenticated)
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

/// The public view of a user.
#[derive(Serialize)]
pub struct UserBody {
    pub login: String,
    pub name: String,
    pub unit: String,
    pub roles: Vec<String>,
    /// Cannot sign in; sessions and tokens are refused.
    pub disabled: bool,
}

impl From<&User> for UserBody {
    fn from(u: &User) -> Self {
        UserBody {
            login: u.login.clone(),
            name: u.name.clone(),
            unit: u.unit_code.clone(),
            roles: u.roles.clone(),
            disabled: u.disabled,
        }
    }
}

/// `POST /api/v1/auth/login`: checks the password, opens a session, sets the cookie.
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let user = state.store.user_by_login(&req.login).await?;
    // Verify against a dummy hash when the user does not exist, so that the response time
    // does not tell which logins exist.
    let ok = match user.as_ref().and_then(|u| u.password_hash.as_deref()) {
        Some(phc) => verify_password(&req.password, phc),
        None => {
            let _ = verify_password(&req.password, DUMMY_HASH);
            false
        }
    };
    // A disabled user gets the same answer as a wrong password: nothing about the account
    // is revealed to whoever is trying.
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        return Err(AppError::Forbidden(
            "wrong login or password / 用户名或密码错误".into(),
        ));
    };
    let token = random_token(32);
    let now = state.clock.now();
    let expires = now
        .checked_add(state.config.session_ttl)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .store
        .create_session(&token_hash(&token), user.id, now, expires)
        .await?;
    let cookie = session_cookie_header(
        &token,
        state.config.session_ttl,
        state.config.secure_cookies,
    );
    Ok(([(SET_COOKIE, cookie)], axum::Json(UserBody::from(&user))).into_response())
}

/// `POST /api/v1/auth/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(session) = session_cookie(&headers) {
        state.store.delete_session(&token_hash(&session)).await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    Ok(([(SET_COOKIE, cookie)], axum::http::StatusCode::NO_CONTENT).into_response())
}

/// `GET /api/v1/me`.
pub async fn me(user: CurrentUser) -> axum::Json<UserBody> {
    axum::Json(UserBody::from(&user.0))
}

fn session_cookie_header(token: &str, ttl: SignedDuration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// A valid Argon2id hash of a random password, for constant-time failure on unknown logins.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3y3cqDFq0XrGZBRH/4ubGVzZnOMHnb8X2Cyzp1iXL3o";
