//! Several `manyi serve` processes on one PostgreSQL database, and what they do when the
//! database goes away. PostgreSQL only: each test makes a fresh database
//! (`manyi_store::testing::TestDb`) and says why it is skipped when `MANYI_TEST_PG=skip` or
//! `MANYI_TEST_BACKEND=sqlite` leaves PostgreSQL out.
//!
//! - [`three_instances_share_numbers_deadlines_and_sessions`]: three real server processes
//!   on different ports; 300 cases created through all three at once get the serials
//!   1..=300; the time, shared through a `--clock-file`, jumps past the 1-working-day
//!   deadline and every case is breached exactly once, whichever instance fired it; a session
//!   opened on one instance works on the others.
//! - [`requests_on_connections_that_die_answer_503_and_the_pool_reconnects`]: the server's
//!   connections are terminated while requests wait on them: those requests answer 503 with
//!   `Retry-After` and a problem body, nothing is half-written, and the next requests succeed
//!   on fresh connections. Deterministic, and harmless to other tests (only this test's
//!   database is touched).
//! - [`drill_postgres_restarted_under_load`] (`#[ignore]`): restarts the machine's PostgreSQL
//!   under sustained load. Run by `scripts/pg-restart-drill.sh` only, since every other test
//!   on the machine shares that server.
//!
//! The servers are the real binary (`CARGO_BIN_EXE_manyi`), set up through the CLI (`org
//! import`, `user add`, `token create`) as an operator would. No test sleeps for a deadline:
//! the time is the clock file's, and waits are polls with a time-out.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hyper::header::{CONTENT_TYPE, RETRY_AFTER, SET_COOKIE};
use hyper::{Method, StatusCode};
use jiff::SignedDuration;
use manyi_core::clock::FileClock;
use serde_json::json;
use sqlx::{Connection, PgConnection};

use common::{
    Auth, BREACH_TIMEOUT, Http, PASSWORD, Reply, Server, postgres_or_skip, serial, set_up_bank, t,
};

// ---------------------------------------------------------------------------------------------
// Several instances, one database
// ---------------------------------------------------------------------------------------------

const CASES: usize = 300;
const CLIENTS: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_numbers_deadlines_and_sessions() {
    let Some(db) = postgres_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = db.url().to_owned();
    let (teller, admin) = set_up_bank(&url, dir.path());

    // One time for all three processes: Tuesday 2026-03-10, 10:00 in Beijing.
    let clock_file = dir.path().join("now");
    FileClock::write(&clock_file, t("2026-03-10T10:00:00+08:00")).expect("write the clock");
    let clock_arg = clock_file.to_str().expect("a UTF-8 path");
    let started = Instant::now();
    let servers: Vec<Server> = std::thread::scope(|s| {
        let handles: Vec<_> = ["A", "B", "C"]
            .into_iter()
            .map(|name| {
                let url = url.clone();
                s.spawn(move || Server::start(name, &url, &["--clock-file", clock_arg]))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a server starter panicked"))
            .collect()
    });
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    eprintln!("three instances up in {:?}: {addrs:?}", started.elapsed());
    let http = Http::new();

    // 300 complaints at once, request i through instance i % 3.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (http, addrs, teller) = (http.clone(), addrs.clone(), teller.clone());
        tasks.push(tokio::spawn(async move {
            let mut created = Vec::new();
            for i in (client..CASES).step_by(CLIENTS) {
                let (status, _, body) = http.create_case(addrs[i % 3], &teller, None).await;
                assert_eq!(status, StatusCode::CREATED, "case {i}: {body:#}");
                created.push((i % 3, body));
            }
            created
        }));
    }
    let mut cases = Vec::new();
    for task in tasks {
        cases.extend(task.await.expect("a client task panicked"));
    }
    eprintln!("{CASES} cases created in {:?}", started.elapsed());

    let numbers: Vec<String> = cases
        .iter()
        .map(|(_, c)| c["number"].as_str().expect("a number").to_owned())
        .collect();
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), CASES, "duplicate case numbers");
    let serials: BTreeSet<u64> = numbers.iter().map(|n| serial(n)).collect();
    assert_eq!(
        serials,
        (1..=CASES as u64).collect::<BTreeSet<u64>>(),
        "the serials are not exactly 1..={CASES}"
    );
    for instance in 0..3 {
        assert_eq!(
            cases.iter().filter(|(i, _)| *i == instance).count(),
            CASES / 3
        );
    }

    // Every case's handling clock runs at the outlet, due after one working day.
    let due = cases
        .iter()
        .map(|(_, c)| {
            let clock = c["clocks"]
                .as_array()
                .and_then(|cs| cs.iter().find(|k| k["id"] == "handling"))
                .unwrap_or_else(|| panic!("no handling clock: {c:#}"));
            assert_eq!(clock["level"], "outlet", "{clock:#}");
            t(clock["due"].as_str().expect("a due instant"))
        })
        .max()
        .expect("cases");

    // Past the deadline, for every process at once.
    let breached_at = due
        .checked_add(SignedDuration::from_mins(1))
        .expect("in range");
    FileClock::write(&clock_file, breached_at).expect("move the clock");
    let started = Instant::now();
    // Wait until every case shows its breach: 第十九条 hands it up to the tier-2 branch.
    loop {
        let (status, _, page) = http.get(addrs[0], "/api/v1/cases?limit=500", &admin).await;
        assert_eq!(status, StatusCode::OK, "{page:#}");
        let items = page["items"].as_array().expect("items");
        assert_eq!(items.len(), CASES);
        let escalated = items
            .iter()
            .filter(|c| c["owner_unit"]["code"] == "BJHD")
            .count();
        if escalated == CASES {
            break;
        }
        assert!(
            started.elapsed() < BREACH_TIMEOUT,
            "after {BREACH_TIMEOUT:?} only {escalated} of {CASES} cases were breached"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("all {CASES} breaches shown after {:?}", started.elapsed());

    // Exactly one breach per case, in its log, whichever instance reads it.
    let mut checks = Vec::new();
    for (i, number) in numbers.iter().enumerate() {
        let (http, addr, admin, number) =
            (http.clone(), addrs[i % 3], admin.clone(), number.clone());
        checks.push(tokio::spawn(async move {
            let (status, _, events) = http
                .get(addr, &format!("/api/v1/cases/{number}/events"), &admin)
                .await;
            assert_eq!(status, StatusCode::OK, "{events:#}");
            let events = events.as_array().expect("events").clone();
            let count = |action: &str| events.iter().filter(|e| e["action"] == action).count();
            assert_eq!(count("clock_breached"), 1, "{number}: {events:#?}");
            assert!(count("clock_warning") <= 1, "{number}: {events:#?}");
            let breach = events
                .iter()
                .find(|e| e["action"] == "clock_breached")
                .expect("the breach");
            assert_eq!(breach["clause"], "第十九条");
            assert_eq!(breach["actor"]["login"], "system");
            count("clock_breached") + count("clock_warning")
        }));
    }
    let mut fired_events = 0;
    for check in checks {
        fired_events += check.await.expect("an event check panicked");
    }
    // The servers agree: the timers they report as fired add up to the events, once each.
    let fired: Vec<usize> = servers.iter().map(|s| s.log_count("timer fired")).collect();
    eprintln!(
        "timers fired per instance (A, B, C): {fired:?}; breach and warning events: \
         {fired_events}"
    );
    assert_eq!(fired.iter().sum::<usize>(), fired_events);

    // A session opened on A works on B and C; closed on B, it is closed everywhere.
    let (status, headers, body) = http
        .send(
            addrs[0],
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            &[],
            Some(&json!({"login": "clerk", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let cookie = headers
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    for (name, addr) in ["A", "B", "C"].iter().zip(&addrs) {
        let (status, _, me) = http
            .send(
                *addr,
                Method::GET,
                "/api/v1/me",
                Auth::Cookie(&cookie),
                &[],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {me:#}");
        assert_eq!(me["login"], "clerk", "{name}");
    }
    let (status, _, body) = http
        .send(
            addrs[1],
            Method::POST,
            "/api/v1/auth/logout",
            Auth::Cookie(&cookie),
            &[],
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body:#}");
    for (name, addr) in ["A", "B", "C"].iter().zip(&addrs) {
        let (status, _, _) = http
            .send(
                *addr,
                Method::GET,
                "/api/v1/me",
                Auth::Cookie(&cookie),
                &[],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }

    for s in &servers {
        assert_eq!(
            s.log_count("internal error"),
            0,
            "{}: internal errors",
            s.name
        );
    }
    drop(servers); // killed before the database is dropped
}

// ---------------------------------------------------------------------------------------------
// The database goes away
// ---------------------------------------------------------------------------------------------

/// Asserts a 503 with `Retry-After` and an `unavailable` problem body.
fn assert_unavailable(reply: &Reply) {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{body:#}");
    assert!(
        headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some(),
        "no Retry-After: {headers:?}"
    );
    assert_eq!(
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert_eq!(
        body["type"], "https://manyi.dev/problems/unavailable",
        "{body:#}"
    );
    assert_eq!(body["status"], 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_on_connections_that_die_answer_503_and_the_pool_reconnects() {
    let Some(db) = postgres_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = db.url().to_owned();
    let (teller, admin) = set_up_bank(&url, dir.path());
    let server = Server::start("A", &url, &[]);
    let http = Http::new();
    let (status, _, first) = http.create_case(server.addr, &teller, Some("first")).await;
    assert_eq!(status, StatusCode::CREATED, "{first:#}");

    // Hold the numbering counter, so that the next creates wait inside their transaction:
    // creates are group-committed, so the first batch waits on one connection of the pool
    // and the creates that arrive meanwhile queue for the next batch.
    let mut side = PgConnection::connect(&url)
        .await
        .expect("a side connection");
    // A second one to watch from: inside a transaction, pg_stat_activity is a snapshot.
    let mut watch = PgConnection::connect(&url)
        .await
        .expect("a watching connection");
    sqlx::raw_sql("BEGIN; SELECT * FROM number_counters FOR UPDATE")
        .execute(&mut side)
        .await
        .expect("lock the counter");
    const WAITING: usize = 6;
    let mut waiting = Vec::new();
    for i in 0..WAITING {
        let (http, addr, teller) = (http.clone(), server.addr, teller.clone());
        waiting.push(tokio::spawn(async move {
            http.create_case(addr, &teller, Some(&format!("cut-{i}")))
                .await
        }));
    }
    let started = Instant::now();
    loop {
        let blocked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'manyi' AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watch)
        .await
        .expect("pg_stat_activity");
        if blocked >= 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no create reached the counter"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the other requests arrive and queue behind the waiting batch.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Every connection of the server is cut, as a restart or a failover would.
    let cut: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'manyi') AS t",
    )
    .fetch_one(&mut watch)
    .await
    .expect("terminate the server's connections");
    assert!(cut >= 1, "{cut}");
    // The creates queued behind the cut batch go on in the next one, on a new connection,
    // once the counter is free.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut side)
        .await
        .expect("release the counter");
    let mut unavailable = 0;
    let mut first_answers = Vec::new();
    for task in waiting {
        let reply = task.await.expect("a request task panicked");
        if reply.0 == StatusCode::CREATED {
            first_answers.push(Some(
                reply.2["number"].as_str().expect("a number").to_owned(),
            ));
        } else {
            assert_unavailable(&reply);
            unavailable += 1;
            first_answers.push(None);
        }
    }
    assert!(unavailable >= 1, "the cut batch's creates answer 503");

    // The pool reconnects by itself: the same requests, retried with their keys, open each
    // case once (a create that was written replays it), numbered after the first: nothing of
    // the failed attempts remains.
    let mut retried = Vec::new();
    for (i, first) in first_answers.iter().enumerate() {
        let (status, _, case) = http
            .create_case(server.addr, &teller, Some(&format!("cut-{i}")))
            .await;
        let number = case["number"].as_str().expect("a number").to_owned();
        match first {
            Some(first) => {
                assert_eq!(status, StatusCode::OK, "{case:#}");
                assert_eq!(&number, first);
            }
            None => assert_eq!(status, StatusCode::CREATED, "{case:#}"),
        }
        retried.push(serial(&number));
    }
    retried.sort_unstable();
    assert_eq!(retried, (2..=1 + WAITING as u64).collect::<Vec<_>>());
    let (status, _, health) = http
        .send(server.addr, Method::GET, "/healthz", Auth::None, &[], None)
        .await;
    assert_eq!(status, StatusCode::OK, "{health:#}");
    let (status, _, page) = http.get(server.addr, "/api/v1/cases", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1 + WAITING));
    assert!(server.log_count("database unavailable") >= unavailable);
    if let Some(line) = server.log_lines("database unavailable").first() {
        eprintln!("the server's log of a cut connection: {line}");
    }
    assert_eq!(server.log_count("internal error"), 0);
    let _ = side.close().await;
    let _ = watch.close().await;
    drop(server);
}

/// One request of the drill: its idempotency key, when it was sent, and what came back.
struct Attempt {
    key: String,
    sent: Instant,
    took: Duration,
    status: StatusCode,
    number: Option<String>,
}

/// Restarts this machine's PostgreSQL (`pg_ctlcluster … restart`) while 16 clients create
/// cases through one server, then checks that every acknowledged case exists exactly once and
/// that the unacknowledged ones, retried with their keys, open at most one case each.
///
/// Ignored: it restarts the PostgreSQL server every other test uses. Run it alone with
/// `scripts/pg-restart-drill.sh` (which also prints the figures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the machine's PostgreSQL; run by scripts/pg-restart-drill.sh"]
async fn drill_postgres_restarted_under_load() {
    let Some(db) = postgres_or_skip().await else {
        return;
    };
    let restart = std::env::var("MANYI_DRILL_RESTART")
        .unwrap_or_else(|_| "pg_ctlcluster --skip-systemctl-redirect 15 main restart".into());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = db.url().to_owned();
    let (teller, admin) = set_up_bank(&url, dir.path());
    let server = Server::start("A", &url, &[]);
    let http = Http::new();

    const DRILL_CLIENTS: usize = 16;
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let mut clients = Vec::new();
    for c in 0..DRILL_CLIENTS {
        let (http, addr, teller, stop) = (http.clone(), server.addr, teller.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut attempts = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("drill-{c}-{n}");
                n += 1;
                let sent = Instant::now();
                let (status, _, body) = http.create_case(addr, &teller, Some(&key)).await;
                attempts.push(Attempt {
                    key,
                    sent,
                    took: sent.elapsed(),
                    status,
                    number: body["number"].as_str().map(str::to_owned),
                });
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    // As a client would, after the Retry-After of 1 s (shortened here).
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            attempts
        }));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let restart_at = t0.elapsed();
    eprintln!("drill: {restart} at {restart_at:?}");
    let out = Command::new("sh")
        .args(["-c", &restart])
        .output()
        .expect("run the restart command");
    assert!(
        out.status.success(),
        "{restart}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back_at = t0.elapsed();
    eprintln!("drill: PostgreSQL back at {back_at:?}");
    // Load goes on until the server has answered 201 for 3 s after the restart.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut attempts = Vec::new();
    for client in clients {
        attempts.extend(client.await.expect("a drill client panicked"));
    }

    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for a in &attempts {
        *by_status.entry(a.status.as_u16()).or_default() += 1;
    }
    let slowest = attempts.iter().map(|a| a.took).max().unwrap_or_default();
    let failed: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.status != StatusCode::CREATED)
        .collect();
    let first_503 = failed.iter().map(|a| a.sent - t0).min();
    let last_503 = failed.iter().map(|a| a.sent + a.took - t0).max();
    eprintln!(
        "drill: {} requests, by status {by_status:?}; slowest {slowest:?}; failures sent from \
         {first_503:?}, answered until {last_503:?}",
        attempts.len()
    );
    for a in &failed {
        assert_eq!(
            a.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: only 201 or 503 are acceptable",
            a.key
        );
    }

    // Every acknowledged case exists, once.
    let acknowledged: Vec<&String> = attempts.iter().filter_map(|a| a.number.as_ref()).collect();
    let distinct: BTreeSet<&String> = acknowledged.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        acknowledged.len(),
        "a number acknowledged twice"
    );
    for number in &acknowledged {
        let (status, _, case) = http
            .get(server.addr, &format!("/api/v1/cases/{number}"), &admin)
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "acknowledged {number} is lost: {case:#}"
        );
    }
    // The 503s, retried with their keys: 201 if it had not been written, 200 (the first
    // case) if its commit had gone through before the connection died.
    let mut replayed = 0;
    for a in &failed {
        let (status, _, case) = http.create_case(server.addr, &teller, Some(&a.key)).await;
        match status {
            StatusCode::CREATED => {}
            StatusCode::OK => replayed += 1,
            other => panic!("retrying {}: {other} {case:#}", a.key),
        }
    }
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("connect after the drill");
    let cases: i64 = sqlx::query_scalar("SELECT count(*) FROM cases")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let max_serial: i64 = sqlx::query_scalar("SELECT max(serial) FROM cases")
        .fetch_one(&mut conn)
        .await
        .expect("max serial");
    let _ = conn.close().await;
    eprintln!(
        "drill: {} acknowledged (201), {} answered 503 of which {replayed} had in fact been \
         written (replayed 200 on retry); {cases} cases in the database, serials 1..={max_serial}",
        acknowledged.len(),
        failed.len()
    );
    assert_eq!(
        cases as usize,
        attempts.len(),
        "one case per key, no more, no less"
    );
    assert_eq!(max_serial, cases, "serials are gap-free");
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for line in server.log_lines("database unavailable") {
        let reason = line.split("error=").nth(1).unwrap_or(&line).to_owned();
        *reasons.entry(reason).or_default() += 1;
    }
    eprintln!(
        "drill: server log: 503 answered for {reasons:#?}; {} × internal error",
        server.log_count("internal error")
    );
    assert_eq!(server.log_count("internal error"), 0);
    drop(server);
}
