//! The contract of the monthly statistics (`case_stats`, migration 0006), on both backends:
//! the pre-aggregated counts always equal a GROUP BY over the cases, whatever writes them —
//! creates, transitions that move, recategorise, close and reopen cases, breach events (also
//! two in one case), bulk loads — and a rebuild gives the same table back.
//!
//! Each body runs once per backend (`manyi_store::testing::backends`, `MANYI_TEST_BACKEND`).

mod bank;

use bank::{Bank, Rng, bank, create, event, snapshot, ts, update};
use jiff::Timestamp;
use manyi_store::testing::{TestDb, backends};
use manyi_store::{BulkCase, CaseRecord, StatsQuery, StatsRow, Store, Unit};

/// `[from, to)` of a month in Asia/Shanghai (fixed UTC+8), written out by hand so that the
/// test does not share the code it checks.
fn month(m: &str) -> (Timestamp, Timestamp) {
    match m {
        "2026-02" => (ts("2026-01-31T16:00:00Z"), ts("2026-02-28T16:00:00Z")),
        "2026-03" => (ts("2026-02-28T16:00:00Z"), ts("2026-03-31T16:00:00Z")),
        "2026-04" => (ts("2026-03-31T16:00:00Z"), ts("2026-04-30T16:00:00Z")),
        other => panic!("no bounds for {other}"),
    }
}

const MONTHS: [&str; 3] = ["2026-02", "2026-03", "2026-04"];
const CATEGORIES: [Option<&str>; 4] = [None, Some("attitude"), Some("efficiency"), Some("流程")];

/// Instants around the month boundaries in Beijing, and inside the months.
const INSTANTS: [&str; 8] = [
    "2026-02-28T15:59:59.999Z", // 23:59:59.999 on 28 Feb in Beijing: February
    "2026-02-28T16:00:00Z",     // 00:00 on 1 March in Beijing: March
    "2026-03-31T15:59:59Z",     // March
    "2026-03-31T16:00:00Z",     // April
    "2026-02-10T03:00:00Z",
    "2026-03-15T23:30:00Z", // 16 March, 07:30 in Beijing
    "2026-04-20T08:00:00Z",
    "2026-03-01T02:00:00Z",
];

fn query(m: &str, subtree: Option<&Unit>) -> StatsQuery {
    let (from, to) = month(m);
    StatsQuery {
        month: m.into(),
        from,
        to,
        unit_subtree: subtree.map(|u| u.path.clone()),
    }
}

fn sorted(mut rows: Vec<StatsRow>) -> Vec<StatsRow> {
    rows.sort();
    rows
}

/// The aggregate equals the GROUP BY for every month and every subtree; returns all rows.
async fn assert_aggregate_matches(store: &Store, b: &Bank, when: &str) -> Vec<StatsRow> {
    let mut all = Vec::new();
    for m in MONTHS {
        for subtree in [
            None,
            Some(&b.units[0]),
            Some(&b.units[1]),
            Some(&b.units[2]),
            Some(&b.units[4]),
        ] {
            let q = query(m, subtree);
            let kept = sorted(store.case_stats(&q).await.expect("case_stats"));
            let raw = sorted(store.case_stats_from_cases(&q).await.expect("from cases"));
            assert_eq!(
                kept,
                raw,
                "{}, {when}: month {m}, subtree {:?}",
                store.backend_name(),
                subtree.map(|u| &u.code)
            );
            if subtree.is_none() {
                all.extend(kept);
            }
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_counts_equal_a_group_by_over_the_cases_after_random_writes() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let mut rng = Rng(0x5eed_0000_0000_0001);
        let mut cases: Vec<CaseRecord> = Vec::new();
        let mut breaches = 0;
        for step in 0..400 {
            let pick = rng.below(10);
            if cases.is_empty() || pick < 4 {
                let owner = b.units[rng.below(b.units.len())].id;
                let at = ts(INSTANTS[rng.below(INSTANTS.len())]);
                let cat = CATEGORIES[rng.below(CATEGORIES.len())];
                cases.push(create(&store, &b, owner, at, cat).await);
                continue;
            }
            let i = rng.below(cases.len());
            let case = cases[i].clone();
            let cat_now = case.snapshot["fields"]["category"].as_str();
            let updated = match pick {
                // a hand-up or a transfer: another owner
                4 | 5 => {
                    let owner = b.units[rng.below(b.units.len())].id;
                    update(&store, &case, owner, case.closed, cat_now, "transfer").await
                }
                // assessed: the category is set or changed
                6 => {
                    let cat = CATEGORIES[rng.below(CATEGORIES.len())];
                    update(
                        &store,
                        &case,
                        case.owner_unit_id,
                        case.closed,
                        cat,
                        "assess",
                    )
                    .await
                }
                // closed, or reopened
                7 => {
                    update(
                        &store,
                        &case,
                        case.owner_unit_id,
                        !case.closed,
                        cat_now,
                        "close",
                    )
                    .await
                }
                // a clock breaches (maybe a second time), sometimes with a hand-up
                _ => {
                    breaches += 1;
                    let owner = if rng.below(2) == 0 {
                        case.owner_unit_id
                    } else {
                        b.units[rng.below(b.units.len())].id
                    };
                    update(&store, &case, owner, case.closed, cat_now, "clock_breached").await
                }
            };
            cases[i] = updated;
            if step % 100 == 99 {
                assert_aggregate_matches(&store, &b, &format!("after step {step}")).await;
            }
        }
        assert!(breaches > 20, "the walk breached too few cases: {breaches}");

        // A bulk load (`manyi gen`'s path): cases with whole logs, two breaches in one log.
        let mut bulk = Vec::new();
        for n in 1..=60u64 {
            let at = ts(INSTANTS[rng.below(INSTANTS.len())]);
            let cat = CATEGORIES[rng.below(CATEGORIES.len())];
            let closed = rng.below(3) > 0;
            let mut events = vec![event(at, "open")];
            for _ in 0..rng.below(3) {
                events.push(event(at, "clock_breached"));
            }
            events.push(event(at, if closed { "close" } else { "assess" }));
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
                closed,
                snapshot: snapshot(cat),
                events,
                timers: Vec::new(),
                find: Vec::new(),
                due_at: None,
            });
        }
        store.bulk_insert_cases(&bulk).await.expect("bulk insert");
        let before = assert_aggregate_matches(&store, &b, "after the bulk load").await;
        let total: i64 = before.iter().map(|r| r.cases).sum();
        assert_eq!(total, cases.len() as i64 + 60, "every case counted once");
        for status in [
            "open_on_time",
            "open_overdue",
            "closed_on_time",
            "closed_late",
        ] {
            assert!(
                before.iter().any(|r| r.status == status),
                "{backend}: no case ended {status}: the walk should reach every status"
            );
        }

        // A rebuild recomputes the same table.
        let rows = store.rebuild_case_stats().await.expect("rebuild");
        assert!(rows > 0);
        let after = assert_aggregate_matches(&store, &b, "after a rebuild").await;
        assert_eq!(before, after, "{backend}: the rebuild changed the counts");
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_counted_by_month_in_beijing_owner_category_and_lateness() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let b = bank(&store).await;
        let (o1, o3) = (b.units[2].id, b.units[5].id);
        // 23:59 on 31 March in Beijing: a March case, although it is 31 March in UTC too.
        let march = create(&store, &b, o1, ts("2026-03-31T15:59:00Z"), None).await;
        // 00:30 on 1 April in Beijing (still 31 March in UTC): an April case.
        let april = create(&store, &b, o1, ts("2026-03-31T16:30:00Z"), Some("attitude")).await;
        let late = create(&store, &b, o1, ts("2026-03-10T02:00:00Z"), Some("attitude")).await;

        let late = update(&store, &late, o1, false, Some("attitude"), "clock_breached").await;
        // Handed up after the breach, then a second breach, then closed: one late case in O3.
        let late = update(&store, &late, o3, false, Some("attitude"), "transfer").await;
        let late = update(&store, &late, o3, false, Some("attitude"), "clock_breached").await;
        update(&store, &late, o3, true, Some("attitude"), "close").await;
        let march = update(&store, &march, o1, false, Some("efficiency"), "assess").await;
        update(&store, &march, o1, true, Some("efficiency"), "close").await;

        let rows = |m: &str, subtree: Option<usize>| {
            let q = query(m, subtree.map(|i| &b.units[i]));
            let store = store.clone();
            async move {
                sorted(store.case_stats(&q).await.expect("stats"))
                    .into_iter()
                    .map(|r| format!("{} {} {} {}", r.unit_code, r.category, r.status, r.cases))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            rows("2026-03", None).await,
            [
                "O1 efficiency closed_on_time 1",
                "O3 attitude closed_late 1"
            ],
            "{backend}"
        );
        assert_eq!(rows("2026-04", None).await, ["O1 attitude open_on_time 1"]);
        // B2's subtree holds O3 only; B1's holds O1.
        assert_eq!(
            rows("2026-03", Some(4)).await,
            ["O3 attitude closed_late 1"]
        );
        assert_eq!(
            rows("2026-03", Some(1)).await,
            ["O1 efficiency closed_on_time 1"]
        );
        assert!(rows("2026-02", None).await.is_empty());
        let _ = april;
        store.close().await;
    }
}
