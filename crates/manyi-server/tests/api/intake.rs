//! CLAUSES.md A20/A26 through the API (regional-complaint): the HR/admin manager complained about
//! is recused; the general manager hands the intake to another HR/admin manager with a reason.
//! The new intake owner sees the case, does the callback and closes; the old one is recorded in
//! the log.

use hyper::StatusCode;
use manyi_store::{NewUnit, NewUser};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, TestApp, assert_problem, shipped_policy, spawn_app, token};

async fn regional() -> TestApp {
    let app = spawn_app().await;
    let now = app.state.clock.now();
    for (code, name, level, parent) in [
        ("QY", "区域公司", "company", None),
        ("QY-ENG", "工程部", "department", Some("QY")),
    ] {
        app.store
            .insert_unit(NewUnit {
                code: code.into(),
                name: name.into(),
                level: level.into(),
                parent_code: parent.map(Into::into),
            })
            .await
            .expect("unit");
    }
    let users: [(&str, &str, &[&str]); 4] = [
        ("qy_hr", "QY", &["hr_admin_manager"]),
        ("qy_hr2", "QY", &["hr_admin_manager"]),
        ("qy_gm", "QY", &["general_manager"]),
        ("qy_sup", "QY-ENG", &["dept_supervisor"]),
    ];
    for (login, unit, roles) in users {
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
                now,
            )
            .await
            .expect("token");
    }
    let (status, _, up) = app
        .post_raw(
            "/api/v1/policies",
            &token(ADMIN),
            "application/toml",
            shipped_policy("regional-complaint.toml"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{up:#}");
    let (status, _, act) = app
        .post_json(
            &format!(
                "/api/v1/policies/{}/versions/{}/activate",
                up["id"].as_str().unwrap(),
                up["version"]
            ),
            &token(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{act:#}");
    app
}

async fn take(app: &TestApp, number: &str, who: &str, action: &str, fields: Value) -> Value {
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{number}/transitions"),
            &token(who),
            &json!({"action": action, "fields": fields}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{action} by {who}: {body:#}");
    body
}

#[tokio::test]
async fn a26_the_general_manager_hands_the_intake_of_a_complaint_about_the_hr_manager_to_another() {
    let app = regional().await;
    let (status, _, case) = app
        .create_case(
            &token("qy_hr"),
            &json!({"policy": "regional-complaint", "kind": "complaint", "channel": "phone",
                "fields": {"complainant": "吴女士", "contact_phone": "13700001111",
                    "content": "人事行政经理接待时态度生硬", "customer_demand": "要求道歉",
                    "complained_department": "人事行政部"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{case:#}");
    let n = case["number"].as_str().unwrap().to_owned();
    assert_eq!(case["intake_owner"]["login"], "qy_hr");
    take(
        &app,
        &n,
        "qy_hr",
        "send_to_department_unit",
        json!({"complained_unit": "QY-ENG"}),
    )
    .await;
    take(
        &app,
        &n,
        "qy_sup",
        "start_investigation",
        json!({"responsible_person": "人事行政经理", "subject_person": "qy_hr"}),
    )
    .await;
    let events_before = app.events(&n, &token("qy_gm")).await.len();

    // Without a reason: 422 naming the field; by someone else: 403 naming the clause.
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{n}/transitions"),
            &token("qy_gm"),
            &json!({"action": "hand_over_intake", "fields": {"intake_successor": "qy_hr2"}}),
        )
        .await;
    let p = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert!(p.to_string().contains("intake_handover_reason"), "{p:#}");
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{n}/transitions"),
            &token("qy_hr2"),
            &json!({"action": "hand_over_intake", "fields": {"intake_successor": "qy_hr2",
                "intake_handover_reason": "回避"}}),
        )
        .await;
    let p = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(p["clause"], "CLAUSES A26");
    assert_eq!(app.events(&n, &token("qy_gm")).await.len(), events_before);

    let after = take(
        &app,
        &n,
        "qy_gm",
        "hand_over_intake",
        json!({"intake_successor": "qy_hr2", "intake_handover_reason": "被投诉人为首问负责人，按回避原则移交"}),
    )
    .await;
    assert_eq!(after["intake_owner"]["login"], "qy_hr2");
    assert_eq!(after["handler"]["login"], "qy_sup");
    assert_eq!(after["state"], "investigating");
    let events = app.events(&n, &token("qy_gm")).await;
    let last = events.last().unwrap();
    assert_eq!(last["action"], "hand_over_intake");
    assert_eq!(last["clause"], "CLAUSES A26");

    // The store follows: the new intake owner finds the case in their list ("first contact").
    let (status, _, list) = app
        .get("/api/v1/cases?first_contact=qy_hr2", &token("qy_gm"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list:#}");
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["number"].as_str())
        .collect();
    assert_eq!(numbers, [n.as_str()], "{list:#}");

    // The handler replies; the new intake owner calls back and closes.
    take(
        &app,
        &n,
        "qy_sup",
        "reply",
        json!({"resolution_plan": "道歉并培训", "reply_content": "已致歉"}),
    )
    .await;
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{n}/callback/verdict"),
            &token("qy_hr2"),
            &json!({"verdict": "satisfied", "channel": "phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let closed = take(
        &app,
        &n,
        "qy_hr2",
        "close_after_callback",
        json!({"customer_feedback": "satisfied", "final_result": "已解决", "evaluation": "满意"}),
    )
    .await;
    assert_eq!(closed["state"], "closed");
}
