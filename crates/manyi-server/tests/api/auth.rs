//! Signing in with a password: an HttpOnly session cookie that works until logout or until the
//! session's time is up.

use hyper::header::SET_COOKIE;
use hyper::{HeaderMap, Method, StatusCode};
use jiff::SignedDuration;
use manyi_server::ServerConfig;

use crate::helpers::{Auth, PASSWORD, TELLER, TestApp, assert_problem, spawn_app, spawn_app_with};

/// The `Set-Cookie` header of a reply.
fn set_cookie(headers: &HeaderMap) -> String {
    let all: Vec<&str> = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII cookie"))
        .collect();
    assert_eq!(all.len(), 1, "exactly one cookie: {all:?}");
    all[0].to_owned()
}

/// The `name=value` pair of a `Set-Cookie` header, ready for a `Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .expect("a cookie pair")
        .trim()
        .to_owned()
}

async fn signed_in(app: &TestApp) -> String {
    let (status, headers, body) = app.login(TELLER, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    cookie_pair(&set_cookie(&headers))
}

async fn me(app: &TestApp, cookie: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = app
        .send(Method::GET, "/api/v1/me", Auth::Cookie(cookie), &[], None)
        .await;
    (status, body)
}

#[tokio::test]
async fn logging_in_sets_an_http_only_same_site_cookie_that_authenticates_me() {
    let app = spawn_app().await;

    let (status, headers, body) = app.login(TELLER, PASSWORD).await;

    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["login"], TELLER);
    let cookie = set_cookie(&headers);
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let (name, value) = attributes[0].split_once('=').expect("name=value");
    assert_eq!(name, "manyi_session");
    assert_eq!(value.len(), 64, "a 256-bit random token, hex");
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    assert!(attributes.contains(&"SameSite=Lax"), "{cookie}");
    assert!(attributes.contains(&"Path=/"), "{cookie}");
    assert!(attributes.contains(&"Max-Age=43200"), "12 hours: {cookie}");
    assert!(
        !attributes.contains(&"Secure"),
        "not Secure unless configured: {cookie}"
    );

    let (status, me) = me(&app, &cookie_pair(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{me:#}");
    assert_eq!(me["login"], TELLER);
    assert_eq!(me["unit"], "BJHD01");
    assert_eq!(me["roles"], serde_json::json!(["frontline", "teller"]));
}

#[tokio::test]
async fn a_wrong_password_is_refused_exactly_like_an_unknown_login() {
    let app = spawn_app().await;

    let wrong_password = app.login(TELLER, "not the password").await;
    let unknown_login = app.login("nobody", PASSWORD).await;

    let wrong = assert_problem(&wrong_password, StatusCode::FORBIDDEN, "forbidden");
    let unknown = assert_problem(&unknown_login, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        wrong, unknown,
        "the answer must not tell which logins exist"
    );
    assert!(wrong_password.1.get(SET_COOKIE).is_none());
    assert!(unknown_login.1.get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = spawn_app().await;
    let cookie = signed_in(&app).await;
    assert_eq!(me(&app, &cookie).await.0, StatusCode::OK);

    let (status, headers, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/logout",
            Auth::Cookie(&cookie),
            &[],
            None,
        )
        .await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = set_cookie(&headers);
    assert!(cleared.starts_with("manyi_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie is dead on the server, not only forgotten by the browser.
    let reply = app
        .send(Method::GET, "/api/v1/me", Auth::Cookie(&cookie), &[], None)
        .await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_session_expires_after_its_time_to_live() {
    let app = spawn_app().await;
    let ttl = app.state.config.session_ttl;
    let cookie = signed_in(&app).await;

    app.clock.advance(ttl - SignedDuration::from_secs(1));
    assert_eq!(
        me(&app, &cookie).await.0,
        StatusCode::OK,
        "still valid a second before the end"
    );

    app.clock.advance(SignedDuration::from_secs(1));
    let reply = app
        .send(Method::GET, "/api/v1/me", Auth::Cookie(&cookie), &[], None)
        .await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_forged_session_cookie_is_unauthenticated() {
    let app = spawn_app().await;
    let reply = app
        .send(
            Method::GET,
            "/api/v1/me",
            Auth::Cookie(&format!("manyi_session={}", "0".repeat(64))),
            &[],
            None,
        )
        .await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn the_health_check_answers_without_credentials() {
    let app = spawn_app().await;
    let (status, _, body) = app
        .send(Method::GET, "/healthz", Auth::None, &[], None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(
        body,
        serde_json::json!({ "status": "ok", "backend": app.backend() })
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_server_is_configured_for_tls() {
    let app = spawn_app_with(ServerConfig {
        secure_cookies: true,
        ..Default::default()
    })
    .await;
    let (status, headers, body) = app.login(TELLER, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let cookie = set_cookie(&headers);
    assert!(
        cookie.split(';').map(str::trim).any(|a| a == "Secure"),
        "{cookie}"
    );
}
