//! Policies are versioned: an upload stores a new version, activation makes new cases use it,
//! and a case keeps the version it was opened under for life. A policy with errors is refused
//! whole, with every diagnostic.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, TELLER, TestApp, assert_problem, complaint, field_errors, fixture, shipped_policy,
    spawn_app, token, valid_assessment,
};

/// The shipped default-complaint with one more optional field, `branch_reference`.
fn default_complaint_v2() -> String {
    let v1 = shipped_policy("default-complaint.toml");
    let anchor = "\n[kind.complaint.state.registered]\n";
    assert_eq!(
        v1.matches(anchor).count(),
        1,
        "the anchor moved in the shipped policy"
    );
    v1.replacen(
        anchor,
        concat!(
            "\n[[kind.complaint.field]]\n",
            "id = \"branch_reference\"\n",
            "label = \"网点参考号\"\n",
            "label_en = \"Branch reference\"\n",
            "type = \"text\"\n",
            "max_len = 40\n",
            "\n[kind.complaint.state.registered]\n",
        ),
        1,
    )
}

async fn versions(app: &TestApp, name: &str) -> Vec<Value> {
    let (status, _, body) = app
        .get(&format!("/api/v1/policies/{name}/versions"), &token(TELLER))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body.as_array().expect("a list of versions").clone()
}

fn version_numbers(versions: &[Value]) -> Vec<(i64, bool)> {
    versions
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().expect("version"),
                v["active"].as_bool().expect("active"),
            )
        })
        .collect()
}

/// The 1-based line of the first line of `source` containing `needle`.
fn line_of(source: &str, needle: &str) -> usize {
    source
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the source"))
        + 1
}

#[tokio::test]
async fn an_uploaded_version_applies_to_new_cases_once_activated_while_open_cases_keep_theirs() {
    let app = spawn_app().await;
    let admin = token(ADMIN);
    let old = app.open_complaint(&token(TELLER)).await;
    let old_number = old["number"].as_str().expect("number");
    assert_eq!(old["policy"]["version"], 1);

    // Upload: stored as version 2, not active yet.
    let (status, _, uploaded) = app
        .post_raw(
            "/api/v1/policies",
            &admin,
            "application/toml",
            default_complaint_v2(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded:#}");
    assert_eq!(uploaded["id"], "default-complaint");
    assert_eq!(uploaded["version"], 2);
    assert_eq!(uploaded["active"], false);
    assert_eq!(
        version_numbers(&versions(&app, "default-complaint").await),
        [(1, true), (2, false)]
    );
    let not_yet = app.open_complaint(&token(TELLER)).await;
    assert_eq!(
        not_yet["policy"]["version"], 1,
        "uploading does not activate"
    );

    // Activate.
    let (status, _, activated) = app
        .post_json(
            "/api/v1/policies/default-complaint/versions/2/activate",
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{activated:#}");
    assert_eq!(activated["version"], 2);
    assert_eq!(activated["active"], true);
    assert_eq!(
        version_numbers(&versions(&app, "default-complaint").await),
        [(1, false), (2, true)]
    );

    // A new case is opened under version 2 and may use its new field.
    let mut body = complaint();
    body["fields"]["branch_reference"] = json!("HD01-2026-17");
    let (status, _, new) = app.create_case(&token(TELLER), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{new:#}");
    assert_eq!(
        new["policy"],
        json!({ "id": "default-complaint", "version": 2 })
    );
    assert_eq!(new["fields"]["branch_reference"], "HD01-2026-17");

    // The old case still shows, and follows, version 1: the new field does not exist there.
    let (status, _, shown) = app.show(old_number, &token(TELLER)).await;
    assert_eq!(status, StatusCode::OK, "{shown:#}");
    assert_eq!(
        shown["policy"],
        json!({ "id": "default-complaint", "version": 1 })
    );
    let mut assessment = valid_assessment();
    assessment["branch_reference"] = json!("HD01-2026-17");
    let refused = app
        .transition(old_number, &token(TELLER), "assess", assessment.clone())
        .await;
    let problem = assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("branch_reference".to_owned(), "unknown".to_owned())]
    );
    let assessed = app
        .take(old_number, &token(TELLER), "assess", valid_assessment())
        .await;
    assert_eq!(assessed["policy"]["version"], 1);

    // The same assessment is fine on the version-2 case.
    let new_number = new["number"].as_str().expect("number");
    let assessed = app
        .take(new_number, &token(TELLER), "assess", assessment)
        .await;
    assert_eq!(assessed["policy"]["version"], 2);

    // The active list names version 2.
    let (status, _, active) = app.get("/api/v1/policies", &token(TELLER)).await;
    assert_eq!(status, StatusCode::OK, "{active:#}");
    let default = active
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["id"] == "default-complaint")
        .expect("default-complaint is active");
    assert_eq!(default["version"], 2);
}

#[tokio::test]
async fn a_policy_with_errors_is_refused_with_its_diagnostics_and_nothing_is_stored() {
    let app = spawn_app().await;
    let source = fixture("invalid-policy.toml");
    let before = versions(&app, "default-complaint").await;

    let reply = app
        .post_raw(
            "/api/v1/policies",
            &token(ADMIN),
            "application/toml",
            source.clone(),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid-policy");
    let diagnostics = problem["diagnostics"].as_array().expect("diagnostics");
    let line = line_of(&source, "to = \"nowhere\"");
    let unknown_state = diagnostics
        .iter()
        .find(|d| d["message"].as_str().is_some_and(|m| m.contains("nowhere")))
        .unwrap_or_else(|| panic!("no diagnostic names `nowhere`: {problem:#}"));
    assert_eq!(unknown_state["severity"], "error");
    assert_eq!(unknown_state["line"], line, "{unknown_state:#}");
    assert_eq!(
        unknown_state["column"], 6,
        "at the value: {unknown_state:#}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nothing was stored")),
        "{problem:#}"
    );

    assert_eq!(versions(&app, "default-complaint").await, before);
    let (_, _, active) = app.get("/api/v1/policies", &token(TELLER)).await;
    assert_eq!(active.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn only_an_admin_may_upload_a_policy() {
    let app = spawn_app().await;
    let reply = app
        .post_raw(
            "/api/v1/policies",
            &token(TELLER),
            "application/toml",
            default_complaint_v2(),
        )
        .await;

    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("admin")),
        "{problem:#}"
    );
    assert_eq!(
        version_numbers(&versions(&app, "default-complaint").await),
        [(1, true)]
    );
}

#[tokio::test]
async fn only_an_admin_may_activate_a_version() {
    let app = spawn_app().await;
    let (status, _, _) = app
        .post_raw(
            "/api/v1/policies",
            &token(ADMIN),
            "application/toml",
            default_complaint_v2(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let reply = app
        .post_json(
            "/api/v1/policies/default-complaint/versions/2/activate",
            &token(TELLER),
            &json!({}),
        )
        .await;

    assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        version_numbers(&versions(&app, "default-complaint").await),
        [(1, true), (2, false)]
    );
}

#[tokio::test]
async fn checking_a_policy_returns_its_diagnostics_without_storing_it() {
    let app = spawn_app().await;
    let source = fixture("invalid-policy.toml");

    let (status, _, checked) = app
        .post_raw(
            "/api/v1/policies/check",
            &token(TELLER),
            "application/toml",
            source.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked:#}");
    assert_eq!(checked["ok"], false);
    let diagnostics = checked["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diagnostics.iter().any(|d| d["severity"] == "error"
            && d["line"] == line_of(&source, "to = \"nowhere\"")
            && d["message"].as_str().is_some_and(|m| m.contains("nowhere"))),
        "{checked:#}"
    );

    let (status, _, checked) = app
        .post_raw(
            "/api/v1/policies/check",
            &token(TELLER),
            "application/toml",
            default_complaint_v2(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked:#}");
    assert_eq!(checked["ok"], true, "{checked:#}");

    assert_eq!(
        version_numbers(&versions(&app, "default-complaint").await),
        [(1, true)],
        "checking stores nothing"
    );
}

#[tokio::test]
async fn uploading_the_active_text_again_stores_no_new_version() {
    let app = spawn_app().await;
    let (status, _, uploaded) = app
        .post_raw(
            "/api/v1/policies",
            &token(ADMIN),
            "application/toml",
            shipped_policy("default-complaint.toml"),
        )
        .await;
    assert!(status.is_success(), "{uploaded:#}");
    assert_eq!(uploaded["version"], 1);
    assert_eq!(
        version_numbers(&versions(&app, "default-complaint").await),
        [(1, true)]
    );
}

#[tokio::test]
async fn activating_a_version_that_is_not_a_number_is_a_bad_request_in_problem_json() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/api/v1/policies/default-complaint/versions/latest/activate",
            &token(ADMIN),
            &json!({}),
        )
        .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
}

#[tokio::test]
async fn activating_a_version_that_does_not_exist_is_not_found() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/api/v1/policies/default-complaint/versions/9/activate",
            &token(ADMIN),
            &json!({}),
        )
        .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
    assert_eq!(
        version_numbers(&versions(&app, "default-complaint").await),
        [(1, true)]
    );
}

/// pcb-complaint's truncated values are placeholders (CLAUSES.md A31): the pack is stored and
/// checked, but activation answers 422 listing each one at its line and column; once they are
/// filled in, the new version activates.
#[tokio::test]
async fn a_pack_with_unfilled_placeholders_is_stored_but_refuses_to_activate() {
    let app = spawn_app().await;
    let admin = token(ADMIN);
    let source = shipped_policy("pcb-complaint.toml");
    let (status, _, uploaded) = app
        .post_raw(
            "/api/v1/policies",
            &admin,
            "application/toml",
            source.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded:#}");
    assert_eq!(uploaded["active"], false);
    let reply = app
        .post_json(
            "/api/v1/policies/pcb-complaint/versions/1/activate",
            &admin,
            &json!({}),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("5 unfilled placeholder(s)"), "{detail}");
    assert!(detail.contains("`处理期限`"), "{detail}");
    let line = line_of(&source, "limit = \"<<待填: 处理期限");
    let places: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(places.len(), 5, "{problem:#}");
    assert!(
        places.contains(&format!("{line}:10").as_str()),
        "{places:?}"
    );
    assert_eq!(problem["errors"][0]["code"], "placeholder.unfilled");
    assert_eq!(
        version_numbers(&versions(&app, "pcb-complaint").await),
        [(1, false)]
    );

    // Filled in by the organisation: version 2 activates.
    let filled = source
        .replace("\"<<待填: 处理期限 | 2 workdays>>\"", "\"3 workdays\"")
        .replace("\"<<待填: 逾期预警点 | 80%>>\"", "\"75%\"")
        .replace("\"<<待填: （五）其余分类 | 其他>>\"", "\"其他\"")
        .replace(
            "\"<<待填: （六）分类（原文缺失） | （六）>>\"",
            "\"来料异常\"",
        )
        .replace(
            "<<待填: 核决权限（生产管理组可核决的金额，分） | 1000000>>",
            "500000",
        );
    let (status, _, v2) = app
        .post_raw("/api/v1/policies", &admin, "application/toml", filled)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v2:#}");
    let (status, _, activated) = app
        .post_json(
            "/api/v1/policies/pcb-complaint/versions/2/activate",
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{activated:#}");
    assert_eq!(activated["active"], true);
}
