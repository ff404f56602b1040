//! CLAUSES.md A20 (intake owner and handler) and ccb-counter 第二十条 (assistance), decided in
//! the core: `handler_only` transitions, and an assistance request's whole life.

use jiff::Timestamp;
use manyi_core::assist::{self, Answer, AssistStatus};
use manyi_core::calendar::{Calendar, CalendarView};
use manyi_core::case::{self, Case, Change};
use manyi_core::engine::{
    CreateInput, Directory, RefusalReason, TransitionInput, decide_create, decide_transition,
};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::policy::{self, Policy};
use serde_json::{Map, json};

fn cal() -> CalendarView<'static> {
    Calendar::official().view()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// HQ(1) → BJHD(3) → {BJHD01(4), BJHD02(5)}.
fn org() -> Directory {
    let mut d = Directory::default();
    for (id, code, level, path) in [
        (1, "HQ", "hq", "/1/"),
        (3, "BJHD", "branch2", "/1/3/"),
        (4, "BJHD01", "outlet", "/1/3/4/"),
        (5, "BJHD02", "outlet", "/1/3/5/"),
    ] {
        d.add_unit(UnitRef::from_path(id, code, code, level, path));
    }
    d
}

fn actor(d: &Directory, id: i64, login: &str, unit: i64, roles: &[&str]) -> Actor {
    Actor {
        id,
        login: login.into(),
        name: login.into(),
        unit: d.unit(unit).unwrap().clone(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn open(policy: &Policy, who: &Actor, d: &Directory, fields: serde_json::Value) -> Case {
    let input = CreateInput {
        kind: "complaint".into(),
        channel: policy.kind("complaint").unwrap().channels[0].clone(),
        fields: fields.as_object().unwrap().clone(),
    };
    let event = decide_create(
        policy,
        1,
        &input,
        who,
        d,
        &cal(),
        t("2026-03-10T10:00:00+08:00"),
    )
    .unwrap();
    case::apply("N1", None, &event).unwrap()
}

const HANDLER: &str = r#"[policy]
id = "t"
title = "t"

[[role]]
id = "clerk"
label = "clerk"

[kind.complaint]
label = "c"
initial = "open"
create_roles = ["clerk"]
channels = ["phone"]
numbering = { pattern = "C{SEQ:3}" }

[kind.complaint.state.open]
label = "open"

[kind.complaint.state.done]
label = "done"
final = true

[[kind.complaint.transition]]
id = "take"
label = "承办"
from = ["open"]
to = "*"
roles = ["clerk"]
effects = [{ op = "assign", to = "actor" }]
clause = "A20"

[[kind.complaint.transition]]
id = "resolve"
label = "处理完毕"
from = ["open"]
to = "done"
roles = ["clerk"]
handler_only = true
clause = "A20"
"#;

#[test]
fn only_the_handler_resolves_while_the_intake_owner_stays_the_first_contact() {
    let outcome = policy::load("t.toml", HANDLER);
    let policy = outcome
        .policy
        .unwrap_or_else(|| panic!("{:#?}", outcome.diagnostics));
    let d = org();
    let intake = actor(&d, 1, "intake", 4, &["clerk"]);
    let other = actor(&d, 2, "other", 4, &["clerk"]);
    let case = open(&policy, &intake, &d, json!({}));
    // Registering makes the intake owner the handler too (within their authority).
    assert_eq!(case.assignee.as_ref().map(|a| a.id), Some(1));

    let act = |case: &Case, who: &Actor, action: &str| {
        decide_transition(
            &policy,
            case,
            &TransitionInput {
                action: action.into(),
                fields: Map::new(),
                note: None,
            },
            who,
            &d,
            &cal(),
            t("2026-03-10T11:00:00+08:00"),
        )
    };
    let refusal = act(&case, &other, "resolve").expect_err("not the handler");
    assert_eq!(refusal.reason, RefusalReason::RoleNotAllowed);
    assert_eq!(refusal.clause.as_deref(), Some("A20"));
    assert!(
        refusal.message.contains("only the handler (intake)"),
        "{}",
        refusal.message
    );

    // Another clerk takes it over: the handler changes, the first contact does not.
    let taken = act(&case, &other, "take").unwrap();
    let case = case::apply("N1", Some(case), &taken).unwrap();
    assert_eq!(
        case.assignee.as_ref().map(|a| a.login.as_str()),
        Some("other")
    );
    assert_eq!(case.first_contact.login, "intake");
    assert!(act(&case, &intake, "resolve").is_err());
    let done = act(&case, &other, "resolve").unwrap();
    assert!(case::apply("N1", Some(case), &done).unwrap().closed);
}

fn ccb() -> Policy {
    let path = format!(
        "{}/../../policies/ccb-counter.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let outcome = policy::load("ccb-counter.toml", &std::fs::read_to_string(path).unwrap());
    outcome
        .policy
        .unwrap_or_else(|| panic!("{:#?}", outcome.diagnostics))
}

#[test]
fn an_assistance_request_is_accepted_completed_and_never_moves_the_case() {
    let policy = ccb();
    let d = org();
    let teller = actor(&d, 1, "teller", 4, &["teller"]);
    let head02 = actor(&d, 2, "head02", 5, &["outlet_head"]);
    let teller02 = actor(&d, 3, "teller02", 5, &["teller"]);
    let mut case = open(
        &policy,
        &teller,
        &d,
        json!({ "customer_name": "李华", "customer_phone": "13912345678",
                "content": "排队太久", "customer_demand": "增加窗口" }),
    );
    let now = t("2026-03-10T11:00:00+08:00");
    let to = d.unit_by_code("BJHD02").unwrap();
    // Bad input: an empty request; asking oneself.
    assert_eq!(
        assist::decide_request(&policy, &case, &teller, to, " ", &cal(), now)
            .unwrap_err()
            .reason,
        RefusalReason::ReasonRequired
    );
    let own = d.unit_by_code("BJHD01").unwrap();
    assert!(assist::decide_request(&policy, &case, &teller, own, "x", &cal(), now).is_err());

    let e =
        assist::decide_request(&policy, &case, &teller, to, "提供开户资料", &cal(), now).unwrap();
    case = case::apply("N1", Some(case), &e).unwrap();
    let a = &case.assists[0];
    assert_eq!((a.no, a.status), (1, AssistStatus::Requested));
    assert_eq!(a.due, t("2026-03-12T00:00:00+08:00"));

    // A teller of the requested unit holds no answer role; its head does.
    assert!(assist::decide_answer(&policy, &case, &teller02, 1, &Answer::Accept, now).is_err());
    let e = assist::decide_answer(&policy, &case, &head02, 1, &Answer::Accept, now).unwrap();
    case = case::apply("N1", Some(case), &e).unwrap();
    // Refusing without a reason: refused, and nothing is decided.
    let r = assist::decide_answer(
        &policy,
        &case,
        &head02,
        1,
        &Answer::Refuse {
            reason: String::new(),
        },
        now,
    )
    .unwrap_err();
    assert_eq!(r.clause.as_deref(), Some("第二十条"));
    let e = assist::decide_answer(
        &policy,
        &case,
        &head02,
        1,
        &Answer::Complete {
            result: "资料已提供".into(),
        },
        now,
    )
    .unwrap();
    let Change::Assistance { violation, .. } = &e.change else {
        panic!("an assistance event")
    };
    assert!(violation.is_none());
    case = case::apply("N1", Some(case), &e).unwrap();
    assert_eq!(case.assists[0].status, AssistStatus::Completed);
    assert_eq!(case.owner_unit.code, "BJHD01");
    // Done: the deadline passing changes nothing.
    assert!(assist::decide_overdue(&case, 1, t("2026-03-13T00:00:00+08:00")).is_none());
}

#[test]
fn an_open_request_past_its_deadline_is_one_violation_against_the_requested_unit() {
    let policy = ccb();
    let d = org();
    let teller = actor(&d, 1, "teller", 4, &["teller"]);
    let mut case = open(
        &policy,
        &teller,
        &d,
        json!({ "customer_name": "李华", "customer_phone": "13912345678",
                "content": "排队太久", "customer_demand": "增加窗口" }),
    );
    let to = d.unit_by_code("BJHD02").unwrap();
    let now = t("2026-03-10T11:00:00+08:00");
    let e = assist::decide_request(&policy, &case, &teller, to, "核实", &cal(), now).unwrap();
    case = case::apply("N1", Some(case), &e).unwrap();
    assert!(assist::decide_overdue(&case, 1, t("2026-03-11T23:59:59+08:00")).is_none());
    let e = assist::decide_overdue(&case, 1, t("2026-03-12T00:00:00+08:00")).unwrap();
    let Change::Assistance {
        violation: Some(v), ..
    } = &e.change
    else {
        panic!("a violation")
    };
    assert_eq!(
        (v.kind.as_str(), v.clause.as_str()),
        ("assistance_overdue", "第二十条")
    );
    assert_eq!(v.liable_units[0].code, "BJHD02");
    case = case::apply("N1", Some(case), &e).unwrap();
    assert!(assist::decide_overdue(&case, 1, t("2026-03-13T00:00:00+08:00")).is_none());
}
