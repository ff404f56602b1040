//! Coded classification: `code` fields validated against their versioned list, and
//! `GET /api/v1/stats/codes` counting by code level within the caller's jurisdiction.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, BRANCH_HEAD, SH_TELLER, TELLER, assert_problem, ccb_complaint, field_errors, spawn_app,
    token,
};

fn coded(cause: &str) -> Value {
    let mut body = ccb_complaint();
    body["fields"]["cause_code"] = json!(cause);
    body
}

#[tokio::test]
async fn an_unknown_code_is_refused_naming_field_value_list_and_version() {
    let app = spawn_app().await;
    let reply = app.create_case(&token(TELLER), &coded("0999")).await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("cause_code".to_owned(), "code.unknown".to_owned())]
    );
    let text = problem.to_string();
    assert!(
        text.contains("`0999` is not a code of list jrt0169_cause version 2018-pack1"),
        "{problem:#}"
    );
    // Nothing was registered.
    assert!(app.listed_numbers(&token(TELLER)).await.is_empty());
}

#[tokio::test]
async fn statistics_count_by_code_level_in_the_callers_jurisdiction_and_period() {
    let app = spawn_app().await;
    for cause in ["0101", "0102", "0201"] {
        let (status, _, body) = app.create_case(&token(TELLER), &coded(cause)).await;
        assert_eq!(status, StatusCode::CREATED, "{body:#}");
    }
    app.open_ccb_complaint(&token(TELLER)).await; // uncoded
    // Shanghai's case is outside the Haidian branch's jurisdiction.
    let (status, _, body) = app.create_case(&token(SH_TELLER), &coded("0101")).await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");

    let counts = |body: &Value| -> Vec<(String, u64)> {
        body["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .map(|c| {
                (
                    c["code"].as_str().unwrap().to_owned(),
                    c["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let (status, _, body) = app
        .get(
            "/api/v1/stats/codes?field=cause_code&from=2026-03-01&to=2026-04-01",
            &token(BRANCH_HEAD),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["codelist"]["id"], "jrt0169_cause");
    assert_eq!(body["codelist"]["version"], "2018-pack1");
    assert_eq!(body["total"], 4);
    assert_eq!(body["uncoded"], 1);
    let c = counts(&body);
    assert_eq!(
        c,
        [("01", 2), ("02", 1), ("03", 0), ("99", 0)].map(|(k, n)| (k.to_owned(), n))
    );

    let (_, _, body) = app
        .get(
            "/api/v1/stats/codes?field=cause_code&level=2",
            &token(ADMIN),
        )
        .await;
    assert_eq!(body["total"], 5);
    let c = counts(&body);
    assert!(c.contains(&("0101".to_owned(), 2)), "{body:#}");
    assert!(c.contains(&("0201".to_owned(), 1)), "{body:#}");

    // Another period: nothing.
    let (_, _, body) = app
        .get(
            "/api/v1/stats/codes?field=cause_code&from=2025-01-01&to=2026-01-01",
            &token(BRANCH_HEAD),
        )
        .await;
    assert_eq!(body["total"], 0);

    // Bad input: not a code field, a level the list does not have, a bad date.
    for q in [
        "field=customer_name",
        "field=cause_code&level=7",
        "field=cause_code&from=yesterday",
    ] {
        let reply = app
            .get(&format!("/api/v1/stats/codes?{q}"), &token(BRANCH_HEAD))
            .await;
        assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{q}: {:#}", reply.2);
    }
}
