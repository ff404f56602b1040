//! Issue 5: conduct recorded without a case. A dispatch supervisor's daily review sees a duty
//! officer receive an owner rudely, with no complaint case: `POST /api/v1/conduct` records the
//! jinbi-property 第四条 violation in the ledger with no case, the 附则's fines as proposals,
//! under the same rules as on a case (the roles, never oneself, within one's jurisdiction); a
//! refusal names the field, the value and the clause, and writes nothing.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::conduct::jinbi;
use crate::helpers::{TestApp, token};

async fn record(app: &TestApp, who: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = app.post_json("/api/v1/conduct", &token(who), &body).await;
    (status, body)
}

fn etiquette(ty: &str, person: &str) -> Value {
    json!({"policy": "jinbi-property", "type": ty, "person": person,
        "unit": "BJHD01", "description": "日常巡查：接待业主时未按礼仪标准。",
        "observed_on": "2026-01-05"})
}

async fn ledger(app: &TestApp) -> (Vec<Value>, Vec<Value>) {
    let (_, _, v) = app.get("/api/v1/violations", &token("cs")).await;
    let (_, _, p) = app.get("/api/v1/penalties", &token("cs")).await;
    (
        v["items"].as_array().unwrap().clone(),
        p["items"].as_array().unwrap().clone(),
    )
}

#[tokio::test]
async fn jinbi_4_conduct_seen_without_a_complaint_case_is_recorded_with_its_fines_and_no_case() {
    let app = jinbi().await;
    let (status, v) = record(&app, "sup", etiquette("etiquette_complaint", "duty")).await;
    assert_eq!(status, StatusCode::CREATED, "{v:#}");
    assert_eq!(v["case"], Value::Null);
    assert_eq!(v["kind"], "conduct");
    assert_eq!(v["rule"], "etiquette_complaint");
    assert_eq!(v["clause"], "第四条");
    assert_eq!(v["unit"], "BJHD01");
    assert_eq!(v["liable_persons"][0]["login"], "duty");
    assert_eq!(v["recorded_by"], "sup");
    assert_eq!(v["description"], "日常巡查：接待业主时未按礼仪标准。");
    assert_eq!(
        v["occurred_at"], "2026-01-05T00:00:00+08:00",
        "the day observed, Beijing time"
    );
    // The 附则's fines, exactly as on a case: the person 50 元, the dispatch supervisor 20 元.
    let mut fines: Vec<(String, String)> = v["penalties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["case"], Value::Null);
            (
                p["person"]["login"].as_str().unwrap().to_owned(),
                p["range"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fines.sort();
    assert_eq!(
        fines,
        [
            ("duty".into(), "50.00 元".into()),
            ("sup".into(), "20.00 元".into()),
        ]
    );
    // In the ledger lists and the CSV export, with no case.
    let (violations, penalties) = ledger(&app).await;
    assert_eq!((violations.len(), penalties.len()), (1, 2));
    assert_eq!(violations[0]["case"], Value::Null);
    let (status, _, csv) = app.get("/api/v1/penalties.csv", &token("cs")).await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap();
    // A header and two rows, the case column empty.
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.lines().skip(1).all(|l| l.split(',').nth(1) == Some("")),
        "{csv}"
    );
    // Decided and appealed as any penalty: the person's fine, by customer service.
    let duty_fine = penalties
        .iter()
        .find(|p| p["person"]["login"] == "duty")
        .unwrap();
    let id = duty_fine["id"].as_i64().unwrap();
    let (status, _, d) = app
        .post_json(
            &format!("/api/v1/penalties/{id}/decide"),
            &token("cs"),
            &json!({"amount": 5000, "reason": "巡查记录属实"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d:#}");
    assert_eq!(d["status"], "decided");
    let (status, _, a) = app
        .post_json(
            &format!("/api/v1/penalties/{id}/appeal"),
            &token("duty"),
            &json!({"reason": "当时业主先出言不逊"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a:#}");
    assert_eq!(a["status"], "appealed");
}

#[tokio::test]
async fn a_retried_conduct_record_with_the_same_idempotency_key_is_recorded_once() {
    let app = jinbi().await;
    let body = etiquette("etiquette", "duty");
    let send = |body: Value| {
        let app = &app;
        async move {
            app.post_json_with(
                "/api/v1/conduct",
                &token("sup"),
                &[("idempotency-key", "review-2026-01-05-1")],
                &body,
            )
            .await
        }
    };
    let (first, _, v1) = send(body.clone()).await;
    assert_eq!(first, StatusCode::CREATED, "{v1:#}");
    let (again, _, v2) = send(body).await;
    assert_eq!(again, StatusCode::OK, "{v2:#}");
    assert_eq!(v1["id"], v2["id"]);
    assert_eq!(v2["penalties"].as_array().unwrap().len(), 1);
    let (reused, _, p) = send(etiquette("phone_language", "duty")).await;
    assert_eq!(reused, StatusCode::CONFLICT, "{p:#}");
    let (violations, penalties) = ledger(&app).await;
    assert_eq!((violations.len(), penalties.len()), (1, 1));
}

#[tokio::test]
async fn conduct_without_a_case_is_refused_as_on_a_case_naming_the_field_value_and_clause() {
    let app = jinbi().await;
    // Duty staff may not record conduct: 403 naming 第四条.
    let (status, p) = record(&app, "duty", etiquette("etiquette", "sup")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p:#}");
    assert_eq!(
        (p["clause"].as_str(), p["reason"].as_str()),
        (Some("第四条"), Some("role_not_allowed"))
    );
    // Against oneself.
    let (status, p) = record(&app, "sup", etiquette("etiquette", "sup")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p:#}");
    assert_eq!(p["clause"], "第四条");
    // Outside the recorder's unit subtree (the person is in SH01).
    let mut far = etiquette("etiquette", "far");
    far["unit"] = json!("SH01");
    let (status, p) = record(&app, "sup", far).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p:#}");
    assert!(
        p["detail"].as_str().unwrap().contains("person = far"),
        "{p:#}"
    );
    // Field errors: 422 naming the field and the value.
    for (field, value, needle) in [
        ("policy", json!("no-such-policy"), "no-such-policy"),
        ("type", json!("rudeness"), "rudeness"),
        ("person", json!("ghost"), "ghost"),
        ("unit", json!("SH01"), "SH01"),
        ("observed_on", json!("yesterday"), "yesterday"),
        ("observed_on", json!("2999-01-01"), "2999"),
        ("description", json!("  "), "description"),
    ] {
        let mut body = etiquette("etiquette", "duty");
        body[field] = value;
        let (status, p) = record(&app, "sup", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {p:#}");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(field) && detail.contains(needle),
            "{field}: {p:#}"
        );
    }
    // Unknown fields are refused too.
    let mut extra = etiquette("etiquette", "duty");
    extra["case"] = json!("X");
    let (status, _) = record(&app, "sup", extra).await;
    assert!(status.is_client_error());
    // Nothing was written.
    let (violations, penalties) = ledger(&app).await;
    assert_eq!((violations.len(), penalties.len()), (0, 0));
}
