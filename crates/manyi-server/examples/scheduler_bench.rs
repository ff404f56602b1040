//! Benchmark: one scheduler tick with 1,000,000 pending timers, of which 1,000 (or none) are
//! due. Run on SQLite (both durability modes) and, when MANYI_BENCH_PG is set to a server URL
//! base (e.g. postgres://postgres@127.0.0.1:5432), on PostgreSQL:
//!
//! ```sh
//! cargo run --release -p manyi-server --example scheduler_bench
//! ```
//!
//! `SQLITE_MODES` picks the SQLite modes (`full,normal` by default; empty for none), `ROUNDS`
//! the live rounds; warnings and errors are logged to stderr (`RUST_LOG` for more).
//!
//! Two scenarios per backend:
//! - **stale**: the due timers belong to no running clock (they are retired as stale, exactly
//!   as the scheduler retires a timer whose clock moved on: one retiring statement per batch of
//!   due timers), so the figure is the scheduler's own cost: finding what is due and retiring
//!   each once.
//! - **live**: 1,000 real cases (registered through `create_as`, the HTTP handler's path, under
//!   the shipped `default-complaint` policy) whose reply clocks are running, beside the
//!   1,000,000 pending timers; the clock is moved to their 80 % warning (1,000 warnings due),
//!   then past their deadline (1,000 breaches due, each a violation in the ledger). Each of
//!   those ticks decides and writes 1,000 case changes. `ROUNDS` (default 3) rounds, each on
//!   1,000 new cases.

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use manyi_core::clock::{Clock, ManualClock};
use manyi_server::api::cases::{CreateRequest, create_as};
use manyi_server::{AppState, ServerConfig, scheduler};
use manyi_store::{NewCase, NewUnit, NewUser, Store, StoreOptions, Synchronous};

const TOTAL: &str = "1000000";

async fn seed(store: &Store) {
    store
        .insert_unit(NewUnit {
            code: "HQ".into(),
            name: "总行".into(),
            level: "hq".into(),
            parent_code: None,
        })
        .await
        .unwrap();
    let user = store
        .insert_user(NewUser {
            login: "bench".into(),
            name: "bench".into(),
            unit_code: "HQ".into(),
            roles: vec!["teller".into()],
            password_hash: None,
        })
        .await
        .unwrap();
    let source = include_str!("../../../policies/default-complaint.toml");
    let policy = store
        .store_policy_version("default-complaint", source, "h", Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    let unit = store.unit_by_code("HQ").await.unwrap().unwrap();
    // A case whose clocks know nothing of the benchmark's timers: each due timer is stale.
    let snapshot = serde_json::json!({
        "number": "", "kind": "complaint", "policy_id": "default-complaint",
        "policy_version": policy.id, "state": "registered", "channel": "counter",
        "owner_unit": {"id": unit.id, "code": "HQ", "name": "总行", "level": "hq", "ancestors": []},
        "first_contact": {"id": user.id, "login": "bench", "name": "bench"},
        "assignee": null, "fields": {},
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "closed": false, "version": 1,
    });
    store
        .create_case(
            NewCase {
                kind: "complaint".into(),
                policy_id: policy.id,
                number_scope: "B".into(),
                number_period: String::new(),
                state: "open".into(),
                owner_unit_id: unit.id,
                first_contact_id: user.id,
                assignee_id: None,
                channel: "counter".into(),
                created_at: Timestamp::UNIX_EPOCH,
                snapshot,
                events: Vec::new(),
                idempotency: None,
                timers: Vec::new(),
                find: Vec::new(),
                due_at: None,
            },
            |n| format!("B{n}"),
        )
        .await
        .unwrap();
    // 1,000,000 pending timers, due far in the future.
    let sql: &'static str = if store.backend_name() == "sqlite" {
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
         INSERT INTO timers (case_id, clock, kind, generation, due_at) \
         SELECT 1, 'bench' || i, 'breach', 1, 4102444800000 + i FROM n"
    } else {
        "INSERT INTO timers (case_id, clock, kind, generation, due_at) \
         SELECT 1, 'bench' || i, 'breach', 1, 4102444800000 + i FROM generate_series(1, 1000000) i"
    };
    store.raw_execute_for_tests(sql).await.unwrap();
    if store.backend_name() == "postgres" {
        store.raw_execute_for_tests("ANALYZE timers").await.unwrap();
    }
}

async fn make_due(store: &Store) {
    // The first 1,000 become due (at the epoch).
    store
        .raw_execute_for_tests(
            "UPDATE timers SET due_at = 0 WHERE fired_at IS NULL AND id IN \
             (SELECT id FROM timers WHERE fired_at IS NULL ORDER BY id LIMIT 1000)",
        )
        .await
        .unwrap();
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// The live scenario: `ROUNDS` rounds of 1,000 cases registered on a Monday, whose reply
/// clocks (2 working days, warned at 80 %) are then made due: first the warnings, then the
/// breaches, one tick each.
async fn run_live(label: &str, store: &Store, state: &AppState, clock: &ManualClock) {
    for (code, name, level, parent) in [
        ("BJ", "北京分行", "branch1", Some("HQ")),
        ("BJHD", "北京海淀支行", "branch2", Some("BJ")),
        ("BJHD01", "中关村营业网点", "outlet", Some("BJHD")),
    ] {
        store
            .insert_unit(NewUnit {
                code: code.into(),
                name: name.into(),
                level: level.into(),
                parent_code: parent.map(Into::into),
            })
            .await
            .unwrap();
    }
    let teller = store
        .insert_user(NewUser {
            login: "teller".into(),
            name: "柜员小王".into(),
            unit_code: "BJHD01".into(),
            roles: vec!["teller".into(), "frontline".into()],
            password_hash: None,
        })
        .await
        .unwrap();
    for (login, roles) in [
        ("head", vec!["outlet_head", "unit_head"]),
        ("service", vec!["service_mgmt", "service_dept"]),
    ] {
        store
            .insert_user(NewUser {
                login: login.into(),
                name: login.into(),
                unit_code: "BJHD01".into(),
                roles: roles.into_iter().map(Into::into).collect(),
                password_hash: None,
            })
            .await
            .unwrap();
    }
    let source = include_str!("../../../policies/default-complaint.toml");
    manyi_server::policies::install(
        store,
        &state.policies,
        "default-complaint.toml",
        source,
        clock.now(),
        true,
    )
    .await
    .unwrap();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let (mut warned, mut breached) = (Vec::new(), Vec::new());
    // Mondays a week apart, so that every round's two working days are plain weekdays.
    let mondays = [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
    ];
    for monday in mondays.iter().cycle().take(rounds) {
        clock.set(format!("{monday}T09:00:00+08:00").parse().unwrap());
        let request = CreateRequest {
            policy: Some("default-complaint".into()),
            kind: "complaint".into(),
            channel: "counter".into(),
            fields: serde_json::json!({
                "complainant_name": "王小明",
                "contact_phone": "138 0013 8000",
                "matter": "办理转账时柜员态度冷淡，多次询问不予回应。",
                "customer_demand": "要求网点说明情况并道歉。",
            })
            .as_object()
            .unwrap()
            .clone(),
        };
        let t = Instant::now();
        let mut reply = None;
        for _ in 0..1000 {
            let created = create_as(state, &teller, &request, None).await.unwrap();
            reply = created.case.clocks.get("reply").cloned();
        }
        eprintln!(
            "{label}: 1,000 cases registered in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        // Nothing of this round is due yet.
        let r = scheduler::tick(state).await.unwrap();
        assert_eq!(r.fired, 0, "{r:?}");
        // Every case of the round has the same reply clock (2 working days, warned at 80 %).
        let reply = reply.expect("the reply clock runs");
        let second = jiff::SignedDuration::from_secs(1);
        clock.set(reply.warn_at.expect("warned at 80 %") + second);
        let t = Instant::now();
        let r = scheduler::tick(state).await.unwrap();
        warned.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.fired, 1000, "warnings: {r:?}");
        clock.set(reply.deadline.due + second);
        let t = Instant::now();
        let r = scheduler::tick(state).await.unwrap();
        breached.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.fired, 1000, "breaches: {r:?}");
    }
    let violations = store
        .list_violations(&manyi_store::LedgerFilter {
            unit_subtree: None,
            person_id: None,
            visible_to: None,
            from: None,
            to: None,
            status: None,
            case_id: None,
            limit: 10_000,
        })
        .await
        .unwrap();
    assert_eq!(violations.len(), 1000 * rounds, "one violation per breach");
    let (m, lo, hi) = median(warned);
    println!(
        "{label}: tick, 1000 warnings due: median {m:.1} ms (min {lo:.1}, max {hi:.1}), {rounds} runs"
    );
    let (m, lo, hi) = median(breached);
    println!(
        "{label}: tick, 1000 breaches due: median {m:.1} ms (min {lo:.1}, max {hi:.1}), {rounds} runs"
    );
}

async fn run(label: &str, store: Store) {
    let t0 = Instant::now();
    seed(&store).await;
    eprintln!(
        "{label}: seeded {TOTAL} timers in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let clock = ManualClock::new("2026-11-26T00:00:00Z".parse().unwrap());
    let state = AppState::new(
        store.clone(),
        Arc::new(clock.clone()),
        ServerConfig::default(),
    );
    let (mut idle, mut busy) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let r = scheduler::tick(&state).await.unwrap();
        idle.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.fired + r.stale, 0);
        make_due(&store).await;
        let t = Instant::now();
        let r = scheduler::tick(&state).await.unwrap();
        busy.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.stale, 1000, "{r:?}");
    }
    let (m, lo, hi) = median(idle);
    println!(
        "{label}: tick, none due of {TOTAL}: median {m:.2} ms (min {lo:.2}, max {hi:.2}), 5 runs"
    );
    let (m, lo, hi) = median(busy);
    println!(
        "{label}: tick, 1000 stale due of {TOTAL}: median {m:.1} ms (min {lo:.1}, max {hi:.1}), 5 runs"
    );
    run_live(label, &store, &state, &clock).await;
}

#[tokio::main]
async fn main() {
    // Warnings and errors go to stderr: a request that fails with 503 logs the driver's cause
    // there (`RUST_LOG` chooses more).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // `SQLITE_MODES=normal` (say) runs only that mode; `full,normal` by default.
    let modes = std::env::var("SQLITE_MODES").unwrap_or_else(|_| "full,normal".into());
    for (label, sync) in [
        ("sqlite synchronous=full", Synchronous::Full),
        ("sqlite synchronous=normal", Synchronous::Normal),
    ] {
        let mode = label.trim_start_matches("sqlite synchronous=");
        if !modes.split(',').any(|m| m.trim() == mode) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("bench.db").display());
        let store = Store::connect(
            &url,
            StoreOptions {
                sqlite_synchronous: sync,
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        run(label, store).await;
    }
    if std::env::var("MANYI_BENCH_PG").is_ok() {
        let db = manyi_store::testing::TestDb::create("postgres")
            .await
            .expect("PostgreSQL for the benchmark");
        run("postgres", db.store().await).await;
    } else {
        eprintln!(
            "postgres: skipped (set MANYI_BENCH_PG=1 to run it; MANYI_TEST_PG names the server)"
        );
    }
}
