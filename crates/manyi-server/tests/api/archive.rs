//! Archive and need-to-know reading (ccb-counter 第二十二条): a closed case becomes read-only 30
//! days after closing, filed by year; only the archive's reader roles and the first-contact
//! owner read it; every attempt is logged.

use hyper::StatusCode;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{
    BRANCH_HEAD, OUTLET_HEAD, SH_TELLER, TELLER, TestApp, assert_problem, spawn_app, token,
};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Registers a ccb-counter complaint at 2026-03-10 10:00 (+08:00) and closes it at once, after
/// the callback.
async fn closed_ccb_case(app: &TestApp) -> String {
    let teller = token(TELLER);
    let case = app.open_ccb_complaint(&teller).await;
    let number = case["number"].as_str().expect("number").to_owned();
    app.take(&number, &teller, "start_handling", json!({}))
        .await;
    app.take(
        &number,
        &teller,
        "reply",
        json!({ "handling_result": "已增开对公窗口。", "reply_channel": "phone" }),
    )
    .await;
    // 第二十二条: the outlet head calls the customer back (回访), then archives.
    let (status, _, called) = app
        .post_json(
            &format!("/api/v1/cases/{number}/callback/verdict"),
            &token(OUTLET_HEAD),
            &json!({ "verdict": "satisfied", "channel": "phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{called:#}");
    let case = app
        .take(
            &number,
            &token(OUTLET_HEAD),
            "close_after_callback",
            json!({ "analysis": "高峰时段窗口不足。" }),
        )
        .await;
    assert_eq!(case["closed"], true);
    number
}

#[tokio::test]
async fn a_closed_case_is_archived_after_thirty_days_and_becomes_read_only() {
    let app = spawn_app().await;
    let number = closed_ccb_case(&app).await;

    // Closed on 10 March; the closing day is not counted: archived at 24:00 on 9 April.
    app.clock.set(t("2026-04-09T23:59:00+08:00"));
    let (status, _, case) = app.show(&number, &token(OUTLET_HEAD)).await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    assert!(case.get("archive").is_none(), "{case:#}");

    app.clock.set(t("2026-04-10T00:00:00+08:00"));
    let (status, _, case) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    assert_eq!(case["archive"]["reference"], format!("2026-{number}"));
    assert_eq!(case["archive"]["year"], 2026);
    assert_eq!(case["archive"]["clause"], "第二十二条");
    assert_eq!(case["actions"], json!([]));

    // Any action on it is refused naming the clause, and nothing changes.
    let before = app.events(&number, &token(BRANCH_HEAD)).await.len();
    let reply = app
        .transition(
            &number,
            &token(BRANCH_HEAD),
            "reply",
            json!({ "handling_result": "再次致歉", "reply_channel": "phone" }),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "archived");
    assert_eq!(problem["clause"], "第二十二条");
    assert_eq!(app.events(&number, &token(BRANCH_HEAD)).await.len(), before);
}

#[tokio::test]
async fn reading_an_archived_case_is_need_to_know_and_every_read_is_logged() {
    let app = spawn_app().await;
    let number = closed_ccb_case(&app).await;
    app.clock.set(t("2026-05-01T09:00:00+08:00"));

    // The outlet head handled it, but holds no reader role: refused (403, naming the clause),
    // on the case and on its log alike.
    let reply = app.show(&number, &token(OUTLET_HEAD)).await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["clause"], "第二十二条");
    let reply = app
        .get(
            &format!("/api/v1/cases/{number}/events"),
            &token(OUTLET_HEAD),
        )
        .await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    // Outside jurisdiction it does not exist (and nothing is logged).
    let (status, _, _) = app.show(&number, &token(SH_TELLER)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The first-contact owner and a reader role read it.
    let (status, _, _) = app.show(&number, &token(TELLER)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(status, StatusCode::OK);

    // The log: who, when, how, granted or not; only reader roles see it.
    let reply = app
        .get(&format!("/api/v1/cases/{number}/reads"), &token(TELLER))
        .await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
    let (status, _, reads) = app
        .get(
            &format!("/api/v1/cases/{number}/reads"),
            &token(BRANCH_HEAD),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reads:#}");
    let rows: Vec<(String, String, String, bool)> = reads
        .as_array()
        .expect("reads")
        .iter()
        .map(|r| {
            (
                r["login"].as_str().unwrap().to_owned(),
                r["interface"].as_str().unwrap().to_owned(),
                r["what"].as_str().unwrap().to_owned(),
                r["granted"].as_bool().unwrap(),
            )
        })
        .collect();
    let row = |l: &str, w: &str, g: bool| (l.to_owned(), "api".to_owned(), w.to_owned(), g);
    assert_eq!(
        rows,
        [
            row(OUTLET_HEAD, "case", false),
            row(OUTLET_HEAD, "events", false),
            row(TELLER, "case", true),
            row(BRANCH_HEAD, "case", true),
        ]
    );
    assert_eq!(reads[0]["at"], "2026-05-01T09:00:00+08:00");

    // The yearly file: what the reader may read, with its reference.
    let (status, _, list) = app
        .get("/api/v1/archive?year=2026", &token(BRANCH_HEAD))
        .await;
    assert_eq!(status, StatusCode::OK, "{list:#}");
    assert_eq!(list[0]["number"], Value::from(number.clone()));
    assert_eq!(list[0]["reference"], format!("2026-{number}"));
    let (_, _, list) = app
        .get("/api/v1/archive?year=2026", &token(OUTLET_HEAD))
        .await;
    assert_eq!(list, json!([]));
    let (_, _, list) = app
        .get("/api/v1/archive?year=2025", &token(BRANCH_HEAD))
        .await;
    assert_eq!(list, json!([]));
    let reply = app
        .get("/api/v1/archive?year=abc", &token(BRANCH_HEAD))
        .await;
    assert_eq!(reply.0, StatusCode::BAD_REQUEST);
}
