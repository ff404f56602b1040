//! A crash in the middle of intake loses no acknowledged case and duplicates none: one test
//! per backend ([`sqlite_kill_9_under_load`] with the default `synchronous = full`,
//! [`postgres_kill_9_under_load`]).
//!
//! 16 clients create complaints through a real `manyi serve`, each request with its own
//! `Idempotency-Key`, until the server is killed with SIGKILL (no shutdown, no flush) while
//! requests are in flight. A new server is started on the same database, and then:
//!
//! - every case acknowledged with 201 before the crash exists, once: it is found by its number,
//!   and its key, replayed, answers 200 with that same number;
//! - every request left without an answer, retried with its key, answers 201 (it had not been
//!   committed) or 200 (it had: its commit went through before the kill); retried once more it
//!   answers 200 with the same number — so each opens at most one case;
//! - the database holds exactly one case per key that ever succeeded, no more (no orphan of a
//!   half-written create) and no fewer;
//! - their numbers are unique and the serials run 1..=N without a gap (the counter rolled back
//!   with any create that did not commit).
//!
//! The time is pinned with `--clock-file` so that the numbers' year and the deadlines do not
//! depend on when the test runs. SQLite runs on a file in a temporary directory; PostgreSQL on
//! a fresh database (`manyi_store::testing::TestDb`), skipped with a reason when the run
//! leaves PostgreSQL out.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use manyi_core::clock::FileClock;
use manyi_store::testing::TestDb;
use serde_json::Value;

use common::{Auth, Http, Server, ccb_complaint, postgres_or_skip, serial, set_up_bank, t};

/// Concurrent clients, each sending its next create as soon as the previous one answered.
const CLIENTS: usize = 16;
/// The server is killed once it has acknowledged this many creates …
const KILL_AFTER_ACKS: usize = 200;
/// … or after this long, whichever comes first.
const KILL_AFTER: Duration = Duration::from_secs(10);

/// What became of one keyed create before the crash.
#[derive(Debug)]
enum Outcome {
    /// 201: the key and the case number.
    Acknowledged { key: String, number: String },
    /// No answer: the connection was cut or refused by the crash.
    Unanswered(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_under_load() {
    let db = TestDb::create("sqlite").await;
    let Some(db) = db else {
        eprintln!("sqlite_kill_9_under_load: skipped: MANYI_TEST_BACKEND leaves SQLite out");
        return;
    };
    // The default is `full`; said explicitly so that a change of default cannot weaken the test.
    crash_and_recover(&db, &["--sqlite-synchronous", "full"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_under_load() {
    let Some(db) = postgres_or_skip().await else {
        return;
    };
    crash_and_recover(&db, &[]).await;
}

async fn crash_and_recover(db: &TestDb, extra: &[&str]) {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = db.url().to_owned();
    let (teller, admin) = set_up_bank(&url, dir.path());
    let clock_file = dir.path().join("now");
    FileClock::write(&clock_file, t("2026-03-10T10:00:00+08:00")).expect("write the clock");
    let mut args = vec!["--clock-file", clock_file.to_str().expect("a UTF-8 path")];
    args.extend_from_slice(extra);

    let mut server = Server::start("before", &url, &args);
    let http = Http::new();
    let acks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, addr, teller) = (http.clone(), server.addr, teller.clone());
        let (acks, stop) = (acks.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let key = format!("crash-{c}-{n}");
                match create(&http, addr, &teller, &key).await {
                    Ok((StatusCode::CREATED, body)) => {
                        acks.fetch_add(1, Ordering::Relaxed);
                        outcomes.push(Outcome::Acknowledged {
                            key,
                            number: number_of(&body),
                        });
                    }
                    Ok((status, body)) => panic!("{key}: {status} before the crash: {body:#}"),
                    // The crash: this request's fate is unknown. A client gives up here (a
                    // real one would retry later with the same key, as we do below).
                    Err(_) => {
                        outcomes.push(Outcome::Unanswered(key));
                        break;
                    }
                }
            }
            outcomes
        }));
    }
    let load_started = Instant::now();
    while acks.load(Ordering::Relaxed) < KILL_AFTER_ACKS && load_started.elapsed() < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Requests are in flight: every client is waiting for an answer right now.
    server.kill();
    let killed_after = load_started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.expect("a client task panicked"));
    }
    let acknowledged: Vec<(&String, &String)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Acknowledged { key, number } => Some((key, number)),
            Outcome::Unanswered(_) => None,
        })
        .collect();
    let unanswered: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Unanswered(k) => Some(k),
            Outcome::Acknowledged { .. } => None,
        })
        .collect();
    assert!(
        acknowledged.len() >= 20,
        "too few creates before the crash to prove anything: {outcomes:?}"
    );
    // Each client stops at its first failure; if one never failed (it saw `stop` first) it has
    // no unanswered request, which is fine.
    assert!(
        !unanswered.is_empty(),
        "the kill cut no request: {outcomes:?}"
    );
    let distinct: BTreeSet<&String> = acknowledged.iter().map(|(_, n)| *n).collect();
    assert_eq!(
        distinct.len(),
        acknowledged.len(),
        "a number acknowledged twice"
    );

    // The same database, a new process.
    let server = Server::start("after", &url, &args);
    let addr = server.addr;

    // Every acknowledged case survived, once: by its number, and by replaying its key.
    for (key, number) in &acknowledged {
        let (status, _, case) = http
            .get(addr, &format!("/api/v1/cases/{number}"), &admin)
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "acknowledged {number} is lost: {case:#}"
        );
        let (status, case) = create(&http, addr, &teller, key)
            .await
            .unwrap_or_else(|e| panic!("replaying {key}: {e}"));
        assert_eq!(status, StatusCode::OK, "replaying {key}: {case:#}");
        assert_eq!(&&number_of(&case), number, "{key} replayed to another case");
    }

    // Every unanswered request, retried with its key: at most one case each.
    let mut written_before_crash = 0;
    let mut retried_numbers = Vec::new();
    for key in &unanswered {
        let (status, case) = create(&http, addr, &teller, key)
            .await
            .unwrap_or_else(|e| panic!("retrying {key}: {e}"));
        match status {
            StatusCode::CREATED => {}
            StatusCode::OK => written_before_crash += 1,
            other => panic!("retrying {key}: {other} {case:#}"),
        }
        let number = number_of(&case);
        assert!(
            !distinct.contains(&number),
            "{key} was answered with an acknowledged case of another key: {number}"
        );
        let (again, same) = create(&http, addr, &teller, key)
            .await
            .unwrap_or_else(|e| panic!("retrying {key} again: {e}"));
        assert_eq!(again, StatusCode::OK, "{key}, second retry: {same:#}");
        assert_eq!(number_of(&same), number, "{key}: a second case on retry");
        retried_numbers.push(number);
    }

    // The database: one case per key that ever succeeded, unique numbers, serials 1..=N.
    let all = all_numbers(&http, addr, &admin).await;
    let expected = acknowledged.len() + unanswered.len();
    let all_set: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        all_set.len(),
        all.len(),
        "duplicate numbers in the database"
    );
    assert_eq!(
        all.len(),
        expected,
        "{} acknowledged + {} retried keys, but {} cases in the database",
        acknowledged.len(),
        unanswered.len(),
        all.len()
    );
    for number in distinct.iter().copied().chain(&retried_numbers) {
        assert!(all_set.contains(number), "{number} missing from the list");
    }
    let serials: BTreeSet<u64> = all.iter().map(|n| serial(n)).collect();
    assert_eq!(
        serials,
        (1..=expected as u64).collect::<BTreeSet<u64>>(),
        "the serials are not exactly 1..={expected}"
    );
    assert_eq!(server.log_count("internal error"), 0);
    eprintln!(
        "{}: killed after {killed_after:?} with {} creates acknowledged and {} in flight; after \
         the restart {written_before_crash} of those had been committed (200 on retry) and {} \
         had not (201); {expected} cases, serials 1..={expected}; whole test {:?}",
        db.backend(),
        acknowledged.len(),
        unanswered.len(),
        unanswered.len() - written_before_crash,
        started.elapsed()
    );
    drop(server);
}

/// A keyed create: the status and body, or `Err` when no answer came back.
async fn create(
    http: &Http,
    addr: std::net::SocketAddr,
    token: &str,
    key: &str,
) -> Result<(StatusCode, Value), String> {
    http.try_send(
        addr,
        Method::POST,
        "/api/v1/cases",
        Auth::Bearer(token),
        &[("Idempotency-Key", key)],
        Some(&ccb_complaint()),
    )
    .await
    .map(|(status, _, body)| (status, body))
}

fn number_of(case: &Value) -> String {
    case["number"]
        .as_str()
        .unwrap_or_else(|| panic!("no case number in {case:#}"))
        .to_owned()
}

/// Every case number in the database, through the admin's list, page by page.
async fn all_numbers(http: &Http, addr: std::net::SocketAddr, admin: &str) -> Vec<String> {
    let mut numbers = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/cases?limit=500&cursor={c}"),
            None => "/api/v1/cases?limit=500".to_owned(),
        };
        let (status, _, page) = http.get(addr, &path, admin).await;
        assert_eq!(status, StatusCode::OK, "{page:#}");
        for case in page["items"].as_array().expect("items") {
            numbers.push(number_of(case));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return numbers,
        }
    }
}
