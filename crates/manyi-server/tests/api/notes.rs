//! Internal notes and attachments over the API: a note is an event on the case's log; files
//! are kept in the database, limited in size and type, and served only as downloads.

use hyper::{Method, StatusCode};
use manyi_server::ServerConfig;
use serde_json::json;

use crate::helpers::*;

fn multipart(filename: &str, content_type: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "b0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_note_is_appended_to_the_log_and_an_empty_one_names_the_field() {
    let app = spawn_app().await;
    let teller = token(TELLER);
    let case = app.open_complaint(&teller).await;
    let number = case["number"].as_str().expect("number");
    let path = format!("/api/v1/cases/{number}/notes");
    let (status, _, body) = app.post_json(&path, &teller, &json!({"note": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
    assert_eq!(field_errors(&body), [("note".into(), "required".into())]);

    let (status, _, log) = app
        .post_json(&path, &teller, &json!({"note": "客户补充了转账凭证"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{log:#}");
    let last = log.as_array().and_then(|l| l.last()).expect("events");
    assert_eq!(last["type"], "noted");
    assert_eq!(last["note"], "客户补充了转账凭证");
    assert_eq!(last["actor"]["login"], TELLER);
    // The stored log still replays to the stored case.
    let replayed = replay_stored_log(&app.store, number).await;
    assert_eq!(replayed.version, 2);

    let (status, _, _) = app
        .post_json(&path, &token(SH_TELLER), &json!({"note": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn attachments_are_listed_downloaded_and_refused_beyond_the_limit_or_outside_the_types() {
    let app = spawn_app_with(ServerConfig {
        attachment_limit: 1000,
        ..ServerConfig::default()
    })
    .await;
    let teller = token(TELLER);
    let case = app.open_complaint(&teller).await;
    let number = case["number"].as_str().expect("number");
    let path = format!("/api/v1/cases/{number}/attachments");

    let (ct, body) = multipart("说明.txt", "text/plain", "柜台排队四十分钟".as_bytes());
    let (status, _, created) = app.post_raw(&path, &teller, &ct, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created:#}");
    assert_eq!(created["filename"], "说明.txt");
    assert_eq!(created["content_type"], "text/plain");
    assert_eq!(created["uploaded_by"]["login"], TELLER);

    let (status, _, list) = app.get(&path, &teller).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let url = list[0]["url"].as_str().expect("url");
    let (status, headers, content) = app.get(url, &teller).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content, "柜台排队四十分钟");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("filename*=UTF-8''%E8%AF%B4%E6%98%8E.txt")
    );

    let (ct, body) = multipart("big.txt", "text/plain", &[b'a'; 1001]);
    let (status, _, problem) = app.post_raw(&path, &teller, &ct, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem:#}");
    let (ct, body) = multipart("x.svg", "image/svg+xml", b"<svg onload=alert(1)/>");
    let (status, _, _) = app.post_raw(&path, &teller, &ct, body).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = app.post_raw(&path, &teller, "text/plain", "hi").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let other = token(SH_TELLER);
    assert_eq!(app.get(&path, &other).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(url, &other).await.0, StatusCode::NOT_FOUND);
    let (ct, body) = multipart("a.txt", "text/plain", b"a");
    let (status, _, _) = app
        .send(
            Method::POST,
            &path,
            Auth::Bearer(&other),
            &[],
            Some((&ct, body)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
