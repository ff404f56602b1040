//! Disputes between units (ccb-counter 第二十一条): decided by the service department of the two
//! units' lowest common superior; the decision binds both; not carried out in time is a
//! violation.

use hyper::StatusCode;
use jiff::Timestamp;
use manyi_store::NewUser;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, BRANCH_HEAD, HQ_HEAD, OUTLET_HEAD, TELLER, TestApp, assert_problem, spawn_app, token,
};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A service-management user at head office: the right role, in a unit that is a superior but
/// not the *lowest* common one.
async fn hq_service(app: &TestApp) -> String {
    let user = app
        .store
        .insert_user(NewUser {
            login: "hq_svc".into(),
            name: "总行服务管理部".into(),
            unit_code: "HQ".into(),
            roles: vec!["service_mgmt".into()],
            password_hash: None,
        })
        .await
        .expect("user");
    app.store
        .create_api_token(
            &manyi_server::auth::token_hash(&token("hq_svc")),
            user.id,
            "test",
            t("2026-03-10T00:00:00Z"),
        )
        .await
        .expect("token");
    token("hq_svc")
}

async fn raise(app: &TestApp, number: &str, unit: &str, about: &str) -> (StatusCode, Value) {
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{number}/disputes"),
            &token(OUTLET_HEAD),
            &json!({ "unit": unit, "about": about }),
        )
        .await;
    (status, body)
}

#[tokio::test]
async fn the_lowest_common_superior_decides_and_the_decision_binds_both_units() {
    let app = spawn_app().await;
    let hq_svc = hq_service(&app).await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();

    // Bad input: no subject, a dispute with oneself, an unknown unit.
    let (status, body) = raise(&app, &number, "BJHD02", "  ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
    assert_eq!(body["reason"], "reason_required");
    let (status, _) = raise(&app, &number, "BJHD01", "责任归属").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = raise(&app, &number, "NOPE", "责任归属").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Between two outlets of the Haidian sub-branch: it decides.
    let (status, d) = raise(
        &app,
        &number,
        "BJHD02",
        "客户账户由学院路网点开立，责任归属有争议。",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{d:#}");
    assert_eq!(d["parties"], json!(["BJHD01", "BJHD02"]));
    assert_eq!(d["decider_unit"], "BJHD");
    assert_eq!(d["status"], "raised");

    let ruling = json!({
        "ruling": "由学院路网点负责处理，并于一个工作日内联系客户。",
        "owner_unit": "BJHD02",
        "ordered_unit": "BJHD02",
    });
    // Head office is a common superior, but not the lowest: refused, naming the clause; a
    // head without the service role at the right unit neither. Nothing changes.
    for who in [hq_svc.as_str(), &token(HQ_HEAD), &token(OUTLET_HEAD)] {
        let reply = app
            .post_json(
                &format!("/api/v1/cases/{number}/disputes/1/decide"),
                who,
                &ruling,
            )
            .await;
        let p = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
        assert_eq!(p["clause"], "第二十一条");
    }
    let (_, _, list) = app
        .get(&format!("/api/v1/cases/{number}/disputes"), &token(TELLER))
        .await;
    assert_eq!(list[0]["status"], "raised");

    // The sub-branch's service department decides: the case moves, BJHD02 must act.
    let (status, _, d) = app
        .post_json(
            &format!("/api/v1/cases/{number}/disputes/1/decide"),
            &token(BRANCH_HEAD),
            &ruling,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d:#}");
    assert_eq!(d["status"], "decided");
    assert_eq!(d["decided_by"], BRANCH_HEAD);
    assert_eq!(d["due"], "2026-03-12T00:00:00+08:00");
    let (_, _, case) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(case["owner_unit"]["code"], "BJHD02");
    // Deciding again is refused.
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{number}/disputes/1/decide"),
            &token(BRANCH_HEAD),
            &ruling,
        )
        .await;
    assert_problem(&reply, StatusCode::CONFLICT, "refused");

    // Not carried out by the deadline: one violation against BJHD02.
    app.clock.set(t("2026-03-12T00:00:00+08:00"));
    manyi_server::scheduler::tick(&app.state)
        .await
        .expect("tick");
    manyi_server::scheduler::tick(&app.state)
        .await
        .expect("tick again");
    let (_, _, v) = app.get("/api/v1/violations", &token(ADMIN)).await;
    let items: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "dispute_decision_not_carried_out")
        .collect();
    assert_eq!(items.len(), 1, "{v:#}");
    assert_eq!(items[0]["unit"], "BJHD02");
    assert_eq!(items[0]["clause"], "第二十一条");
    let actions: Vec<String> = app
        .events(&number, &token(BRANCH_HEAD))
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .filter(|a| a.starts_with("dispute_"))
        .collect();
    assert_eq!(
        actions,
        ["dispute_raise", "dispute_decide", "dispute_overdue"]
    );
}

#[tokio::test]
async fn an_ordered_party_that_reports_in_time_is_not_in_violation() {
    let app = spawn_app().await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    raise(&app, &number, "BJHD02", "协助请求被拒绝").await;
    let (status, _, _) = app
        .post_json(
            &format!("/api/v1/cases/{number}/disputes/1/decide"),
            &token(BRANCH_HEAD),
            &json!({ "ruling": "受理网点于一个工作日内补充材料。", "ordered_unit": "BJHD01" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, d) = app
        .post_json(
            &format!("/api/v1/cases/{number}/disputes/1/comply"),
            &token(OUTLET_HEAD),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d:#}");
    assert_eq!(d["status"], "complied");
    app.clock.set(t("2026-03-13T09:00:00+08:00"));
    manyi_server::scheduler::tick(&app.state)
        .await
        .expect("tick");
    // (第十九条's handling clock has its own breach; no dispute violation.)
    let (_, _, v) = app.get("/api/v1/violations", &token(ADMIN)).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["clause"] != "第二十一条"),
        "{v:#}"
    );
}
