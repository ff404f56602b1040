//! The contract of the weekly counts (`case_weeks`, migration 0014), on both backends: the
//! aggregate the dashboard's weekly chart reads always equals a GROUP BY over the cases,
//! whatever writes them (creates, transfers, bulk loads), and the migration fills it from the
//! cases already in a database it upgrades.
//!
//! Each body runs once per backend (`manyi_store::testing::backends`, `MANYI_TEST_BACKEND`).

mod bank;

use bank::{Bank, Rng, bank, create, event, snapshot, ts, update};
use manyi_store::testing::{TestDb, backends};
use manyi_store::{BulkCase, CaseRecord, Store};

/// The first of the weeks asked about: Monday 2026-02-09 00:00 in Beijing, written out by hand
/// so that the test does not share the code it checks.
const FROM: &str = "2026-02-08T16:00:00Z";
const WEEKS: u32 = 8;

/// Instants around the week boundaries in Beijing (Monday 00:00 = Sunday 16:00 UTC), and the
/// week of the eight from [`FROM`] each falls in (`None`: outside).
const INSTANTS: [(&str, Option<usize>); 9] = [
    ("2026-02-08T15:59:59Z", None), // Sunday 23:59:59 in Beijing: the week before
    ("2026-02-08T16:00:00Z", Some(0)), // Monday 9 Feb 00:00
    ("2026-02-20T03:00:00Z", Some(1)), // Friday 20 Feb
    ("2026-03-01T15:59:59.999Z", Some(2)), // Sunday 1 March, 23:59:59.999
    ("2026-03-01T16:00:00Z", Some(3)), // Monday 2 March 00:00
    ("2026-03-15T23:30:00Z", Some(5)), // Monday 16 March, 07:30
    ("2026-04-05T15:59:59Z", Some(7)), // Sunday 5 April, the last second of week 7
    ("2026-04-05T16:00:00Z", None), // Monday 6 April: after the eight weeks
    ("2026-03-10T01:00:00Z", Some(4)), // Tuesday 10 March
];

/// The aggregate equals the GROUP BY for every subtree; returns head office's weeks.
async fn assert_weeks_match(store: &Store, b: &Bank, when: &str) -> Vec<i64> {
    let from = ts(FROM);
    let mut all = Vec::new();
    for (i, unit) in b.units.iter().enumerate() {
        let kept = store
            .cases_per_week(&unit.path, from, WEEKS)
            .await
            .expect("cases_per_week");
        let raw = store
            .cases_per_week_from_cases(&unit.path, from, WEEKS)
            .await
            .expect("from cases");
        assert_eq!(
            kept,
            raw,
            "{}, {when}: subtree {}",
            store.backend_name(),
            unit.code
        );
        if i == 0 {
            all = kept;
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_counted_in_its_week_in_beijing_under_its_owner() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let o1 = b.units[2].id;
        let mut moved = None;
        for (at, week) in INSTANTS {
            let case = create(&store, &b, o1, ts(at), None).await;
            if week == Some(0) {
                moved = Some(case);
            }
        }
        let mut expected = vec![0i64; WEEKS as usize];
        for (_, week) in INSTANTS {
            if let Some(w) = week {
                expected[w] += 1;
            }
        }
        let from = ts(FROM);
        assert_eq!(
            store
                .cases_per_week(&b.units[0].path, from, WEEKS)
                .await
                .expect("hq"),
            expected
        );
        assert_eq!(
            store
                .cases_per_week(&b.units[2].path, from, WEEKS)
                .await
                .expect("o1"),
            expected
        );
        assert_eq!(
            store
                .cases_per_week(&b.units[4].path, from, WEEKS)
                .await
                .expect("b2"),
            vec![0; WEEKS as usize]
        );
        // The case of week 0 moves to O3 (under B2): it is counted there now, in the same week.
        let case = moved.expect("a case");
        let case = store
            .case_by_id(case.id)
            .await
            .expect("read")
            .expect("the case");
        update(&store, &case, b.units[5].id, false, None, "transfer").await;
        let mut b2 = vec![0; WEEKS as usize];
        b2[0] = 1;
        assert_eq!(
            store
                .cases_per_week(&b.units[4].path, from, WEEKS)
                .await
                .expect("b2"),
            b2
        );
        expected[0] -= 1;
        assert_eq!(
            store
                .cases_per_week(&b.units[1].path, from, WEEKS)
                .await
                .expect("b1"),
            expected
        );
        // A first week that does not start on a Monday in Beijing is refused, not rounded.
        let err = store
            .cases_per_week(&b.units[0].path, ts("2026-02-09T00:00:00Z"), WEEKS)
            .await
            .expect_err("not a week start");
        assert!(err.to_string().contains("Monday"), "{err}");
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_weeks_equal_a_group_by_over_the_cases_after_random_writes() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let mut rng = Rng(0x5eed_0000_0000_0014);
        let mut cases: Vec<CaseRecord> = Vec::new();
        for step in 0..200 {
            if cases.is_empty() || rng.below(10) < 5 {
                let owner = b.units[rng.below(b.units.len())].id;
                let at = ts(INSTANTS[rng.below(INSTANTS.len())].0);
                cases.push(create(&store, &b, owner, at, None).await);
            } else {
                // a hand-up or a transfer: another owner (sometimes the same one)
                let i = rng.below(cases.len());
                let owner = b.units[rng.below(b.units.len())].id;
                let case = cases[i].clone();
                cases[i] = update(&store, &case, owner, case.closed, None, "transfer").await;
            }
            if step % 50 == 49 {
                assert_weeks_match(&store, &b, &format!("after step {step}")).await;
            }
        }
        // A bulk load (`manyi gen`'s path).
        let mut bulk = Vec::new();
        for n in 1..=40u64 {
            let at = ts(INSTANTS[rng.below(INSTANTS.len())].0);
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
                snapshot: snapshot(None),
                events: vec![event(at, "open")],
                timers: Vec::new(),
                find: Vec::new(),
                due_at: None,
            });
        }
        store.bulk_insert_cases(&bulk).await.expect("bulk insert");
        let hq = assert_weeks_match(&store, &b, "after the bulk load").await;
        let inside = cases
            .iter()
            .map(|c| c.created_at)
            .chain(bulk.iter().map(|c| c.created_at))
            .filter(|t| *t >= ts(FROM) && *t < ts("2026-04-05T16:00:00Z"))
            .count();
        assert_eq!(
            hq.iter().sum::<i64>(),
            inside as i64,
            "every case counted once"
        );
        store.close().await;
    }
}

/// Takes migration 0014 back out of a database (its table, triggers and functions, and its
/// row in sqlx's ledger), so that reopening the store runs it again over the cases there.
async fn unapply_0014(db: &TestDb) {
    if db.backend() == "sqlite" {
        let pool = sqlx::SqlitePool::connect(db.url()).await.expect("connect");
        for sql in [
            "DROP TRIGGER case_weeks_on_insert",
            "DROP TRIGGER case_weeks_on_update",
            "DROP TRIGGER case_weeks_on_delete",
            "DROP TABLE case_weeks",
            "DELETE FROM _sqlx_migrations WHERE version = 14",
        ] {
            sqlx::query(sql).execute(&pool).await.expect(sql);
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(db.url()).await.expect("connect");
        for sql in [
            "DROP FUNCTION case_weeks_on_insert() CASCADE",
            "DROP FUNCTION case_weeks_on_update() CASCADE",
            "DROP FUNCTION case_weeks_on_delete() CASCADE",
            "DROP FUNCTION case_weeks_add(BIGINT, BIGINT, BIGINT)",
            "DROP FUNCTION case_weeks_start(BIGINT)",
            "DROP TABLE case_weeks",
            "DELETE FROM _sqlx_migrations WHERE version = 14",
        ] {
            sqlx::query(sql).execute(&pool).await.expect(sql);
        }
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_counts_the_cases_already_there() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let mut rng = Rng(0x0014_0000_0000_0001);
        for _ in 0..30 {
            let owner = b.units[rng.below(b.units.len())].id;
            let at = ts(INSTANTS[rng.below(INSTANTS.len())].0);
            create(&store, &b, owner, at, None).await;
        }
        let before = assert_weeks_match(&store, &b, "before").await;
        store.close().await;
        unapply_0014(&db).await;
        let store = db.store().await;
        let after = assert_weeks_match(&store, &b, "after the migration ran again").await;
        assert_eq!(before, after);
        assert!(
            after.iter().sum::<i64>() > 0,
            "the walk created no case in the weeks"
        );
        store.close().await;
    }
}
