//! ccb-counter 第二十条/第二十一条 with 第三十三条: an assistance request refused or left open, and a
//! dispute decision not carried out, propose fines to the role holders of the unit at fault —
//! the requested or ordered unit — not of the unit that owns the case.

use hyper::StatusCode;
use jiff::Timestamp;
use manyi_store::NewUser;
use serde_json::{Value, json};

use crate::helpers::{BRANCH_HEAD, OUTLET_HEAD, TELLER, TestApp, spawn_app, token};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Adds a user with a token.
async fn add_user(app: &TestApp, login: &str, unit: &str, roles: &[&str]) {
    let user = app
        .store
        .insert_user(NewUser {
            login: login.into(),
            name: login.into(),
            unit_code: unit.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            password_hash: None,
        })
        .await
        .expect("user");
    app.store
        .create_api_token(
            &manyi_server::auth::token_hash(&token(login)),
            user.id,
            "test",
            app.state.clock.now(),
        )
        .await
        .expect("token");
}

async fn case_violations(app: &TestApp, number: &str, who: &str) -> Vec<Value> {
    let (status, _, body) = app
        .get(&format!("/api/v1/cases/{number}/violations"), &token(who))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body["violations"].as_array().expect("violations").clone()
}

fn proposals(v: &Value) -> Vec<(String, String, String)> {
    v["penalties"]
        .as_array()
        .expect("penalties")
        .iter()
        .map(|p| {
            (
                p["rule"].as_str().unwrap().to_owned(),
                p["person"]["login"].as_str().unwrap().to_owned(),
                p["range"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_refused_assistance_proposes_a_fine_to_the_requested_outlets_head_not_the_owners() {
    let app = spawn_app().await;
    add_user(&app, "hd02_head", "BJHD02", &["outlet_head"]).await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists"),
            &token(TELLER),
            &json!({ "unit": "BJHD02", "request": "请提供开户资料。" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{number}/assists/1/refuse"),
            &token("hd02_head"),
            &json!({ "reason": "不归本网点管。" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");

    let vs = case_violations(&app, &number, TELLER).await;
    assert_eq!(vs.len(), 1, "{vs:#?}");
    assert_eq!(vs[0]["kind"], "assistance_refused");
    assert_eq!(vs[0]["clause"], "第二十条");
    // The requested outlet's head — not BJHD01's outlet head, whose unit owns the case.
    assert_eq!(
        proposals(&vs[0]),
        [(
            "assist_refused_or_late".to_owned(),
            "hd02_head".to_owned(),
            "50.00–1000.00 元".to_owned()
        )]
    );
    assert_eq!(vs[0]["penalties"][0]["clause"], "第三十三条");
    assert_eq!(vs[0]["penalties"][0]["unit"], "BJHD02");

    // The proposal is decided like any other: inside the range, with a reason.
    let id = vs[0]["penalties"][0]["id"].as_i64().unwrap();
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/penalties/{id}/decide"),
            &token(BRANCH_HEAD),
            &json!({ "amount": "80", "reason": "推诿协助，情节较轻。" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["status"], "decided");
}

#[tokio::test]
async fn an_overdue_assistance_proposes_a_fine_once_when_the_scheduler_records_it() {
    let app = spawn_app().await;
    add_user(&app, "hd02_head", "BJHD02", &["outlet_head"]).await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    app.post_json(
        &format!("/api/v1/cases/{number}/assists"),
        &token(TELLER),
        &json!({ "unit": "BJHD02", "request": "请提供开户资料。" }),
    )
    .await;
    app.clock.set(t("2026-03-12T00:00:00+08:00"));
    for _ in 0..2 {
        manyi_server::scheduler::tick(&app.state)
            .await
            .expect("tick");
    }
    // (第十九条's handling clock breaches at the same instant: its own violation.)
    let vs: Vec<Value> = case_violations(&app, &number, TELLER)
        .await
        .into_iter()
        .filter(|v| v["kind"] == "assistance_overdue")
        .collect();
    assert_eq!(vs.len(), 1, "{vs:#?}");
    assert_eq!(
        proposals(&vs[0]),
        [(
            "assist_refused_or_late".to_owned(),
            "hd02_head".to_owned(),
            "50.00–1000.00 元".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_dispute_decision_not_carried_out_proposes_a_fine_to_the_ordered_units_head() {
    let app = spawn_app().await;
    add_user(&app, "hd02_head", "BJHD02", &["outlet_head"]).await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    let (status, _, d) = app
        .post_json(
            &format!("/api/v1/cases/{number}/disputes"),
            &token(OUTLET_HEAD),
            &json!({ "unit": "BJHD02", "about": "责任归属有争议。" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d:#}");
    // The decision keeps the case at BJHD01 but orders BJHD02 to act.
    let (status, _, d) = app
        .post_json(
            &format!("/api/v1/cases/{number}/disputes/1/decide"),
            &token(BRANCH_HEAD),
            &json!({ "ruling": "学院路网点一个工作日内提供资料。", "owner_unit": "BJHD01",
                "ordered_unit": "BJHD02" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d:#}");
    app.clock.set(t("2026-03-12T00:00:00+08:00"));
    for _ in 0..2 {
        manyi_server::scheduler::tick(&app.state)
            .await
            .expect("tick");
    }
    // (第十九条's handling clock breaches at the same instant: its own violation.)
    let vs: Vec<Value> = case_violations(&app, &number, TELLER)
        .await
        .into_iter()
        .filter(|v| v["kind"] == "dispute_decision_not_carried_out")
        .collect();
    assert_eq!(vs.len(), 1, "{vs:#?}");
    assert_eq!(
        proposals(&vs[0]),
        [(
            "dispute_decision_not_carried_out".to_owned(),
            "hd02_head".to_owned(),
            "50.00–1000.00 元".to_owned()
        )]
    );
}
