//! Soft rules (原则上, CLAUSES.md A39) on `requires`: `soft_requires` names fields of a
//! transition's `requires` that are required only in principle — left empty, the action is
//! refused with a warning unless an `override_by` holder overrides it with a reason, logged as
//! `rule_overridden`. The other required fields stay hard.

use jiff::Timestamp;
use manyi_core::calendar::Calendar;
use manyi_core::case::{self, Case, Change};
use manyi_core::engine::{
    CreateInput, Directory, RefusalReason, TransitionInput, decide_create, decide_transition_with,
};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::policy::{self, Policy};
use manyi_core::soft::Override;
use serde_json::json;

const SRC: &str = r#"[policy]
id = "t"
title = "t"

[[role]]
id = "clerk"
label = "clerk"

[[role]]
id = "boss"
label = "boss"

[kind.c]
label = "c"
initial = "open"
create_roles = ["clerk"]
channels = ["phone"]
numbering = { pattern = "C{SEQ:3}" }

[[kind.c.field]]
id = "reply"
label = "回复内容"
type = "text"

[[kind.c.field]]
id = "signature"
label = "客户签字"
type = "text"

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
roles = ["clerk", "boss"]
requires = ["reply", "signature"]
soft_requires = ["signature"]
override_by = ["boss"]
clause = "5"
"#;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn setup() -> (Policy, Directory, Actor, Actor, Case) {
    let outcome = policy::load("p.toml", SRC);
    let p = outcome
        .policy
        .unwrap_or_else(|| panic!("{:#?}", outcome.diagnostics));
    let mut d = Directory::default();
    d.add_unit(UnitRef::from_path(1, "U", "U", "x", "/1/"));
    let who = |id: i64, login: &str, role: &str| Actor {
        id,
        login: login.into(),
        name: login.into(),
        unit: d.unit(1).unwrap().clone(),
        roles: vec![role.into()],
    };
    let (clerk, boss) = (who(1, "clerk", "clerk"), who(2, "boss", "boss"));
    let e = decide_create(
        &p,
        1,
        &CreateInput {
            kind: "c".into(),
            channel: "phone".into(),
            fields: serde_json::Map::new(),
        },
        &clerk,
        &d,
        &Calendar::official().view(),
        t("2026-03-10T10:00:00+08:00"),
    )
    .unwrap();
    let case = case::apply("N1", None, &e).unwrap();
    (p, d, clerk, boss, case)
}

fn finish(
    p: &Policy,
    d: &Directory,
    case: &Case,
    who: &Actor,
    fields: serde_json::Value,
    ov: Option<&Override>,
) -> Result<manyi_core::engine::Decided, manyi_core::engine::Refusal> {
    decide_transition_with(
        p,
        case,
        &TransitionInput {
            action: "finish".into(),
            fields: fields.as_object().unwrap().clone(),
            note: None,
        },
        ov,
        who,
        d,
        &Calendar::official().view(),
        t("2026-03-10T11:00:00+08:00"),
    )
}

#[test]
fn a_field_required_in_principle_warns_and_an_authorised_override_with_a_reason_lets_it_through() {
    let (p, d, clerk, boss, case) = setup();
    // Filled: no warning, no override event.
    let ok = finish(
        &p,
        &d,
        &case,
        &clerk,
        json!({"reply": "x", "signature": "李"}),
        None,
    )
    .unwrap();
    assert!(ok.overridden.is_none());
    // The hard field is still hard.
    let r = finish(&p, &d, &case, &boss, json!({"signature": "李"}), None).unwrap_err();
    assert_eq!(r.reason, RefusalReason::InvalidFields);
    assert_eq!(r.fields[0].field, "reply");
    // Without the soft field: a warning naming it and the clause.
    let r = finish(&p, &d, &case, &clerk, json!({"reply": "x"}), None).unwrap_err();
    assert_eq!(
        (r.reason, r.clause.as_deref()),
        (RefusalReason::SoftRule, Some("5"))
    );
    assert!(r.message_zh.contains("应填写客户签字"), "{}", r.message_zh);
    // The clerk may not override; the boss must give a reason.
    let reason = |s: &str| Override { reason: s.into() };
    let r = finish(
        &p,
        &d,
        &case,
        &clerk,
        json!({"reply": "x"}),
        Some(&reason("急")),
    )
    .unwrap_err();
    assert_eq!(r.reason, RefusalReason::RoleNotAllowed);
    let r = finish(
        &p,
        &d,
        &case,
        &boss,
        json!({"reply": "x"}),
        Some(&reason(" ")),
    )
    .unwrap_err();
    assert_eq!(r.reason, RefusalReason::ReasonRequired);
    let ok = finish(
        &p,
        &d,
        &case,
        &boss,
        json!({"reply": "x"}),
        Some(&reason("客户拒绝签字，已录音")),
    )
    .unwrap();
    let Some(ev) = ok.overridden else {
        panic!("an override event")
    };
    let Change::RuleOverridden {
        transition,
        warning,
        reason,
    } = ev.change
    else {
        panic!("rule_overridden")
    };
    assert_eq!(
        (transition.as_str(), warning.as_str(), reason.as_str()),
        ("finish", "应填写客户签字", "客户拒绝签字，已录音")
    );
    assert!(case::apply("N1", Some(case), &ok.event).unwrap().closed);
}

#[test]
fn soft_requires_must_name_required_fields_and_needs_override_by() {
    let bad = SRC
        .replace(
            "soft_requires = [\"signature\"]",
            "soft_requires = [\"nope\"]",
        )
        .replace("override_by = [\"boss\"]\n", "");
    let found: Vec<String> = policy::load("p.toml", &bad)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    for e in [
        "p.toml:44:18: error: `soft_requires` names `nope`, which is not in this transition's `requires`",
        "p.toml:37:1: error: a soft rule needs `override_by`",
    ] {
        assert!(
            found.iter().any(|d| d.contains(e)),
            "missing {e:?} in {found:#?}"
        );
    }
}
