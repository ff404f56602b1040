//! `GET /api/v1/ops`: the instance's operational figures — the group commit of case creates
//! (batches, creates written by the multi-row fast path, jobs written one at a time,
//! fallbacks) — for administrators only.

use hyper::StatusCode;
use serde_json::Value;

use crate::helpers::{ADMIN, TELLER, assert_problem, complaint, spawn_app, token};

fn figure(body: &Value, name: &str) -> u64 {
    body["intake"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("intake.{name} in {body:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ops_figures_count_every_create_and_say_how_it_was_written() {
    let app = spawn_app().await;
    let (status, _, before) = app.get("/api/v1/ops", &token(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{before:#}");
    assert_eq!(before["backend"], app.backend());

    // Sixteen clerks' creates at once, then one alone.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let api = app.api.clone();
        tasks.push(tokio::spawn(async move {
            let (status, _, body) = api.create_case(&token(TELLER), &complaint()).await;
            assert_eq!(status, StatusCode::CREATED, "{body:#}");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let (status, _, body) = app.create_case(&token(TELLER), &complaint()).await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");

    let (status, _, after) = app.get("/api/v1/ops", &token(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{after:#}");
    let written = |b: &Value| figure(b, "fast_creates") + figure(b, "one_at_a_time");
    // Every create was written once, by one path or the other.
    assert_eq!(
        written(&after) - written(&before),
        17,
        "{before:#} → {after:#}"
    );
    let batches = figure(&after, "batches") - figure(&before, "batches");
    assert!(
        (1..=17).contains(&batches),
        "{batches} batches for 17 creates"
    );
    assert_eq!(figure(&after, "fallbacks"), figure(&before, "fallbacks"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_administrator_reads_the_ops_figures() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/ops", &token(TELLER)).await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
    let (status, _, _) = app.get("/api/v1/ops", "no-such-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
