//! Violations the engine records by itself, the validity gate and soft rules, through the API:
//! jinbi-property 第五条 (record items missing at closing) and 第七条附则 (a repeat complaint),
//! ccb-counter 第三十三条 (an upheld complaint's proposals, decided inside the range),
//! regional-complaint 四(一)2 (invalid needs a reason) and 第六条(五) (a soft rule overridden
//! with a reason), and 回避 attempts logged. Refusals change nothing.

use hyper::StatusCode;
use manyi_store::NewUser;
use serde_json::{Value, json};

use crate::helpers::{
    BRANCH_HEAD, OUTLET_HEAD, TELLER, TestApp, assert_problem, field_errors, shipped_policy,
    spawn_app, token,
};

/// Installs `file` and adds users with its roles to the bank's units.
async fn with_policy(app: &TestApp, file: &str, users: &[(&str, &str, &[&str])]) {
    let now = app.state.clock.now();
    manyi_server::policies::install(
        &app.store,
        &app.state.policies,
        file,
        &shipped_policy(file),
        now,
        true,
    )
    .await
    .expect("the shipped policy installs");
    for (login, unit, roles) in users {
        let user = app
            .store
            .insert_user(NewUser {
                login: (*login).into(),
                name: (*login).into(),
                unit_code: (*unit).into(),
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
}

async fn jinbi() -> TestApp {
    let app = spawn_app().await;
    with_policy(
        &app,
        "jinbi-property.toml",
        &[
            ("duty", "BJHD01", &["duty_staff"]),
            ("sup", "BJHD01", &["dispatch_supervisor"]),
            ("cs", "BJHD01", &["customer_service"]),
        ],
    )
    .await;
    app
}

async fn jinbi_case(app: &TestApp, location: Option<&str>) -> String {
    let mut fields = json!({"complainant": "李先生", "contact_phone": "13800138000",
        "matter": "楼上漏水"});
    if let Some(l) = location {
        fields["location"] = json!(l);
    }
    let (status, _, body) = app
        .create_case(
            &token("duty"),
            &json!({"policy": "jinbi-property", "kind": "complaint", "channel": "phone",
                "fields": fields}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");
    body["number"].as_str().unwrap().to_owned()
}

async fn case_violations(app: &TestApp, number: &str, who: &str) -> Value {
    let (status, _, body) = app
        .get(&format!("/api/v1/cases/{number}/violations"), &token(who))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body
}

#[tokio::test]
async fn jinbi_5_closing_with_record_items_missing_records_one_violation_and_proposal_each() {
    let app = jinbi().await;
    let n = jinbi_case(&app, None).await;
    app.take(
        &n,
        &token("duty"),
        "dispatch",
        json!({"handling_department": "engineering", "reassured": "yes"}),
    )
    .await;
    app.take(&n, &token("sup"), "resolve", json!({"result": "已修复"}))
        .await;
    // 第一条 回访 first (CLAUSES.md §4.4), by the customer-service department.
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{n}/callback/verdict"),
            &token("cs"),
            &json!({"verdict": "satisfied", "channel": "phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    app.take(&n, &token("cs"), "close", json!({})).await;

    let body = case_violations(&app, &n, "cs").await;
    let vs = body["violations"].as_array().unwrap();
    let rules: Vec<&str> = vs.iter().map(|v| v["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["location", "handler", "briefing"], "{body:#}");
    for v in vs {
        assert_eq!(v["kind"], "record_incomplete");
        assert_eq!(v["clause"], "第五条");
        assert_eq!(v["liable_persons"][0]["login"], "duty");
        let ps = v["penalties"].as_array().unwrap();
        assert_eq!(ps.len(), 1, "{v:#}");
        assert_eq!(ps[0]["clause"], "第五条附则");
        assert_eq!(ps[0]["range"]["text"], "30.00 元");
        assert_eq!(ps[0]["status"], "proposed");
    }
    // The ledger lists the same three proposals.
    let (_, _, ledger) = app.get("/api/v1/penalties", &token("cs")).await;
    assert_eq!(ledger["items"].as_array().unwrap().len(), 3, "{ledger:#}");
    // The case's log says so, after the close.
    let events = app.events(&n, &token("cs")).await;
    assert_eq!(events.last().unwrap()["action"], "violations_recorded");
}

#[tokio::test]
async fn jinbi_7_a_repeat_complaint_while_the_first_is_open_is_a_violation_on_the_first() {
    let app = jinbi().await;
    let first = jinbi_case(&app, Some("3栋101")).await;
    let other = jinbi_case(&app, Some("5栋202")).await;
    let second = jinbi_case(&app, Some("3栋101")).await;
    let body = case_violations(&app, &first, "cs").await;
    let vs = body["violations"].as_array().unwrap();
    assert_eq!(vs.len(), 1, "{body:#}");
    assert_eq!(vs[0]["kind"], "repeat_complaint");
    assert_eq!(vs[0]["clause"], "第七条附则");
    let amounts: Vec<(String, String)> = vs[0]["penalties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["person"]["login"].as_str().unwrap().to_owned(),
                p["range"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        amounts,
        [
            ("duty".to_owned(), "100.00 元".to_owned()),
            ("sup".to_owned(), "50.00 元".to_owned())
        ]
    );
    // The new case and the unrelated one carry nothing.
    for n in [&second, &other] {
        let body = case_violations(&app, n, "cs").await;
        assert!(
            body["violations"].as_array().unwrap().is_empty(),
            "{body:#}"
        );
    }
}

#[tokio::test]
async fn ccb_33_an_upheld_close_proposes_the_range_and_a_decision_inside_it_stands() {
    let app = spawn_app().await;
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let n = case["number"].as_str().unwrap();
    app.take(n, &token(TELLER), "start_handling", json!({}))
        .await;
    app.take(
        n,
        &token(TELLER),
        "reply",
        json!({"handling_result": "已道歉", "reply_channel": "phone"}),
    )
    .await;
    let (status, _, called) = app
        .post_json(
            &format!("/api/v1/cases/{n}/callback/verdict"),
            &token(OUTLET_HEAD),
            &json!({"verdict": "satisfied"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{called:#}");
    app.take(
        n,
        &token(OUTLET_HEAD),
        "close_after_callback",
        json!({"analysis": "柜员态度问题", "category": "attitude", "substantiated": "yes"}),
    )
    .await;
    let body = case_violations(&app, n, BRANCH_HEAD).await;
    let v = &body["violations"][0];
    assert_eq!(v["kind"], "upheld_complaint");
    assert_eq!(v["rule"], "category=attitude");
    assert_eq!(v["clause"], "第三十三条");
    let ps = v["penalties"].as_array().unwrap();
    let who: Vec<&str> = ps
        .iter()
        .map(|p| p["person"]["login"].as_str().unwrap())
        .collect();
    assert_eq!(who, [TELLER, OUTLET_HEAD]);
    assert!(ps.iter().all(|p| p["range"]["text"] == "50.00–1000.00 元"));
    let id = ps[0]["id"].as_i64().unwrap();
    // Outside the range: refused, nothing changes.
    let reply = app
        .post_json(
            &format!("/api/v1/penalties/{id}/decide"),
            &token(BRANCH_HEAD),
            &json!({"amount": "1000.01", "reason": "情节严重"}),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "refused");
    assert_eq!(problem["clause"], "第三十三条");
    let (status, _, decided) = app
        .post_json(
            &format!("/api/v1/penalties/{id}/decide"),
            &token(BRANCH_HEAD),
            &json!({"amount": "200.00", "reason": "态度生硬，首次"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided:#}");
    assert_eq!(decided["amount_fen"], 20_000);
    assert_eq!(decided["status"], "decided");
}

async fn regional() -> TestApp {
    let app = spawn_app().await;
    with_policy(
        &app,
        "regional-complaint.toml",
        &[
            ("hr", "BJHD", &["hr_admin_manager"]),
            ("sup", "BJHD", &["dept_supervisor"]),
            ("gm", "BJHD", &["general_manager"]),
        ],
    )
    .await;
    app
}

async fn regional_case(app: &TestApp) -> String {
    let (status, _, body) = app
        .create_case(
            &token("hr"),
            &json!({"policy": "regional-complaint", "kind": "complaint", "channel": "phone",
                "fields": {"complainant": "王女士", "contact_phone": "13800138000",
                    "content": "前台态度差", "customer_demand": "道歉",
                    "complained_department": "前台"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");
    body["number"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn regional_4_1_2_invalid_without_a_reason_is_refused_naming_the_field_and_clause() {
    let app = regional().await;
    let n = regional_case(&app).await;
    let reply = app
        .transition(
            &n,
            &token("hr"),
            "reject_invalid",
            json!({"customer_explanation": "经核实，收费符合标准"}),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert!(
        field_errors(&problem).contains(&("invalid_reason".into(), "required".into())),
        "{problem:#}"
    );
    assert!(problem.to_string().contains("四(一)2"), "{problem:#}");
    // Nothing changed.
    let (_, _, case) = app.show(&n, &token("hr")).await;
    assert_eq!(case["state"], "registered");
    assert_eq!(case["version"], 1);
    // With the reason: closed, and the explanation waits as a notice to the customer.
    let case = app
        .take(
            &n,
            &token("hr"),
            "reject_invalid",
            json!({"invalid_reason": "客户误解收费标准",
                   "customer_explanation": "您好，经核实收费符合标准，给您带来不便敬请谅解。"}),
        )
        .await;
    assert_eq!(case["closed"], true);
    assert_eq!(case["fields"]["validity"], "invalid");
    let body = case_violations(&app, &n, "hr").await;
    assert_eq!(body["notices"][0]["audience"], "customer");
    assert_eq!(body["notices"][0]["clause"], "四(一)2");
    assert!(
        body["notices"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("您好")
    );
    assert!(body["violations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn regional_6_5_a_soft_rule_is_overridden_only_with_a_reason_and_the_override_is_logged() {
    let app = regional().await;
    let n = regional_case(&app).await;
    app.take(&n, &token("hr"), "send_to_department", json!({}))
        .await;
    app.take(
        &n,
        &token("sup"),
        "start_investigation",
        json!({"responsible_person": "张三"}),
    )
    .await;
    let reply_fields = json!({"resolution_plan": "道歉并培训", "reply_content": "已致歉"});
    // The general manager replies instead of the investigating supervisor: a warning.
    let reply = app
        .transition(&n, &token("gm"), "reply", reply_fields.clone())
        .await;
    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "soft_rule");
    assert_eq!(problem["clause"], "四(二)3");
    // An override without a reason: refused; nothing changed.
    let body = json!({"action": "reply", "fields": reply_fields, "override": {"reason": " "}});
    let reply = app
        .post_json(
            &format!("/api/v1/cases/{n}/transitions"),
            &token("gm"),
            &body,
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "refused");
    assert_eq!(problem["reason"], "reason_required");
    let (_, _, case) = app.show(&n, &token("gm")).await;
    assert_eq!(case["state"], "investigating");
    // With a reason: taken, and the log shows the override before the reply.
    let body = json!({"action": "reply", "fields": reply_fields,
        "override": {"reason": "主管出差，总经理代为答复"}});
    let (status, _, case) = app
        .post_json(
            &format!("/api/v1/cases/{n}/transitions"),
            &token("gm"),
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case:#}");
    assert_eq!(case["state"], "replied");
    let events = app.events(&n, &token("gm")).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // The reply enters `replied`, which opens the 四(三)1 callback in the same transaction.
    assert_eq!(
        actions[actions.len() - 3..],
        ["rule_overridden", "reply", "callback_opened"]
    );
    assert_eq!(
        events[events.len() - 3]["reason"],
        "主管出差，总经理代为答复",
        "{:#}",
        events[events.len() - 3]
    );
}

#[tokio::test]
async fn a_recused_persons_attempt_is_refused_and_logged_against_them() {
    let app = spawn_app().await;
    let mut body = crate::helpers::complaint();
    body["fields"]["subject_person"] = json!(OUTLET_HEAD);
    let (status, _, case) = app.create_case(&token(TELLER), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{case:#}");
    let n = case["number"].as_str().unwrap();
    let reply = app
        .transition(
            n,
            &token(OUTLET_HEAD),
            "assess",
            crate::helpers::valid_assessment(),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "recused");
    let (_, _, after) = app.show(n, &token(TELLER)).await;
    assert_eq!(after["state"], "registered");
    let body = case_violations(&app, n, BRANCH_HEAD).await;
    let v = &body["violations"][0];
    assert_eq!(v["kind"], "recusal_attempt");
    assert_eq!(v["rule"], "assess");
    assert_eq!(v["liable_persons"][0]["login"], OUTLET_HEAD);
}

#[tokio::test]
async fn ccb_32_an_advanced_worker_is_nominated_once_and_the_reward_decided_with_a_reason() {
    let app = spawn_app().await;
    let nomination = json!({"policy": "ccb-counter", "rule": "advanced_worker",
        "period": "2026", "person": TELLER, "basis": "全年零投诉，客户表扬 12 次"});
    let (status, _, reward) = app
        .post_json("/api/v1/rewards", &token(OUTLET_HEAD), &nomination)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reward:#}");
    assert_eq!(reward["status"], "proposed");
    assert_eq!(reward["clause"], "第三十二条");
    assert_eq!(reward["range"]["text"], "0.00–5000.00 元");
    // Once per rule, year and person.
    let reply = app
        .post_json("/api/v1/rewards", &token(OUTLET_HEAD), &nomination)
        .await;
    assert_problem(&reply, StatusCode::CONFLICT, "conflict");
    // The teller may not nominate; a wrong period names the field.
    let reply = app
        .post_json("/api/v1/rewards", &token(TELLER), &nomination)
        .await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    let mut bad = nomination.clone();
    bad["period"] = json!("2026上半年");
    let reply = app
        .post_json("/api/v1/rewards", &token(OUTLET_HEAD), &bad)
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("period".into(), "period.year".into())]
    );
    let id = reward["id"].as_i64().unwrap();
    // Out of range: refused, nothing changes; then granted inside it with a reason.
    let path = format!("/api/v1/rewards/{id}/decide");
    let reply = app
        .post_json(
            &path,
            &token(BRANCH_HEAD),
            &json!({"granted": true, "amount": "5000.01", "reason": "评选通过"}),
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "refused");
    let (status, _, decided) = app
        .post_json(
            &path,
            &token(BRANCH_HEAD),
            &json!({"granted": true, "amount": "1000.00", "reason": "年度评选通过"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided:#}");
    assert_eq!(decided["status"], "granted");
    assert_eq!(decided["amount_fen"], 100_000);
    assert_eq!(decided["decided_by"]["login"], BRANCH_HEAD);
    let (_, _, list) = app
        .get("/api/v1/rewards?period=2026", &token(BRANCH_HEAD))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list:#}");
    let (status, _, csv) = app.get("/api/v1/rewards.csv", &token(BRANCH_HEAD)).await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap_or_default().to_owned();
    assert!(
        csv.contains("advanced_worker") && csv.contains("1000.00"),
        "{csv}"
    );
}
