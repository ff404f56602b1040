//! Benchmark: one scheduler tick with 1,000,000 pending timers, of which 1,000 (or none) are
//! due. Run on SQLite (both durability modes) and, when MANYI_BENCH_PG is set to a server URL
//! base (e.g. postgres://postgres@127.0.0.1:5432), on PostgreSQL:
//!
//! ```sh
//! cargo run --release -p manyi-server --example scheduler_bench
//! ```
//!
//! The due timers belong to no running clock (they are retired as stale, exactly as the
//! scheduler retires a timer whose clock moved on: one retiring statement per batch of due
//! timers), so the figure is the scheduler's own cost: finding what is due and retiring each
//! once.

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use manyi_core::clock::ManualClock;
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

async fn run(label: &str, store: Store) {
    let t0 = Instant::now();
    seed(&store).await;
    eprintln!(
        "{label}: seeded {TOTAL} timers in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let clock = ManualClock::new("2026-11-26T00:00:00Z".parse().unwrap());
    let state = AppState::new(store.clone(), Arc::new(clock), ServerConfig::default());
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
        "{label}: tick, 1000 due of {TOTAL}: median {m:.1} ms (min {lo:.1}, max {hi:.1}), 5 runs"
    );
}

#[tokio::main]
async fn main() {
    for (label, sync) in [
        ("sqlite synchronous=full", Synchronous::Full),
        ("sqlite synchronous=normal", Synchronous::Normal),
    ] {
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
