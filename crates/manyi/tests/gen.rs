//! `manyi gen` on each backend (`MANYI_TEST_BACKEND`, see `manyi_store::testing`): a small
//! synthetic dataset, then the store checked directly — counts, unique numbers, snapshots that
//! read back as cases, pending timers only in the future — and one more case created the normal
//! way (`create_as`), which must continue the serial of its month without a gap.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::process::Command;
use std::sync::Arc;

use jiff::Timestamp;
use manyi_core::clock::ManualClock;
use manyi_core::stats::Month;
use manyi_server::api::cases::{CreateRequest, case_of, create_as};
use manyi_server::{AppState, ServerConfig};
use manyi_store::testing::TestDb;
use manyi_store::{BulkCase, CaseFilter, NewEvent, StatsQuery};
use serde_json::json;

const NOW: &str = "2026-11-26T04:00:00Z";

fn generate(url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_manyi"))
        .args([
            "gen",
            "--units",
            "20",
            "--cases",
            "2000",
            "--seed",
            "7",
            "--batch",
            "700",
            "--now",
            NOW,
            "--quiet",
            "--database",
            url,
        ])
        .env(
            "MANYI_POLICIES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies"),
        )
        .output()
        .expect("run manyi gen");
    assert!(
        out.status.success(),
        "manyi gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn check(backend: &str) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    generate(db.url());
    let store = db.store().await;

    // The secondary indexes dropped for the load are all back, as a fresh schema has them,
    // and none is left listed as deferred.
    assert_eq!(
        store.deferred_indexes().await.expect("deferred"),
        Vec::<String>::new()
    );
    let fresh = TestDb::create(backend).await.expect("a second database");
    let mut expected = fresh
        .store()
        .await
        .bulk_table_indexes()
        .await
        .expect("fresh");
    let mut present = store.bulk_table_indexes().await.expect("indexes");
    expected.sort();
    present.sort();
    assert!(
        expected.len() >= 2,
        "cases and case_find have secondary indexes"
    );
    assert_eq!(present, expected);

    let units = store.list_units().await.expect("units");
    assert_eq!(units.len(), 20);
    assert_eq!(units.iter().filter(|u| u.level == "branch1").count(), 2);
    assert!(store.list_users().await.expect("users").len() > 20);

    // Every case, page by page.
    let mut all = Vec::new();
    let mut filter = CaseFilter {
        limit: 500,
        ..CaseFilter::default()
    };
    loop {
        let page = store.list_cases(&filter).await.expect("list");
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => filter.after = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), 2_000);
    let numbers: HashSet<_> = all.iter().map(|c| c.number.clone()).collect();
    assert_eq!(numbers.len(), 2_000, "case numbers are unique");
    let now: Timestamp = NOW.parse().expect("now");
    let open = all.iter().filter(|c| !c.closed).count();
    assert!(open > 0 && open < 2_000, "some open, some closed: {open}");
    // Cases older than three days were handled to the end, but for the 4 % left waiting for
    // their callback: of every policy's cases, far most are closed.
    let old =
        |c: &&manyi_store::CaseRecord| c.created_at + jiff::SignedDuration::from_hours(72) < now;
    for policy_id in all.iter().map(|c| c.policy_id).collect::<HashSet<_>>() {
        let of_policy: Vec<_> = all
            .iter()
            .filter(|c| c.policy_id == policy_id)
            .filter(old)
            .collect();
        let closed = of_policy.iter().filter(|c| c.closed).count();
        assert!(
            closed * 100 >= of_policy.len() * 90,
            "policy {policy_id}: only {closed} of {} old cases closed",
            of_policy.len()
        );
    }
    for c in &all {
        let case = case_of(c).expect("snapshot reads back as a case");
        assert_eq!(case.state, c.state);
        assert_eq!(case.closed, c.closed);
        assert!(c.created_at <= now);
        let events = store.case_events(c.id).await.expect("events");
        assert_eq!(
            events.len() as i64,
            c.version,
            "{}: one event per version",
            c.number
        );
        assert_eq!(events[0].action, "open");
        // Each payload reads back as the domain's whole event, agreeing with its row (the
        // store keeps `at`, `action` and `clause` in the row only, and puts them back).
        for e in &events {
            let event: manyi_core::case::Event =
                serde_json::from_value(e.payload.clone()).expect("payload reads as an event");
            assert_eq!(event.at, e.at, "{} event {}", c.number, e.seq);
            assert_eq!(event.action, e.action);
            assert_eq!(event.clause, e.clause);
            assert_eq!(event.actor.id != 0, e.actor_id.is_some());
        }
    }
    // Open cases with a running clock have their timers, all still ahead.
    let mut pending = 0;
    for c in all.iter().filter(|c| !c.closed) {
        for t in store.pending_timers(c.id).await.expect("timers") {
            assert!(t.due_at > now, "{} has a timer due by now", c.number);
            pending += 1;
        }
    }
    assert!(pending > 0, "some open case has a running clock");
    assert!(store.due_timers(now, 10).await.expect("due").is_empty());

    // The serials of each month, gap-free from 1.
    let mut serials: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for n in &numbers {
        if let Some(rest) = n.strip_prefix("TS") {
            let (month, serial) = rest.split_at(6);
            serials
                .entry(month.to_owned())
                .or_default()
                .push(serial.parse().expect("serial"));
        }
    }
    for (month, s) in &mut serials {
        s.sort_unstable();
        assert_eq!(*s, (1..=s.len() as u64).collect::<Vec<_>>(), "TS{month}");
    }
    let november = serials.get("202611").map_or(0, Vec::len);
    assert!(november > 0);

    // Every generated case is counted by the statistics triggers (which the bulk writes must
    // fire), in the bucket the GROUP BY over `cases` gives.
    let months: BTreeSet<Month> = all.iter().map(|c| Month::of(c.created_at)).collect();
    let mut counted = 0;
    for month in months {
        let (from, to) = month.bounds();
        let q = StatsQuery {
            month: month.to_string(),
            from,
            to,
            unit_subtree: None,
        };
        let mut aggregate = store.case_stats(&q).await.expect("stats");
        let mut baseline = store.case_stats_from_cases(&q).await.expect("baseline");
        aggregate.sort();
        baseline.sort();
        assert_eq!(aggregate, baseline, "{month}");
        counted += aggregate.iter().map(|r| r.cases).sum::<i64>();
    }
    assert_eq!(counted, 2_000, "every generated case is counted once");

    // One more case, the normal way, in the same month: the next serial.
    let clock = ManualClock::new(now);
    let state = AppState::new(store.clone(), Arc::new(clock), ServerConfig::default());
    let teller = store
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.login.ends_with(".teller"))
        .expect("a teller");
    let mut fields = serde_json::Map::new();
    fields.insert("complainant_name".into(), json!("张伟"));
    fields.insert("contact_phone".into(), json!("13800138000"));
    fields.insert("matter".into(), json!("排队时间过长。"));
    fields.insert("customer_demand".into(), json!("增加窗口。"));
    let created = create_as(
        &state,
        &teller,
        &CreateRequest {
            policy: Some("default-complaint".into()),
            kind: "complaint".into(),
            channel: "counter".into(),
            fields,
        },
        None,
    )
    .await
    .expect("create after gen");
    assert_eq!(
        created.record.number,
        format!("TS202611{:05}", november + 1)
    );
    assert!(created.record.id > all.iter().map(|c| c.id).max().unwrap_or(0));

    // Text the bulk writer must carry through unchanged (PostgreSQL's COPY text format
    // escapes backslashes, tabs and newlines; JSON escapes quotes and backslashes itself).
    let tricky = "投诉\t制表符 \"引号\" 'apostrophe' \\N 反斜杠\\ \r\n第二行 \\. 😀";
    let model = store
        .case_by_id(all[0].id)
        .await
        .expect("read")
        .expect("first case");
    let mut snapshot = model.snapshot.clone();
    snapshot["fields"]["matter"] = json!(tricky);
    let payload = json!({"action": "open", "note": tricky, "nested": {"k\\ey\t": [tricky]}});
    store
        .bulk_insert_cases(&[BulkCase {
            number: "X202611-1".into(),
            number_scope: "X".into(),
            number_period: "202611".into(),
            serial: 1,
            kind: model.kind.clone(),
            policy_id: model.policy_id,
            state: model.state.clone(),
            owner_unit_id: model.owner_unit_id,
            first_contact_id: model.first_contact_id,
            assignee_id: None,
            channel: "counter\t\\".into(),
            created_at: now,
            updated_at: now,
            closed: false,
            snapshot: snapshot.clone(),
            events: vec![NewEvent {
                at: now,
                actor_id: None,
                action: "open".into(),
                clause: Some("第八条\n（二）\\".into()),
                payload: payload.clone(),
            }],
            timers: Vec::new(),
            find: Vec::new(),
            due_at: None,
        }])
        .await
        .expect("bulk insert of tricky text");
    let back = store
        .case_by_number("X202611-1")
        .await
        .expect("read")
        .expect("the tricky case");
    assert_eq!(back.snapshot, snapshot);
    assert_eq!(back.channel, "counter\t\\");
    assert_eq!(back.owner_unit_path, model.owner_unit_path);
    assert!(back.assignee_id.is_none());
    let events = store.case_events(back.id).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload, payload);
    assert_eq!(events[0].clause.as_deref(), Some("第八条\n（二）\\"));
    assert_eq!(events[0].actor_id, None);
    assert_eq!(events[0].at, now);

    // gen fills an empty database only.
    let again = Command::new(env!("CARGO_BIN_EXE_manyi"))
        .args([
            "gen",
            "--units",
            "20",
            "--cases",
            "10",
            "--database",
            db.url(),
        ])
        .output()
        .expect("run manyi gen");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has an organisation"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gen_fills_sqlite_with_consistent_cases() {
    check("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gen_fills_postgres_with_consistent_cases() {
    check("postgres").await;
}

/// A load killed between dropping its indexes and re-creating them: the definitions are
/// listed, and the next migrate (every `manyi` command's first step) re-creates each index.
async fn interrupted(backend: &str) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let store = db.store().await;
    let now: Timestamp = NOW.parse().expect("now");
    let mut before = store.bulk_table_indexes().await.expect("indexes");
    before.sort();
    let mut dropped = store.defer_bulk_indexes(now).await.expect("defer");
    dropped.sort();
    assert_eq!(
        dropped,
        before
            .iter()
            .map(|(name, _)| name.clone())
            .collect::<Vec<_>>()
    );
    assert!(
        dropped.iter().any(|n| n == "cases_by_created"),
        "{dropped:?}"
    );
    // PostgreSQL defers the foreign keys of the loaded tables too (SQLite cannot drop them).
    assert_eq!(
        dropped.iter().any(|n| n == "case_events_case_id_fkey"),
        backend == "postgres",
        "{dropped:?}"
    );
    assert!(
        store
            .bulk_table_indexes()
            .await
            .expect("indexes")
            .is_empty()
    );
    assert_eq!(store.deferred_indexes().await.expect("listed"), dropped);
    store.close().await;

    // The process is gone; the next command opens and migrates the database.
    let store = db.store().await;
    assert!(store.deferred_indexes().await.expect("listed").is_empty());
    let mut after = store.bulk_table_indexes().await.expect("indexes");
    after.sort();
    assert_eq!(after, before);
    // Nothing listed: nothing to do.
    assert!(
        store
            .rebuild_deferred_indexes()
            .await
            .expect("rebuild")
            .is_empty()
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_sqlite_load_gets_its_indexes_back_on_the_next_migrate() {
    interrupted("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_postgres_load_gets_its_indexes_back_on_the_next_migrate() {
    interrupted("postgres").await;
}
