//! The store's contract for the group commit's multi-row fast path (`sqlite/intake.rs`,
//! `postgres/intake.rs`), on every backend: a batch mixing creates of every shape with case
//! updates answers each as if it had run alone, the fast path writes exactly what a lone
//! create writes (texts with quotes, backslashes, line breaks and non-Latin script included),
//! and a batch that cannot be written by the fast path falls back, is counted, and still
//! numbers without a gap.
//!
//! The creates of each test start together behind a barrier, so that they queue while a
//! batch runs and share the next one.

use std::sync::Arc;

use manyi_store::testing::TestDb;
use manyi_store::{
    CaseRecord, CaseUpdate, CreateOutcome, FindKey, FindQuery, Idempotency, NewCase, NewEvent,
    Store, StoreError, TimerChange,
};
use serde_json::json;
use tokio::sync::Barrier;

mod common;

use common::{Fixture, at, create, fixture, new_case};

fn numbering(serial: u64) -> String {
    format!("TS-{serial:06}")
}

fn serial_of(number: &str) -> u64 {
    number
        .trim_start_matches("TS-")
        .parse()
        .expect("a TS- number")
}

/// What a batch job is: a create or an update.
enum Write {
    Create(NewCase),
    Update(CaseUpdate),
}

/// Runs `writes` at once (a barrier releases them together) and returns their answers in
/// order; an update's answer comes back as `Created` to share one type.
async fn all_at_once(store: &Store, writes: Vec<Write>) -> Vec<Result<CreateOutcome, StoreError>> {
    let barrier = Arc::new(Barrier::new(writes.len()));
    let handles: Vec<_> = writes
        .into_iter()
        .map(|w| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                match w {
                    Write::Create(c) => store.create_case(c, numbering).await,
                    Write::Update(u) => store.update_case(u).await.map(CreateOutcome::Created),
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.expect("task finished"));
    }
    answers
}

/// A create with everything a create can carry: a key, two timers, quick-find keys, a
/// snapshot and an event payload with texts that JSON and SQL must both carry unchanged.
fn full_create(f: &Fixture, i: u32) -> NewCase {
    let text = format!("客户{i} \"引号\" back\\slash\nline 'apostrophe' 😀 \u{7f}");
    let mut c = new_case(
        f,
        f.b1,
        f.clerk,
        vec![
            FindKey {
                kind: "phone".into(),
                key: format!("1390000{i:04}"),
            },
            FindKey {
                kind: "name".into(),
                key: format!("客户{i}\"'"),
            },
        ],
    );
    // Fractions too: PostgreSQL's fast path answers with the snapshot it sent, not with the
    // one the database parsed and printed back (`postgres/intake.rs`), so the two must agree.
    c.snapshot = json!({
        "fields": { "category": "服务态度", "text": text, "n": i, "nested": [1, null, true],
                    "amount": 0.1, "rate": 1.5e-7, "negative": -42 }
    });
    c.events.push(NewEvent {
        at: at(1),
        actor_id: None,
        action: "clock_started".into(),
        clause: Some("第八条".into()),
        payload: json!({ "clock": "response", "note": text }),
    });
    c.timers = vec![
        TimerChange::Schedule {
            clock: "response".into(),
            kind: "warn".into(),
            purpose: manyi_store::TIMER_FOR_CLOCK.into(),
            generation: 1,
            due_at: at(30 + i64::from(i)),
        },
        TimerChange::Schedule {
            clock: "response".into(),
            kind: "breach".into(),
            purpose: manyi_store::TIMER_FOR_CLOCK.into(),
            generation: 1,
            due_at: at(60 + i64::from(i)),
        },
    ];
    c.due_at = Some(at(60 + i64::from(i)));
    c.channel = if i.is_multiple_of(2) {
        "phone"
    } else {
        "counter"
    }
    .into();
    c.assignee_id = i.is_multiple_of(3).then_some(f.other);
    c.idempotency = Some(Idempotency {
        user_id: f.clerk,
        key: format!("full-{i}"),
        request_hash: format!("hash-{i}"),
    });
    c
}

fn update_of(case: &CaseRecord, version: i64) -> CaseUpdate {
    CaseUpdate {
        id: case.id,
        expected_version: version,
        state: "assessed".into(),
        owner_unit_id: case.owner_unit_id,
        assignee_id: None,
        first_contact_id: None,
        closed: false,
        updated_at: at(5),
        snapshot: json!({ "fields": { "assessed": true } }),
        events: vec![NewEvent {
            at: at(5),
            actor_id: None,
            action: "assess".into(),
            clause: None,
            payload: json!({}),
        }],
        timers: Vec::new(),
        violations: Vec::new(),
        find: None,
        due_at: None,
    }
}

/// Everything a create wrote, as the store reads it back, less the id and number (which
/// differ between two cases written from the same request).
async fn written(store: &Store, case: &CaseRecord) -> serde_json::Value {
    let events = store.case_events(case.id).await.expect("events");
    let timers = store.pending_timers(case.id).await.expect("timers");
    json!({
        "kind": case.kind, "policy": case.policy_id, "state": case.state,
        "owner": case.owner_unit_id, "path": case.owner_unit_path,
        "first_contact": case.first_contact_id, "assignee": case.assignee_id,
        "channel": case.channel, "created": case.created_at.to_string(),
        "updated": case.updated_at.to_string(), "closed": case.closed,
        "version": case.version, "snapshot": case.snapshot,
        "due": case.due_at.map(|d| d.to_string()),
        "events": events.iter().map(|e| json!({
            "seq": e.seq, "at": e.at.to_string(), "actor": e.actor_id,
            "action": e.action, "clause": e.clause, "payload": e.payload,
        })).collect::<Vec<_>>(),
        "timers": timers.iter().map(|t| json!({
            "clock": t.clock, "kind": t.kind, "purpose": t.purpose,
            "generation": t.generation, "due": t.due_at.to_string(),
        })).collect::<Vec<_>>(),
    })
}

async fn found(store: &Store, kind: &str, prefix: &str) -> Vec<String> {
    store
        .find_cases(&FindQuery {
            kind: kind.into(),
            prefix: prefix.into(),
            visible_to: None,
            limit: 10,
        })
        .await
        .expect("find")
        .into_iter()
        .map(|c| c.number)
        .collect()
}

async fn a_batch_of_creates_and_updates_answers_each_as_alone_and_writes_what_a_lone_create_writes(
    store: &Store,
) {
    let f = fixture(store).await;
    // Ten cases to update, written before the race (serials 1 to 10).
    let mut existing = Vec::new();
    for _ in 0..10 {
        existing.push(create(store, new_case(&f, f.b2, f.other, Vec::new())).await);
    }
    let before = store.intake_figures();
    let mut writes = Vec::new();
    for i in 0..40_u32 {
        writes.push(Write::Create(full_create(&f, i)));
        // An update of an existing case between the creates; the first ten are fresh, the
        // last five repeat a version the first ten moved on from.
        if i % 2 == 0 && i < 30 {
            let case = &existing[usize::try_from(i / 2 % 10).expect("small")];
            writes.push(Write::Update(update_of(case, case.version)));
        }
    }
    let answers = all_at_once(store, writes).await;
    let mut created = Vec::new();
    let (mut updated, mut conflicts) = (Vec::new(), 0);
    for answer in answers {
        match answer {
            Ok(CreateOutcome::Created(case)) if case.version == 1 => {
                created.push(case);
            }
            Ok(CreateOutcome::Created(case)) => updated.push(case),
            Err(StoreError::Conflict) => conflicts += 1,
            other => panic!("unexpected answer: {other:?}"),
        }
    }
    assert_eq!(created.len(), 40, "every create opened a case");
    assert_eq!(updated.len(), 10, "each existing case updated once");
    assert_eq!(conflicts, 5, "the repeated versions conflict");
    for case in &updated {
        assert_eq!((case.state.as_str(), case.version), ("assessed", 2));
    }
    let mut serials: Vec<u64> = created.iter().map(|c| serial_of(&c.number)).collect();
    serials.sort_unstable();
    assert_eq!(
        serials,
        (11..=50).collect::<Vec<u64>>(),
        "no gap, no repeat"
    );
    let after = store.intake_figures();
    assert!(
        after.fast_creates > before.fast_creates,
        "the fast path wrote some of the batch: {before:?} → {after:?}"
    );
    assert!(after.batches > before.batches);

    for case in &created {
        let i: u32 = case.snapshot["fields"]["n"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .expect("n");
        // The same request written alone, after the race (the key made unique).
        let mut alone = full_create(&f, i);
        alone.idempotency = None;
        let lone = create(store, alone).await;
        assert_eq!(
            written(store, case).await,
            written(store, &lone).await,
            "create {i}: the batch wrote what a lone create writes"
        );
        assert_eq!(
            found(store, "phone", &format!("1390000{i:04}")).await.len(),
            2
        );
        assert!(
            found(store, "name", &format!("客户{i}\"'"))
                .await
                .contains(&case.number),
            "create {i} is found by its name key"
        );
        // Its number keys were written too (the number trigger).
        assert_eq!(
            found(store, "number", &case.number).await,
            std::slice::from_ref(&case.number)
        );
        // Its answer is the row as a read gives it back.
        assert_eq!(
            store.case_by_id(case.id).await.expect("read").as_ref(),
            Some(case),
            "create {i}: answered as stored"
        );
        // Its idempotency key was stored with it.
        let again = store
            .create_case(full_create(&f, i), numbering)
            .await
            .expect("replay");
        assert_eq!(again, CreateOutcome::Replayed(case.clone()), "create {i}");
        let mut other_request = full_create(&f, i);
        if let Some(k) = other_request.idempotency.as_mut() {
            k.request_hash = "another".into();
        }
        assert_eq!(
            store
                .create_case(other_request, numbering)
                .await
                .expect("refusal"),
            CreateOutcome::KeyReused
        );
    }
}

async fn a_batch_the_fast_path_cannot_write_falls_back_is_counted_and_leaves_no_gap(store: &Store) {
    let f = fixture(store).await;
    let before = store.intake_figures();
    let mut writes = Vec::new();
    let mut bad = Vec::new();
    for i in 0..48_u32 {
        let mut c = new_case(&f, f.b1, f.clerk, Vec::new());
        // Every fourth create names a unit that does not exist: the multi-row insert of its
        // batch fails, and the batch is written again one create at a time.
        let is_bad = i % 4 == 3;
        if is_bad {
            c.owner_unit_id = 999_999;
        }
        bad.push(is_bad);
        writes.push(Write::Create(c));
    }
    let answers = all_at_once(store, writes).await;
    let mut serials = Vec::new();
    for (is_bad, answer) in bad.into_iter().zip(answers) {
        match (is_bad, answer) {
            (false, Ok(CreateOutcome::Created(case))) => {
                assert_eq!(case.owner_unit_id, f.b1);
                serials.push(serial_of(&case.number));
            }
            (true, Err(StoreError::Invalid { reason, .. })) => {
                assert!(reason.contains("999999"), "{reason}");
            }
            (is_bad, other) => panic!("bad {is_bad}: {other:?}"),
        }
    }
    serials.sort_unstable();
    assert_eq!(serials, (1..=36).collect::<Vec<u64>>(), "no serial lost");
    let after = store.intake_figures();
    assert!(
        after.fallbacks > before.fallbacks,
        "a batch with a bad create fell back: {before:?} → {after:?}"
    );
    assert!(after.one_at_a_time >= before.one_at_a_time + 12);
    // The next create takes the next serial.
    let next = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    assert_eq!(serial_of(&next.number), 37);
}

/// One `#[tokio::test]` per backend for each contract body, each on a database of its own.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        contract!(@backend sqlite, [$($name),*]);
        contract!(@backend postgres, [$($name),*]);
    };
    (@backend $backend:ident, [$($name:ident),*]) => {
        mod $backend {
            use super::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = TestDb::create(stringify!($backend)).await else {
                        return;
                    };
                    let store = db.store().await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

contract!(
    a_batch_of_creates_and_updates_answers_each_as_alone_and_writes_what_a_lone_create_writes,
    a_batch_the_fast_path_cannot_write_falls_back_is_counted_and_leaves_no_gap,
);
