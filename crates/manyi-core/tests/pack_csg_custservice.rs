//! csg-custservice (南方电网公司客户服务管理办法, CLAUSES.md §2.8), clause by clause.

mod packs_common;

use manyi_core::archive;
use manyi_core::callback::Party;

use manyi_core::engine::RefusalReason;
use manyi_core::rewards;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "csg-custservice";

/// Group(1) with Market Trading(2) and Supervision(3); subsidiary(4) with a window(5).
fn world() -> World {
    let mut w = World::new(&[
        (1, "CSG", "group", "/1/"),
        (2, "SCJY", "group", "/1/2/"),
        (3, "JC", "group", "/1/3/"),
        (4, "GZ", "subsidiary", "/1/4/"),
        (5, "GZ01", "window", "/1/4/5/"),
    ]);
    w.person(10, "mt", 2, &["market_trading"])
        .person(11, "sup", 3, &["supervision"])
        .person(12, "sub", 4, &["subsidiary_service"])
        .person(13, "win", 5, &["window_staff"])
        .person(14, "win2", 5, &["window_staff"]);
    w
}

fn complaint(nature: &str, service_type: &str) -> Value {
    json!({
        "customer": "陈先生",
        "contact_phone": "13800138000",
        "matter": "抄表员索要好处费",
        "service_type": service_type,
        "nature": nature,
    })
}

fn open(w: &World, nature: &str) -> Run {
    Run::open(
        load(P),
        w,
        "service_complaint",
        "hotline_95598",
        "win",
        complaint(nature, "meter_reading"),
        t("2026-09-29T10:00:00+08:00"),
    )
}

#[test]
fn csg_1_3_the_business_is_one_of_the_eight_customer_service_businesses() {
    let p = load(P);
    let field = p
        .kind("service_complaint")
        .unwrap()
        .field("service_type")
        .unwrap();
    assert_eq!(field.clause.as_deref(), Some("1.3"));
    let w = world();
    let refusal = try_open(
        &p,
        &w,
        "service_complaint",
        "hotline_95598",
        "win",
        complaint("service", "gas_supply"),
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("not a business");
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    assert_eq!(refusal.fields[0].field, "service_type");
    // The eight businesses are a versioned code list: the error names it and its version.
    assert_eq!(refusal.fields[0].code, "code.unknown");
    assert!(
        refusal.fields[0].message.contains("2026-pack1"),
        "{}",
        refusal.fields[0].message
    );
    let list = p
        .codelists
        .iter()
        .find(|l| l.id == "csg_service_business")
        .expect("the list");
    assert_eq!(list.codes.len(), 8);
}

#[test]
fn csg_2_2_7_integrity_and_disciplinary_complaints_go_to_supervision_not_market_trading() {
    let w = world();
    let mut r = open(&w, "integrity");
    let refusal = r.refused(
        &w,
        "sub",
        "assign",
        json!({"handler": "win2"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "2.1.11");
    assert!(
        refusal.message_zh.contains("监察部"),
        "{}",
        refusal.message_zh
    );
    r.act(
        &w,
        "win",
        "transfer_to_supervision",
        json!({"supervision_unit": "JC"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert!(r.case.closed);
    assert_eq!(r.case.owner_unit.code, "JC");
    // An ordinary service complaint is not transferred.
    let mut r = open(&w, "service");
    let refusal = r.refused(
        &w,
        "win",
        "transfer_to_supervision",
        json!({"supervision_unit": "JC"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "2.2.7");
}

#[test]
fn csg_2_2_7_only_supervision_registers_investigates_and_reads_the_archived_integrity_reports() {
    let w = world();
    let p = load(P);
    let report =
        json!({"nature": "integrity", "matter": "抄表员索要好处费", "subject_person": "win"});
    let refusal = try_open(
        &p,
        &w,
        "integrity_report",
        "transferred",
        "mt",
        report.clone(),
        t("2026-09-29T11:00:00+08:00"),
    )
    .expect_err("market trading may not register it");
    assert_eq!(refusal.reason, RefusalReason::RoleNotAllowed);
    let mut r = Run::open(
        p,
        &w,
        "integrity_report",
        "transferred",
        "sup",
        report,
        t("2026-09-29T11:00:00+08:00"),
    );
    // CLAUSES.md A18 default: investigation started within 1 working day.
    assert_eq!(r.due_day("investigation"), "2026-09-30");
    let refusal = r.refused(
        &w,
        "mt",
        "investigate",
        json!({}),
        t("2026-09-29T12:00:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::OutsideJurisdiction,
        "{refusal:?}"
    );
    r.act(
        &w,
        "sup",
        "investigate",
        json!({}),
        t("2026-09-29T12:00:00+08:00"),
    );
    r.act(
        &w,
        "sup",
        "conclude",
        json!({"findings": "属实，移交纪律处理"}),
        t("2026-10-09T12:00:00+08:00"),
    );
    assert!(r.case.closed);
    // 2.2.7 need-to-know: 30 days after it is concluded (the CLAUSES.md §4.4 default) the report
    // is archived — read-only, read by Supervision and its registrant, not by Market Trading.
    let rule = r
        .policy
        .kind("integrity_report")
        .unwrap()
        .archive
        .clone()
        .expect("an archive");
    assert_eq!(rule.clause, "2.2.7");
    assert!(archive::entry(&rule, &r.case, t("2026-11-08T23:59:00+08:00")).is_none());
    let filed = archive::entry(&rule, &r.case, t("2026-11-09T00:00:00+08:00")).expect("archived");
    assert_eq!(filed.reference, format!("2026-{}", r.case.number));
    let refusal = archive::check_writable(Some(&rule), &r.case, t("2026-11-09T00:00:00+08:00"))
        .expect_err("read-only");
    assert_eq!(refusal.clause.as_deref(), Some("2.2.7"));
    assert!(archive::may_read(&rule, &r.case, 11, &["supervision".to_owned()]).is_ok());
    let refusal = archive::may_read(&rule, &r.case, 10, &["market_trading".to_owned()])
        .expect_err("market trading has no need to know");
    assert_eq!(refusal.clause.as_deref(), Some("2.2.7"));
}

#[test]
fn csg_2_1_11_the_person_complained_about_never_handles_the_complaint() {
    let w = world();
    let mut r = Run::open(
        load(P),
        &w,
        "service_complaint",
        "hotline_95598",
        "win",
        json!({"customer": "陈先生", "contact_phone": "13800138000", "matter": "态度差",
               "service_type": "billing", "nature": "service", "subject_person": "win2"}),
        t("2026-09-29T10:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "sub",
        "assign",
        json!({"handler": "win2"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::Recused, "CLAUSES A26");
}

#[test]
fn csg_2_1_8_a_dissatisfied_customer_reopens_with_a_new_reply_clock_and_overdue_goes_up() {
    let w = world();
    let mut r = open(&w, "service");
    // Tuesday 09-29 + 2 working days across National Day: Thursday 10-08.
    assert_eq!(r.due_day("reply"), "2026-10-08");
    r.act(
        &w,
        "sub",
        "assign",
        json!({"handler": "win2"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    r.act(
        &w,
        "win2",
        "reply",
        json!({"resolution": "已更换抄表员"}),
        t("2026-09-30T10:00:00+08:00"),
    );
    // 2.1.8: the callback is owed before closing; the window clerk who replied does not make it.
    let refusal = r.refused(
        &w,
        "sub",
        "close",
        json!({}),
        t("2026-10-08T10:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::CallbackOwed, "2.1.8");
    let refusal = r
        .try_verdict(
            &w,
            "win2",
            Party::Customer,
            "satisfied",
            t("2026-10-08T10:00:00+08:00"),
        )
        .expect_err("the clerk who replied may not call back");
    assert_eq!(refusal.clause.as_deref(), Some("2.1.8"));
    // Dissatisfied: back to handling, with a new reply clock.
    r.verdict(
        &w,
        "sub",
        Party::Customer,
        "dissatisfied",
        t("2026-10-08T10:00:00+08:00"),
    );
    assert_eq!(r.case.state, "handling");
    assert_eq!(r.case.clocks["reply"].generation, 2);
    // Thursday 10-08 + 2 working days: Friday 10-09, Saturday 10-10 (make-up working day).
    assert_eq!(r.due_day("reply"), "2026-10-10");
    let due = r.case.clocks["reply"].deadline.due;
    let event = r.breach(&w, "reply", due).expect("breach");
    let (clause, persons, _) = violation_of(&event);
    assert_eq!(clause, "CLAUSES A18");
    assert_eq!(persons, ["win", "win2"]);
    assert_eq!(
        r.case.owner_unit.code, "GZ",
        "overdue: up from the window to the subsidiary"
    );
}

#[test]
fn csg_2_1_10_a_subsidiary_nominates_a_window_and_market_trading_decides_the_ranking_with_a_reason()
{
    let w = world();
    let p = load(P);
    let rule = p
        .rewards
        .iter()
        .find(|r| r.id == "model_window")
        .expect("2.1.10's reward");
    assert_eq!(rule.clause, "2.1.10");
    assert_eq!(rule.recipient, rewards::Recipient::Unit);
    assert_eq!(
        rule.amount_text(),
        "—",
        "an honour: the clause names no prize"
    );
    // The subsidiary's service department nominates a window, for a year, with the basis.
    rewards::check_proposal(&p, rule, &w.actor("sub"), "2026", "全年投诉零逾期", None)
        .expect("nominated");
    // 2.2.5: Supervision takes part in the ranking too.
    rewards::check_proposal(&p, rule, &w.actor("sup"), "2026", "行风评议第一", None)
        .expect("nominated by Supervision");
    // A window's own staff may not nominate it; a window is a unit, not a person.
    let refusal = rewards::check_proposal(&p, rule, &w.actor("win"), "2026", "x", None)
        .expect_err("window staff do not nominate");
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "2.1.10");
    let refusal = rewards::check_proposal(&p, rule, &w.actor("sub"), "2026", "x", Some(13))
        .expect_err("a collective award");
    assert_eq!(refusal.fields[0].field, "person");
    let refusal = rewards::check_proposal(&p, rule, &w.actor("sub"), "2026年", "x", None)
        .expect_err("a year");
    assert_eq!(refusal.fields[0].code, "period.year");
    // Market Trading organises the ranking: it decides, with a reason; nobody else does.
    let refusal = rewards::check_decision(
        &p,
        rule,
        "proposed",
        None,
        12,
        &w.actor("sub"),
        true,
        None,
        "x",
    )
    .expect_err("the nominator's role does not decide");
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "2.1.10");
    let refusal = rewards::check_decision(
        &p,
        rule,
        "proposed",
        None,
        12,
        &w.actor("mt"),
        true,
        None,
        " ",
    )
    .expect_err("a reason");
    assert_eq!(refusal.reason, RefusalReason::ReasonRequired);
    let amount = rewards::check_decision(
        &p,
        rule,
        "proposed",
        None,
        12,
        &w.actor("mt"),
        true,
        None,
        "考核得分第一",
    )
    .expect("granted");
    assert_eq!(amount, None, "an honour records no amount");
}
