//! `[kind.<id>.dispute] on_decide = "restart"`: a dispute decision that moves the case restarts
//! its running clocks under the new owner (like a clock's `on_hand_up = "restart"`); the
//! default `"keep"` leaves them as they were (ccb-counter 第二十一条 as shipped).

use jiff::Timestamp;
use manyi_core::calendar::{Calendar, CalendarView};
use manyi_core::case::{self, Case};
use manyi_core::dispute::{Ruling, decide_decision, decide_raise};
use manyi_core::engine::{CreateInput, Directory, decide_create};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::policy::{self, Policy};
use serde_json::json;

fn cal() -> CalendarView<'static> {
    Calendar::official().view()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ccb(on_decide: Option<&str>) -> Policy {
    let path = format!(
        "{}/../../policies/ccb-counter.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut source = std::fs::read_to_string(path).unwrap();
    if let Some(v) = on_decide {
        source = source.replace(
            "decide_roles = [\"service_mgmt\"]\nclause = \"第二十一条\"",
            &format!(
                "decide_roles = [\"service_mgmt\"]\non_decide = \"{v}\"\nclause = \"第二十一条\""
            ),
        );
        assert!(
            source.contains("on_decide"),
            "the pack's dispute table moved"
        );
    }
    let outcome = policy::load("ccb-counter.toml", &source);
    outcome
        .policy
        .unwrap_or_else(|| panic!("{:#?}", outcome.diagnostics))
}

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

/// Registered at BJHD01 on Tuesday 10 March; BJHD01 and BJHD02 dispute it; BJHD's service
/// department decides on Wednesday 11 March that BJHD02 takes it.
fn decided(policy: &Policy) -> (Case, Case) {
    let d = org();
    let teller = actor(&d, 1, "teller", 4, &["teller"]);
    let head = actor(&d, 2, "head", 4, &["outlet_head"]);
    let svc = actor(&d, 3, "svc", 3, &["service_mgmt"]);
    let input = CreateInput {
        kind: "complaint".into(),
        channel: policy.kind("complaint").unwrap().channels[0].clone(),
        fields: json!({ "customer_name": "李华", "customer_phone": "13912345678",
            "content": "排队太久", "customer_demand": "增加窗口" })
        .as_object()
        .unwrap()
        .clone(),
    };
    let opened = decide_create(
        policy,
        1,
        &input,
        &teller,
        &d,
        &cal(),
        t("2026-03-10T10:00:00+08:00"),
    )
    .unwrap();
    let mut case = case::apply("N1", None, &opened).unwrap();
    let other = d.unit_by_code("BJHD02").unwrap().clone();
    let raised = decide_raise(
        policy,
        &case,
        &head,
        &other,
        "责任归属",
        &|id| d.unit(id).cloned(),
        t("2026-03-10T11:00:00+08:00"),
    )
    .unwrap();
    case = case::apply("N1", Some(case), &raised).unwrap();
    let before = case.clone();
    let e = decide_decision(
        policy,
        &case,
        &svc,
        1,
        Ruling {
            ruling: "学院路网点处理",
            owner_unit: Some(other.clone()),
            ordered_unit: None,
            owner_calendar: None,
        },
        &cal(),
        t("2026-03-11T09:00:00+08:00"),
    )
    .unwrap();
    (before, case::apply("N1", Some(case), &e).unwrap())
}

#[test]
fn by_default_a_decision_that_moves_the_case_keeps_its_clocks() {
    let (before, after) = decided(&ccb(None));
    assert_eq!(after.owner_unit.code, "BJHD02");
    assert_eq!(after.clocks, before.clocks);
}

#[test]
fn with_on_decide_restart_the_new_owner_gets_its_full_time_from_the_decision() {
    let (before, after) = decided(&ccb(Some("restart")));
    assert_eq!(after.owner_unit.code, "BJHD02");
    let (b, a) = (&before.clocks["handling"], &after.clocks["handling"]);
    // 第十九条 at an outlet: 1 working day — from Tuesday it was due at the end of Wednesday;
    // from the decision on Wednesday it is due at the end of Thursday.
    assert_eq!(b.deadline.due, t("2026-03-12T00:00:00+08:00"));
    assert_eq!(a.deadline.due, t("2026-03-13T00:00:00+08:00"));
    assert_eq!(a.generation, b.generation + 1);
}

#[test]
fn on_decide_is_restart_or_keep() {
    let path = format!(
        "{}/../../policies/ccb-counter.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(path).unwrap().replace(
        "decide_roles = [\"service_mgmt\"]\nclause = \"第二十一条\"",
        "decide_roles = [\"service_mgmt\"]\non_decide = \"later\"\nclause = \"第二十一条\"",
    );
    let found: Vec<String> = policy::load("ccb-counter.toml", &source)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert!(
        found
            .iter()
            .any(|d| d.contains("error: `dispute.on_decide` is restart or keep, not `later`")),
        "{found:#?}"
    );
}
