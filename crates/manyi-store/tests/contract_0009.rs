//! The store's contract for migration 0009 (archive read log; assistance and disputes follow),
//! on every backend: the same bodies, one `#[tokio::test]` per backend, each on a fresh
//! database from `manyi_store::testing::TestDb` (see `contract.rs` for `MANYI_TEST_PG`).
//! Kept in its own file so that the features of issue 5 merge without touching one list.

use jiff::Timestamp;
use manyi_store::testing::TestDb;
use manyi_store::{
    CaseRecord, CreateOutcome, NewCase, NewCaseRead, NewEvent, NewUnit, NewUser, Store,
};
use serde_json::json;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_788_220_800 + minutes * 60).expect("in range")
}

struct Fixture {
    case: CaseRecord,
    reader: i64,
    other: i64,
}

async fn fixture(store: &Store) -> Fixture {
    for (code, parent) in [("HQ", None), ("B1", Some("HQ")), ("B2", Some("HQ"))] {
        store
            .insert_unit(NewUnit {
                code: code.into(),
                name: format!("unit {code}"),
                level: "分行".into(),
                parent_code: parent.map(Into::into),
            })
            .await
            .expect("unit");
    }
    let mut ids = Vec::new();
    for (login, unit) in [("reader", "B1"), ("other", "B2")] {
        let u = store
            .insert_user(NewUser {
                login: login.into(),
                name: format!("name of {login}"),
                unit_code: unit.into(),
                roles: vec!["agent".into()],
                password_hash: None,
            })
            .await
            .expect("user");
        ids.push(u.id);
    }
    let policy = store
        .store_policy_version("bank", "[policy]\nname = 'bank'", "hash-1", at(0))
        .await
        .expect("policy");
    let unit = store.unit_by_code("B1").await.expect("B1").expect("B1");
    let outcome = store
        .create_case(
            NewCase {
                kind: "complaint".into(),
                policy_id: policy.id,
                number_scope: "bank/complaint".into(),
                number_period: "2026".into(),
                state: "received".into(),
                owner_unit_id: unit.id,
                first_contact_id: ids[0],
                assignee_id: None,
                channel: "counter".into(),
                created_at: at(1),
                snapshot: json!({}),
                events: vec![NewEvent {
                    at: at(1),
                    actor_id: Some(ids[0]),
                    action: "open".into(),
                    clause: None,
                    payload: json!({}),
                }],
                idempotency: None,
                timers: Vec::new(),
                find: Vec::new(),
                due_at: None,
            },
            |serial| format!("TS-{serial:06}"),
        )
        .await
        .expect("create");
    let CreateOutcome::Created(case) = outcome else {
        panic!("expected a new case, got {outcome:?}")
    };
    Fixture {
        case,
        reader: ids[0],
        other: ids[1],
    }
}

async fn reads_of_an_archived_case_are_logged_in_order_and_never_changed(store: &Store) {
    let f = fixture(store).await;
    for (minutes, user, interface, granted) in [
        (10, f.other, "api", false),
        (11, f.reader, "web", true),
        (12, f.reader, "api", true),
    ] {
        store
            .log_case_read(&NewCaseRead {
                case_id: f.case.id,
                user_id: user,
                at: at(minutes),
                interface: interface.into(),
                what: "case".into(),
                granted,
            })
            .await
            .expect("log read");
    }
    let reads = store.case_reads(f.case.id).await.expect("reads");
    let seen: Vec<(&str, Timestamp, &str, bool)> = reads
        .iter()
        .map(|r| (r.login.as_str(), r.at, r.interface.as_str(), r.granted))
        .collect();
    assert_eq!(
        seen,
        [
            ("other", at(10), "api", false),
            ("reader", at(11), "web", true),
            ("reader", at(12), "api", true),
        ]
    );
    assert!(
        reads
            .iter()
            .all(|r| r.case_id == f.case.id && r.what == "case")
    );

    let update = store
        .raw_execute_for_tests("UPDATE case_reads SET granted = TRUE")
        .await;
    assert!(update.is_err(), "update must be refused: {update:?}");
    let delete = store.raw_execute_for_tests("DELETE FROM case_reads").await;
    assert!(delete.is_err(), "delete must be refused: {delete:?}");
    assert_eq!(store.case_reads(f.case.id).await.expect("reads"), reads);

    // A read naming an unknown case is refused, naming no personal data.
    let bad = store
        .log_case_read(&NewCaseRead {
            case_id: 999_999,
            user_id: f.reader,
            at: at(13),
            interface: "api".into(),
            what: "case".into(),
            granted: true,
        })
        .await;
    assert!(bad.is_err(), "{bad:?}");
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
        }
    };
}

contract!(reads_of_an_archived_case_are_logged_in_order_and_never_changed);
