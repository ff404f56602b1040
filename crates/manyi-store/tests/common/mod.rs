//! What the store's contract test files share: a small organisation (head office and two
//! branches, two users, a stored policy) and a case written as the server writes one.

use jiff::Timestamp;
use manyi_store::{CaseRecord, CreateOutcome, FindKey, NewCase, NewEvent, NewUnit, NewUser, Store};
use serde_json::json;

pub fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_788_220_800 + minutes * 60).expect("in range")
}

pub struct Fixture {
    pub policy: i64,
    pub b1: i64,
    pub b2: i64,
    pub clerk: i64,
    pub other: i64,
}

pub async fn fixture(store: &Store) -> Fixture {
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

pub fn new_case(f: &Fixture, unit: i64, first_contact: i64, find: Vec<FindKey>) -> NewCase {
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

pub async fn create(store: &Store, c: NewCase) -> CaseRecord {
    match store
        .create_case(c, |serial| format!("TS-{serial:06}"))
        .await
        .expect("create")
    {
        CreateOutcome::Created(case) => case,
        other => panic!("expected a new case, got {other:?}"),
    }
}
