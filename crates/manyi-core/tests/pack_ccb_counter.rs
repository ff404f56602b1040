//! ccb-counter (中国建设银行柜面服务管理办法, complaint articles), the clauses the older tests
//! (`deadlines.rs`, `engine.rs`, `recusal_and_penalty_rules.rs`) leave out: 第五条's levels,
//! 第十七条's first-contact rule and referral, 第十八条's record, 第二十二条's callback (回访) and
//! 第二十三条's service department.

mod packs_common;

use manyi_core::callback::Party;
use manyi_core::engine::RefusalReason;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "ccb-counter";

/// HQ(1) → BJ(2) → BJHD(3) → BJHD01(4).
fn world() -> World {
    let mut w = World::new(&[
        (1, "HQ", "hq", "/1/"),
        (2, "BJ", "branch1", "/1/2/"),
        (3, "BJHD", "branch2", "/1/2/3/"),
        (4, "BJHD01", "outlet", "/1/2/3/4/"),
    ]);
    w.person(10, "teller", 4, &["teller"])
        .person(11, "teller2", 4, &["teller"])
        .person(12, "head", 4, &["outlet_head"])
        .person(13, "svc2", 3, &["service_mgmt"])
        .person(14, "svc1", 2, &["service_mgmt"]);
    w
}

fn fields() -> Value {
    json!({
        "customer_name": "张伟",
        "customer_phone": "13800138000",
        "content": "柜员态度冷淡",
        "customer_demand": "要求道歉",
    })
}

fn open(w: &World) -> Run {
    Run::open(
        load(P),
        w,
        "complaint",
        "counter",
        "teller",
        fields(),
        t("2026-09-29T10:00:00+08:00"),
    )
}

#[test]
fn ccb_第五条_four_levels_head_office_first() {
    let p = load(P);
    let levels: Vec<(&str, Option<&str>)> = p
        .levels
        .iter()
        .map(|l| (l.id.as_str(), l.clause.as_deref()))
        .collect();
    assert_eq!(
        levels,
        [
            ("hq", Some("第五条")),
            ("branch1", Some("第五条")),
            ("branch2", Some("第五条")),
            ("outlet", Some("第五条"))
        ]
    );
}

#[test]
fn ccb_第十八条_every_complaint_is_recorded_with_its_channel_and_the_customers_demand() {
    let w = world();
    let p = load(P);
    let refusal = try_open(
        &p,
        &w,
        "complaint",
        "counter",
        "teller",
        json!({"customer_name": "张伟", "customer_phone": "12345"}),
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("incomplete record");
    let bad: Vec<(&str, &str)> = refusal
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.code.as_str()))
        .collect();
    assert!(bad.contains(&("content", "required")), "{bad:?}");
    assert!(bad.contains(&("customer_demand", "required")), "{bad:?}");
    assert!(bad.iter().any(|(f, _)| *f == "customer_phone"), "{bad:?}");
    let refusal = try_open(
        &p,
        &w,
        "complaint",
        "wechat",
        "teller",
        fields(),
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("unknown channel");
    assert_eq!(refusal.reason, RefusalReason::InvalidFields, "{refusal:?}");
    let r = open(&w);
    assert_eq!(r.case.first_contact.login, "teller");
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "teller");
}

#[test]
fn ccb_第十七条_only_the_first_contact_handles_it_and_beyond_authority_refers_it_with_a_reason() {
    let w = world();
    let mut r = open(&w);
    let refusal = r.refused(
        &w,
        "teller2",
        "start_handling",
        json!({}),
        t("2026-09-29T10:05:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "第十七条");
    r.act(
        &w,
        "teller",
        "start_handling",
        json!({}),
        t("2026-09-29T10:05:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "teller",
        "refer_to_head",
        json!({}),
        t("2026-09-29T10:10:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    assert_eq!(refusal.fields[0].field, "referral_reason");
    r.act(
        &w,
        "teller",
        "refer_to_head",
        json!({"referral_reason": "涉及赔偿，超出权限"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    assert_eq!(r.case.assignee, None);
    r.act(
        &w,
        "head",
        "take_over",
        json!({}),
        t("2026-09-29T10:20:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "head");
    assert_eq!(
        r.case.first_contact.login, "teller",
        "the first contact stays accountable"
    );
}

#[test]
fn ccb_第二十三条_only_the_unit_now_owning_the_case_takes_it_up() {
    let w = world();
    let mut r = open(&w);
    r.act(
        &w,
        "teller",
        "refer_to_head",
        json!({"referral_reason": "超出权限"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    r.act(
        &w,
        "head",
        "hand_up",
        json!({"escalation_reason": "需二级分行协调", "responsibility_level": "branch2"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "svc1",
        "accept_escalated",
        json!({}),
        t("2026-09-29T11:30:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "第二十三条");
    r.act(
        &w,
        "svc2",
        "accept_escalated",
        json!({}),
        t("2026-09-29T11:30:00+08:00"),
    );
    assert_eq!(r.case.state, "coordinating");
    assert_eq!(r.case.clocks["handling"].level.as_deref(), Some("branch2"));
}

/// Registered Tuesday 09-29, handled and replied by the teller the same afternoon.
fn replied(w: &World) -> Run {
    let mut r = open(w);
    r.act(
        w,
        "teller",
        "start_handling",
        json!({}),
        t("2026-09-29T10:05:00+08:00"),
    );
    r.act(
        w,
        "teller",
        "reply",
        json!({"handling_result": "已致歉", "reply_channel": "phone"}),
        t("2026-09-29T15:00:00+08:00"),
    );
    r
}

#[test]
fn ccb_第二十二条_the_callback_by_someone_other_than_the_replier_reopens_a_dissatisfied_case_and_lets_a_satisfied_one_close()
 {
    let w = world();
    let mut r = replied(&w);
    // 第二十二条: the callback is owed; archiving before it is refused, naming the clause.
    assert_eq!(r.case.callbacks.len(), 1);
    let owed = r.refused(
        &w,
        "head",
        "close_after_callback",
        json!({"analysis": "x"}),
        t("2026-09-29T16:00:00+08:00"),
    );
    assert_refused(&owed, RefusalReason::CallbackOwed, "第二十二条");
    // 及时 (CLAUSES A4): due within 1 working day of the reply.
    assert_eq!(r.due_day("callback"), "2026-09-30");
    // The callback is a head's or the service department's, not the teller's who replied.
    let before = r.case.clone();
    let refusal = r
        .try_verdict(
            &w,
            "teller",
            Party::Customer,
            "satisfied",
            t("2026-09-30T09:00:00+08:00"),
        )
        .expect_err("the teller who replied may not call back");
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "第二十二条");
    assert_eq!(r.case, before);
    // Dissatisfied: back to the outlet head, and 第十九条's one working day starts anew
    // (09-30 + 1 working day = 10-08 after the National Day holiday).
    r.verdict(
        &w,
        "head",
        Party::Customer,
        "dissatisfied",
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(r.case.state, "with_head");
    assert_eq!(r.case.clocks["handling"].generation, 2);
    assert_eq!(r.due_day("handling"), "2026-10-08");
    r.act(
        &w,
        "head",
        "take_over",
        json!({}),
        t("2026-09-30T09:10:00+08:00"),
    );
    r.act(
        &w,
        "head",
        "reply",
        json!({"handling_result": "书面致歉", "reply_channel": "written"}),
        t("2026-09-30T14:00:00+08:00"),
    );
    // Resolved again: a second round is owed, and the head who replied may not make it.
    assert_eq!(r.case.callbacks.len(), 2);
    let owed = r.refused(
        &w,
        "head",
        "close_after_callback",
        json!({"analysis": "服务态度培训"}),
        t("2026-09-30T16:00:00+08:00"),
    );
    assert_refused(&owed, RefusalReason::CallbackOwed, "第二十二条");
    let refusal = r
        .try_verdict(
            &w,
            "head",
            Party::Customer,
            "satisfied",
            t("2026-09-30T16:00:00+08:00"),
        )
        .expect_err("the head who replied may not call back");
    // Not independent of the one who resolved it (CLAUSES A19).
    assert_refused(&refusal, RefusalReason::NotIndependent, "第二十二条");
    // The tier-2 branch's service-management department calls back: satisfied.
    r.verdict(
        &w,
        "svc2",
        Party::Customer,
        "satisfied",
        t("2026-09-30T16:00:00+08:00"),
    );
    assert_eq!(r.case.state, "replied");
    let refusal = r.refused(
        &w,
        "head",
        "close_after_callback",
        json!({}),
        t("2026-09-30T16:30:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::InvalidFields,
        "the analysis is required to archive"
    );
    assert_eq!(refusal.fields[0].field, "analysis");
    r.act(
        &w,
        "head",
        "close_after_callback",
        json!({"analysis": "服务态度培训"}),
        t("2026-09-30T16:30:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn ccb_第二十二条_a_callback_not_made_within_a_working_day_is_the_outlets_violation_and_only_service_mgmt_waives_it_with_a_reason()
 {
    let w = world();
    let mut r = replied(&w);
    // Not made by the end of 09-30: a violation against the owning outlet.
    let breach = r
        .breach(&w, "callback", t("2026-10-01T00:00:00+08:00"))
        .expect("the callback clock breaches");
    let (clause, persons, units) = violation_of(&breach);
    assert_eq!(clause, "第二十二条");
    assert!(persons.is_empty(), "{persons:?}");
    assert_eq!(units, ["BJHD01"]);
    // The customer refuses to be called back: the outlet head may not waive it; the service
    // management department may, but not without a reason (CLAUSES §3.2).
    let refusal = r
        .try_waive(&w, "head", "客户拒绝回访", t("2026-10-08T09:00:00+08:00"))
        .expect_err("the outlet head holds no waiving role");
    assert_eq!(refusal.reason, RefusalReason::RoleNotAllowed, "{refusal:?}");
    let refusal = r
        .try_waive(&w, "svc2", " ", t("2026-10-08T09:00:00+08:00"))
        .expect_err("a waiver needs a reason");
    assert_refused(&refusal, RefusalReason::ReasonRequired, "CLAUSES §3.2");
    r.try_waive(
        &w,
        "svc2",
        "客户明确表示不接受回访",
        t("2026-10-08T09:00:00+08:00"),
    )
    .expect("waived");
    r.act(
        &w,
        "head",
        "close_after_callback",
        json!({"analysis": "柜员解释不到位"}),
        t("2026-10-08T09:30:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn ccb_第十七条_a26_the_outlet_head_complained_about_does_not_take_the_case_over() {
    let w = world();
    let mut f = fields();
    f["subject_person"] = json!("head");
    let mut r = Run::open(
        load(P),
        &w,
        "complaint",
        "counter",
        "teller",
        f,
        t("2026-09-29T10:00:00+08:00"),
    );
    r.act(
        &w,
        "teller",
        "refer_to_head",
        json!({"referral_reason": "投诉网点负责人"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "head",
        "take_over",
        json!({}),
        t("2026-09-29T10:20:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::Recused, "CLAUSES A26");
}
