//! What the policy refuses, and how the API says so: the status, the problem type, the reason
//! and the clause of the rule. A refused action changes nothing.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    HQ_HEAD, HQ_TELLER, INVESTIGATOR, OUTLET_HEAD, SH_TELLER, TELLER, TestApp, assert_problem,
    spawn_app, token, valid_assessment,
};

/// A default-complaint case under investigation, registered by the teller.
async fn case_under_investigation(app: &TestApp) -> String {
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
    number
}

/// The case's version and number of events, to show that a refusal changed nothing.
async fn footprint(app: &TestApp, number: &str) -> (Value, usize) {
    let (status, _, case) = app.show(number, &token(TELLER)).await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    let events = app.events(number, &token(TELLER)).await;
    (case["version"].clone(), events.len())
}

#[tokio::test]
async fn a_teller_may_not_decide_a_complaint_because_iso_10002_8_7_reserves_it_for_heads() {
    let app = spawn_app().await;
    let number = case_under_investigation(&app).await;
    let before = footprint(&app, &number).await;

    let reply = app
        .transition(
            &number,
            &token(TELLER),
            "decide",
            json!({ "findings": "x", "handling_opinion": "y" }),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["clause"], "ISO 10002 8.7");
    assert_eq!(problem["reason"], "role_not_allowed");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.starts_with("ISO 10002 8.7: "), "{detail}");
    assert!(detail.contains("作出处理决定"), "{detail}");
    assert_eq!(footprint(&app, &number).await, before);
}

#[tokio::test]
async fn an_action_from_the_wrong_state_is_a_conflict_naming_the_clause() {
    let app = spawn_app().await;
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number");
    let before = footprint(&app, number).await;

    // Replying (8.8) before any decision has been made.
    let reply = app
        .transition(
            number,
            &token(TELLER),
            "reply",
            json!({ "reply_content": "已处理", "reply_channel": "phone" }),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "wrong_state");
    assert_eq!(problem["clause"], "ISO 10002 8.8");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("已登记"),
        "names the current state: {detail}"
    );
    assert!(
        detail.contains("已决定"),
        "names where it may start: {detail}"
    );
    assert_eq!(footprint(&app, number).await, before);
}

#[tokio::test]
async fn a_valid_complaint_cannot_be_closed_as_invalid() {
    let app = spawn_app().await;
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number");
    app.take(number, &token(TELLER), "assess", valid_assessment())
        .await;
    let before = footprint(&app, number).await;

    let reply = app
        .transition(
            number,
            &token(OUTLET_HEAD),
            "reject_invalid",
            json!({ "invalid_reason": "不属于投诉" }),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "condition_failed");
    assert_eq!(problem["clause"], "CLAUSES §3.2");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("只有初评认定为无效的投诉才能按无效关闭"),
        "carries the policy's refusal text: {detail}"
    );
    assert_eq!(footprint(&app, number).await, before);
}

#[tokio::test]
async fn a_case_outside_the_callers_jurisdiction_is_not_found_rather_than_forbidden() {
    let app = spawn_app().await;
    let number = case_under_investigation(&app).await;
    let outsider = token(SH_TELLER);
    let before = footprint(&app, &number).await;

    // The answer for a case they may not see ...
    let hidden = app.show(&number, &outsider).await;
    let hidden = assert_problem(&hidden, StatusCode::NOT_FOUND, "not-found");
    // ... is the answer for a case that does not exist.
    let missing = app.show("TS20260399999", &outsider).await;
    let missing = assert_problem(&missing, StatusCode::NOT_FOUND, "not-found");
    assert_eq!(
        hidden["detail"].as_str().map(|d| d.replace(&number, "N")),
        missing["detail"]
            .as_str()
            .map(|d| d.replace("TS20260399999", "N"))
    );
    assert_eq!(hidden["title"], missing["title"]);

    let events = app
        .get(&format!("/api/v1/cases/{number}/events"), &outsider)
        .await;
    assert_problem(&events, StatusCode::NOT_FOUND, "not-found");

    let acting = app
        .transition(&number, &outsider, "decide", json!({}))
        .await;
    assert_problem(&acting, StatusCode::NOT_FOUND, "not-found");

    assert!(app.listed_numbers(&outsider).await.is_empty());
    assert_eq!(footprint(&app, &number).await, before);
}

#[tokio::test]
async fn a_complaint_received_at_head_office_cannot_be_handed_up_under_article_19() {
    let app = spawn_app().await;
    let case = app.open_ccb_complaint(&token(HQ_TELLER)).await;
    let number = case["number"].as_str().expect("number");
    assert_eq!(case["owner_unit"]["code"], "HQ");
    app.take(
        number,
        &token(HQ_TELLER),
        "refer_to_head",
        json!({ "referral_reason": "需部门负责人协调" }),
    )
    .await;

    let reply = app
        .transition(
            number,
            &token(HQ_HEAD),
            "hand_up",
            json!({ "escalation_reason": "无", "responsibility_level": "hq" }),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "condition_failed");
    assert_eq!(problem["clause"], "第十九条");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("总行受理的投诉无法再上报"), "{detail}");
    let (_, _, after) = app.show(number, &token(HQ_TELLER)).await;
    assert_eq!(after["state"], "with_head");
    assert_eq!(after["owner_unit"]["code"], "HQ");
}

#[tokio::test]
async fn an_action_the_policy_does_not_know_is_a_conflict_listing_the_known_ones() {
    let app = spawn_app().await;
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number");

    let reply = app
        .transition(number, &token(TELLER), "teleport", json!({}))
        .await;

    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "unknown_action");
    assert!(
        problem.get("clause").is_none(),
        "no rule to cite: {problem:#}"
    );
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("teleport"), "{detail}");
    assert!(
        detail.contains("assess"),
        "lists the known actions: {detail}"
    );
}
