//! Case numbers under load: many clerks registering at once still get unique, gap-free serials
//! (a regulator reading TS…00001 to TS…01000 expects exactly a thousand complaints).

use std::collections::BTreeSet;

use hyper::StatusCode;

use crate::helpers::{
    ADMIN, TELLER, assert_problem, complaint, replay_stored_log, spawn_app, token, valid_assessment,
};

const CASES: usize = 1_000;
const TASKS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_registrations_get_the_serials_1_to_1000_without_gaps() {
    let app = spawn_app().await;
    let started = std::time::Instant::now();

    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let api = app.api.clone();
        // Spread the thousand over the tasks: the first few take one more.
        let count = CASES / TASKS + usize::from(t < CASES % TASKS);
        tasks.push(tokio::spawn(async move {
            let mut numbers = Vec::with_capacity(count);
            for _ in 0..count {
                let (status, _, body) = api.create_case(&token(TELLER), &complaint()).await;
                assert_eq!(status, StatusCode::CREATED, "{body:#}");
                numbers.push(body["number"].as_str().expect("number").to_owned());
            }
            numbers
        }));
    }
    let mut numbers = Vec::with_capacity(CASES);
    for task in tasks {
        numbers.extend(task.await.expect("a registering task panicked"));
    }
    let elapsed = started.elapsed();

    assert_eq!(numbers.len(), CASES);
    let distinct: BTreeSet<&str> = numbers.iter().map(String::as_str).collect();
    assert_eq!(distinct.len(), CASES, "duplicate case numbers");
    let serials: BTreeSet<u64> = numbers
        .iter()
        .map(|n| {
            let serial = n
                .strip_prefix("TS202603")
                .unwrap_or_else(|| panic!("{n}: not a March 2026 complaint number"));
            serial.parse().expect("a numeric serial")
        })
        .collect();
    let expected: BTreeSet<u64> = (1..=1_000).collect();
    assert_eq!(serials, expected, "the serials are not exactly 1..=1000");

    // The store agrees: a thousand cases, listed over two pages.
    let (status, _, first) = app.get("/api/v1/cases?limit=500", &token(ADMIN)).await;
    assert_eq!(status, StatusCode::OK);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (status, _, second) = app
        .get(
            &format!("/api/v1/cases?limit=500&cursor={cursor}"),
            &token(ADMIN),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed: BTreeSet<&str> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .chain(second["items"].as_array().expect("items"))
        .map(|c| c["number"].as_str().expect("number"))
        .collect();
    assert_eq!(listed, distinct);
    assert!(second["next_cursor"].is_null(), "no third page");

    eprintln!("{CASES} registrations from {TASKS} tasks took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_assessments_of_one_case_exactly_one_wins_and_the_rest_see_its_result() {
    let app = spawn_app().await;
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number").to_owned();

    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let api = app.api.clone();
        let number = number.clone();
        tasks.push(tokio::spawn(async move {
            api.transition(&number, &token(TELLER), "assess", valid_assessment())
                .await
        }));
    }
    let mut won = 0;
    for task in tasks {
        let reply = task.await.expect("an assessing task panicked");
        if reply.0 == StatusCode::OK {
            won += 1;
        } else {
            // The losers decided again on the fresh state, where `assess` no longer applies.
            let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
            assert_eq!(problem["reason"], "wrong_state", "{problem:#}");
        }
    }
    assert_eq!(won, 1, "exactly one assessment is recorded");
    let events = app.events(&number, &token(TELLER)).await;
    assert_eq!(events.len(), 2, "open + one assess");
    replay_stored_log(&app.store, &number).await;
}
