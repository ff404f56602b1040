//! Violations the engine detects by itself (jinbi-property 第五条 record gaps and 第七条 repeat
//! complaints, ccb-counter 第三十三条 upheld complaints and their stacking), the validity gate
//! (regional-complaint 四(一)2) and soft rules (原则上, CLAUSES.md A39), on the shipped packs.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use manyi_core::case::{self, Case, Change, PersonRef};
use manyi_core::engine::{
    CreateInput, Directory, Refusal, RefusalReason, TransitionInput, decide_create,
    decide_transition, decide_transition_with,
};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::penalties::{self, Existing};
use manyi_core::policy::{self, Policy};
use manyi_core::soft::Override;
use manyi_core::violations;
use serde_json::{Map, Value, json};

fn load(name: &str) -> Policy {
    let path = format!("{}/../../policies/{name}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    let outcome = policy::load(name, &source);
    outcome
        .policy
        .unwrap_or_else(|| panic!("{name}: {:?}", outcome.diagnostics))
}

fn person(id: i64, login: &str) -> PersonRef {
    PersonRef {
        id,
        login: login.into(),
        name: login.into(),
    }
}

/// BJ(2) → BJHD01(4): a branch and its outlet.
fn outlet() -> UnitRef {
    UnitRef::from_path(4, "BJHD01", "海淀网点", "outlet", "/1/2/4/")
}

fn directory() -> Directory {
    let mut d = Directory::default();
    d.add_unit(UnitRef::from_path(1, "HQ", "总部", "company", "/1/"));
    d.add_unit(UnitRef::from_path(2, "BJ", "北京分行", "branch1", "/1/2/"));
    d.add_unit(outlet());
    d.add_member(4, "outlet_head", person(11, "head"));
    d.add_member(2, "service_mgmt", person(12, "branch_service"));
    d.add_member(4, "dispatch_supervisor", person(11, "head"));
    d
}

fn at(minutes: i64) -> Timestamp {
    "2026-09-30T09:00:00+08:00".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

fn case_with(policy: &str, number: &str, fields: Value, closed: bool, state: &str) -> Case {
    Case {
        number: number.into(),
        kind: "complaint".into(),
        policy_id: policy.into(),
        policy_version: 1,
        state: state.into(),
        channel: "phone".into(),
        owner_unit: outlet(),
        first_contact: person(10, "teller"),
        assignee: Some(person(10, "teller")),
        fields: fields
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        created_at: at(0),
        updated_at: at(0),
        closed,
        closed_at: None,
        version: 3,
        clocks: BTreeMap::new(),
        callbacks: Vec::new(),
        assists: Vec::new(),
        disputes: Vec::new(),
    }
}

#[test]
fn jinbi_5_closing_with_record_items_missing_records_one_violation_and_proposal_per_item() {
    let p = load("jinbi-property.toml");
    let full = json!({"complainant": "李", "contact_phone": "13800138000", "matter": "漏水",
        "handling_department": "engineering", "result": "已修复"});
    let before = case_with("jinbi-property", "JB1", full.clone(), false, "resolved");
    let after = case_with("jinbi-property", "JB1", full, true, "closed");
    let found = violations::on_close(&p, &before, &after, &directory(), at(60));
    let gaps: Vec<&str> = found.iter().map(|v| v.rule.as_str()).collect();
    assert_eq!(gaps, ["location", "handler", "briefing"]);
    assert!(
        found
            .iter()
            .all(|v| v.kind == "record_incomplete" && v.clause == "第五条")
    );
    assert_eq!(found[0].liable_persons[0].login, "teller");
    // One proposal of 30 元 per missing item (第五条附则).
    let proposals: Vec<_> = found
        .iter()
        .flat_map(|v| penalties::propose(&p.penalties, &after, v, &directory(), 1))
        .collect();
    assert_eq!(proposals.len(), 3);
    assert!(
        proposals
            .iter()
            .all(|x| x.min_fen == 3000 && x.clause == "第五条附则")
    );
    // Nothing when the case was already closed, or stays open.
    assert!(violations::on_close(&p, &after, &after, &directory(), at(61)).is_empty());
    assert!(violations::on_close(&p, &before, &before, &directory(), at(61)).is_empty());
}

#[test]
fn jinbi_7_a_new_complaint_from_the_same_phone_about_the_same_unit_repeats_the_open_one() {
    let p = load("jinbi-property.toml");
    let kind = p.kind("complaint").unwrap();
    let key = json!({"contact_phone": "13800138000", "location": "3栋101"});
    let first = case_with("jinbi-property", "JB1", key.clone(), false, "dispatched");
    let mut new = case_with("jinbi-property", "JB2", key.clone(), false, "received");
    new.created_at = at(30);
    let other = case_with(
        "jinbi-property",
        "JB0",
        json!({"contact_phone": "13800138000", "location": "5栋202"}),
        false,
        "received",
    );
    let closed = case_with("jinbi-property", "JBX", key, true, "closed");
    let open = [other, closed.clone(), first.clone(), new.clone()];
    let found = violations::repeat_of(kind, &new, &open).expect("repeats JB1");
    assert_eq!(found.number, "JB1");
    // Only a closed case with the same key: no repeat.
    assert!(violations::repeat_of(kind, &new, &[closed]).is_none());
    let event = violations::repeat_event(kind, &first, "JB2", &directory(), at(31)).unwrap();
    let Change::ViolationsRecorded {
        violations,
        related_case,
        ..
    } = &event.change
    else {
        panic!("{event:?}")
    };
    assert_eq!(related_case.as_deref(), Some("JB2"));
    assert_eq!(violations[0].clause, "第七条附则");
    // 100 元 on the receiver, 50 元 on the dispatch supervisor.
    let amounts: Vec<(String, i64)> =
        penalties::propose(&p.penalties, &first, &violations[0], &directory(), 1)
            .into_iter()
            .map(|x| (x.person.login, x.min_fen))
            .collect();
    assert_eq!(
        amounts,
        [("teller".to_owned(), 10_000), ("head".to_owned(), 5_000)]
    );
}

#[test]
fn ccb_33_a_substantiated_close_records_the_upheld_violation_and_tiers_replace_each_other() {
    let p = load("ccb-counter.toml");
    let fields = json!({"category": "procedure", "media_exposed": "yes", "substantiated": "yes"});
    let before = case_with("ccb-counter", "CCB1", fields.clone(), false, "replied");
    let after = case_with("ccb-counter", "CCB1", fields, true, "closed");
    let found = violations::on_close(&p, &before, &after, &directory(), at(60));
    let rules: Vec<&str> = found.iter().map(|v| v.rule.as_str()).collect();
    assert_eq!(rules, ["category=procedure", "media_exposed=yes"]);
    let new: Vec<_> = found
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            penalties::propose(&p.penalties, &after, v, &directory(), 1)
                .into_iter()
                .map(move |x| (i, x))
        })
        .collect();
    // (二) and (三) for the teller and the outlet head; (三) also for the branch's service head.
    assert_eq!(new.len(), 5);
    let kept = penalties::apply_stacking(&p.penalties, new, &[]);
    let who: Vec<(String, String)> = kept
        .iter()
        .map(|(_, x)| (x.rule.clone(), x.person.login.clone()))
        .collect();
    assert_eq!(
        who,
        [
            ("upheld_media".to_owned(), "teller".to_owned()),
            ("upheld_media".to_owned(), "head".to_owned()),
            ("upheld_media".to_owned(), "branch_service".to_owned()),
        ]
    );
    assert!(
        kept.iter()
            .all(|(_, x)| (x.min_fen, x.max_fen) == (20_000, 200_000))
    );
    // A higher tier already in the ledger covers a lower new one.
    let attitude = penalties::propose(
        &p.penalties,
        &after,
        &manyi_core::deadlines::Violation {
            kind: "upheld_complaint".into(),
            rule: "category=attitude".into(),
            clause: "第三十三条".into(),
            due: at(0),
            liable_persons: vec![],
            liable_units: vec![],
        },
        &directory(),
        1,
    );
    let existing = [Existing {
        rule: "upheld_media".into(),
        person_id: 10,
        max_fen: 200_000,
    }];
    let kept = penalties::apply_stacking(
        &p.penalties,
        attitude.into_iter().map(|x| (0, x)).collect(),
        &existing,
    );
    assert_eq!(kept.len(), 1, "only the outlet head's stays: {kept:?}");
}

#[test]
fn ccb_33_no_upheld_violation_without_substantiation() {
    let p = load("ccb-counter.toml");
    let fields = json!({"category": "attitude", "substantiated": "no"});
    let before = case_with("ccb-counter", "CCB1", fields.clone(), false, "replied");
    let after = case_with("ccb-counter", "CCB1", fields, true, "closed");
    assert!(violations::on_close(&p, &before, &after, &directory(), at(60)).is_empty());
}

// --- regional-complaint: validity gate 四(一)2 and the soft rule of 第六条(五).

struct Regional {
    p: Policy,
    d: Directory,
    hr: Actor,
    sup: Actor,
    sup2: Actor,
    gm: Actor,
}

fn regional() -> Regional {
    let mut d = Directory::default();
    d.add_unit(UnitRef::from_path(1, "QY", "区域公司", "company", "/1/"));
    let unit = d.unit(1).unwrap().clone();
    let actor = |id: i64, login: &str, roles: &[&str]| Actor {
        id,
        login: login.into(),
        name: login.into(),
        unit: unit.clone(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    Regional {
        hr: actor(20, "hr", &["hr_admin_manager"]),
        sup: actor(21, "sup", &["dept_supervisor"]),
        sup2: actor(22, "sup2", &["dept_supervisor"]),
        gm: actor(23, "gm", &["general_manager"]),
        p: load("regional-complaint.toml"),
        d,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn register(r: &Regional) -> Case {
    let input = CreateInput {
        kind: "complaint".into(),
        channel: "phone".into(),
        fields: obj(json!({"complainant": "王", "contact_phone": "13800138000",
            "content": "前台态度差", "customer_demand": "道歉", "complained_department": "前台",
            "category": "attitude"})),
    };
    let e = decide_create(&r.p, 1, &input, &r.hr, &r.d, &cal(), at(0)).unwrap();
    case::apply("QY1", None, &e).unwrap()
}

fn cal() -> manyi_core::calendar::CalendarView<'static> {
    manyi_core::calendar::Calendar::official().view()
}

fn act(r: &Regional, c: &Case, who: &Actor, action: &str, f: Value) -> Result<Case, Refusal> {
    let input = TransitionInput {
        action: action.into(),
        fields: obj(f),
        note: None,
    };
    let e = decide_transition(&r.p, c, &input, who, &r.d, &cal(), at(10))?;
    Ok(case::apply(&c.number, Some(c.clone()), &e).unwrap())
}

#[test]
fn regional_4_1_2_an_invalid_complaint_without_a_reason_is_refused_naming_the_field_and_clause() {
    let r = regional();
    let c = register(&r);
    let e = act(
        &r,
        &c,
        &r.hr,
        "reject_invalid",
        json!({"customer_explanation": "经核实…"}),
    )
    .unwrap_err();
    assert_eq!(e.reason, RefusalReason::InvalidFields);
    assert!(
        e.fields.iter().any(|f| f.field == "invalid_reason"),
        "{e:?}"
    );
    assert!(
        e.fields.iter().all(|f| f.message_zh.contains("四(一)2")),
        "{e:?}"
    );
    // Without the explanation to the customer, refused too.
    let e = act(
        &r,
        &c,
        &r.hr,
        "reject_invalid",
        json!({"invalid_reason": "误会"}),
    )
    .unwrap_err();
    assert!(
        e.fields.iter().any(|f| f.field == "customer_explanation"),
        "{e:?}"
    );
}

#[test]
fn regional_4_1_2_an_invalid_complaint_closes_with_a_notice_to_the_customer() {
    let r = regional();
    let c = register(&r);
    let after = act(
        &r,
        &c,
        &r.hr,
        "reject_invalid",
        json!({"invalid_reason": "客户误解收费标准", "customer_explanation": "您好，经核实收费符合标准…"}),
    )
    .unwrap();
    assert!(after.closed);
    assert_eq!(after.fields["validity"], "invalid");
    let kind = r.p.kind("complaint").unwrap();
    let notice = violations::invalid_notice(kind, &c, &after, at(11)).expect("a notice");
    assert_eq!(notice.clause.as_deref(), Some("四(一)2"));
    assert!(matches!(
        &notice.change,
        Change::NoticeQueued { audience, text } if audience == "customer" && text.starts_with("您好")
    ));
    // No penalty follows an invalid complaint (A23): nothing is upheld.
    let p = load("regional-complaint.toml");
    assert!(violations::on_close(&p, &c, &after, &Directory::default(), at(11)).is_empty());
}

fn investigating(r: &Regional) -> Case {
    let c = register(r);
    let c = act(r, &c, &r.hr, "send_to_department", json!({})).unwrap();
    act(
        r,
        &c,
        &r.sup,
        "start_investigation",
        json!({"responsible_person": "张三"}),
    )
    .unwrap()
}

const REPLY: &str = r#"{"resolution_plan": "道歉并培训", "reply_content": "已致歉"}"#;

fn decide_reply(
    r: &Regional,
    c: &Case,
    who: &Actor,
    ov: Option<&str>,
) -> Result<manyi_core::engine::Decided, Refusal> {
    let input = TransitionInput {
        action: "reply".into(),
        fields: obj(serde_json::from_str(REPLY).unwrap()),
        note: None,
    };
    let ov = ov.map(|reason| Override {
        reason: reason.into(),
    });
    decide_transition_with(&r.p, c, &input, ov.as_ref(), who, &r.d, &cal(), at(20))
}

#[test]
fn regional_6_5_the_investigating_supervisor_replies_without_any_warning() {
    let r = regional();
    let c = investigating(&r);
    let d = decide_reply(&r, &c, &r.sup, None).unwrap();
    assert!(d.overridden.is_none());
}

#[test]
fn regional_6_5_a_soft_rule_warns_and_refuses_without_an_override() {
    let r = regional();
    let c = investigating(&r);
    let e = decide_reply(&r, &c, &r.gm, None).unwrap_err();
    assert_eq!(e.reason, RefusalReason::SoftRule);
    assert!(
        e.message_zh
            .starts_with("四(二)3: 原则上应由负责调查的主管人员亲自答复客户"),
        "{}",
        e.message_zh
    );
    // An override without a reason: refused.
    let e = decide_reply(&r, &c, &r.gm, Some("  ")).unwrap_err();
    assert_eq!(e.reason, RefusalReason::ReasonRequired);
    // Someone without the override role: refused.
    let e = decide_reply(&r, &c, &r.sup2, Some("他出差")).unwrap_err();
    assert_eq!(e.reason, RefusalReason::RoleNotAllowed);
}

#[test]
fn regional_6_5_an_authorised_override_with_a_reason_is_logged_as_an_event() {
    let r = regional();
    let c = investigating(&r);
    let d = decide_reply(&r, &c, &r.gm, Some("主管出差，总经理代为答复")).unwrap();
    let ov = d.overridden.expect("the override event");
    assert_eq!(ov.action, "rule_overridden");
    assert!(matches!(
        &ov.change,
        Change::RuleOverridden { transition, reason, .. } if transition == "reply" && reason == "主管出差，总经理代为答复"
    ));
    let after = case::apply(&c.number, Some(c.clone()), &ov).unwrap();
    let after = case::apply(&c.number, Some(after), &d.event).unwrap();
    assert_eq!(after.state, "replied");
}

// --- the checker

fn diagnostics(src: &str) -> Vec<String> {
    policy::load("t.toml", src)
        .diagnostics
        .into_iter()
        .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
        .collect()
}

const BASE: &str = r#"
[policy]
id = "t"
title = "t"
[[role]]
id = "clerk"
label = "c"
[kind.c]
label = "c"
initial = "open"
create_roles = ["clerk"]
channels = ["phone"]
numbering = { pattern = "T{SEQ:3}" }
[[kind.c.field]]
id = "note"
label = "n"
type = "text"
[kind.c.state.open]
label = "o"
[kind.c.state.done]
label = "d"
final = true
[[kind.c.transition]]
id = "finish"
label = "f"
from = ["open"]
to = "done"
roles = ["clerk"]
clause = "1"
"#;

#[test]
fn the_checker_reports_bad_validity_record_repeat_soft_and_stacking_at_their_place() {
    let src = format!(
        "{BASE}{}",
        r#"
[kind.c.validity]
field = "note"
reason_field = "why"
explanation_field = "note"
invalid_state = "open"
clause = "X"
[kind.c.record_completeness]
fields = ["nope"]
clause = "5"
[kind.c.repeat_complaint]
key = []
clause = "7"
[[kind.c.transition]]
id = "soft"
label = "s"
from = ["open"]
to = "done"
roles = ["clerk"]
soft = true
clause = "1"
[[penalty]]
id = "p"
label = "p"
violation = "repeat"
amount = 30
stacking = "highest"
decided_by = ["clerk"]
clause = "7"
"#
    );
    let d = diagnostics(&src).join("\n");
    for expected in [
        "`validity.field` `note` must be a choice field, not text",
        "unknown field `why` in `validity`",
        "`invalid_state` `open` must be a final state",
        "unknown field `nope` in `record_completeness.fields`",
        "`repeat_complaint.key` must name at least one field",
        "`soft = true` makes the `when` condition a 原则上 rule",
        "a soft rule needs `override_by`",
        "`stacking = \"highest\"` needs `group`",
        "no kind declares `repeat_complaint`",
    ] {
        assert!(d.contains(expected), "missing {expected:?} in\n{d}");
    }
    // Each with a line and column.
    assert!(
        d.lines()
            .all(|l| l.split(':').next().unwrap().parse::<u32>().is_ok()),
        "{d}"
    );
}

#[test]
fn the_shipped_packs_explain_what_the_new_rules_enforce() {
    let p = load("jinbi-property.toml");
    let text = policy::render_matrix(&p, &policy::compliance_matrix(&p));
    assert!(text.contains("each empty field of location"), "{text}");
    assert!(text.contains("records a violation (repeat)"), "{text}");
    let p = load("regional-complaint.toml");
    let text = policy::render_matrix(&p, &policy::compliance_matrix(&p));
    assert!(text.contains("validity gate"), "{text}");
    assert!(
        text.contains("原则上: a soft rule; general_manager may override"),
        "{text}"
    );
    let p = load("ccb-counter.toml");
    let text = policy::render_matrix(&p, &policy::compliance_matrix(&p));
    assert!(
        text.contains("tiers of group 第三十三条 replace each other"),
        "{text}"
    );
}
