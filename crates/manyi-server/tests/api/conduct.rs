//! jinbi-property 第四条/第六条: conduct is not a case event. The dispatch supervisor or customer
//! service records it against the responsible person on a case, with a description; it goes to
//! the violations ledger with the 附则's fines as proposals. Refused, naming the clause and
//! changing nothing: a role without the right, oneself, an unknown type.

use hyper::StatusCode;
use manyi_store::NewUser;
use serde_json::{Value, json};

use crate::helpers::{TestApp, shipped_policy, spawn_app, token};

pub(crate) async fn jinbi() -> TestApp {
    let app = spawn_app().await;
    let now = app.state.clock.now();
    manyi_server::policies::install(
        &app.store,
        &app.state.policies,
        "jinbi-property.toml",
        &shipped_policy("jinbi-property.toml"),
        now,
        true,
    )
    .await
    .expect("the shipped policy installs");
    let users: [(&str, &str, &[&str]); 4] = [
        ("duty", "BJHD01", &["duty_staff"]),
        ("sup", "BJHD01", &["dispatch_supervisor"]),
        ("cs", "BJHD01", &["customer_service"]),
        ("far", "SH01", &["duty_staff"]),
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
    app
}

async fn jinbi_case(app: &TestApp) -> String {
    let (status, _, body) = app
        .create_case(
            &token("duty"),
            &json!({"policy": "jinbi-property", "kind": "complaint", "channel": "phone",
                "fields": {"complainant": "李先生", "contact_phone": "13800138000",
                    "matter": "楼上漏水", "location": "3栋101"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");
    body["number"].as_str().unwrap().to_owned()
}

async fn record(app: &TestApp, number: &str, who: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{number}/conduct"),
            &token(who),
            &body,
        )
        .await;
    (status, body)
}

async fn ledger_size(app: &TestApp) -> (usize, usize) {
    let (_, _, v) = app.get("/api/v1/violations", &token("cs")).await;
    let (_, _, p) = app.get("/api/v1/penalties", &token("cs")).await;
    (
        v["items"].as_array().unwrap().len(),
        p["items"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn jinbi_4_an_etiquette_breach_that_caused_a_complaint_fines_the_person_50_and_the_supervisor_20()
 {
    let app = jinbi().await;
    let n = jinbi_case(&app).await;
    let (status, v) = record(
        &app,
        &n,
        "cs",
        json!({"type": "etiquette_complaint", "person": "duty",
            "description": "接待来访业主时态度生硬，业主当场投诉。"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v:#}");
    assert_eq!(v["kind"], "conduct");
    assert_eq!(v["rule"], "etiquette_complaint");
    assert_eq!(v["clause"], "第四条");
    assert_eq!(v["unit"], "BJHD01");
    assert_eq!(v["liable_persons"][0]["login"], "duty");
    assert_eq!(v["description"], "接待来访业主时态度生硬，业主当场投诉。");
    assert_eq!(v["recorded_by"], "cs");
    let mut fines: Vec<(String, String, String)> = v["penalties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["person"]["login"].as_str().unwrap().to_owned(),
                p["range"]["text"].as_str().unwrap().to_owned(),
                p["clause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fines.sort();
    assert_eq!(
        fines,
        [
            ("duty".into(), "50.00 元".into(), "第四条附则".into()),
            ("sup".into(), "20.00 元".into(), "第四条附则".into()),
        ]
    );
    // On the case's log, and in the case's violations.
    let events = app.events(&n, &token("cs")).await;
    let last = events.last().unwrap();
    assert_eq!(last["action"], "conduct_recorded");
    assert_eq!(last["actor"]["login"], "cs");
    let (_, _, on_case) = app
        .get(&format!("/api/v1/cases/{n}/violations"), &token("cs"))
        .await;
    assert_eq!(on_case["violations"][0]["rule"], "etiquette_complaint");

    // 第六条: the supervisor records a phone-language breach: 20 元, stacking with the first.
    let (status, v) = record(
        &app,
        &n,
        "sup",
        json!({"type": "phone_language", "person": "duty",
            "description": "接听来电未使用规范用语。"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v:#}");
    assert_eq!(v["clause"], "第六条");
    assert_eq!(v["penalties"][0]["range"]["text"], "20.00 元");
    assert_eq!(ledger_size(&app).await, (2, 3));
}

#[tokio::test]
async fn a_conduct_record_is_refused_without_the_role_against_oneself_or_of_an_unknown_type() {
    let app = jinbi().await;
    let n = jinbi_case(&app).await;
    let ok = |ty: &str, person: &str| json!({"type": ty, "person": person, "description": "未按礼仪标准接待。"});
    // Duty staff may not record conduct: 403 naming 第四条.
    let (status, p) = record(&app, &n, "duty", ok("etiquette", "sup")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p:#}");
    assert_eq!(p["clause"], "第四条");
    assert_eq!(p["reason"], "role_not_allowed");
    // Against oneself: 403 naming 第四条.
    let (status, p) = record(&app, &n, "sup", ok("etiquette", "sup")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p:#}");
    assert_eq!(p["clause"], "第四条");
    assert!(
        p["detail"].as_str().unwrap().contains("themselves"),
        "{p:#}"
    );
    // An unknown type: 422 naming the field and the value.
    let (status, p) = record(&app, &n, "sup", ok("rudeness", "duty")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p:#}");
    assert!(p["detail"].as_str().unwrap().contains("rudeness"), "{p:#}");
    // No description: 422 naming the clause. An unknown person: 422 naming the field.
    let (status, p) = record(
        &app,
        &n,
        "sup",
        json!({"type": "etiquette", "person": "duty", "description": "  "}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p:#}");
    assert_eq!(p["clause"], "第四条");
    let (status, p) = record(&app, &n, "sup", ok("etiquette", "ghost")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p:#}");
    assert!(p["detail"].as_str().unwrap().contains("person"), "{p:#}");
    // A person outside the recorder's unit: 403.
    let (status, p) = record(&app, &n, "sup", ok("etiquette", "far")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p:#}");
    // Nothing was written.
    assert_eq!(ledger_size(&app).await, (0, 0));
    let events = app.events(&n, &token("cs")).await;
    assert!(events.iter().all(|e| e["action"] != "conduct_recorded"));
}
