//! Bad input is refused at the edge with a precise problem, never a 500: per-field errors are
//! 422 and all reported at once, a malformed request is 400, and so on.

use hyper::{Method, StatusCode};
use manyi_server::ServerConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{
    ADMIN, Auth, TELLER, TestApp, assert_problem, complaint, field_errors, shipped_policy,
    spawn_app, spawn_app_with, token,
};

/// A valid complaint with some fields replaced (`null` removes one).
fn complaint_with(changes: Value) -> Value {
    let mut body = complaint();
    let fields = body["fields"].as_object_mut().expect("fields");
    for (k, v) in changes.as_object().expect("an object of changes") {
        if v.is_null() {
            fields.remove(k);
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
    body
}

/// Registers `body` and returns the `(field, code)` pairs of the 422 it must get; nothing may
/// be stored.
async fn rejected_fields(app: &TestApp, body: &Value) -> Vec<(String, String)> {
    let reply = app.create_case(&token(TELLER), body).await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(problem["reason"], "invalid_fields", "{problem:#}");
    assert!(
        app.listed_numbers(&token(ADMIN)).await.is_empty(),
        "a refused case was stored"
    );
    field_errors(&problem)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = list
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_resident_id_with_a_wrong_check_digit_is_rejected() {
    let app = spawn_app().await;
    let body = complaint_with(json!({ "id_number": "110105194912310021" }));
    assert_eq!(
        rejected_fields(&app, &body).await,
        pairs(&[("id_number", "resident_id.checksum")])
    );
}

#[tokio::test]
async fn a_choice_outside_its_options_is_rejected() {
    let app = spawn_app().await;
    let body = complaint_with(json!({ "category": "rudeness" }));
    assert_eq!(
        rejected_fields(&app, &body).await,
        pairs(&[("category", "choice.unknown")])
    );
}

#[tokio::test]
async fn a_missing_required_field_is_rejected() {
    let app = spawn_app().await;
    let body = complaint_with(json!({ "matter": null }));
    assert_eq!(
        rejected_fields(&app, &body).await,
        pairs(&[("matter", "required")])
    );
}

#[tokio::test]
async fn a_blank_required_field_counts_as_missing() {
    let app = spawn_app().await;
    let body = complaint_with(json!({ "customer_demand": "   " }));
    assert_eq!(
        rejected_fields(&app, &body).await,
        pairs(&[("customer_demand", "required")])
    );
}

#[tokio::test]
async fn a_malformed_phone_number_is_rejected() {
    let app = spawn_app().await;
    let body = complaint_with(json!({ "contact_phone": "12345" }));
    assert_eq!(
        rejected_fields(&app, &body).await,
        pairs(&[("contact_phone", "phone.mobile")])
    );
}

#[tokio::test]
async fn a_field_the_policy_does_not_declare_is_rejected() {
    let app = spawn_app().await;
    let body = complaint_with(json!({ "favourite_colour": "blue" }));
    assert_eq!(
        rejected_fields(&app, &body).await,
        pairs(&[("favourite_colour", "unknown")])
    );
}

#[tokio::test]
async fn every_invalid_field_of_a_request_is_reported_at_once_one_entry_per_field() {
    let app = spawn_app().await;
    let body = complaint_with(json!({
        "id_number": "110105194912310021",
        "category": "rudeness",
        "matter": null,
        "contact_phone": "12345",
        "favourite_colour": "blue",
    }));

    let reply = app.create_case(&token(TELLER), &body).await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        pairs(&[
            ("category", "choice.unknown"),
            ("contact_phone", "phone.mobile"),
            ("favourite_colour", "unknown"),
            ("id_number", "resident_id.checksum"),
            ("matter", "required"),
        ])
    );
    for error in problem["errors"].as_array().expect("errors") {
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty())
                && error["message_zh"].as_str().is_some_and(|m| !m.is_empty()),
            "every error explains itself in both languages: {error:#}"
        );
    }
    assert_eq!(problem["detail"], "5 个字段有误 / 5 fields are invalid");
}

#[tokio::test]
async fn invalid_fields_of_a_transition_are_rejected_and_change_nothing() {
    let app = spawn_app().await;
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number");

    let reply = app
        .transition(
            number,
            &token(TELLER),
            "assess",
            json!({ "category": "attitude", "severity": "apocalyptic", "validity": "valid" }),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        pairs(&[("severity", "code.unknown")])
    );
    assert_eq!(problem["clause"], "ISO 10002 8.5");
    let (_, _, after) = app.show(number, &token(TELLER)).await;
    assert_eq!(after["state"], "registered");
    assert_eq!(after["version"], 1);
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = spawn_app().await;
    let reply = app
        .post_raw(
            "/api/v1/cases",
            &token(TELLER),
            "application/json",
            r#"{"kind": "complaint", "channel": "#,
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.starts_with("invalid JSON body"), "{detail}");
    assert!(detail.contains("line 1"), "says where: {detail}");
}

#[tokio::test]
async fn an_unknown_top_level_key_is_a_bad_request() {
    let app = spawn_app().await;
    let mut body = complaint();
    body["priority"] = json!("urgent");
    let reply = app.create_case(&token(TELLER), &body).await;
    let problem = assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("unknown field `priority`"), "{detail}");
}

#[tokio::test]
async fn an_unknown_key_in_a_transition_is_a_bad_request() {
    let app = spawn_app().await;
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number");
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{number}/transitions"),
            &token(TELLER),
            &json!({ "action": "assess", "feilds": {} }),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("unknown field `feilds`")),
        "{problem:#}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_an_unsupported_media_type() {
    let app = spawn_app().await;
    let json_text = serde_json::to_vec(&complaint()).expect("serialisable");
    let reply = app
        .post_raw("/api/v1/cases", &token(TELLER), "text/plain", json_text)
        .await;
    assert_problem(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );

    let reply = app
        .post_raw(
            "/api/v1/cases",
            &token(TELLER),
            "application/x-www-form-urlencoded",
            "kind=complaint",
        )
        .await;
    assert_problem(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_payload_too_large() {
    let app = spawn_app_with(ServerConfig {
        body_limit: 1024,
        ..Default::default()
    })
    .await;
    let body = complaint_with(json!({ "matter": "很".repeat(1000) }));
    assert!(serde_json::to_vec(&body).expect("serialisable").len() > 1024);

    let reply = app.create_case(&token(TELLER), &body).await;

    let problem = assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("1024")),
        "names the limit: {problem:#}"
    );
    assert!(app.listed_numbers(&token(ADMIN)).await.is_empty());

    // Under the limit, the same server accepts a complaint.
    app.open_complaint(&token(TELLER)).await;
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_without_a_content_length_is_payload_too_large() {
    let app = spawn_app_with(ServerConfig {
        body_limit: 1024,
        ..Default::default()
    })
    .await;
    // Raw HTTP/1.1 with a chunked body: the server cannot tell the size up front and must
    // stop reading at the limit.
    let chunk = "x".repeat(600);
    let request = format!(
        "POST /api/v1/cases HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n\
         {len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
        addr = app.addr,
        token = token(TELLER),
        len = chunk.len(),
    );
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read the response");
    let response = String::from_utf8_lossy(&response);

    assert!(
        response.starts_with("HTTP/1.1 413 "),
        "expected 413: {response}"
    );
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{response}"
    );
    assert!(app.listed_numbers(&token(ADMIN)).await.is_empty());
}

#[tokio::test]
async fn a_policy_upload_over_the_limit_is_payload_too_large_in_the_same_problem_format() {
    let app = spawn_app_with(ServerConfig {
        body_limit: 1024,
        ..Default::default()
    })
    .await;
    let source = shipped_policy("default-complaint.toml");
    assert!(source.len() > 1024);

    let reply = app
        .post_raw(
            "/api/v1/policies",
            &token(ADMIN),
            "application/toml",
            source,
        )
        .await;

    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
}

#[tokio::test]
async fn a_request_without_credentials_is_unauthenticated() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&complaint()).expect("serialisable");
    for (method, path, body) in [
        (Method::GET, "/api/v1/cases", None),
        (Method::GET, "/api/v1/me", None),
        (
            Method::POST,
            "/api/v1/cases",
            Some(("application/json", body)),
        ),
    ] {
        let reply = app.send(method, path, Auth::None, &[], body).await;
        let problem = assert_problem(&reply, StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Bearer"))
        );
    }
    assert!(app.listed_numbers(&token(ADMIN)).await.is_empty());
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&complaint()).expect("serialisable");
    let unknown = app.get("/api/v1/cases", "not-a-token").await;
    assert_problem(&unknown, StatusCode::UNAUTHORIZED, "unauthenticated");

    let posted = app
        .send(
            Method::POST,
            "/api/v1/cases",
            Auth::Bearer("not-a-token"),
            &[],
            Some(("application/json", body)),
        )
        .await;
    assert_problem(&posted, StatusCode::UNAUTHORIZED, "unauthenticated");

    let basic = app
        .send(
            Method::GET,
            "/api/v1/me",
            Auth::None,
            &[("authorization", "Basic dGVsbGVyOnB3")],
            None,
        )
        .await;
    assert_problem(&basic, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert!(app.listed_numbers(&token(ADMIN)).await.is_empty());
}

#[tokio::test]
async fn an_unknown_endpoint_is_not_found_as_problem_json() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/complaints", &token(TELLER)).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn a_bad_query_parameter_is_a_bad_request() {
    let app = spawn_app().await;
    for query in [
        "limit=many",
        "colour=red",
        "created_from=yesterday",
        "cursor=abc",
    ] {
        let reply = app
            .get(&format!("/api/v1/cases?{query}"), &token(TELLER))
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    }
}
