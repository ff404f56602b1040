//! Assistance between units (ccb-counter 第二十条): the owning outlet asks another for help;
//! the requested unit accepts, refuses with a reason, or completes; a refusal or a missed
//! deadline is a violation against the requested unit; ownership never moves.

use hyper::StatusCode;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{
    BRANCH_HEAD, OUTLET_HEAD, SH_TELLER, TELLER, TestApp, assert_problem, spawn_app, token,
};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

async fn ask(app: &TestApp, number: &str, unit: &str) -> (StatusCode, Value) {
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists"),
            &token(TELLER),
            &json!({ "unit": unit, "request": "请提供客户在贵网点的开户资料。" }),
        )
        .await;
    (status, body)
}

async fn violations(app: &TestApp) -> Vec<Value> {
    let (status, _, body) = app
        .get("/api/v1/violations", &token(crate::helpers::ADMIN))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn a_requested_unit_accepts_and_completes_while_the_owner_keeps_the_case() {
    let app = spawn_app().await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();

    // BJHD01 asks Shanghai's outlet: due at the end of the next working day there.
    let (status, a) = ask(&app, &number, "SH01").await;
    assert_eq!(status, StatusCode::CREATED, "{a:#}");
    assert_eq!(a["no"], 1);
    assert_eq!(
        (a["from_unit"].as_str(), a["to_unit"].as_str()),
        (Some("BJHD01"), Some("SH01"))
    );
    assert_eq!(a["status"], "requested");
    assert_eq!(a["due"], "2026-03-12T00:00:00+08:00");
    assert_eq!(a["clause"], "第二十条");

    // The Shanghai teller has no answer role; nobody in Beijing may answer for Shanghai.
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists/1/accept"),
            &token(SH_TELLER),
            &json!({}),
        )
        .await;
    let p = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(p["clause"], "第二十条");
    // The requested unit sees its request, not the case.
    let (status, _, list) = app
        .get(
            &format!("/api/v1/cases/{number}/assists"),
            &token(SH_TELLER),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list:#}");
    assert_eq!(list[0]["no"], 1);
    let (status, _, _) = app.show(&number, &token(SH_TELLER)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A holder of an answer role in the requested unit: HQ_HEAD (dept_head at HQ, above SH01).
    let hq = token(crate::helpers::HQ_HEAD);
    let (status, _, a) = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists/1/accept"),
            &hq,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a:#}");
    assert_eq!(a["status"], "accepted");
    let (status, _, a) = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists/1/complete"),
            &hq,
            &json!({ "result": "开户资料已扫描发送受理网点。" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a:#}");
    assert_eq!(a["status"], "completed");

    // Ownership never moved; the log tells the story; no violation; the deadline is moot.
    let (_, _, case) = app.show(&number, &token(TELLER)).await;
    assert_eq!(case["owner_unit"]["code"], "BJHD01");
    assert_eq!(case["assists"][0]["status"], "completed");
    // The case page shows the request.
    let (_, headers, _) = app.login(TELLER, crate::helpers::PASSWORD).await;
    let cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let (status, _, page) = app
        .send(
            hyper::Method::GET,
            &format!("/cases/{number}"),
            crate::helpers::Auth::Cookie(&cookie),
            &[],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().expect("html");
    assert!(
        page.contains("协助请求") && page.contains("BJHD01 → SH01"),
        "{page}"
    );
    assert!(page.contains("开户资料已扫描发送受理网点"), "{page}");
    // A20: the intake owner and the handler, explicit in the JSON.
    assert_eq!(case["intake_owner"]["login"], TELLER);
    assert_eq!(case["handler"]["login"], TELLER);
    let actions: Vec<String> = app
        .events(&number, &token(TELLER))
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions[1..],
        ["assist_request", "assist_accept", "assist_complete"]
    );
    app.clock.set(t("2026-03-20T09:00:00+08:00"));
    manyi_server::scheduler::tick(&app.state)
        .await
        .expect("tick");
    assert!(
        violations(&app)
            .await
            .iter()
            .all(|v| v["kind"] != "assistance_overdue")
    );
}

#[tokio::test]
async fn a_refusal_needs_a_reason_and_is_a_violation_against_the_requested_unit() {
    let app = spawn_app().await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    let (status, _) = ask(&app, &number, "BJHD02").await;
    assert_eq!(status, StatusCode::CREATED);
    let events_before = app.events(&number, &token(TELLER)).await.len();

    // BRANCH_HEAD is dept_head at BJHD, above BJHD02: may answer. Without a reason: refused,
    // nothing changes.
    for body in [json!({}), json!({ "reason": "   " })] {
        let reply = app
            .post_json(
                &format!("/api/v1/cases/{number}/assists/1/refuse"),
                &token(BRANCH_HEAD),
                &body,
            )
            .await;
        let p = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "refused");
        assert_eq!(p["reason"], "reason_required");
        assert_eq!(p["clause"], "第二十条");
    }
    assert_eq!(
        app.events(&number, &token(TELLER)).await.len(),
        events_before
    );
    assert!(violations(&app).await.is_empty());

    let (status, _, a) = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists/1/refuse"),
            &token(BRANCH_HEAD),
            &json!({ "reason": "该客户不在本网点开户。" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a:#}");
    assert_eq!(a["status"], "refused");
    let v = violations(&app).await;
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0]["kind"], "assistance_refused");
    assert_eq!(v[0]["clause"], "第二十条");
    assert_eq!(v[0]["unit"], "BJHD02");

    // Answered: a second answer is refused.
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists/1/accept"),
            &token(BRANCH_HEAD),
            &json!({}),
        )
        .await;
    assert_problem(&reply, StatusCode::CONFLICT, "refused");

    // Bad input: an unknown unit, the owner itself, an unknown request number.
    let (status, _) = ask(&app, &number, "NOPE").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = ask(&app, &number, "BJHD01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists/9/accept"),
            &token(BRANCH_HEAD),
            &json!({}),
        )
        .await;
    assert_problem(&reply, StatusCode::CONFLICT, "refused");
}

#[tokio::test]
async fn a_missed_deadline_is_recorded_once_by_the_scheduler() {
    let app = spawn_app().await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    ask(&app, &number, "BJHD02").await;
    app.post_json(
        &format!("/api/v1/cases/{number}/assists/1/accept"),
        &token(BRANCH_HEAD),
        &json!({}),
    )
    .await;

    app.clock.set(t("2026-03-11T23:59:00+08:00"));
    manyi_server::scheduler::tick(&app.state)
        .await
        .expect("tick");
    assert!(
        violations(&app)
            .await
            .iter()
            .all(|v| v["kind"] != "assistance_overdue")
    );

    app.clock.set(t("2026-03-12T00:00:00+08:00"));
    manyi_server::scheduler::tick(&app.state)
        .await
        .expect("tick");
    manyi_server::scheduler::tick(&app.state)
        .await
        .expect("tick again");
    let overdue: Vec<Value> = violations(&app)
        .await
        .into_iter()
        .filter(|v| v["kind"] == "assistance_overdue")
        .collect();
    assert_eq!(overdue.len(), 1, "{overdue:#?}");
    assert_eq!(overdue[0]["unit"], "BJHD02");
    assert_eq!(overdue[0]["clause"], "第二十条");
    let (_, _, list) = app
        .get(&format!("/api/v1/cases/{number}/assists"), &token(TELLER))
        .await;
    assert_eq!(list[0]["overdue"], true);
    assert_eq!(list[0]["status"], "accepted");
    let _ = OUTLET_HEAD;
}
