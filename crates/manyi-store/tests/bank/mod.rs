//! What the aggregate contract tests (`stats.rs`, `weeks.rs`, `rollups.rs`) share: a small
//! bank of six units, a deterministic generator for their random writes, and cases created
//! and updated as the server writes them, with a category and a first breach.

use jiff::Timestamp;
use manyi_store::{
    CaseRecord, CaseUpdate, CreateOutcome, NewCase, NewEvent, NewUnit, NewUser, Store, Unit,
};
use serde_json::{Value, json};

/// A tiny deterministic generator (xorshift64*): the same operations on both backends.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("an instant")
}

pub struct Bank {
    pub units: Vec<Unit>,
    pub user: i64,
    pub policy: i64,
}

/// HQ ─┬─ B1 ─┬─ O1
///     │      └─ O2
///     └─ B2 ── O3
pub async fn bank(store: &Store) -> Bank {
    let mut units = Vec::new();
    for (code, parent) in [
        ("HQ", None),
        ("B1", Some("HQ")),
        ("O1", Some("B1")),
        ("O2", Some("B1")),
        ("B2", Some("HQ")),
        ("O3", Some("B2")),
    ] {
        units.push(
            store
                .insert_unit(NewUnit {
                    code: code.into(),
                    name: format!("unit {code}"),
                    level: "x".into(),
                    parent_code: parent.map(Into::into),
                })
                .await
                .expect("unit"),
        );
    }
    let user = store
        .insert_user(NewUser {
            login: "clerk".into(),
            name: "clerk".into(),
            unit_code: "O1".into(),
            roles: vec!["agent".into()],
            password_hash: None,
        })
        .await
        .expect("user")
        .id;
    let policy = store
        .store_policy_version(
            "bank",
            "[policy]\nname = 'bank'",
            "h",
            ts("2026-01-01T00:00:00Z"),
        )
        .await
        .expect("policy")
        .id;
    Bank {
        units,
        user,
        policy,
    }
}

pub fn snapshot(category: Option<&str>) -> Value {
    match category {
        Some(c) => json!({"fields": {"category": c, "content": "…"}}),
        None => json!({"fields": {"content": "…"}}),
    }
}

pub fn event(at: Timestamp, action: &str) -> NewEvent {
    NewEvent {
        at,
        actor_id: None,
        action: action.into(),
        clause: None,
        payload: json!({}),
    }
}

pub async fn create(
    store: &Store,
    b: &Bank,
    owner: i64,
    at: Timestamp,
    cat: Option<&str>,
) -> CaseRecord {
    let c = NewCase {
        kind: "complaint".into(),
        policy_id: b.policy,
        number_scope: "bank".into(),
        number_period: "".into(),
        state: "received".into(),
        owner_unit_id: owner,
        first_contact_id: b.user,
        assignee_id: None,
        channel: "counter".into(),
        created_at: at,
        snapshot: snapshot(cat),
        events: vec![event(at, "open")],
        idempotency: None,
        timers: Vec::new(),
        find: Vec::new(),
        due_at: None,
    };
    match store
        .create_case(c, |n| format!("N{n:06}"))
        .await
        .expect("create")
    {
        CreateOutcome::Created(case) => case,
        other => panic!("{other:?}"),
    }
}

pub async fn update(
    store: &Store,
    case: &CaseRecord,
    owner: i64,
    closed: bool,
    cat: Option<&str>,
    action: &str,
) -> CaseRecord {
    store
        .update_case(CaseUpdate {
            id: case.id,
            expected_version: case.version,
            state: if closed { "closed" } else { "handling" }.into(),
            owner_unit_id: owner,
            assignee_id: None,
            first_contact_id: None,
            closed,
            updated_at: case.updated_at,
            snapshot: snapshot(cat),
            events: vec![event(case.updated_at, action)],
            timers: Vec::new(),
            violations: Vec::new(),
            find: None,
            due_at: None,
        })
        .await
        .expect("update")
}
