//! A double-clicked "submit complaint" must not open two cases: a create retried with the same
//! `Idempotency-Key` returns the first case.

use hyper::StatusCode;
use hyper::header::LOCATION;

use crate::helpers::{
    ADMIN, OUTLET_HEAD, TELLER, assert_problem, ccb_complaint, complaint, spawn_app, token,
};

const KEY: (&str, &str) = ("idempotency-key", "6f1c2c4e-submit-1");

#[tokio::test]
async fn the_same_key_and_body_sent_twice_open_one_case_and_answer_200_the_second_time() {
    let app = spawn_app().await;

    let (first, first_headers, first_case) = app
        .post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &complaint())
        .await;
    let (second, second_headers, second_case) = app
        .post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &complaint())
        .await;

    assert_eq!(first, StatusCode::CREATED, "{first_case:#}");
    assert_eq!(second, StatusCode::OK, "{second_case:#}");
    assert_eq!(first_case["number"], second_case["number"]);
    assert_eq!(first_case, second_case, "the retry returns the first case");
    assert_eq!(
        first_headers.get(LOCATION),
        second_headers.get(LOCATION),
        "both point at the same case"
    );
    let number = first_case["number"].as_str().expect("number");
    assert_eq!(app.listed_numbers(&token(ADMIN)).await, [number]);
    assert_eq!(app.events(number, &token(TELLER)).await.len(), 1);

    // The serial the replay did not take is the next case's.
    let next = app.open_complaint(&token(TELLER)).await;
    assert_eq!(next["number"], "TS20260300002");
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_a_conflict_and_opens_nothing() {
    let app = spawn_app().await;
    let (first, _, case) = app
        .post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &complaint())
        .await;
    assert_eq!(first, StatusCode::CREATED, "{case:#}");

    let mut changed = complaint();
    changed["fields"]["matter"] = "另一件事：自助取款机吞卡。".into();
    let reply = app
        .post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &changed)
        .await;

    let problem = assert_problem(&reply, StatusCode::CONFLICT, "conflict");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Idempotency-Key")),
        "{problem:#}"
    );
    assert_eq!(
        app.listed_numbers(&token(ADMIN)).await,
        [case["number"].as_str().expect("number")]
    );
}

#[tokio::test]
async fn different_users_may_use_the_same_key_independently() {
    let app = spawn_app().await;

    let (teller, _, teller_case) = app
        .post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &complaint())
        .await;
    let (head, _, head_case) = app
        .post_json_with("/api/v1/cases", &token(OUTLET_HEAD), &[KEY], &complaint())
        .await;

    assert_eq!(teller, StatusCode::CREATED, "{teller_case:#}");
    assert_eq!(head, StatusCode::CREATED, "{head_case:#}");
    assert_ne!(teller_case["number"], head_case["number"]);
    assert_eq!(teller_case["first_contact"]["login"], TELLER);
    assert_eq!(head_case["first_contact"]["login"], OUTLET_HEAD);
    assert_eq!(app.listed_numbers(&token(ADMIN)).await.len(), 2);
}

#[tokio::test]
async fn a_key_is_scoped_to_its_user_not_to_the_policy_so_reusing_it_for_another_case_conflicts() {
    let app = spawn_app().await;
    let (first, _, _) = app
        .post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &complaint())
        .await;
    assert_eq!(first, StatusCode::CREATED);

    let reply = app
        .post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &ccb_complaint())
        .await;

    assert_problem(&reply, StatusCode::CONFLICT, "conflict");
    assert_eq!(app.listed_numbers(&token(ADMIN)).await.len(), 1);
}

#[tokio::test]
async fn an_empty_idempotency_key_is_a_bad_request() {
    let app = spawn_app().await;
    let reply = app
        .post_json_with(
            "/api/v1/cases",
            &token(TELLER),
            &[("idempotency-key", "")],
            &complaint(),
        )
        .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    assert!(app.listed_numbers(&token(ADMIN)).await.is_empty());
}

#[tokio::test]
async fn without_a_key_two_identical_posts_open_two_cases() {
    let app = spawn_app().await;
    let a = app.open_complaint(&token(TELLER)).await;
    let b = app.open_complaint(&token(TELLER)).await;
    assert_ne!(a["number"], b["number"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_sent_concurrently_still_opens_one_case() {
    let app = spawn_app().await;
    let mut clicks = Vec::new();
    for _ in 0..8 {
        let api = app.api.clone();
        clicks.push(tokio::spawn(async move {
            api.post_json_with("/api/v1/cases", &token(TELLER), &[KEY], &complaint())
                .await
        }));
    }
    let mut created = 0;
    let mut numbers = std::collections::BTreeSet::new();
    for click in clicks {
        let (status, _, body) = click.await.expect("a click panicked");
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}: {body:#}"),
        }
        numbers.insert(body["number"].as_str().expect("number").to_owned());
    }
    assert_eq!(created, 1, "exactly one click opens the case");
    assert_eq!(numbers.len(), 1, "every click answers with the same case");
    assert_eq!(app.listed_numbers(&token(ADMIN)).await.len(), 1);
}

/// A full disk is a fault, not a bug: the create answers 503 with `Retry-After`, nothing of it
/// is kept (no case, no serial taken), and once there is room again the retry with the same
/// `Idempotency-Key` creates the case, with the next serial. SQLite only: the full disk is
/// simulated with `PRAGMA max_page_count` on the store's one writer connection (the database may
/// not grow past its current size). PostgreSQL's `disk_full` (SQLSTATE 53100) is mapped the
/// same way; `error.rs`'s unit tests check that mapping.
#[tokio::test]
async fn a_full_disk_answers_503_keeps_nothing_and_the_retry_with_its_key_creates_the_case() {
    let app = spawn_app().await;
    if app.backend() != "sqlite" {
        eprintln!(
            "skipped on {}: the full disk is simulated with SQLite's max_page_count",
            app.backend()
        );
        return;
    }
    // Below the current size, SQLite sets the limit to the current size.
    app.store
        .raw_execute_for_tests("PRAGMA max_page_count = 1")
        .await
        .expect("limit the database to its size");
    let mut created = Vec::new();
    let mut refused = None;
    let create = |key: String| {
        let app = &app;
        async move {
            app.post_json_with(
                "/api/v1/cases",
                &token(TELLER),
                &[("idempotency-key", key.as_str())],
                &complaint(),
            )
            .await
        }
    };
    for i in 0..400 {
        let key = format!("disk-full-{i}");
        let reply = create(key.clone()).await;
        if reply.0 == StatusCode::CREATED {
            created.push(reply.2["number"].as_str().expect("number").to_owned());
            continue;
        }
        refused = Some((key, reply));
        break;
    }
    let (key, reply) = refused.expect("the database is full within 400 creates");
    assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(
        reply.1.contains_key(hyper::header::RETRY_AFTER),
        "{:?}",
        reply.1
    );
    let mut listed = app.listed_numbers(&token(ADMIN)).await;
    listed.sort();
    assert_eq!(listed, created, "only the creates answered 201 are kept");

    app.store
        .raw_execute_for_tests("PRAGMA max_page_count = 1073741823")
        .await
        .expect("room again");
    let (status, _, case) = create(key.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{case:#}");
    assert_eq!(
        case["number"],
        format!("TS202603{:05}", created.len() + 1),
        "the refused create took no serial"
    );
    let (again, _, same) = create(key).await;
    assert_eq!(again, StatusCode::OK, "{same:#}");
    assert_eq!(same["number"], case["number"]);
}
