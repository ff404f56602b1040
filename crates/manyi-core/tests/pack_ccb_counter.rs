//! ccb-counter (中国建设银行柜面服务管理办法, complaint articles), the clauses the older tests
//! (`deadlines.rs`, `engine.rs`, `recusal_and_penalty_rules.rs`) leave out: 第五条's levels,
//! 第十七条's first-contact rule and referral, 第十八条's record, 第二十二条's feedback and
//! 第二十三条's service department.

mod packs_common;

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

#[test]
fn ccb_第二十二条_a_dissatisfied_customer_is_not_archived_but_handled_again() {
    let w = world();
    let mut r = open(&w);
    r.act(
        &w,
        "teller",
        "start_handling",
        json!({}),
        t("2026-09-29T10:05:00+08:00"),
    );
    r.act(
        &w,
        "teller",
        "reply",
        json!({"handling_result": "已致歉", "reply_channel": "phone"}),
        t("2026-09-29T15:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "head",
        "record_feedback_and_close",
        json!({"customer_feedback": "dissatisfied", "analysis": "x"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "第二十二条");
    let refusal = r.refused(
        &w,
        "head",
        "reopen",
        json!({"customer_feedback": "dissatisfied"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::InvalidFields,
        "the feedback notes are required"
    );
    r.act(
        &w,
        "head",
        "reopen",
        json!({"customer_feedback": "dissatisfied", "feedback_notes": "要求书面道歉"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(r.case.state, "with_head");
    r.act(
        &w,
        "head",
        "reply",
        json!({"handling_result": "书面致歉", "reply_channel": "written"}),
        t("2026-09-30T14:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "head",
        "record_feedback_and_close",
        json!({"customer_feedback": "satisfied"}),
        t("2026-09-30T16:00:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::InvalidFields,
        "the analysis is required to archive"
    );
    r.act(
        &w,
        "head",
        "record_feedback_and_close",
        json!({"customer_feedback": "satisfied", "analysis": "服务态度培训"}),
        t("2026-09-30T16:00:00+08:00"),
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
