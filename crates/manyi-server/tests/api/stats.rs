//! `GET /api/v1/stats`: one month's counts by unit, category and on-time status, scoped to the
//! caller's jurisdiction; the counts follow breaches and hand-ups as the scheduler writes them.

use hyper::StatusCode;
use jiff::Timestamp;
use manyi_server::scheduler;
use manyi_store::StatsQuery;
use serde_json::Value;

use crate::helpers::{
    ADMIN, Auth, BRANCH_HEAD, SH_TELLER, TELLER, assert_problem, ccb_complaint, spawn_app, token,
};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// `unit category status count` of each row.
fn rows(report: &Value) -> Vec<String> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["unit"].as_str().unwrap(),
                r["category"].as_str().unwrap_or("-"),
                r["status"].as_str().unwrap(),
                r["count"]
            )
        })
        .collect()
}

#[tokio::test]
async fn monthly_counts_follow_breaches_and_hand_ups_within_each_callers_jurisdiction() {
    let app = spawn_app().await;
    app.clock.set(t("2026-09-30T10:00:00+08:00"));
    for _ in 0..2 {
        let (status, _, body) = app.create_case(&token(TELLER), &ccb_complaint()).await;
        assert_eq!(status, StatusCode::CREATED, "{body:#}");
    }
    let (status, _, body) = app.create_case(&token(SH_TELLER), &ccb_complaint()).await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");

    // Before any deadline: three open cases on time; the teller sees its outlet's two.
    let (status, _, all) = app.get("/api/v1/stats?month=2026-09", &token(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{all:#}");
    assert_eq!(
        rows(&all),
        ["BJHD01 - open_on_time 2", "SH01 - open_on_time 1"]
    );
    assert_eq!(all["totals"]["cases"], 3);
    assert_eq!(all["from"], "2026-09-01T00:00:00+08:00");
    assert_eq!(all["to"], "2026-10-01T00:00:00+08:00");
    assert_eq!(all["rows"][0]["status_label"], "在办未超时");
    let (_, _, mine) = app.get("/api/v1/stats?month=2026-09", &token(TELLER)).await;
    assert_eq!(rows(&mine), ["BJHD01 - open_on_time 2"]);
    assert_eq!(mine["unit"], "BJHD01");
    assert_eq!(mine["totals"]["by_status"]["open_on_time"], 2);
    assert_eq!(mine["totals"]["by_status"]["closed_late"], 0);

    // Another month is empty.
    let (status, _, october) = app.get("/api/v1/stats?month=2026-10", &token(ADMIN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(october["totals"]["cases"], 0);
    assert!(rows(&october).is_empty());

    // 第十九条: one working day, so every clock breaches at the end of 10-08; the outlet's
    // cases go up to the tier-2 branch. Counted late, in the branch.
    app.clock.set(t("2026-10-09T00:00:01+08:00"));
    scheduler::tick(&app.state).await.unwrap();
    let (_, _, all) = app.get("/api/v1/stats?month=2026-09", &token(ADMIN)).await;
    assert_eq!(all["totals"]["cases"], 3, "{all:#}");
    assert_eq!(all["totals"]["by_status"]["open_overdue"], 3, "{all:#}");
    let (_, _, branch) = app
        .get("/api/v1/stats?month=2026-09", &token(BRANCH_HEAD))
        .await;
    assert_eq!(rows(&branch), ["BJHD - open_overdue 2"]);
    let (_, _, mine) = app.get("/api/v1/stats?month=2026-09", &token(TELLER)).await;
    assert_eq!(
        mine["totals"]["cases"], 0,
        "the cases left the outlet: {mine:#}"
    );

    // The same as a GROUP BY over the cases.
    let (from, to) = (
        t("2026-09-01T00:00:00+08:00"),
        t("2026-10-01T00:00:00+08:00"),
    );
    let q = StatsQuery {
        month: "2026-09".into(),
        from,
        to,
        unit_subtree: None,
    };
    let mut kept = app.store.case_stats(&q).await.unwrap();
    let mut raw = app.store.case_stats_from_cases(&q).await.unwrap();
    kept.sort();
    raw.sort();
    assert_eq!(kept, raw);
}

#[tokio::test]
async fn a_unit_outside_the_callers_jurisdiction_is_not_found_and_a_bad_month_names_the_rule() {
    let app = spawn_app().await;
    let (status, _, body) = app
        .get(
            "/api/v1/stats?month=2026-09&unit=BJHD01",
            &token(BRANCH_HEAD),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["unit"], "BJHD01");
    for unit in ["SH", "HQ", "NOPE"] {
        let reply = app
            .get(
                &format!("/api/v1/stats?month=2026-09&unit={unit}"),
                &token(TELLER),
            )
            .await;
        let problem = assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
        assert!(
            problem["detail"].as_str().unwrap().contains(unit),
            "{problem:#}"
        );
    }
    let (status, _, _) = app
        .get("/api/v1/stats?month=2026-09&unit=SH", &token(ADMIN))
        .await;
    assert_eq!(status, StatusCode::OK);

    for (query, needle) in [
        ("month=2026-9", "`2026-9`"),
        ("month=2026-13", "01–12"),
        ("", "`month` is required"),
        ("month=2026-09&colour=red", "colour"),
    ] {
        let reply = app
            .get(&format!("/api/v1/stats?{query}"), &token(ADMIN))
            .await;
        let problem = assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
        assert!(
            problem["detail"].as_str().unwrap().contains(needle),
            "{query}: {problem:#}"
        );
    }
    let (status, _, _) = app
        .send(
            hyper::Method::GET,
            "/api/v1/stats?month=2026-09",
            Auth::None,
            &[],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
