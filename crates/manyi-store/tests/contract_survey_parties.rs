//! The store's contract for survey parties (migration 0018, `crate::survey_parties`), on every
//! backend: a survey addressed to the person complained about is recorded by its token hash
//! before the survey itself, read back by token, and picked out of a list of survey ids; a
//! survey without a row is the customer's.

use jiff::Timestamp;
use manyi_store::testing::TestDb;
use manyi_store::{
    CaseRecord, CreateOutcome, FindKey, NewCase, NewEvent, NewSurvey, NewUnit, NewUser, SUBJECT,
    Store,
};
use serde_json::json;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_788_220_800 + minutes * 60).expect("in range")
}

struct Fixture {
    policy: i64,
    b1: i64,
    b2: i64,
    clerk: i64,
    other: i64,
}

async fn fixture(store: &Store) -> Fixture {
    let mut units = Vec::new();
    for (code, parent) in [("HQ", None), ("B1", Some("HQ")), ("B2", Some("HQ"))] {
        units.push(
            store
                .insert_unit(NewUnit {
                    code: code.into(),
                    name: format!("unit {code}"),
                    level: "分行".into(),
                    parent_code: parent.map(Into::into),
                })
                .await
                .expect("unit"),
        );
    }
    let mut ids = Vec::new();
    for (login, unit) in [("clerk", "B1"), ("other", "B2")] {
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
    Fixture {
        policy: policy.id,
        b1: units[1].id,
        b2: units[2].id,
        clerk: ids[0],
        other: ids[1],
    }
}

fn new_case(f: &Fixture, unit: i64, first_contact: i64, find: Vec<FindKey>) -> NewCase {
    NewCase {
        kind: "complaint".into(),
        policy_id: f.policy,
        number_scope: "bank/complaint".into(),
        number_period: "2026".into(),
        state: "received".into(),
        owner_unit_id: unit,
        first_contact_id: first_contact,
        assignee_id: None,
        channel: "counter".into(),
        created_at: at(1),
        snapshot: json!({}),
        events: vec![NewEvent {
            at: at(1),
            actor_id: Some(first_contact),
            action: "open".into(),
            clause: None,
            payload: json!({}),
        }],
        idempotency: None,
        timers: Vec::new(),
        find,
        due_at: None,
    }
}

async fn create(store: &Store, c: NewCase) -> CaseRecord {
    match store
        .create_case(c, |serial| format!("TS-{serial:06}"))
        .await
        .expect("create")
    {
        CreateOutcome::Created(case) => case,
        other => panic!("expected a new case, got {other:?}"),
    }
}

fn survey(case: &CaseRecord, unit: i64, token_hash: &str) -> NewSurvey {
    NewSurvey {
        token_hash: token_hash.into(),
        case_id: case.id,
        kind: "complaint".into(),
        unit_id: unit,
        handler_id: None,
        category: None,
        issued_by: None,
        issued_at: at(2),
        expires_at: at(10_000),
    }
}

async fn a_subject_survey_is_told_apart_from_the_customer_one(store: &Store) {
    let f = fixture(store).await;
    let case = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    let customer = store
        .insert_survey(survey(&case, f.b1, "hash-customer"))
        .await
        .expect("customer survey");
    // The party is written first, under the token hash the survey will have.
    store
        .record_survey_party("hash-subject", SUBJECT)
        .await
        .expect("party");
    let subject = store
        .insert_survey(survey(&case, f.b1, "hash-subject"))
        .await
        .expect("subject survey");
    assert_eq!(
        store.survey_party("hash-subject").await.expect("read"),
        Some(SUBJECT.to_owned())
    );
    assert_eq!(
        store.survey_party("hash-customer").await.expect("read"),
        None
    );
    assert_eq!(store.survey_party("forged").await.expect("read"), None);
    assert_eq!(
        store
            .survey_parties(&[customer.id, subject.id, 999_999])
            .await
            .expect("list"),
        [(subject.id, SUBJECT.to_owned())]
    );
    assert_eq!(
        store.survey_parties(&[customer.id]).await.expect("list"),
        Vec::<(i64, String)>::new()
    );
    assert_eq!(
        store.survey_parties(&[]).await.expect("list"),
        Vec::<(i64, String)>::new()
    );
    // A token hash has one party: a second row for it is refused.
    assert!(
        store
            .record_survey_party("hash-subject", SUBJECT)
            .await
            .is_err()
    );
    // A party row whose survey never got written (a crash between the two) names no survey.
    store
        .record_survey_party("hash-never-issued", SUBJECT)
        .await
        .expect("party");
    assert_eq!(
        store
            .survey_parties(&[customer.id, subject.id])
            .await
            .expect("list")
            .len(),
        1
    );
    let _ = (f.b2, f.other);
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

contract!(a_subject_survey_is_told_apart_from_the_customer_one);
