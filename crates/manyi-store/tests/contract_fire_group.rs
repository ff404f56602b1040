//! The store's contract for grouped firing (`Store::fire_timers`), on every backend: several
//! due timers fired in one transaction, each in its own savepoint, so that each outcome is what
//! `Store::fire_timer` alone would have answered — a conflict undone alone, the others kept —
//! and two instances firing the same group fire each timer exactly once.

use manyi_store::testing::TestDb;
use manyi_store::{
    CaseRecord, CaseUpdate, FireOutcome, NewEvent, Store, StoreError, TIMER_FOR_CLOCK, TimerChange,
    TimerRecord,
};
use serde_json::json;

mod common;

use common::{Fixture, at, create, fixture, new_case};

/// A case of branch B1 with a running clock: its breach timer due at `minutes`.
async fn case_with_breach(store: &Store, f: &Fixture, minutes: i64) -> (CaseRecord, TimerRecord) {
    case_in(store, f, (f.b1, f.clerk), minutes).await
}

/// A case owned by `unit`, registered by `person`, with its breach timer due at `minutes`.
async fn case_in(
    store: &Store,
    f: &Fixture,
    (unit, person): (i64, i64),
    minutes: i64,
) -> (CaseRecord, TimerRecord) {
    let mut c = new_case(f, unit, person, Vec::new());
    c.timers = vec![TimerChange::Schedule {
        clock: "reply".into(),
        kind: "breach".into(),
        purpose: TIMER_FOR_CLOCK.into(),
        generation: 1,
        due_at: at(minutes),
    }];
    let case = create(store, c).await;
    let timer = store
        .pending_timers(case.id)
        .await
        .expect("pending")
        .remove(0);
    (case, timer)
}

/// The update a scheduler would write for `case` as read: one event naming `action`.
fn update(case: &CaseRecord, action: &str, minutes: i64) -> CaseUpdate {
    CaseUpdate {
        id: case.id,
        expected_version: case.version,
        state: action.into(),
        owner_unit_id: case.owner_unit_id,
        assignee_id: None,
        first_contact_id: None,
        closed: false,
        updated_at: at(minutes),
        snapshot: json!({ "last": action }),
        events: vec![NewEvent {
            at: at(minutes),
            actor_id: None,
            action: action.into(),
            clause: None,
            payload: json!({}),
        }],
        timers: Vec::new(),
        violations: Vec::new(),
        find: None,
        due_at: None,
    }
}

async fn each_firing_of_a_group_has_the_outcome_it_would_have_alone(store: &Store) {
    let f = fixture(store).await;
    let (a, ta) = case_with_breach(store, &f, 60).await;
    let (b, tb) = case_with_breach(store, &f, 60).await;
    let (c, tc) = case_with_breach(store, &f, 60).await;
    let (d, td) = case_with_breach(store, &f, 60).await;
    let (e, te) = case_with_breach(store, &f, 60).await;
    let (g, tg) = case_in(store, &f, (f.b2, f.other), 60).await;
    // `b` moved on after the scheduler read it; `e`'s timer fired already.
    let b_moved = store
        .update_case(update(&b, "accepted", 50))
        .await
        .expect("agent's update");
    assert_eq!(
        store.fire_timer(te.id, at(55), None).await.expect("fire"),
        FireOutcome::Fired(None)
    );

    let outcomes = store
        .fire_timers(
            vec![
                (ta.id, Some(update(&a, "breached", 61))),
                (tb.id, Some(update(&b, "breached", 61))),
                (tc.id, Some(update(&c, "breached", 61))),
                (td.id, None),
                (te.id, Some(update(&e, "breached", 61))),
                // A timer of `g` cannot carry an update of `c`: refused in its place.
                (tg.id, Some(update(&c, "breached", 61))),
                (987_654_321, None),
            ],
            at(61),
        )
        .await
        .expect("the group's transaction");
    assert_eq!(outcomes.len(), 7);
    let fired = |i: usize| match &outcomes[i] {
        Ok(FireOutcome::Fired(Some(case))) => (case.version, case.state.clone()),
        other => panic!("firing {i}: expected a fired update, got {other:?}"),
    };
    assert_eq!(fired(0), (2, "breached".to_owned()));
    assert!(
        matches!(outcomes[1], Err(StoreError::Conflict)),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(fired(2), (2, "breached".to_owned()));
    assert!(matches!(outcomes[3], Ok(FireOutcome::Fired(None))));
    assert!(matches!(outcomes[4], Ok(FireOutcome::AlreadyDone)));
    assert!(
        matches!(outcomes[5], Err(StoreError::Invalid { .. })),
        "{:?}",
        outcomes[5]
    );
    assert!(
        matches!(outcomes[6], Err(StoreError::NotFound { .. })),
        "{:?}",
        outcomes[6]
    );

    // What was written: the fired ones, and nothing of the conflicting one.
    for (case, pending) in [(&a, 0), (&c, 0), (&d, 0), (&e, 0)] {
        assert_eq!(
            store.pending_timers(case.id).await.expect("pending").len(),
            pending,
            "case {}",
            case.number
        );
    }
    assert_eq!(
        store.pending_timers(b.id).await.expect("pending"),
        std::slice::from_ref(&tb),
        "the conflicting firing left its timer pending"
    );
    assert_eq!(
        store.pending_timers(g.id).await.expect("pending"),
        std::slice::from_ref(&tg),
        "the refused firing left its timer pending"
    );
    assert_eq!(
        store.case_by_id(b.id).await.expect("read"),
        Some(b_moved),
        "and its case as the agent left it"
    );
    let actions = |events: Vec<manyi_store::EventRecord>| -> Vec<String> {
        events.into_iter().map(|e| e.action).collect()
    };
    assert_eq!(
        actions(store.case_events(a.id).await.expect("events")),
        ["open", "breached"]
    );
    assert_eq!(
        actions(store.case_events(c.id).await.expect("events")),
        ["open", "breached"],
        "the refused update of `c` through `g`'s timer wrote nothing"
    );
    assert_eq!(
        actions(store.case_events(d.id).await.expect("events")),
        ["open"]
    );

    // The scheduler decides `b` again from a new read, alone or in the next group.
    let b_now = store.case_by_id(b.id).await.expect("read").expect("case");
    let again = store
        .fire_timers(vec![(tb.id, Some(update(&b_now, "breached", 62)))], at(62))
        .await
        .expect("the group's transaction");
    assert!(
        matches!(&again[..], [Ok(FireOutcome::Fired(Some(case)))] if case.version == 3),
        "{again:?}"
    );
    assert!(
        store
            .fire_timers(Vec::new(), at(63))
            .await
            .expect("empty")
            .is_empty()
    );
}

/// Two scheduler instances wake together and fire the same 40 due timers in groups (one in
/// order, one reversed): each timer's case change is written exactly once.
async fn two_instances_firing_the_same_group_fire_each_timer_exactly_once(
    first: &Store,
    second: &Store,
) {
    let f = fixture(first).await;
    let mut due = Vec::new();
    for _ in 0..40 {
        due.push(case_with_breach(first, &f, 60).await);
    }
    let group = |store: &Store, reversed: bool| {
        let mut fires: Vec<_> = due
            .iter()
            .map(|(case, timer)| (timer.id, Some(update(case, "breached", 61))))
            .collect();
        if reversed {
            fires.reverse();
        }
        let store = store.clone();
        async move { store.fire_timers(fires, at(61)).await }
    };
    let (one, two) = tokio::join!(group(first, false), group(second, true));
    let mut fired = 0;
    for outcome in one
        .expect("first instance")
        .into_iter()
        .chain(two.expect("second instance"))
    {
        match outcome {
            Ok(FireOutcome::Fired(Some(_))) => fired += 1,
            // The loser either saw the timer fired, or the case moved on under its update.
            Ok(FireOutcome::AlreadyDone) | Err(StoreError::Conflict) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(fired, 40, "each timer fired once across both instances");
    for (case, _) in &due {
        let events = first.case_events(case.id).await.expect("events");
        assert_eq!(events.len(), 2, "case {}: {events:?}", case.number);
        assert!(
            first
                .pending_timers(case.id)
                .await
                .expect("pending")
                .is_empty()
        );
    }
}

macro_rules! contract {
    (single: [$($name:ident),* $(,)?], pair: [$($pair:ident),* $(,)?] $(,)?) => {
        contract!(@backend sqlite, [$($name),*], [$($pair),*]);
        contract!(@backend postgres, [$($name),*], [$($pair),*]);
    };
    (@backend $backend:ident, [$($name:ident),*], [$($pair:ident),*]) => {
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
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $pair() {
                    let Some(db) = TestDb::create(stringify!($backend)).await else {
                        return;
                    };
                    let (first, second) = (db.store().await, db.store().await);
                    super::$pair(&first, &second).await;
                    second.close().await;
                    first.close().await;
                }
            )*
        }
    };
}

contract!(
    single: [each_firing_of_a_group_has_the_outcome_it_would_have_alone],
    pair: [two_instances_firing_the_same_group_fire_each_timer_exactly_once],
);
