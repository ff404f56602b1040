//! The case engine against the shipped policies: scenario tests that read like the regulation,
//! and property tests that any sequence of actions keeps a case consistent with its policy and
//! that replaying the event log gives the same case.

use jiff::{SignedDuration, Timestamp};
use manyi_core::case::{self, Case, Event, PersonRef};
use manyi_core::engine::{
    self, CreateInput, Directory, RefusalReason, TransitionInput, decide_create, decide_transition,
};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::policy::{self, Policy};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn load(name: &str) -> Policy {
    let path = format!("{}/../../policies/{name}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    let outcome = policy::load(name, &source);
    outcome
        .policy
        .unwrap_or_else(|| panic!("{name}: {:?}", outcome.diagnostics))
}

/// HQ(1) → BJ(2) → BJHD(3) → BJHD01(4); SH(5) → SH01(6).
fn org() -> Directory {
    let mut d = Directory::default();
    for (id, code, level, path) in [
        (1, "HQ", "hq", "/1/"),
        (2, "BJ", "branch1", "/1/2/"),
        (3, "BJHD", "branch2", "/1/2/3/"),
        (4, "BJHD01", "outlet", "/1/2/3/4/"),
        (5, "SH", "branch1", "/1/5/"),
        (6, "SH01", "outlet", "/1/5/6/"),
    ] {
        d.add_unit(UnitRef::from_path(id, code, code, level, path));
    }
    for (id, login) in [
        (10, "teller"),
        (11, "head"),
        (12, "branch"),
        (13, "service"),
        (14, "sh.teller"),
    ] {
        d.add_person(PersonRef {
            id,
            login: login.into(),
            name: login.into(),
        });
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

struct World {
    directory: Directory,
    teller: Actor,
    head: Actor,
    branch: Actor,
    service: Actor,
    sh_teller: Actor,
}

fn world() -> World {
    let d = org();
    World {
        teller: actor(&d, 10, "teller", 4, &["teller", "frontline"]),
        head: actor(&d, 11, "head", 4, &["outlet_head", "unit_head", "handler"]),
        branch: actor(
            &d,
            12,
            "branch",
            3,
            &["dept_head", "unit_head", "service_mgmt", "service_dept"],
        ),
        service: actor(
            &d,
            13,
            "service",
            1,
            &["service_mgmt", "service_dept", "dept_head"],
        ),
        sh_teller: actor(&d, 14, "sh.teller", 6, &["teller", "frontline"]),
        directory: d,
    }
}

fn cal() -> manyi_core::calendar::CalendarView<'static> {
    manyi_core::calendar::Calendar::official().view()
}

fn at(minutes: i64) -> Timestamp {
    "2026-09-30T09:00:00+08:00".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// A case with its log, advanced only through the engine.
struct Tracked {
    case: Case,
    log: Vec<Event>,
}

impl Tracked {
    fn open(p: &Policy, w: &World, who: &Actor, input: CreateInput) -> Tracked {
        let event = decide_create(p, 1, &input, who, &w.directory, &cal(), at(0)).unwrap();
        let case = case::apply("T1", None, &event).unwrap();
        Tracked {
            case,
            log: vec![event],
        }
    }

    fn act(
        &mut self,
        p: &Policy,
        w: &World,
        who: &Actor,
        action: &str,
        f: Value,
    ) -> Result<(), engine::Refusal> {
        let input = TransitionInput {
            action: action.into(),
            fields: fields(f),
            note: None,
        };
        let now = at(self.log.len() as i64 * 30);
        let event = decide_transition(p, &self.case, &input, who, &w.directory, &cal(), now)?;
        self.case = case::apply(&self.case.number, Some(self.case.clone()), &event).unwrap();
        self.log.push(event);
        Ok(())
    }
}

fn ccb_complaint(w: &World, p: &Policy) -> Tracked {
    Tracked::open(
        p,
        w,
        &w.teller,
        CreateInput {
            kind: "complaint".into(),
            channel: "counter".into(),
            fields: fields(json!({
                "customer_name": "张伟",
                "customer_phone": "+86 138 0013 8000",
                "content": "柜员办理业务态度冷淡",
                "customer_demand": "要求道歉",
            })),
        },
    )
}

#[test]
fn the_first_contact_owner_stays_accountable_after_the_case_is_handed_up() {
    let p = load("ccb-counter.toml");
    let w = world();
    let mut t = ccb_complaint(&w, &p);
    assert_eq!(t.case.first_contact.login, "teller");
    assert_eq!(t.case.owner_unit.code, "BJHD01");
    assert_eq!(t.case.fields["customer_phone"], json!("13800138000"));

    t.act(
        &p,
        &w,
        &w.teller,
        "refer_to_head",
        json!({"referral_reason": "涉及退费，超出权限"}),
    )
    .unwrap();
    t.act(&p, &w, &w.head, "take_over", json!({})).unwrap();
    t.act(
        &p,
        &w,
        &w.head,
        "hand_up",
        json!({"escalation_reason": "需二级分行协调", "responsibility_level": "branch2"}),
    )
    .unwrap();
    assert_eq!(t.case.owner_unit.code, "BJHD");
    assert_eq!(t.case.first_contact.login, "teller");
    assert!(t.case.assignee.is_none());
    // The teller keeps jurisdiction through first contact, though the case left the outlet.
    assert!(
        w.teller
            .has_jurisdiction(&t.case.owner_unit, t.case.first_contact.id)
    );
    t.act(&p, &w, &w.branch, "accept_escalated", json!({}))
        .unwrap();
    assert_eq!(t.case.assignee.as_ref().unwrap().login, "branch");
}

#[test]
fn only_the_outlet_or_department_head_may_hand_a_case_up_under_article_19() {
    let p = load("ccb-counter.toml");
    let w = world();
    let mut t = ccb_complaint(&w, &p);
    t.act(
        &p,
        &w,
        &w.teller,
        "refer_to_head",
        json!({"referral_reason": "超出权限"}),
    )
    .unwrap();
    let refusal = t
        .act(
            &p,
            &w,
            &w.teller,
            "hand_up",
            json!({"escalation_reason": "x", "responsibility_level": "branch2"}),
        )
        .unwrap_err();
    assert_eq!(refusal.reason, RefusalReason::RoleNotAllowed);
    assert_eq!(refusal.clause.as_deref(), Some("第十九条"));
    assert!(
        refusal
            .message_zh
            .starts_with("第十九条: 只有网点负责人或部门负责人或柜面服务管理部门")
    );
}

#[test]
fn a_case_cannot_be_handed_up_beyond_head_office() {
    let p = load("ccb-counter.toml");
    let w = world();
    let service_at_hq = actor(
        &w.directory,
        13,
        "service",
        1,
        &["teller", "service_mgmt", "dept_head"],
    );
    let mut t = Tracked::open(
        &p,
        &w,
        &service_at_hq,
        CreateInput {
            kind: "complaint".into(),
            channel: "hotline_95533".into(),
            fields: fields(json!({
                "customer_name": "李娜",
                "customer_phone": "13900139000",
                "content": "热线无人回电",
                "customer_demand": "要求回电",
            })),
        },
    );
    t.act(
        &p,
        &w,
        &service_at_hq,
        "refer_to_head",
        json!({"referral_reason": "x"}),
    )
    .unwrap();
    let refusal = t
        .act(
            &p,
            &w,
            &service_at_hq,
            "hand_up",
            json!({"escalation_reason": "x", "responsibility_level": "hq"}),
        )
        .unwrap_err();
    assert_eq!(refusal.reason, RefusalReason::ConditionFailed);
    assert!(refusal.message_zh.contains("总行受理的投诉无法再上报"));
}

#[test]
fn a_unit_outside_the_subtree_has_no_jurisdiction() {
    let p = load("ccb-counter.toml");
    let w = world();
    let mut t = ccb_complaint(&w, &p);
    let refusal = t
        .act(&p, &w, &w.sh_teller, "start_handling", json!({}))
        .unwrap_err();
    assert_eq!(refusal.reason, RefusalReason::OutsideJurisdiction);
}

#[test]
fn registration_reports_every_bad_field_at_once() {
    let p = load("default-complaint.toml");
    let w = world();
    let refusal = decide_create(
        &p,
        1,
        &CreateInput {
            kind: "complaint".into(),
            channel: "pigeon".into(),
            fields: fields(json!({
                "complainant_name": "王芳",
                "contact_phone": "12345",
                "id_number": "110105194912310021",
                "category": "rudeness",
                "colour": "red",
            })),
        },
        &w.teller,
        &w.directory,
        &cal(),
        at(0),
    )
    .unwrap_err();
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    let mut named: Vec<(&str, &str)> = refusal
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.code.as_str()))
        .collect();
    named.sort();
    let codes: Vec<&str> = named.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        codes,
        [
            "category",
            "channel",
            "colour",
            "contact_phone",
            "customer_demand",
            "id_number",
            "matter"
        ]
    );
    assert!(named.contains(&("customer_demand", "required")));
    assert!(named.contains(&("colour", "unknown")));
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// Candidate values for every field of the default complaint, valid and invalid, so that
/// random actions sometimes pass and sometimes fail validation.
fn candidate(field: &str, pick: u8) -> Value {
    let valid = match field {
        "category" => json!("attitude"),
        "severity" => json!(if pick.is_multiple_of(2) {
            "normal"
        } else {
            "serious"
        }),
        "validity" => json!(if pick.is_multiple_of(3) {
            "invalid"
        } else {
            "valid"
        }),
        "satisfaction" => json!(["satisfied", "basically", "dissatisfied"][pick as usize % 3]),
        "handler" => json!("head"),
        "target_unit" => json!(["BJHD02", "SH01", "BJHD"][pick as usize % 3]),
        "reply_channel" => json!("phone"),
        "amount_claimed" => json!("12.50"),
        _ => json!("情况说明"),
    };
    match pick % 7 {
        0 => Value::Null,
        1 => json!("not-a-valid-choice-or-person"),
        _ => valid,
    }
}

const FIELDS: &[&str] = &[
    "category",
    "severity",
    "validity",
    "invalid_reason",
    "handler",
    "target_unit",
    "escalation_reason",
    "findings",
    "handling_opinion",
    "reply_content",
    "reply_channel",
    "satisfaction",
    "callback_waiver_reason",
    "final_result",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any sequence of attempted actions, by any actor, keeps the case consistent with its
    /// policy; and folding the log again gives exactly the same case.
    #[test]
    fn any_sequence_of_actions_keeps_the_case_consistent_and_replayable(
        steps in prop::collection::vec(
            (0usize..5, 0usize..16, prop::collection::vec((0usize..14, any::<u8>()), 0..4)),
            1..40,
        )
    ) {
        let p = load("default-complaint.toml");
        let mut w = world();
        let mut d = w.directory.clone();
        d.add_unit(UnitRef::from_path(7, "BJHD02", "BJHD02", "outlet", "/1/2/3/7/"));
        w.directory = d;
        let kind = p.kind("complaint").unwrap();
        let actors = [&w.teller, &w.head, &w.branch, &w.service, &w.sh_teller];
        let mut t = Tracked::open(&p, &w, &w.teller, CreateInput {
            kind: "complaint".into(),
            channel: "counter".into(),
            fields: fields(json!({
                "complainant_name": "赵敏",
                "contact_phone": "010-6552 1234",
                "matter": "排队时间过长",
                "customer_demand": "增加窗口",
            })),
        });
        let first_contact = t.case.first_contact.clone();
        for (who, action, values) in steps {
            let who = actors[who];
            let action = kind.transitions.get(action % kind.transitions.len()).unwrap().id.clone();
            let mut input = serde_json::Map::new();
            for (f, pick) in values {
                input.insert(FIELDS[f].to_owned(), candidate(FIELDS[f], pick));
            }
            let before = t.case.clone();
            match t.act(&p, &w, who, &action, Value::Object(input)) {
                Ok(()) => {
                    let state = kind.state(&t.case.state);
                    prop_assert!(state.is_some(), "undeclared state {}", t.case.state);
                    let state = state.unwrap();
                    prop_assert_eq!(t.case.closed, state.is_final);
                    for required in &state.requires {
                        let v = t.case.fields.get(required);
                        prop_assert!(
                            v.is_some_and(|v| !v.is_null() && v != &json!("")),
                            "entered {} without {}", state.id, required
                        );
                    }
                    let tr = kind.transition(&action).unwrap();
                    prop_assert!(who.has_any_role(&tr.roles));
                    prop_assert!(w.directory.unit(t.case.owner_unit.id).is_some());
                }
                Err(_) => prop_assert_eq!(&t.case, &before),
            }
            prop_assert_eq!(&t.case.first_contact, &first_contact);
            prop_assert_eq!(t.case.version as usize, t.log.len());
        }
        let replayed = case::replay(&t.case.number, &t.log).unwrap();
        prop_assert_eq!(replayed, t.case.clone());
        // The log survives a round trip through JSON, as the store keeps it.
        let json = serde_json::to_value(&t.log).unwrap();
        let back: Vec<Event> = serde_json::from_value(json).unwrap();
        prop_assert_eq!(case::replay(&t.case.number, &back).unwrap(), t.case);
    }
}
