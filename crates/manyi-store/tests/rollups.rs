//! The contract of the dashboard's rollups (`case_months`, `case_tree_months`, migration
//! 0019), on both backends: for every subtree and range of months they give what the GROUP BY
//! over `case_stats` gives (`SubtreeTotals::from_stats`), whatever writes the cases (creates,
//! transfers, closes, category changes, first breaches, bulk loads) and after units move in
//! the tree; `rebuild_aggregates` repairs them (and `case_weeks`); the migration fills them
//! from a database it upgrades.
//!
//! Each body runs once per backend (`manyi_store::testing::backends`, `MANYI_TEST_BACKEND`).

mod bank;

use bank::{Rng, bank, create, event, snapshot, ts, update};
use manyi_store::testing::{TestDb, backends};
use manyi_store::{BulkCase, CaseRecord, CaseUpdate, Store, SubtreeTotals, Unit};
use serde_json::Value;

/// Instants around month boundaries in Beijing (UTC+8): the first of a month at 00:00 in
/// Beijing is 16:00 UTC the day before.
const INSTANTS: [&str; 8] = [
    "2025-12-31T15:59:59Z", // 2025-12-31 23:59:59 in Beijing
    "2025-12-31T16:00:00Z", // 2026-01-01 00:00
    "2026-01-20T03:00:00Z",
    "2026-02-28T15:59:59Z", // February's last second
    "2026-02-28T16:00:00Z", // 1 March
    "2026-03-15T23:30:00Z",
    "2026-04-05T08:00:00Z",
    "2026-06-30T17:00:00Z",
];

const CATEGORIES: [Option<&str>; 3] = [None, Some("fee"), Some("service")];

/// Month ranges asked about: everything, and a window that cuts some off at both ends.
const RANGES: [(&str, &str); 3] = [
    ("2000-01", "2099-12"),
    ("2026-01", "2026-03"),
    ("2026-02", "2026-02"),
];

/// The rollups equal the GROUP BY over `case_stats` for every subtree and range; returns head
/// office's totals over every month.
async fn assert_rollups_match(store: &Store, when: &str) -> SubtreeTotals {
    let units = store.list_units().await.expect("units");
    let mut hq = SubtreeTotals::default();
    for unit in &units {
        for (from, to) in RANGES {
            let kept = store
                .subtree_totals(&unit.path, from, to)
                .await
                .expect("subtree_totals");
            let (totals, months) = store
                .case_stats_totals(&unit.path, from, to)
                .await
                .expect("case_stats_totals");
            let raw = SubtreeTotals::from_stats(&totals, &months);
            assert_eq!(
                kept,
                raw,
                "{}, {when}: subtree {} ({}), months {from}..={to}",
                store.backend_name(),
                unit.code,
                unit.path
            );
            if unit.code == "HQ" && from == "2000-01" {
                hq = kept;
            }
        }
    }
    hq
}

async fn breach(store: &Store, case: &CaseRecord) -> CaseRecord {
    let u = CaseUpdate {
        id: case.id,
        expected_version: case.version,
        state: case.state.clone(),
        owner_unit_id: case.owner_unit_id,
        assignee_id: None,
        first_contact_id: None,
        closed: case.closed,
        updated_at: case.updated_at,
        snapshot: case.snapshot.clone(),
        events: vec![event(case.updated_at, "clock_breached")],
        timers: Vec::new(),
        violations: Vec::new(),
        find: None,
        due_at: None,
    };
    store.update_case(u).await.expect("breach")
}

fn category_of(case: &CaseRecord) -> Option<&'static str> {
    let c = case
        .snapshot
        .pointer("/fields/category")
        .and_then(Value::as_str);
    CATEGORIES.into_iter().find(|k| *k == c).flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollups_equal_a_group_by_over_case_stats_after_random_writes_and_moves() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let mut rng = Rng(0x5eed_0000_0000_0019);
        let mut cases: Vec<CaseRecord> = Vec::new();
        for step in 0..240 {
            let roll = rng.below(10);
            if cases.is_empty() || roll < 4 {
                let owner = b.units[rng.below(b.units.len())].id;
                let at = ts(INSTANTS[rng.below(INSTANTS.len())]);
                let cat = CATEGORIES[rng.below(CATEGORIES.len())];
                cases.push(create(&store, &b, owner, at, cat).await);
            } else {
                let i = rng.below(cases.len());
                let case = cases[i].clone();
                cases[i] = match roll {
                    // a transfer
                    4 | 5 => {
                        let owner = b.units[rng.below(b.units.len())].id;
                        let cat = category_of(&case);
                        update(&store, &case, owner, case.closed, cat, "transfer").await
                    }
                    // closed, or reopened
                    6 | 7 => {
                        let cat = category_of(&case);
                        let owner = case.owner_unit_id;
                        update(&store, &case, owner, !case.closed, cat, "close").await
                    }
                    // the category set or changed
                    8 => {
                        let cat = CATEGORIES[rng.below(CATEGORIES.len())];
                        let owner = case.owner_unit_id;
                        update(&store, &case, owner, case.closed, cat, "edit").await
                    }
                    // a breach (the first moves it to late, later ones change nothing)
                    _ => breach(&store, &case).await,
                };
            }
            if step % 60 == 59 {
                assert_rollups_match(&store, &format!("after step {step}")).await;
            }
        }
        // A bulk load (`manyi gen`'s path).
        let mut bulk = Vec::new();
        for n in 1..=40u64 {
            let at = ts(INSTANTS[rng.below(INSTANTS.len())]);
            bulk.push(BulkCase {
                number: format!("BULK{n:04}"),
                number_scope: "bulk".into(),
                number_period: "".into(),
                serial: n,
                kind: "complaint".into(),
                policy_id: b.policy,
                state: "x".into(),
                owner_unit_id: b.units[rng.below(b.units.len())].id,
                first_contact_id: b.user,
                assignee_id: None,
                channel: "counter".into(),
                created_at: at,
                updated_at: at,
                closed: rng.below(2) == 0,
                snapshot: snapshot(CATEGORIES[rng.below(CATEGORIES.len())]),
                events: vec![event(at, "open")],
                timers: Vec::new(),
                find: Vec::new(),
                due_at: None,
            });
        }
        store.bulk_insert_cases(&bulk).await.expect("bulk insert");
        let hq = assert_rollups_match(&store, "after the bulk load").await;
        assert_eq!(
            hq.months.iter().map(|m| m.1).sum::<i64>(),
            (cases.len() + bulk.len()) as i64,
            "every case counted once under head office"
        );
        let b1_before = store
            .subtree_totals(&b.units[1].path, "2000-01", "2099-12")
            .await
            .expect("b1");
        // B1 (with O1 and O2) moves under B2: B2's subtree takes in B1's counts, head office
        // keeps them all.
        store.move_unit("B1", "B2").await.expect("move B1");
        let hq_after = assert_rollups_match(&store, "after B1 moved under B2").await;
        assert_eq!(
            hq_after, hq,
            "a move inside head office changes nothing there"
        );
        let b1 = store.unit_by_code("B1").await.expect("read").expect("B1");
        assert_eq!(
            store
                .subtree_totals(&b1.path, "2000-01", "2099-12")
                .await
                .expect("b1 moved"),
            b1_before,
            "B1's subtree keeps its counts under its new path"
        );
        // O1 moves back up under head office, and writes go on after the moves.
        store.move_unit("O1", "HQ").await.expect("move O1");
        for _ in 0..20 {
            let i = rng.below(cases.len());
            let case = store
                .case_by_id(cases[i].id)
                .await
                .expect("read")
                .expect("case");
            let owner = b.units[rng.below(b.units.len())].id;
            cases[i] = update(&store, &case, owner, !case.closed, category_of(&case), "x").await;
            create(
                &store,
                &b,
                owner,
                ts(INSTANTS[rng.below(INSTANTS.len())]),
                None,
            )
            .await;
        }
        assert_rollups_match(&store, "after O1 moved and more writes").await;
        store.close().await;
    }
}

/// Runs statements on the test database directly (to damage or unapply aggregates).
async fn raw(db: &TestDb, statements: &[&str]) {
    if db.backend() == "sqlite" {
        let pool = sqlx::SqlitePool::connect(db.url()).await.expect("connect");
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(*sql))
                .execute(&pool)
                .await
                .expect(sql);
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(db.url()).await.expect("connect");
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(*sql))
                .execute(&pool)
                .await
                .expect(sql);
        }
        pool.close().await;
    }
}

async fn weeks_match(store: &Store, units: &[Unit]) -> bool {
    let from = ts("2025-12-28T16:00:00Z"); // Monday 2025-12-29 00:00 in Beijing
    for unit in units {
        let kept = store
            .cases_per_week(&unit.path, from, 30)
            .await
            .expect("weeks");
        let raw = store
            .cases_per_week_from_cases(&unit.path, from, 30)
            .await
            .expect("weeks from cases");
        if kept != raw {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_repairs_the_weekly_counts_and_the_rollups() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let mut rng = Rng(0x0019_0000_0000_0002);
        for _ in 0..30 {
            let owner = b.units[rng.below(b.units.len())].id;
            let at = ts(INSTANTS[rng.below(INSTANTS.len())]);
            create(&store, &b, owner, at, CATEGORIES[rng.below(3)]).await;
        }
        let before = assert_rollups_match(&store, "before").await;
        assert!(weeks_match(&store, &b.units).await);
        raw(
            &db,
            &[
                "UPDATE case_months SET cases = cases + 7",
                "DELETE FROM case_tree_months WHERE category = 'fee'",
                "UPDATE case_weeks SET cases = cases + 3",
            ],
        )
        .await;
        let damaged = store
            .subtree_totals(&b.units[0].path, "2000-01", "2099-12")
            .await
            .expect("damaged");
        assert_ne!(damaged, before, "the damage shows");
        assert!(
            !weeks_match(&store, &b.units).await,
            "the weeks' damage shows"
        );
        let rebuilt = store.rebuild_aggregates().await.expect("rebuild");
        assert!(
            rebuilt.case_stats > 0 && rebuilt.case_weeks > 0,
            "{rebuilt:?}"
        );
        assert!(
            rebuilt.case_months > 0 && rebuilt.case_tree_months > 0,
            "{rebuilt:?}"
        );
        let after = assert_rollups_match(&store, "after the rebuild").await;
        assert_eq!(after, before);
        assert!(
            weeks_match(&store, &b.units).await,
            "the weeks are repaired"
        );
        // and the triggers go on from the rebuilt tables
        create(&store, &b, b.units[3].id, ts(INSTANTS[2]), Some("fee")).await;
        assert_rollups_match(&store, "after a write after the rebuild").await;
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_fills_the_rollups_from_the_counts_already_there() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let mut rng = Rng(0x0019_0000_0000_0003);
        for _ in 0..30 {
            let owner = b.units[rng.below(b.units.len())].id;
            let at = ts(INSTANTS[rng.below(INSTANTS.len())]);
            create(&store, &b, owner, at, CATEGORIES[rng.below(3)]).await;
        }
        let before = assert_rollups_match(&store, "before").await;
        store.close().await;
        if db.backend() == "sqlite" {
            raw(
                &db,
                &[
                    "DROP TRIGGER case_rollups_on_insert",
                    "DROP TRIGGER case_rollups_on_count",
                    "DROP TRIGGER case_rollups_on_rekey",
                    "DROP TRIGGER case_rollups_on_delete",
                    "DROP TRIGGER case_rollups_on_unit_move",
                    "DROP TABLE case_months",
                    "DROP TABLE case_tree_months",
                    "DELETE FROM _sqlx_migrations WHERE version = 19",
                ],
            )
            .await;
        } else {
            raw(
                &db,
                &[
                    "DROP FUNCTION case_rollups_on_insert() CASCADE",
                    "DROP FUNCTION case_rollups_on_update() CASCADE",
                    "DROP FUNCTION case_rollups_on_delete() CASCADE",
                    "DROP FUNCTION case_rollups_on_unit_move() CASCADE",
                    "DROP FUNCTION case_rollups_add(TEXT[], BIGINT[], TEXT[], TEXT[], BIGINT[])",
                    "DROP FUNCTION case_rollups_ancestors(TEXT)",
                    "DROP TABLE case_months",
                    "DROP TABLE case_tree_months",
                    "DELETE FROM _sqlx_migrations WHERE version = 19",
                ],
            )
            .await;
        }
        let store = db.store().await;
        let after = assert_rollups_match(&store, "after the migration ran again").await;
        assert_eq!(before, after);
        store.close().await;
    }
}
