//! The store's contract for conduct recorded without a case (migration 0020,
//! `manyi_store::NewConduct`), on every backend: the violation has no case and names its
//! policy version, its penalty proposals have no case either, the ledgers list it beside case
//! violations, an idempotency key replays it; and the 0020 rebuild keeps the rows written
//! before it, with the append-only triggers, foreign keys and indexes of 0005.

use manyi_store::testing::TestDb;
use manyi_store::{
    ConductOutcome, Idempotency, LedgerFilter, NewConduct, NewPenalty, PenaltyStep, Store,
    StoreError, StoreOptions, Visibility,
};
use serde_json::json;

mod common;

use common::{at, create, fixture, new_case};

fn conduct(policy: i64, unit: i64, person: i64, key: Option<(&str, &str)>) -> NewConduct {
    NewConduct {
        policy_id: policy,
        kind: "conduct".into(),
        rule: "etiquette".into(),
        clause: "第四条".into(),
        occurred_at: at(30),
        unit_id: unit,
        person_ids: vec![person],
        detail: json!({ "description": "no badge at the counter" }),
        penalties: vec![NewPenalty {
            rule: "etiquette-fine".into(),
            clause: "第四条".into(),
            person_id: person,
            min_fen: 5_000,
            max_fen: 5_000,
            items: 1,
            discipline_referral: false,
            requires_substantiation: false,
        }],
        idempotency: key.map(|(key, hash)| Idempotency {
            user_id: person,
            key: key.into(),
            request_hash: hash.into(),
        }),
    }
}

async fn conduct_without_a_case_is_a_violation_and_a_penalty_without_a_case(store: &Store) {
    let f = fixture(store).await;
    let case = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    let ConductOutcome::Created(v) = store
        .record_conduct(conduct(f.policy, f.b1, f.clerk, None))
        .await
        .expect("record")
    else {
        panic!("expected a new violation");
    };
    assert_eq!(v.case_id, None);
    assert_eq!(v.case_number, None);
    assert_eq!(v.event_seq, None);
    assert_eq!(v.policy_id, f.policy);
    assert_eq!(v.unit_id, f.b1);
    assert_eq!(v.person_ids, [f.clerk]);
    assert_eq!(v.detail["description"], "no badge at the counter");
    assert_eq!(
        store.violation_by_id(v.id).await.expect("read"),
        Some(v.clone())
    );

    let all = store
        .list_violations(&LedgerFilter::default())
        .await
        .expect("list");
    assert_eq!(all, std::slice::from_ref(&v));
    // A case's list does not include it.
    let of_case = LedgerFilter {
        case_id: Some(case.id),
        ..LedgerFilter::default()
    };
    assert!(
        store
            .list_violations(&of_case)
            .await
            .expect("list")
            .is_empty()
    );
    // Visibility: by the unit subtree, or as the person recorded.
    let b2_view = LedgerFilter {
        visible_to: Some(Visibility {
            user_id: f.other,
            unit_path: store
                .unit_by_id(f.b2)
                .await
                .expect("unit")
                .expect("b2")
                .path,
        }),
        ..LedgerFilter::default()
    };
    assert!(
        store
            .list_violations(&b2_view)
            .await
            .expect("list")
            .is_empty()
    );
    let mine = LedgerFilter {
        person_id: Some(f.clerk),
        ..LedgerFilter::default()
    };
    assert_eq!(
        store.list_violations(&mine).await.expect("list"),
        std::slice::from_ref(&v)
    );

    let penalties = store
        .list_penalties(&LedgerFilter::default())
        .await
        .expect("penalties");
    assert_eq!(penalties.len(), 1);
    let p = &penalties[0];
    assert_eq!(
        (p.violation_id, p.case_id, p.case_number.as_deref()),
        (v.id, None, None)
    );
    assert_eq!(p.policy_id, f.policy);
    assert_eq!((p.min_fen, p.status.as_str()), (5_000, "proposed"));
    // Its steps work as a case penalty's do.
    let decided = store
        .penalty_step(
            p.id,
            PenaltyStep::Decide {
                amount_fen: 5_000,
                reason: "seen by the supervisor".into(),
                by: f.other,
                at: at(40),
            },
        )
        .await
        .expect("decide");
    assert_eq!(decided.status, "decided");
    assert_eq!(decided.case_id, None);

    // A unit that does not exist is refused, nothing written.
    let refused = store
        .record_conduct(conduct(f.policy, 999_999, f.clerk, None))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid { .. })),
        "{refused:?}"
    );
    assert_eq!(
        store
            .list_violations(&LedgerFilter::default())
            .await
            .expect("list")
            .len(),
        1
    );
    // Still append-only.
    assert!(
        store
            .raw_execute_for_tests("DELETE FROM violations WHERE case_id IS NULL")
            .await
            .is_err()
    );
}

async fn an_idempotency_key_replays_the_conduct_recorded_first(store: &Store) {
    let f = fixture(store).await;
    let first = store
        .record_conduct(conduct(f.policy, f.b1, f.clerk, Some(("k1", "h1"))))
        .await
        .expect("record");
    let ConductOutcome::Created(v) = first else {
        panic!("expected a new violation: {first:?}");
    };
    let again = store
        .record_conduct(conduct(f.policy, f.b1, f.clerk, Some(("k1", "h1"))))
        .await
        .expect("replay");
    assert_eq!(again, ConductOutcome::Replayed(v.clone()));
    let other = store
        .record_conduct(conduct(f.policy, f.b1, f.clerk, Some(("k1", "h2"))))
        .await
        .expect("reused");
    assert_eq!(other, ConductOutcome::KeyReused);
    assert_eq!(
        store
            .list_penalties(&LedgerFilter::default())
            .await
            .expect("penalties")
            .len(),
        1,
        "a replay proposes no second fine"
    );
}

/// Rows as 0005 wrote them, before 0020: a violation of the case's first event, its person,
/// a proposed penalty.
const BEFORE_SQLITE: [&str; 3] = [
    "INSERT INTO violations (case_id, event_seq, kind, rule, clause, occurred_at, due_at, \
     unit_id, person_ids, detail) \
     SELECT id, 1, 'deadline_breach', 'answer', '第十九条', 1000, 900, owner_unit_id, \
            '[' || first_contact_id || ']', '{\"old\":true}' FROM cases",
    "INSERT INTO violation_persons (violation_id, user_id) \
     SELECT v.id, c.first_contact_id FROM violations v JOIN cases c ON c.id = v.case_id",
    "INSERT INTO penalties (violation_id, case_id, rule, clause, person_id, unit_id, min_fen, \
     max_fen, items, discipline_referral, requires_substantiation, proposed_at) \
     SELECT v.id, v.case_id, 'breach-fine', '第二十条', c.first_contact_id, v.unit_id, 100, \
            200, 1, 0, 1, 1000 FROM violations v JOIN cases c ON c.id = v.case_id",
];

const BEFORE_POSTGRES: [&str; 3] = [
    "INSERT INTO violations (case_id, event_seq, kind, rule, clause, occurred_at, due_at, \
     unit_id, person_ids, detail) \
     SELECT id, 1, 'deadline_breach', 'answer', '第十九条', 1000, 900, owner_unit_id, \
            jsonb_build_array(first_contact_id), '{\"old\":true}'::jsonb FROM cases",
    "INSERT INTO violation_persons (violation_id, user_id) \
     SELECT v.id, c.first_contact_id FROM violations v JOIN cases c ON c.id = v.case_id",
    "INSERT INTO penalties (violation_id, case_id, rule, clause, person_id, unit_id, min_fen, \
     max_fen, items, discipline_referral, requires_substantiation, proposed_at) \
     SELECT v.id, v.case_id, 'breach-fine', '第二十条', c.first_contact_id, v.unit_id, 100, \
            200, 1, false, true, 1000 FROM violations v JOIN cases c ON c.id = v.case_id",
];

async fn migration_0020_keeps_the_ledger_rows_written_before_it(url: &str) {
    let opts = || StoreOptions {
        pg_max_connections: 4,
        ..StoreOptions::default()
    };
    let store = Store::connect(url, opts()).await.expect("connect");
    store.migrate_below_for_tests(20).await.expect("up to 0019");
    let f = fixture(&store).await;
    let case = create(&store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    let before = if store.backend_name() == "sqlite" {
        BEFORE_SQLITE
    } else {
        BEFORE_POSTGRES
    };
    for sql in before {
        assert_eq!(
            store.raw_execute_for_tests(sql).await.expect(sql),
            1,
            "{sql}"
        );
    }
    store.migrate().await.expect("0020 on a database with rows");

    let violations = store
        .list_violations(&LedgerFilter::default())
        .await
        .expect("list");
    assert_eq!(violations.len(), 1);
    let v = &violations[0];
    assert_eq!(v.case_id, Some(case.id));
    assert_eq!(v.case_number.as_deref(), Some(case.number.as_str()));
    assert_eq!(v.event_seq, Some(1));
    assert_eq!(v.policy_id, f.policy, "filled from the case's policy");
    assert_eq!(
        (v.kind.as_str(), v.rule.as_str()),
        ("deadline_breach", "answer")
    );
    assert_eq!(v.person_ids, [f.clerk]);
    assert_eq!(v.detail, json!({ "old": true }));
    let mine = LedgerFilter {
        person_id: Some(f.clerk),
        ..LedgerFilter::default()
    };
    assert_eq!(store.list_violations(&mine).await.expect("list").len(), 1);
    let penalties = store
        .list_penalties(&LedgerFilter::default())
        .await
        .expect("penalties");
    assert_eq!(penalties.len(), 1);
    let p = &penalties[0];
    assert_eq!((p.violation_id, p.case_id), (v.id, Some(case.id)));
    assert_eq!(
        (p.min_fen, p.max_fen, p.requires_substantiation),
        (100, 200, true)
    );

    // What 0005 enforced still holds: the ledger is append-only, references are checked,
    // a decision stays within the range.
    for sql in [
        "UPDATE violations SET kind = 'edited'",
        "DELETE FROM violations",
        "INSERT INTO violation_persons (violation_id, user_id) VALUES (999999, 1)",
        "UPDATE penalties SET decided_amount_fen = 999",
        "INSERT INTO violations (case_id, event_seq, policy_id, kind, rule, clause, \
         occurred_at, unit_id, person_ids, detail) \
         SELECT id, 99, policy_id, 'k', 'r', 'c', 1, owner_unit_id, '[]', '{}' FROM cases",
        // A case without its event, or an event without its case.
        "INSERT INTO violations (case_id, event_seq, policy_id, kind, rule, clause, \
         occurred_at, unit_id, person_ids, detail) \
         SELECT id, NULL, policy_id, 'k', 'r', 'c', 1, owner_unit_id, '[]', '{}' FROM cases",
    ] {
        assert!(store.raw_execute_for_tests(sql).await.is_err(), "{sql}");
    }
    // Conduct without a case can be recorded after the migration.
    let recorded = store
        .record_conduct(conduct(f.policy, f.b2, f.other, None))
        .await
        .expect("conduct after the migration");
    assert!(
        matches!(recorded, ConductOutcome::Created(_)),
        "{recorded:?}"
    );
    // Every index of 0005 is there again (dropping a missing one is an error).
    for sql in [
        "DROP INDEX violations_by_time",
        "DROP INDEX violations_by_case",
        "DROP INDEX violation_persons_by_user",
        "DROP INDEX penalties_by_time",
        "DROP INDEX penalties_by_person",
        "DROP INDEX penalties_by_violation",
    ] {
        store.raw_execute_for_tests(sql).await.expect(sql);
    }
    store.close().await;
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        contract!(@backend sqlite, [$($name),*]);
        contract!(@backend postgres, [$($name),*]);
    };
    (@backend $backend:ident, [$($name:ident),*]) => {
        mod $backend {
            use super::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDb::create(stringify!($backend)).await else {
                        return;
                    };
                    let store = db.store().await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn migration_0020_keeps_the_ledger_rows_written_before_it() {
                let Some(db) = TestDb::create(stringify!($backend)).await else {
                    return;
                };
                super::migration_0020_keeps_the_ledger_rows_written_before_it(db.url()).await;
            }
        }
    };
}

contract!(
    conduct_without_a_case_is_a_violation_and_a_penalty_without_a_case,
    an_idempotency_key_replays_the_conduct_recorded_first,
);
