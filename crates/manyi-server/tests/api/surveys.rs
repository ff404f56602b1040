//! Satisfaction surveys over the API: a link issued when the reply is given (or by hand), the
//! customer's answer without login, once per token; forged and expired links; results by unit,
//! person and category within the caller's jurisdiction.

use hyper::{Method, StatusCode};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{
    Auth, BRANCH_HEAD, INVESTIGATOR, OUTLET_HEAD, Reply, SH_TELLER, TELLER, TestApp,
    assert_problem, field_errors, spawn_app, token, valid_assessment,
};

/// A complaint replied to; returns its number and the survey the reply issued.
async fn replied(app: &TestApp) -> (String, Value) {
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
    app.take(
        &number,
        &token(OUTLET_HEAD),
        "decide",
        json!({ "findings": "属实", "handling_opinion": "致歉" }),
    )
    .await;
    let case = app
        .take(
            &number,
            &token(INVESTIGATOR),
            "reply",
            json!({ "reply_content": "已致歉", "reply_channel": "phone" }),
        )
        .await;
    let issued = case["survey_issued"].clone();
    assert!(issued.is_object(), "the reply issues a survey: {case:#}");
    (number, issued)
}

async fn public(app: &TestApp, method: Method, token: &str, body: Option<Value>) -> Reply {
    app.send(
        method,
        &format!("/api/v1/public/surveys/{token}"),
        Auth::None,
        &[],
        body.map(|b| ("application/json", b.to_string().into_bytes())),
    )
    .await
}

#[tokio::test]
async fn a_survey_link_is_answered_once_and_a_forged_one_is_not_found() {
    let app = spawn_app().await;
    let (number, issued) = replied(&app).await;
    let t = issued["token"].as_str().expect("token").to_owned();
    assert_eq!(t.len(), 64, "256 random bits, hex");
    assert_eq!(issued["path"], format!("/public/survey/{t}"));
    assert!(
        issued["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/public/survey/{t}"))
    );
    let sms = issued["message_zh"].as_str().unwrap();
    assert!(
        sms.contains(&number) && sms.contains(issued["link"].as_str().unwrap()),
        "{sms}"
    );
    assert!(
        issued["message_en"]
            .as_str()
            .unwrap()
            .contains("one answer per link")
    );

    let (status, _, survey) = public(&app, Method::GET, &t, None).await;
    assert_eq!(status, StatusCode::OK, "{survey:#}");
    assert_eq!(survey["case"], number);
    assert_eq!(survey["questions"][0]["id"], "overall");
    assert_eq!(survey["questions"][0]["type"], "rating");

    // A bad answer names the question and is not taken.
    let reply = public(
        &app,
        Method::POST,
        &t,
        Some(json!({ "answers": { "overall": 9, "timeliness": "timely" } })),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("overall".into(), "rating.range".into())]
    );

    let answers = json!({ "answers": { "overall": 4, "timeliness": "timely", "comment": "不错" } });
    let (status, _, body) = public(&app, Method::POST, &t, Some(answers.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let reply = public(&app, Method::POST, &t, Some(answers)).await;
    let problem = assert_problem(&reply, StatusCode::CONFLICT, "conflict");
    assert!(problem["detail"].as_str().unwrap().contains("只能提交一次"));

    // Forged: a well-formed token nobody issued, and garbage.
    let forged = "0".repeat(64);
    let reply = public(&app, Method::GET, &forged, None).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
    let reply = public(
        &app,
        Method::POST,
        "not-a-token",
        Some(json!({ "answers": { "overall": 5 } })),
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn an_expired_link_is_gone_and_only_issuing_roles_issue_by_hand() {
    let app = spawn_app().await;
    let (number, _) = replied(&app).await;
    let path = format!("/api/v1/cases/{number}/surveys");
    let reply = app.post_json(&path, &token(INVESTIGATOR), &json!({})).await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["clause"], "ISO 10002 8.9");
    let (status, _, issued) = app.post_json(&path, &token(BRANCH_HEAD), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued:#}");
    let t = issued["token"].as_str().unwrap().to_owned();
    app.clock.advance(SignedDuration::from_hours(7 * 24 + 1));
    let reply = public(&app, Method::GET, &t, None).await;
    assert_problem(&reply, StatusCode::GONE, "gone");
    let reply = public(
        &app,
        Method::POST,
        &t,
        Some(json!({ "answers": { "overall": 5, "timeliness": "slow" } })),
    )
    .await;
    assert_problem(&reply, StatusCode::GONE, "gone");
}

#[tokio::test]
async fn results_are_grouped_by_unit_person_and_category_within_the_jurisdiction() {
    let app = spawn_app().await;
    for overall in [5, 2] {
        let (_, issued) = replied(&app).await;
        let t = issued["token"].as_str().unwrap();
        let (status, _, _) = public(
            &app,
            Method::POST,
            t,
            Some(json!({ "answers": { "overall": overall, "timeliness": "timely" } })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let get = |who: &'static str, q: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/surveys/results?{q}"), &token(who))
                .await
        }
    };
    let (status, _, by_unit) = get(BRANCH_HEAD, "by=unit&from=2026-03-01&to=2026-04-01").await;
    assert_eq!(status, StatusCode::OK, "{by_unit:#}");
    assert_eq!(by_unit["groups"][0]["key"], "BJHD01");
    assert_eq!(by_unit["groups"][0]["answered"], 2);
    assert_eq!(by_unit["groups"][0]["mean_rating"], 3.5);
    assert_eq!(by_unit["groups"][0]["satisfied_share"], 0.5);
    assert_eq!(by_unit["total"]["ratings"], json!([0, 1, 0, 0, 1]));

    let (_, _, by_person) = get(BRANCH_HEAD, "by=person").await;
    assert_eq!(by_person["groups"][0]["key"], INVESTIGATOR);
    let (_, _, by_category) = get(BRANCH_HEAD, "by=category").await;
    assert_eq!(by_category["groups"][0]["key"], "attitude");
    assert_eq!(by_category["groups"][0]["label"], "服务态度");

    // Outside the jurisdiction: nothing; another period: nothing; a bad `by`: 400.
    let (_, _, theirs) = get(SH_TELLER, "by=unit").await;
    assert_eq!(theirs["total"]["answered"], 0);
    let (_, _, earlier) = get(BRANCH_HEAD, "from=2025-01-01&to=2025-02-01").await;
    assert_eq!(earlier["total"]["answered"], 0);
    let reply = get(BRANCH_HEAD, "by=weather").await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
}
