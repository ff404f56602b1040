//! Violations that are not a clock of the case's own unit: a person's recorded conduct
//! (jinbi-property 第四条 礼仪, 第六条 规范用语: `[[conduct]]`, `violation = "conduct:ID"`), and the
//! faults of another unit on the case (ccb-counter 第二十条 assistance, 第二十一条 disputes:
//! `violation = "assist"` / `"dispute"`), whose fines fall on that unit's role holders.

mod common;

use common::{BASE, diagnostics, load};
use jiff::Timestamp;
use manyi_core::case::{self, Case, Change, PersonRef};
use manyi_core::conduct::{ConductRecord, decide_record};
use manyi_core::deadlines::Violation;
use manyi_core::engine::{CreateInput, Directory, RefusalReason, decide_create};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::penalties::{self, ViolationSelector};
use manyi_core::policy::{self, Policy};
use serde_json::json;

fn now() -> Timestamp {
    "2026-03-10T10:00:00+08:00".parse().unwrap()
}

/// 物业(1) → 客服中心(2) → 一组(3); 外区(4) under 1.
fn units() -> Vec<UnitRef> {
    vec![
        UnitRef::from_path(1, "JB", "金碧物业", "company", "/1/"),
        UnitRef::from_path(2, "JB-CS", "客服中心", "department", "/1/2/"),
        UnitRef::from_path(3, "JB-CS1", "一组", "department", "/1/2/3/"),
        UnitRef::from_path(4, "JB-X", "外区", "department", "/1/4/"),
    ]
}

fn person(id: i64, login: &str) -> PersonRef {
    PersonRef {
        id,
        login: login.into(),
        name: login.into(),
    }
}

fn actor(id: i64, login: &str, unit: usize, roles: &[&str]) -> Actor {
    Actor {
        id,
        login: login.into(),
        name: login.into(),
        unit: units()[unit].clone(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn jinbi_case(p: &Policy, duty: &Actor) -> Case {
    let mut d = Directory::default();
    for u in units() {
        d.add_unit(u);
    }
    let input = CreateInput {
        kind: "complaint".into(),
        channel: "phone".into(),
        fields: json!({"complainant": "李先生", "contact_phone": "13800138000",
            "matter": "楼上漏水", "location": "3栋101"})
        .as_object()
        .unwrap()
        .clone(),
    };
    let cal = manyi_core::calendar::Calendar::official();
    let event = decide_create(p, 1, &input, duty, &d, &cal.view(), now()).expect("registers");
    case::apply("JB1", None, &event).unwrap()
}

#[test]
fn jinbi_第四条_a_supervisor_records_an_etiquette_breach_and_the_附则_proposes_20_yuan() {
    let p = load("jinbi-property.toml");
    let duty = actor(10, "duty", 2, &["duty_staff"]);
    let sup = actor(11, "sup", 2, &["dispatch_supervisor"]);
    let case = jinbi_case(&p, &duty);
    let event = decide_record(
        &p,
        &case,
        &sup,
        &ConductRecord {
            type_id: "etiquette",
            person: &person(10, "duty"),
            person_unit: &units()[2],
            description: "  接待来访业主时未起身问候。 ",
        },
        now(),
    )
    .expect("recorded");
    assert_eq!(event.action, "conduct_recorded");
    assert_eq!(event.clause.as_deref(), Some("第四条"));
    let Change::ViolationsRecorded {
        violations,
        description,
        ..
    } = &event.change
    else {
        panic!("{event:?}")
    };
    assert_eq!(description.as_deref(), Some("接待来访业主时未起身问候。"));
    let v = &violations[0];
    assert_eq!((v.kind.as_str(), v.rule.as_str()), ("conduct", "etiquette"));
    assert_eq!(v.liable_persons[0].login, "duty");
    // The case moves on the log only: state, owner and handler are untouched.
    let after = case::apply("JB1", Some(case.clone()), &event).unwrap();
    assert_eq!(
        (&after.state, &after.owner_unit, &after.assignee),
        (&case.state, &case.owner_unit, &case.assignee)
    );
    let props = penalties::propose(&p.penalties, &case, v, &Directory::default(), 1);
    assert_eq!(props.len(), 1, "{props:?}");
    assert_eq!(
        (
            props[0].person.login.as_str(),
            props[0].min_fen,
            props[0].max_fen
        ),
        ("duty", 2000, 2000)
    );
    assert_eq!(props[0].clause, "第四条附则");
}

#[test]
fn jinbi_第四条_an_etiquette_breach_that_caused_a_complaint_also_fines_the_persons_supervisor() {
    let p = load("jinbi-property.toml");
    let duty = actor(10, "duty", 2, &["duty_staff"]);
    let case = jinbi_case(&p, &duty);
    // The person works in 客服中心 (2); its supervisor is liable, not 一组's (3), which owns
    // the case.
    let mut d = Directory::default();
    d.add_member(3, "dispatch_supervisor", person(30, "sup_cs1"));
    d.add_member(2, "dispatch_supervisor", person(20, "sup_cs"));
    let v = Violation {
        kind: penalties::CONDUCT.into(),
        rule: "etiquette_complaint".into(),
        clause: "第四条".into(),
        due: now(),
        liable_persons: vec![person(31, "clerk")],
        liable_units: vec![units()[1].clone()],
    };
    let mut props: Vec<(String, i64)> = penalties::propose(&p.penalties, &case, &v, &d, 1)
        .into_iter()
        .map(|p| (p.person.login, p.max_fen))
        .collect();
    props.sort();
    assert_eq!(
        props,
        [("clerk".to_owned(), 5000), ("sup_cs".to_owned(), 2000)]
    );
}

#[test]
fn jinbi_第五条_a_record_gap_that_made_the_handling_late_fines_the_person_100_and_the_supervisor_50()
 {
    let p = load("jinbi-property.toml");
    let duty = actor(10, "duty", 2, &["duty_staff"]);
    let cs = actor(12, "cs", 1, &["customer_service"]);
    let case = jinbi_case(&p, &duty);
    // Customer service records it against the call taker who kept the record.
    let event = decide_record(
        &p,
        &case,
        &cs,
        &ConductRecord {
            type_id: "record_caused_delay",
            person: &person(10, "duty"),
            person_unit: &units()[2],
            description: "未记录联系电话，维修人员无法联系业主，延误一天",
        },
        now(),
    )
    .expect("customer service records it");
    assert_eq!(event.clause.as_deref(), Some("第五条"));
    let Change::ViolationsRecorded { violations, .. } = &event.change else {
        panic!("{event:?}")
    };
    let v = &violations[0];
    assert_eq!(
        (v.kind.as_str(), v.rule.as_str()),
        ("conduct", "record_caused_delay")
    );
    // 责任主管: the dispatch supervisor of the person's unit (一组), not of 客服中心 above it.
    let mut d = Directory::default();
    d.add_member(3, "dispatch_supervisor", person(30, "sup_cs1"));
    d.add_member(2, "dispatch_supervisor", person(20, "sup_cs"));
    let mut props: Vec<(String, String, i64, i64)> =
        penalties::propose(&p.penalties, &case, v, &d, 1)
            .into_iter()
            .map(|p| (p.person.login, p.clause, p.min_fen, p.max_fen))
            .collect();
    props.sort();
    assert_eq!(
        props,
        [
            ("duty".to_owned(), "第五条附则".to_owned(), 10000, 10000),
            ("sup_cs1".to_owned(), "第五条附则".to_owned(), 5000, 5000),
        ]
    );
}

#[test]
fn a_conduct_record_is_refused_for_a_role_without_the_right_oneself_and_an_unknown_type() {
    let p = load("jinbi-property.toml");
    let duty = actor(10, "duty", 2, &["duty_staff"]);
    let sup = actor(11, "sup", 2, &["dispatch_supervisor"]);
    let case = jinbi_case(&p, &duty);
    let rec = |ty: &'static str, who: PersonRef, unit: usize| (ty, who, unit);
    let try_ = |by: &Actor, (ty, who, unit): (&str, PersonRef, usize), text: &str| {
        decide_record(
            &p,
            &case,
            by,
            &ConductRecord {
                type_id: ty,
                person: &who,
                person_unit: &units()[unit],
                description: text,
            },
            now(),
        )
        .unwrap_err()
    };
    let r = try_(&duty, rec("etiquette", person(11, "sup"), 2), "x");
    assert_eq!(
        (r.reason, r.clause.as_deref()),
        (RefusalReason::RoleNotAllowed, Some("第四条"))
    );
    assert!(r.message_zh.starts_with("第四条: 只有"), "{}", r.message_zh);
    let r = try_(&sup, rec("phone_language", person(11, "sup"), 2), "x");
    assert_eq!(
        (r.reason, r.clause.as_deref()),
        (RefusalReason::SelfDecision, Some("第六条"))
    );
    let r = try_(&sup, rec("rudeness", person(10, "duty"), 2), "x");
    assert_eq!(r.reason, RefusalReason::InvalidFields);
    assert!(r.message.contains("\"rudeness\""), "{}", r.message);
    assert!(r.message.contains("etiquette"), "{}", r.message);
    let r = try_(&sup, rec("etiquette", person(10, "duty"), 2), "   ");
    assert_eq!(
        (r.reason, r.clause.as_deref()),
        (RefusalReason::ReasonRequired, Some("第四条"))
    );
    // A person in another unit, outside the recorder's subtree (外区).
    let r = try_(&sup, rec("etiquette", person(40, "other"), 3), "x");
    assert_eq!(r.reason, RefusalReason::OutsideJurisdiction);
}

#[test]
fn ccb_第三十三条_fines_assistance_and_dispute_faults_on_the_unit_at_fault() {
    let p = load("ccb-counter.toml");
    let assist: Vec<&str> = p
        .penalties
        .iter()
        .filter(|r| r.violation == ViolationSelector::Assist(None))
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(assist, ["assist_refused_or_late"]);
    let dispute = p
        .penalties
        .iter()
        .find(|r| r.violation == ViolationSelector::Dispute)
        .expect("a dispute rule");
    assert_eq!(
        (
            dispute.clause.as_str(),
            dispute.min_fen,
            dispute.max_fen,
            dispute.requires_substantiation
        ),
        ("第三十三条", 5000, 100_000, false)
    );
}

#[test]
fn conduct_types_and_the_new_selectors_are_checked_at_their_place_in_the_file() {
    let src = format!(
        "{BASE}\n[[conduct]]\nid = \"rude\"\nlabel = \"rude\"\nrecorded_by = [\"ghost\"]\nclause = \"4\"\n\
         \n[[conduct]]\nid = \"rude\"\nlabel = \"again\"\nrecorded_by = [\"boss\"]\nclause = \"4\"\n\
         \n[[conduct]]\nid = \"mute\"\nlabel = \"mute\"\nseverity = 1\n\
         \n[[penalty]]\nid = \"a\"\nlabel = \"a\"\nviolation = \"assist\"\namount = 1\ndecided_by = [\"boss\"]\nclause = \"5\"\n\
         \n[[penalty]]\nid = \"d\"\nlabel = \"d\"\nviolation = \"dispute\"\namount = 1\ndecided_by = [\"boss\"]\nclause = \"5\"\n\
         \n[[penalty]]\nid = \"c\"\nlabel = \"c\"\nviolation = \"conduct:nope\"\namount = 1\ndecided_by = [\"boss\"]\nclause = \"5\"\n\
         \n[[penalty]]\nid = \"e\"\nlabel = \"e\"\nviolation = \"assist:late\"\namount = 1\ndecided_by = [\"boss\"]\nclause = \"5\"\n"
    );
    let found = diagnostics(&src);
    let expect = [
        "p.toml:34:16: error: unknown role `ghost` in `recorded_by`",
        "p.toml:38:6: error: duplicate conduct type `rude`",
        "p.toml:46:1: error: unknown key `severity`",
        "a conduct type needs `recorded_by`",
        "missing required key `clause`",
        "p.toml:51:13: error: no kind declares `[kind.<id>.assist]`",
        "p.toml:59:13: error: no kind declares `[kind.<id>.dispute]`",
        "p.toml:67:13: error: no `[[conduct]]` type `nope` is declared",
        "p.toml:75:13: error: `assist:late` is not a violation",
    ];
    for e in expect {
        assert!(
            found.iter().any(|d| d.starts_with(e) || d.contains(e)),
            "missing {e:?} in {found:#?}"
        );
    }
}

#[test]
fn a_well_formed_conduct_type_with_its_penalty_checks_clean() {
    let src = format!(
        "{BASE}\n[[conduct]]\nid = \"rude\"\nlabel = \"失礼\"\nlabel_en = \"Rude\"\nrecorded_by = [\"boss\"]\nclause = \"4\"\n\
         \n[[penalty]]\nid = \"c\"\nlabel = \"c\"\nviolation = \"conduct:rude\"\namount = 20\ndecided_by = [\"boss\"]\nclause = \"4附则\"\n"
    );
    let outcome = policy::load("p.toml", &src);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let p = outcome.policy.unwrap();
    assert_eq!(p.conduct[0].recorded_by, ["boss"]);
    assert_eq!(p.conduct[0].label_en.as_deref(), Some("Rude"));
    assert_eq!(
        p.penalties[0].violation,
        ViolationSelector::Conduct("rude".into())
    );
}

#[test]
fn the_compliance_matrix_lists_the_conduct_types_under_their_clauses() {
    let p = load("jinbi-property.toml");
    let rows = policy::compliance_matrix(&p);
    let conduct: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r.element.starts_with("conduct "))
        .map(|r| (r.clause.clone(), r.element.clone()))
        .collect();
    assert_eq!(
        conduct,
        [
            ("第四条".to_owned(), "conduct etiquette".to_owned()),
            (
                "第四条".to_owned(),
                "conduct etiquette_complaint".to_owned()
            ),
            (
                "第五条".to_owned(),
                "conduct record_caused_delay".to_owned()
            ),
            ("第六条".to_owned(), "conduct phone_language".to_owned()),
            (
                "第六条".to_owned(),
                "conduct phone_misunderstanding".to_owned()
            ),
        ]
    );
}
