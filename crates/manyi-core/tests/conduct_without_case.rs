//! Issue 5: conduct recorded without a case. A dispatch supervisor's daily review sees an
//! on-duty person receive an owner rudely, with no complaint case (jinbi-property 第四条):
//! the same rules as on a case decide it, and the 附则's penalty rules propose the fines with
//! role liability in the person's unit.

mod common;

use common::load;
use jiff::Timestamp;
use manyi_core::case::PersonRef;
use manyi_core::conduct::{ConductRecord, decide_record_without_case};
use manyi_core::engine::{Directory, RefusalReason};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::penalties;

fn now() -> Timestamp {
    "2026-03-10T10:00:00+08:00".parse().unwrap()
}

fn unit() -> UnitRef {
    UnitRef::from_path(2, "JB-CS", "客服中心", "department", "/1/2/")
}

fn other_unit() -> UnitRef {
    UnitRef::from_path(4, "JB-X", "外区", "department", "/1/4/")
}

fn person(id: i64, login: &str) -> PersonRef {
    PersonRef {
        id,
        login: login.into(),
        name: login.into(),
    }
}

fn actor(id: i64, login: &str, roles: &[&str]) -> Actor {
    Actor {
        id,
        login: login.into(),
        name: login.into(),
        unit: unit(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn record<'a>(ty: &'a str, who: &'a PersonRef, unit: &'a UnitRef) -> ConductRecord<'a> {
    ConductRecord {
        type_id: ty,
        person: who,
        person_unit: unit,
        description: " 日常巡查：未起身问候业主。 ",
    }
}

#[test]
fn jinbi_第四条_conduct_seen_without_a_case_is_a_violation_with_the_附则_fines() {
    let p = load("jinbi-property.toml");
    let sup = actor(11, "sup", &["dispatch_supervisor"]);
    let duty = person(10, "duty");
    let observed: Timestamp = "2026-03-09T00:00:00+08:00".parse().unwrap();
    let (v, description) = decide_record_without_case(
        &p,
        &sup,
        &record("etiquette_complaint", &duty, &unit()),
        observed,
        now(),
    )
    .expect("recorded");
    assert_eq!(
        (v.kind.as_str(), v.rule.as_str()),
        ("conduct", "etiquette_complaint")
    );
    assert_eq!(v.clause, "第四条");
    assert_eq!(
        v.due, observed,
        "the violation is dated when it was observed"
    );
    assert_eq!(description, "日常巡查：未起身问候业主。");
    // 50 元 the person, 20 元 the unit's dispatch supervisor: exactly as on a case.
    let mut d = Directory::default();
    d.add_unit(unit());
    d.add_member(2, "dispatch_supervisor", person(11, "sup"));
    let mut fines: Vec<(String, i64)> = penalties::propose_without_case(&p.penalties, &v, &d, 1)
        .into_iter()
        .map(|f| (f.person.login, f.max_fen))
        .collect();
    fines.sort();
    assert_eq!(fines, [("duty".into(), 5_000), ("sup".into(), 2_000)]);
}

#[test]
fn conduct_without_a_case_is_refused_by_the_same_rules_naming_the_clause() {
    let p = load("jinbi-property.toml");
    let sup = actor(11, "sup", &["dispatch_supervisor"]);
    let duty_actor = actor(10, "duty", &["duty_staff"]);
    let duty = person(10, "duty");
    let me = person(11, "sup");
    let far = person(12, "far");
    let cases = [
        // A role without the right.
        (
            decide_record_without_case(
                &p,
                &duty_actor,
                &record("etiquette", &me, &unit()),
                now(),
                now(),
            ),
            RefusalReason::RoleNotAllowed,
        ),
        // Oneself.
        (
            decide_record_without_case(&p, &sup, &record("etiquette", &me, &unit()), now(), now()),
            RefusalReason::SelfDecision,
        ),
        // Outside the recorder's unit subtree.
        (
            decide_record_without_case(
                &p,
                &sup,
                &record("etiquette", &far, &other_unit()),
                now(),
                now(),
            ),
            RefusalReason::OutsideJurisdiction,
        ),
        // Observed tomorrow.
        (
            decide_record_without_case(
                &p,
                &sup,
                &record("etiquette", &duty, &unit()),
                "2026-03-11T09:00:00+08:00".parse().unwrap(),
                now(),
            ),
            RefusalReason::InvalidFields,
        ),
    ];
    for (result, reason) in cases {
        let r = result.expect_err("refused");
        assert_eq!(r.reason, reason, "{r:?}");
        assert_eq!(r.clause.as_deref(), Some("第四条"), "{r:?}");
    }
    let unknown =
        decide_record_without_case(&p, &sup, &record("rudeness", &duty, &unit()), now(), now())
            .expect_err("unknown type");
    assert!(unknown.message.contains("rudeness"), "{unknown:?}");
}
