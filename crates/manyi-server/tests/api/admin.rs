//! Keeping the organisation up to date over the API: editing and disabling users, removing
//! empty units.

use hyper::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_disabled_users_token_stops_working_and_works_again_once_enabled() {
    let app = spawn_app().await;
    let admin = token(ADMIN);
    let teller = token(TELLER);
    assert_eq!(app.get("/api/v1/me", &teller).await.0, StatusCode::OK);
    let (status, _, body) = app
        .post_json("/api/v1/users/teller/disable", &admin, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["disabled"], true);
    assert_eq!(
        app.get("/api/v1/me", &teller).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login(TELLER, PASSWORD).await.0, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .post_json("/api/v1/users/teller/enable", &admin, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", &teller).await.0, StatusCode::OK);
    // Only an administrator, and never on themselves.
    let (status, _, _) = app
        .post_json("/api/v1/users/outlet_head/disable", &teller, &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .post_json("/api/v1/users/admin/disable", &admin, &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_user_is_edited_and_an_edit_without_roles_names_the_field() {
    let app = spawn_app().await;
    let admin = token(ADMIN);
    let body = json!({"name": "柜员王二", "unit": "BJHD01", "roles": ["teller", "frontline"]});
    let bytes = serde_json::to_vec(&body).expect("json");
    let (status, _, edited) = app
        .send(
            Method::PUT,
            "/api/v1/users/teller",
            Auth::Bearer(&admin),
            &[],
            Some(("application/json", bytes)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited:#}");
    assert_eq!(edited["name"], "柜员王二");
    let bad =
        serde_json::to_vec(&json!({"name": "x", "unit": "BJHD01", "roles": []})).expect("json");
    let reply = app
        .send(
            Method::PUT,
            "/api/v1/users/teller",
            Auth::Bearer(&admin),
            &[],
            Some(("application/json", bad)),
        )
        .await;
    assert_eq!(reply.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_errors(&reply.2),
        [("roles".into(), "required".into())]
    );
}

#[tokio::test]
async fn only_an_empty_unit_is_deleted_and_the_refusal_says_what_it_still_has() {
    let app = spawn_app().await;
    let admin = token(ADMIN);
    let (status, _, problem) = app
        .send(
            Method::DELETE,
            "/api/v1/units/BJHD01",
            Auth::Bearer(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem:#}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("user(s)"),
        "{problem:#}"
    );
    let (status, _, _) = app
        .post_json(
            "/api/v1/units",
            &admin,
            &json!({"code": "EMPTY", "name": "空", "level": "outlet", "parent": "BJHD"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = app
        .send(
            Method::DELETE,
            "/api/v1/units/EMPTY",
            Auth::Bearer(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = app
        .send(
            Method::DELETE,
            "/api/v1/units/EMPTY",
            Auth::Bearer(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
