//! 回避 (recusal, CLAUSES.md A26 / lawfirm-complaint 二(二)) in the engine, and the
//! `[[penalty]]` section of the policy language: what the shipped packs declare and what the
//! checker refuses, each at its `file:line:column`.

mod common;

use common::{World, act, at, cal, diagnostics, fields, load, open, world};
use manyi_core::case::{self, Case};
use manyi_core::engine::{
    CreateInput, Refusal, RefusalReason, available_transitions, decide_create,
};
use manyi_core::org::Actor;
use manyi_core::penalties::{Per, ViolationSelector};
use manyi_core::policy::{self, Policy};
use serde_json::{Value, json};

fn assert_recused(r: Refusal) {
    assert_eq!(r.reason, RefusalReason::Recused, "{r:?}");
    assert_eq!(r.clause.as_deref(), Some("CLAUSES A26"));
    assert!(
        r.message_zh.starts_with("CLAUSES A26: 回避"),
        "{}",
        r.message_zh
    );
}

const ASSESSED: &str = r#"{"category": "attitude", "severity": "normal", "validity": "valid"}"#;

fn assessed() -> Value {
    serde_json::from_str(ASSESSED).unwrap()
}

#[test]
fn the_person_complained_about_may_not_take_any_action_on_the_case() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = open(&p, &w, &w.teller, "head").unwrap();
    // The outlet head holds the role, has jurisdiction, and is the subject: refused.
    assert_recused(act(&p, &w, &case, &w.head, "assess", assessed()).unwrap_err());
    // Anyone else may.
    act(&p, &w, &case, &w.teller, "assess", assessed()).unwrap();
}

#[test]
fn the_subject_is_offered_no_action_at_all() {
    let p = load("default-complaint.toml");
    let w = world();
    let kind = p.kind("complaint").unwrap();
    let case = open(&p, &w, &w.teller, "head").unwrap();
    assert!(available_transitions(kind, &case, &w.head).is_empty());
    assert!(!available_transitions(kind, &case, &w.teller).is_empty());
}

#[test]
fn the_subject_cannot_be_assigned_the_case_as_its_handler() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = open(&p, &w, &w.teller, "head").unwrap();
    let case = act(&p, &w, &case, &w.teller, "assess", assessed()).unwrap();
    let r = act(
        &p,
        &w,
        &case,
        &w.branch,
        "dispatch",
        json!({"handler": "head"}),
    )
    .unwrap_err();
    assert_recused(r);
    assert!(r_names(&p, &w, &case, "head"));
    // Someone else is assigned without trouble.
    let case = act(
        &p,
        &w,
        &case,
        &w.branch,
        "dispatch",
        json!({"handler": "service"}),
    )
    .unwrap();
    assert_eq!(case.assignee.unwrap().login, "service");
}

/// The refusal of assigning `login` names them.
fn r_names(p: &Policy, w: &World, case: &Case, login: &str) -> bool {
    act(
        p,
        w,
        case,
        &w.branch,
        "dispatch",
        json!({ "handler": login }),
    )
    .unwrap_err()
    .message
    .contains(login)
}

#[test]
fn the_subject_cannot_do_the_callback_of_their_own_case() {
    let p = load("default-complaint.toml");
    let w = world();
    let case = open(&p, &w, &w.teller, "branch").unwrap();
    let case = act(&p, &w, &case, &w.teller, "assess", assessed()).unwrap();
    let case = act(
        &p,
        &w,
        &case,
        &w.service,
        "dispatch",
        json!({"handler": "head"}),
    )
    .unwrap();
    let case = act(
        &p,
        &w,
        &case,
        &w.head,
        "decide",
        json!({"findings": "属实", "handling_opinion": "道歉"}),
    )
    .unwrap();
    let case = act(
        &p,
        &w,
        &case,
        &w.head,
        "reply",
        json!({"reply_content": "已道歉", "reply_channel": "phone"}),
    )
    .unwrap();
    use manyi_core::callback::{Party, Verdict, VerdictInput, decide_verdict};
    let verdict = VerdictInput {
        party: Party::Customer,
        verdict: Verdict::Satisfied,
        channel: Some("phone".into()),
        note: None,
    };
    let by = |who: &Actor| decide_verdict(&p, &case, &verdict, who, &w.directory, &cal(), at(900));
    assert_recused(by(&w.branch).unwrap_err());
    let done = case::apply(&case.number, Some(case.clone()), &by(&w.service).unwrap()).unwrap();
    let closed = act(
        &p,
        &w,
        &done,
        &w.service,
        "close",
        json!({"final_result": "客户满意"}),
    )
    .unwrap();
    assert!(closed.closed);
}

#[test]
fn naming_oneself_as_the_subject_is_refused_at_registration_and_later() {
    let p = load("default-complaint.toml");
    let w = world();
    // The registering user is assigned the case: not one about themselves.
    assert_recused(open(&p, &w, &w.teller, "teller").unwrap_err());
    // Naming oneself the subject while acting is refused too.
    let case = open(&p, &w, &w.teller, "head").unwrap();
    let mut input = assessed();
    input["subject_person"] = json!("teller");
    assert_recused(act(&p, &w, &case, &w.teller, "assess", input).unwrap_err());
}

#[test]
fn a_case_without_a_subject_is_not_affected() {
    let p = load("default-complaint.toml");
    let w = world();
    let input = CreateInput {
        kind: "complaint".into(),
        channel: "counter".into(),
        fields: fields(
            json!({"complainant_name": "赵敏", "contact_phone": "13800138000", "matter": "排队", "customer_demand": "加窗口"}),
        ),
    };
    let event = decide_create(&p, 1, &input, &w.head, &w.directory, &cal(), at(0)).unwrap();
    let case = case::apply("TS2", None, &event).unwrap();
    act(&p, &w, &case, &w.head, "assess", assessed()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The [[penalty]] section
// ---------------------------------------------------------------------------------------------

#[test]
fn jinbi_fines_30_yuan_per_late_dispatch_and_50_per_missed_review() {
    let p = load("jinbi-property.toml");
    let late = p.penalty("late_dispatch").unwrap();
    assert_eq!(late.violation, ViolationSelector::Clock("dispatch".into()));
    assert_eq!(
        (late.min_fen, late.max_fen, late.per),
        (3000, 3000, Per::Instance)
    );
    assert_eq!(late.clause, "第七条附则");
    let review = p.penalty("missed_review").unwrap();
    assert_eq!(
        (review.min_fen, review.clause.as_str()),
        (5000, "第五条附则")
    );
    assert_eq!(review.decided_by, ["customer_service"]);
}

#[test]
fn ccb_article_33_ranges_require_a_substantiated_complaint() {
    let p = load("ccb-counter.toml");
    // The complaint-driven rules (upheld:…); 第三十三条(一) read on 第二十条/第二十一条 (assist,
    // dispute) needs no substantiation: manyi itself recorded the fault
    // (`conduct_and_unit_penalties`).
    let upheld: Vec<&manyi_core::penalties::PenaltyRule> = p
        .penalties
        .iter()
        .filter(|r| matches!(r.violation, ViolationSelector::Upheld { .. }))
        .collect();
    let ranges: Vec<(&str, i64, i64, bool)> = upheld
        .iter()
        .map(|r| (r.id.as_str(), r.min_fen, r.max_fen, r.discipline_referral))
        .collect();
    assert_eq!(
        ranges,
        [
            ("upheld_attitude", 5_000, 100_000, false),
            ("upheld_efficiency", 5_000, 100_000, false),
            ("upheld_procedure", 10_000, 100_000, true),
            ("upheld_media", 20_000, 200_000, true),
        ]
    );
    assert!(upheld.iter().all(|r| {
        r.requires_substantiation
            && r.clause == "第三十三条"
            && r.substantiation
                .as_ref()
                .is_some_and(|s| s.field == "substantiated")
    }));
}

const BASE: &str = r#"[policy]
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

[[kind.c.field]]
id = "who"
label = "who"
type = "person"

[[kind.c.field]]
id = "note"
label = "note"
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
roles = ["boss"]
clause = "1"

[[kind.c.clock]]
id = "reply"
label = "reply"
clause = "2"
start = ["open"]
stop = ["enter:done"]
limit = "5 minutes"
breach = [{ op = "violation", liable = ["first_contact"] }]
"#;

#[test]
fn a_well_formed_penalty_rule_checks_clean() {
    let src = format!(
        "{BASE}\n[[penalty]]\nid = \"late\"\nlabel = \"late\"\nviolation = \"clock:reply\"\n\
         amount = [\"12.50\", 100]\nper = \"item\"\nliable = [\"first_contact\"]\n\
         decided_by = [\"boss\"]\nclause = \"3\"\n"
    );
    let outcome = policy::load("p.toml", &src);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let rule = &outcome.policy.unwrap().penalties[0];
    assert_eq!(
        (rule.min_fen, rule.max_fen, rule.per),
        (1250, 10_000, Per::Item)
    );
    assert_eq!(rule.appeal_decided_by, ["boss"], "defaults to the deciders");
}

#[test]
fn bad_penalty_rules_are_each_reported_at_their_place() {
    let src = format!(
        "{BASE}\n[[penalty]]\nid = \"bad\"\nlabel = \"bad\"\nviolation = \"clock:nope\"\n\
         amount = [100, 50]\nper = \"hour\"\nliable = [\"role:ghost\", \"owner_unit\"]\n\
         requires_substantiation = true\ndecided_by = [\"nobody\"]\nfine = 1\n\
         \n[[penalty]]\nid = \"worse\"\nlabel = \"worse\"\nviolation = \"upheld:note=x\"\n\
         amount = -3\ndecided_by = []\n"
    );
    let found = diagnostics(&src);
    let expect = [
        "p.toml:53:13: error: no kind declares a clock `nope`",
        "p.toml:54:10: error: the range's minimum is above its maximum",
        "p.toml:55:7: error: `per` is instance or item, not `hour`",
        "p.toml:56:11: error: unknown role `ghost` in `liable`",
        "p.toml:56:25: error: a penalty falls on persons",
        "p.toml:58:15: error: unknown role `nobody` in `decided_by`",
        "p.toml:59:1: error: unknown key `fine`",
        "no kind has a choice field `note` with the option `x`",
        "an amount is a non-negative number of yuan",
        "`decided_by` must name at least one role",
        "`requires_substantiation = true` needs `substantiation",
    ];
    for e in expect {
        assert!(
            found.iter().any(|d| d.starts_with(e) || d.contains(e)),
            "missing {e:?} in {found:#?}"
        );
    }
}

#[test]
fn a_subject_field_must_be_a_person_field_of_the_kind() {
    let src = BASE.replace(
        "channels = [\"phone\"]",
        "channels = [\"phone\"]\nsubject_field = \"note\"",
    );
    let found = diagnostics(&src);
    assert!(
        found
            .iter()
            .any(|d| d.contains("`subject_field` `note` must be a person field, not text")),
        "{found:#?}"
    );
    let src = BASE.replace(
        "channels = [\"phone\"]",
        "channels = [\"phone\"]\nsubject_field = \"who\"\nrecusal_clause = \"二(二)\"",
    );
    let outcome = policy::load("p.toml", &src);
    let p = outcome.policy.expect("checks clean");
    let kind = p.kind("c").unwrap();
    assert_eq!(
        (kind.subject_field.as_deref(), kind.recusal_clause.as_str()),
        (Some("who"), "二(二)")
    );
}
