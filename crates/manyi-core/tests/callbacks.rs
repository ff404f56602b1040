//! 回访 (callbacks) as the default complaint policy declares them: opened when the reply is
//! given, done by someone independent of the handler, verdicts and what a dissatisfied one
//! does, closing refused until the callback is done or waived, waivers with a reason and role.

mod common;

use common::{World, act, at, cal, load, open, world};
use manyi_core::callback::{
    self, AttemptInput, CallbackStatus, Party, Verdict, VerdictInput, decide_attempt,
    decide_verdict, decide_waiver,
};
use manyi_core::case::{self, Case};
use manyi_core::engine::{RefusalReason, available_transitions};
use manyi_core::policy::{self, Policy};
use serde_json::{Value, json};

/// A complaint replied to by the outlet head, which owes a callback.
fn replied(p: &Policy, w: &World) -> Case {
    let case = open(p, w, &w.teller, "branch").unwrap();
    let case = act(
        p,
        w,
        &case,
        &w.teller,
        "assess",
        json!({"category": "attitude", "severity": "serious", "validity": "valid"}),
    )
    .unwrap();
    let case = act(p, w, &case, &w.head, "dispatch", json!({"handler": "head"})).unwrap();
    let case = act(
        p,
        w,
        &case,
        &w.head,
        "decide",
        json!({"findings": "属实", "handling_opinion": "道歉"}),
    )
    .unwrap();
    act(
        p,
        w,
        &case,
        &w.head,
        "reply",
        json!({"reply_content": "已道歉", "reply_channel": "phone"}),
    )
    .unwrap()
}

fn verdict(v: Verdict) -> VerdictInput {
    VerdictInput {
        party: Party::Customer,
        verdict: v,
        channel: Some("phone".into()),
        note: Some("客户表示".into()),
    }
}

fn apply(case: &Case, event: &manyi_core::case::Event) -> Case {
    case::apply(&case.number, Some(case.clone()), event).unwrap()
}

const CLOSE: &str = r#"{"final_result": "客户满意，结案"}"#;

fn close_fields() -> Value {
    serde_json::from_str(CLOSE).unwrap()
}

#[test]
fn replying_to_the_customer_opens_a_callback_with_its_clock() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let cb = callback::pending(&case).expect("a callback is owed");
    assert_eq!(cb.round, 1);
    assert_eq!(cb.resolved_by.as_ref().unwrap().login, "head");
    assert_eq!(cb.parties, vec![Party::Customer]);
    let clock = case
        .clocks
        .get("callback")
        .expect("the callback clock runs");
    assert_eq!(clock.status, manyi_core::deadlines::ClockStatus::Running);
}

#[test]
fn the_handler_who_resolved_the_case_may_not_call_back() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let r = decide_verdict(
        &p,
        &case,
        &verdict(Verdict::Satisfied),
        &w.head,
        &w.directory,
        &cal(),
        at(600),
    )
    .unwrap_err();
    assert_eq!(r.reason, RefusalReason::NotIndependent, "{r:?}");
    assert_eq!(r.clause.as_deref(), Some("ISO 10002 8.9"));
    assert!(
        r.message_zh.starts_with("ISO 10002 8.9: "),
        "{}",
        r.message_zh
    );
    // The person complained about never does it (回避).
    let r = decide_verdict(
        &p,
        &case,
        &verdict(Verdict::Satisfied),
        &w.branch,
        &w.directory,
        &cal(),
        at(600),
    )
    .unwrap_err();
    assert_eq!(r.reason, RefusalReason::Recused, "{r:?}");
    // A role the callback section does not name is refused too.
    let attempt = AttemptInput {
        party: Party::Customer,
        channel: "phone".into(),
        reached: false,
        note: None,
    };
    let r = decide_attempt(&p, &case, &attempt, &w.teller, &cal(), at(600)).unwrap_err();
    assert_eq!(r.reason, RefusalReason::RoleNotAllowed, "{r:?}");
}

#[test]
fn closing_is_refused_until_the_callback_is_done() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let r = act(&p, &w, &case, &w.service, "close", close_fields()).unwrap_err();
    assert_eq!(r.reason, RefusalReason::CallbackOwed, "{r:?}");
    assert_eq!(r.clause.as_deref(), Some("ISO 10002 8.9"));
    let kind = p.kind("complaint").unwrap();
    assert!(
        !available_transitions(kind, &case, &w.service)
            .iter()
            .any(|t| t.id == "close"),
        "close is not offered while the callback is owed"
    );
}

#[test]
fn attempts_are_recorded_and_a_satisfied_verdict_lets_the_case_close() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let attempt = AttemptInput {
        party: Party::Customer,
        channel: "phone".into(),
        reached: false,
        note: Some("无人接听".into()),
    };
    let case = apply(
        &case,
        &decide_attempt(&p, &case, &attempt, &w.service, &cal(), at(500)).unwrap(),
    );
    assert_eq!(case.callbacks[0].attempts.len(), 1);
    assert!(!case.callbacks[0].attempts[0].reached);
    let event = decide_verdict(
        &p,
        &case,
        &verdict(Verdict::BasicallySatisfied),
        &w.service,
        &w.directory,
        &cal(),
        at(560),
    )
    .unwrap();
    let case = apply(&case, &event);
    assert_eq!(case.callbacks[0].status, CallbackStatus::Done);
    assert_eq!(
        case.clocks["callback"].status,
        manyi_core::deadlines::ClockStatus::Stopped
    );
    // A second verdict is refused: nothing is owed any more.
    let r = decide_verdict(
        &p,
        &case,
        &verdict(Verdict::Satisfied),
        &w.service,
        &w.directory,
        &cal(),
        at(570),
    )
    .unwrap_err();
    assert_eq!(r.reason, RefusalReason::WrongState);
    let closed = act(&p, &w, &case, &w.service, "close", close_fields()).unwrap();
    assert!(closed.closed);
}

#[test]
fn a_dissatisfied_verdict_reopens_the_case_and_the_next_reply_owes_a_new_callback() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let event = decide_verdict(
        &p,
        &case,
        &verdict(Verdict::Dissatisfied),
        &w.service,
        &w.directory,
        &cal(),
        at(500),
    )
    .unwrap();
    let case = apply(&case, &event);
    assert_eq!(case.state, "investigating");
    assert_eq!(case.callbacks[0].status, CallbackStatus::Done);
    // The reply clock starts again (action:callback_reopen).
    assert_eq!(
        case.clocks["reply"].status,
        manyi_core::deadlines::ClockStatus::Running
    );
    let case = act(
        &p,
        &w,
        &case,
        &w.head,
        "decide",
        json!({"findings": "补充调查", "handling_opinion": "退费"}),
    )
    .unwrap();
    let case = act(
        &p,
        &w,
        &case,
        &w.head,
        "reply",
        json!({"reply_content": "已退费", "reply_channel": "phone"}),
    )
    .unwrap();
    assert_eq!(callback::pending(&case).unwrap().round, 2);
    let r = act(&p, &w, &case, &w.service, "close", close_fields()).unwrap_err();
    assert_eq!(r.reason, RefusalReason::CallbackOwed);
    let event = decide_verdict(
        &p,
        &case,
        &verdict(Verdict::Satisfied),
        &w.service,
        &w.directory,
        &cal(),
        at(2000),
    )
    .unwrap();
    let case = apply(&case, &event);
    let closed = act(&p, &w, &case, &w.service, "close", close_fields()).unwrap();
    assert!(closed.closed);
    assert_eq!(closed.callbacks.len(), 2);
}

#[test]
fn a_waiver_needs_a_reason_and_a_waiving_role_and_then_lets_the_case_close() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let r = decide_waiver(&p, &case, Some("  "), &w.service, &cal(), at(500)).unwrap_err();
    assert_eq!(r.reason, RefusalReason::ReasonRequired, "{r:?}");
    assert_eq!(r.clause.as_deref(), Some("CLAUSES §3.2"));
    assert_eq!(r.fields[0].field, "reason");
    // unit_head may call back but not waive.
    let mut head_only = w.service.clone();
    head_only.roles = vec!["unit_head".into()];
    let r = decide_waiver(&p, &case, Some("客户出国"), &head_only, &cal(), at(500)).unwrap_err();
    assert_eq!(r.reason, RefusalReason::RoleNotAllowed, "{r:?}");
    let event = decide_waiver(
        &p,
        &case,
        Some("客户明确拒绝回访"),
        &w.service,
        &cal(),
        at(500),
    )
    .unwrap();
    let case = apply(&case, &event);
    assert_eq!(case.callbacks[0].status, CallbackStatus::Waived);
    assert_eq!(
        case.callbacks[0].waiver.as_ref().unwrap().reason,
        "客户明确拒绝回访"
    );
    assert!(
        act(&p, &w, &case, &w.service, "close", close_fields())
            .unwrap()
            .closed
    );
}

#[test]
fn an_attempt_through_an_unlisted_channel_names_the_field_and_changes_nothing() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let attempt = AttemptInput {
        party: Party::Customer,
        channel: "pigeon".into(),
        reached: true,
        note: None,
    };
    let r = decide_attempt(&p, &case, &attempt, &w.service, &cal(), at(500)).unwrap_err();
    assert_eq!(r.reason, RefusalReason::InvalidFields);
    assert_eq!(r.fields[0].field, "channel");
    assert!(r.message.contains("pigeon"));
    // The subject is not surveyed in this policy.
    let attempt = AttemptInput {
        party: Party::Subject,
        channel: "phone".into(),
        reached: true,
        note: None,
    };
    let r = decide_attempt(&p, &case, &attempt, &w.service, &cal(), at(500)).unwrap_err();
    assert_eq!(r.fields[0].field, "party");
}

#[test]
fn the_log_replays_to_the_same_callback_record() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = replied(&p, &w);
    let e1 = decide_verdict(
        &p,
        &case,
        &verdict(Verdict::Satisfied),
        &w.service,
        &w.directory,
        &cal(),
        at(500),
    )
    .unwrap();
    let after = apply(&case, &e1);
    // Round-trips through JSON as the store keeps it.
    let json = serde_json::to_value(&e1).unwrap();
    let back: manyi_core::case::Event = serde_json::from_value(json).unwrap();
    assert_eq!(back, e1);
    assert_eq!(apply(&case, &back), after);
}

const CHECK: &str = r#"
[policy]
id = "p"
title = "t"
[[role]]
id = "staff"
label = "员工"
[kind.c]
label = "投诉"
initial = "open"
create_roles = ["staff"]
channels = ["phone"]
numbering = { pattern = "C{SEQ:4}" }
[kind.c.state.open]
label = "受理"
[kind.c.state.done]
label = "结案"
final = true
[[kind.c.transition]]
id = "finish"
label = "结案"
from = ["open"]
to = "done"
roles = ["staff"]
clause = "一"
[kind.c.callback]
clause = "二"
after = ["opne"]
roles = ["boss"]
close = ["done"]
on_dissatisfied = { op = "reopen", to = "done" }
limit = "3 weekdays"
"#;

#[test]
fn the_checker_reports_callback_mistakes_at_their_line_and_column() {
    let outcome = policy::load("p.toml", CHECK);
    let errors: Vec<String> = outcome.diagnostics.iter().map(|d| d.to_string()).collect();
    let has = |needle: &str, line: usize| {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(needle) && e.starts_with(&format!("p.toml:{line}:"))),
            "{needle} at line {line}: {errors:#?}"
        );
    };
    has("unknown state `opne` in callback `after`", 28);
    has("unknown role `boss`", 29);
    has("`on_dissatisfied` sends the case back to `done`", 31);
    has("weekdays", 32);
    assert!(outcome.policy.is_none());
}

#[test]
fn explain_lists_the_callback_clauses() {
    let p = load("default-complaint.toml");
    let rows = policy::compliance_matrix(&p);
    assert!(rows.iter().any(|r| r.clause == "ISO 10002 8.9"
        && r.element == "complaint / callback"
        && r.enforcement.contains("never the handler")));
    assert!(
        rows.iter()
            .any(|r| r.clause == "CLAUSES §3.2" && r.element == "complaint / callback waiver")
    );
    assert!(
        rows.iter()
            .any(|r| r.element == "complaint / clock callback")
    );
}
