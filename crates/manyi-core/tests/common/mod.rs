//! Shared fixtures of the rule tests (`callbacks`, `recusal_and_penalty_rules`,
//! `codes_and_archive_rules`, `conduct_and_unit_penalties`): a shipped policy loaded from
//! `policies/`, a four-level bank world with its people, a complaint opened and driven through
//! `engine::decide_*` as the shell does, and the smallest valid policy text for `policy check`
//! tests. Each test binary uses part of it.

#![allow(dead_code)]

use jiff::{SignedDuration, Timestamp};
use manyi_core::case::{self, Case, PersonRef};
use manyi_core::engine::{
    CreateInput, Directory, Refusal, TransitionInput, decide_create, decide_transition,
};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::policy::{self, Policy};
use serde_json::{Map, Value, json};

pub fn load(name: &str) -> Policy {
    let path = format!("{}/../../policies/{name}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    let outcome = policy::load(name, &source);
    outcome
        .policy
        .unwrap_or_else(|| panic!("{name}: {:?}", outcome.diagnostics))
}

/// HQ(1) → BJ(2) → BJHD(3) → BJHD01(4).
pub struct World {
    pub directory: Directory,
    pub teller: Actor,
    pub head: Actor,
    pub branch: Actor,
    pub service: Actor,
}

pub fn world() -> World {
    let mut d = Directory::default();
    for (id, code, level, path) in [
        (1, "HQ", "hq", "/1/"),
        (2, "BJ", "branch1", "/1/2/"),
        (3, "BJHD", "branch2", "/1/2/3/"),
        (4, "BJHD01", "outlet", "/1/2/3/4/"),
    ] {
        d.add_unit(UnitRef::from_path(id, code, code, level, path));
    }
    for (id, login) in [
        (10, "teller"),
        (11, "head"),
        (12, "branch"),
        (13, "service"),
    ] {
        d.add_person(PersonRef {
            id,
            login: login.into(),
            name: login.into(),
        });
    }
    let actor = |id: i64, login: &str, unit: i64, roles: &[&str]| Actor {
        id,
        login: login.into(),
        name: login.into(),
        unit: d.unit(unit).unwrap().clone(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    World {
        teller: actor(10, "teller", 4, &["frontline"]),
        head: actor(11, "head", 4, &["unit_head", "handler"]),
        branch: actor(12, "branch", 3, &["unit_head", "service_dept"]),
        service: actor(13, "service", 1, &["service_dept", "unit_head"]),
        directory: d,
    }
}

pub fn cal() -> manyi_core::calendar::CalendarView<'static> {
    manyi_core::calendar::Calendar::official().view()
}

pub fn at(minutes: i64) -> Timestamp {
    "2026-09-30T09:00:00+08:00".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

pub fn fields(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

pub fn open(p: &Policy, w: &World, who: &Actor, subject: &str) -> Result<Case, Refusal> {
    let input = CreateInput {
        kind: "complaint".into(),
        channel: "counter".into(),
        fields: fields(json!({
            "complainant_name": "赵敏",
            "contact_phone": "13800138000",
            "matter": "柜员态度恶劣",
            "customer_demand": "道歉",
            "subject_person": subject,
        })),
    };
    let event = decide_create(p, 1, &input, who, &w.directory, &cal(), at(0))?;
    Ok(case::apply("TS1", None, &event).unwrap())
}

pub fn act(
    p: &Policy,
    w: &World,
    case: &Case,
    who: &Actor,
    action: &str,
    f: Value,
) -> Result<Case, Refusal> {
    let input = TransitionInput {
        action: action.into(),
        fields: fields(f),
        note: None,
    };
    let now = at(i64::try_from(case.version).unwrap() * 30);
    let event = decide_transition(p, case, &input, who, &w.directory, &cal(), now)?;
    let next = case::apply(&case.number, Some(case.clone()), &event).unwrap();
    // Entering a state that owes a callback opens it, as the shell does.
    Ok(match manyi_core::callback::follow_up(p, &next, &event) {
        Some(opened) => case::apply(&case.number, Some(next), &opened).unwrap(),
        None => next,
    })
}

pub fn diagnostics(source: &str) -> Vec<String> {
    policy::load("p.toml", source)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect()
}

/// The smallest valid policy: one role, one kind, two states, one transition.
pub const BASE: &str = r#"[policy]
id = "t"
title = "t"

[[role]]
id = "boss"
label = "boss"

[kind.c]
label = "c"
initial = "open"
create_roles = ["boss"]
channels = ["phone"]
numbering = { pattern = "C{SEQ:3}" }

[kind.c.state.open]
label = "open"

[kind.c.state.done]
label = "done"
final = true

[[kind.c.transition]]
id = "finish"
label = "finish"
from = ["open"]
to = "done"
roles = ["boss"]
clause = "1"
"#;
