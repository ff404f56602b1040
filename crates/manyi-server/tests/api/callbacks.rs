//! 回访 (callbacks) over the API, under the default complaint policy: opened when the reply is
//! given, done independently of the handler, a dissatisfied verdict reopens the case, closing
//! waits for the callback or a waiver with a reason.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    BRANCH_HEAD, INVESTIGATOR, OUTLET_HEAD, TELLER, TestApp, assert_problem, field_errors,
    replay_stored_log, spawn_app, token, valid_assessment,
};

/// A complaint dispatched to the investigator, decided, and replied to by the outlet head.
async fn replied(app: &TestApp) -> String {
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number").to_owned();
    app.take(&number, &token(TELLER), "assess", valid_assessment())
        .await;
    app.take(
        &number,
        &token(OUTLET_HEAD),
        "dispatch",
        json!({ "handler": INVESTIGATOR }),
    )
    .await;
    resolve(app, &number).await;
    number
}

async fn resolve(app: &TestApp, number: &str) {
    app.take(
        number,
        &token(OUTLET_HEAD),
        "decide",
        json!({ "findings": "属实", "handling_opinion": "致歉" }),
    )
    .await;
    let case = app
        .take(
            number,
            &token(OUTLET_HEAD),
            "reply",
            json!({ "reply_content": "已致歉", "reply_channel": "phone" }),
        )
        .await;
    assert_eq!(case["state"], "replied");
}

async fn callback(
    app: &TestApp,
    number: &str,
    who: &str,
    what: &str,
    body: Value,
) -> crate::helpers::Reply {
    app.post_json(
        &format!("/api/v1/cases/{number}/callback/{what}"),
        &token(who),
        &body,
    )
    .await
}

async fn close(app: &TestApp, number: &str) -> crate::helpers::Reply {
    app.transition(
        number,
        &token(BRANCH_HEAD),
        "close",
        json!({ "final_result": "客户满意，结案" }),
    )
    .await
}

#[tokio::test]
async fn a_dissatisfied_customer_reopens_the_case_and_a_satisfied_one_lets_it_close() {
    let app = spawn_app().await;
    let number = replied(&app).await;
    let (_, _, case) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(case["callback"]["status"], "pending");
    assert_eq!(case["callback"]["may_record"], true);
    assert!(
        !case["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "close"),
        "close is not offered while the callback is owed"
    );

    // Closing before the callback is refused, naming the clause; nothing changes.
    let reply = close(&app, &number).await;
    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "callback_owed");
    assert_eq!(problem["clause"], "ISO 10002 8.9");

    // The outlet head replied: they may not judge their own work.
    let reply = callback(
        &app,
        &number,
        OUTLET_HEAD,
        "verdict",
        json!({ "verdict": "satisfied" }),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "not_independent");
    assert_eq!(problem["clause"], "ISO 10002 8.9");

    // A first call nobody answers, then the customer says they are not satisfied.
    let (status, _, case) = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "attempts",
        json!({ "channel": "phone", "reached": false, "note": "无人接听" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    assert_eq!(
        case["callback"]["rounds"][0]["attempts"][0]["reached"],
        false
    );
    let (status, _, case) = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "verdict",
        json!({ "verdict": "不满意", "channel": "phone", "note": "要求赔偿" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    assert_eq!(case["state"], "investigating", "the case goes back");
    assert_eq!(case["callback"]["status"], "done");
    assert_eq!(
        case["callback"]["rounds"][0]["verdicts"][0]["verdict"],
        "dissatisfied"
    );

    // Handled again: the next reply owes a new callback.
    resolve(&app, &number).await;
    let (_, _, case) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(case["callback"]["status"], "pending");
    assert_eq!(case["callback"]["rounds"].as_array().unwrap().len(), 2);
    let reply = close(&app, &number).await;
    assert_problem(&reply, StatusCode::CONFLICT, "refused");

    let (status, _, _) = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "verdict",
        json!({ "verdict": "satisfied", "channel": "phone" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, case) = close(&app, &number).await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    assert_eq!(case["closed"], true);

    let events = app.events(&number, &token(TELLER)).await;
    let reopen = events
        .iter()
        .find(|e| e["type"] == "callback_verdict" && e["verdict"] == "dissatisfied")
        .expect("the dissatisfied verdict is in the log");
    assert_eq!(
        reopen["reopen"],
        json!({ "before": "replied", "after": "investigating" })
    );
    assert_eq!(reopen["clause"], "ISO 10002 8.9");
    let replayed = replay_stored_log(&app.store, &number).await;
    assert!(replayed.closed);
    assert_eq!(replayed.callbacks.len(), 2);
}

#[tokio::test]
async fn a_waiver_needs_a_reason_and_the_waiving_role() {
    let app = spawn_app().await;
    let number = replied(&app).await;
    let reply = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "waive",
        json!({ "reason": " " }),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "refused");
    assert_eq!(problem["reason"], "reason_required");
    assert_eq!(problem["clause"], "CLAUSES §3.2");

    // The investigator holds no waiving role.
    let reply = callback(
        &app,
        &number,
        INVESTIGATOR,
        "waive",
        json!({ "reason": "客户拒访" }),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "role_not_allowed");

    let (status, _, case) = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "waive",
        json!({ "reason": "客户明确表示不接受回访" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    assert_eq!(case["callback"]["status"], "waived");
    assert_eq!(
        case["callback"]["rounds"][0]["waiver"]["reason"],
        "客户明确表示不接受回访"
    );
    let (status, _, _) = close(&app, &number).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_callback_input_names_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let number = replied(&app).await;
    let (_, _, before) = app.show(&number, &token(BRANCH_HEAD)).await;

    let reply = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "verdict",
        json!({ "verdict": "so-so" }),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("verdict".into(), "choice.unknown".into())]
    );

    let reply = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "attempts",
        json!({ "channel": "pigeon", "reached": true }),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("channel".into(), "choice.unknown".into())]
    );
    assert!(problem["detail"].as_str().unwrap().contains("pigeon"));

    let reply = callback(
        &app,
        &number,
        BRANCH_HEAD,
        "attempts",
        json!({ "channel": "phone" }),
    )
    .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");

    let (_, _, after) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(before["version"], after["version"]);
    assert_eq!(before["callback"], after["callback"]);
}
