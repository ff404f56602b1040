//! `manyi gen` on each backend (`MANYI_TEST_BACKEND`, see `manyi_store::testing`): a small
//! synthetic dataset, then the store checked directly — counts, unique numbers, snapshots that
//! read back as cases, pending timers only in the future — and one more case created the normal
//! way (`create_as`), which must continue the serial of its month without a gap.

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::sync::Arc;

use jiff::Timestamp;
use manyi_core::clock::ManualClock;
use manyi_server::api::cases::{CreateRequest, case_of, create_as};
use manyi_server::{AppState, ServerConfig};
use manyi_store::CaseFilter;
use manyi_store::testing::TestDb;
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
