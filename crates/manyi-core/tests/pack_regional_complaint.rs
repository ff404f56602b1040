//! regional-complaint (区域公司客户服务投诉管理制度), the clauses the older tests leave out:
//! 四(一)1's record, 四(一)2's invalid complaints, 四(二)'s investigation and plan, 四(三)'s
//! callback, and 第五条's breach and pause.

mod packs_common;

use manyi_core::callback::Party;
use manyi_core::case::Change;
use manyi_core::deadlines::ClockStatus;
use manyi_core::engine::RefusalReason;
use manyi_core::violations;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "regional-complaint";

/// Company(1) → Engineering(2); HR/admin in the company.
fn world() -> World {
    let mut w = World::new(&[
        (1, "QY", "company", "/1/"),
        (2, "ENG", "department", "/1/2/"),
    ]);
    w.person(10, "hr", 1, &["hr_admin_manager"])
        .person(11, "sup", 2, &["dept_supervisor"])
        .person(12, "gm", 1, &["general_manager"]);
    w
}

fn fields() -> Value {
    json!({
        "complainant": "刘女士",
        "contact_phone": "13700001111",
        "content": "维修人员迟到两小时",
        "customer_demand": "要求说明原因",
        "complained_department": "工程部",
    })
}

fn open(w: &World) -> Run {
    Run::open(
        load(P),
        w,
        "complaint",
        "phone",
        "hr",
        fields(),
        t("2026-09-29T10:00:00+08:00"),
    )
}

#[test]
fn regional_四_一_1_only_the_hr_admin_manager_takes_complaints_with_the_customers_request() {
    let w = world();
    let p = load(P);
    let refusal = try_open(
        &p,
        &w,
        "complaint",
        "phone",
        "sup",
        fields(),
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("not the intake role");
    assert_eq!(refusal.reason, RefusalReason::RoleNotAllowed);
    let mut missing = fields();
    missing.as_object_mut().unwrap().remove("customer_demand");
    let refusal = try_open(
        &p,
        &w,
        "complaint",
        "phone",
        "hr",
        missing,
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("the customer's request is required");
    assert_eq!(refusal.fields[0].field, "customer_demand");
}

#[test]
fn regional_四_一_2_a_complaint_that_does_not_stand_is_closed_with_a_tactful_explanation() {
    let w = world();
    let mut r = open(&w);
    let refusal = r.refused(
        &w,
        "hr",
        "reject_invalid",
        json!({}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    let named: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(named, ["invalid_reason"]);
    // The reason alone is not enough: the tactful explanation to the customer is required too.
    let refusal = r.refused(
        &w,
        "hr",
        "reject_invalid",
        json!({"invalid_reason": "维修时间系客户改约"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    let named: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(named, ["customer_explanation"]);
    let before = r.case.clone();
    r.act(
        &w,
        "hr",
        "reject_invalid",
        json!({
            "invalid_reason": "维修时间系客户改约",
            "customer_explanation": "您好，经核实维修时间系您改约后的时间，给您带来不便敬请谅解。",
        }),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert!(r.case.closed);
    assert_eq!(r.case.state, "closed_invalid");
    // The explanation is queued as a notice to the customer, citing 四(一)2.
    let kind = r.policy.kind("complaint").unwrap();
    let notice = violations::invalid_notice(kind, &before, &r.case, t("2026-09-29T10:30:00+08:00"))
        .expect("a notice to the customer");
    assert_eq!(notice.clause.as_deref(), Some("四(一)2"));
    match &notice.change {
        Change::NoticeQueued { audience, text } => {
            assert_eq!(audience, "customer");
            assert!(text.starts_with("您好，经核实维修时间"), "{text}");
        }
        other => panic!("not a notice: {other:?}"),
    }
    assert_eq!(r.case.clocks["investigation"].status, ClockStatus::Stopped);
    assert_eq!(r.case.clocks["reply"].status, ClockStatus::Stopped);
}

#[test]
fn regional_四_二_1_第五条_investigation_names_the_responsible_person_and_a_late_start_is_a_violation()
 {
    let w = world();
    let mut r = open(&w);
    r.act(
        &w,
        "hr",
        "send_to_department_unit",
        json!({"complained_unit": "ENG"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_eq!(r.due_day("investigation"), "2026-09-30");
    let due = r.case.clocks["investigation"].deadline.due;
    let (clause, persons, _) = violation_of(&r.breach(&w, "investigation", due).expect("breach"));
    assert_eq!(
        (clause.as_str(), persons),
        ("第五条", vec!["sup".to_owned()])
    );
    assert_eq!(r.case.owner_unit.code, "ENG");
    let refusal = r.refused(
        &w,
        "sup",
        "start_investigation",
        json!({}),
        t("2026-10-08T09:00:00+08:00"),
    );
    assert_eq!(refusal.fields[0].field, "responsible_person");
    r.act(
        &w,
        "sup",
        "start_investigation",
        json!({"responsible_person": "维修工王某"}),
        t("2026-10-08T09:00:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "sup");
}

#[test]
fn regional_四_三_1_the_callback_closes_a_satisfied_case_and_reopens_a_dissatisfied_one() {
    let w = world();
    let mut r = open(&w);
    r.act(
        &w,
        "hr",
        "send_to_department_unit",
        json!({"complained_unit": "ENG"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    r.act(
        &w,
        "sup",
        "start_investigation",
        json!({"responsible_person": "王某"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    r.act(
        &w,
        "sup",
        "reply",
        json!({"resolution_plan": "改约并致歉", "reply_content": "已致歉"}),
        t("2026-09-29T16:00:00+08:00"),
    );
    // 四(三)1: the callback is owed; closing before it is refused, naming the clause.
    let owed = r.refused(
        &w,
        "hr",
        "close_after_callback",
        json!({"customer_feedback": "satisfied", "final_result": "x", "evaluation": "x"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_refused(&owed, RefusalReason::CallbackOwed, "四(三)1");
    // The callback is the HR manager's: the supervisor who replied may not record it.
    let before = r.case.clone();
    let refusal = r
        .try_verdict(
            &w,
            "sup",
            Party::Customer,
            "dissatisfied",
            t("2026-09-30T09:00:00+08:00"),
        )
        .expect_err("the supervisor may not call back");
    assert_eq!(refusal.clause.as_deref(), Some("四(三)1"));
    assert_eq!(r.case, before);
    // Dissatisfied: back to investigation, with a new 2-working-day reply clock (CLAUSES A12).
    r.verdict(
        &w,
        "hr",
        Party::Customer,
        "dissatisfied",
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(r.case.state, "investigating");
    assert_eq!(r.case.clocks["reply"].generation, 2);
    assert_eq!(r.due_day("reply"), "2026-10-09");
    r.act(
        &w,
        "sup",
        "reply",
        json!({"reply_content": "免费返修"}),
        t("2026-09-30T15:00:00+08:00"),
    );
    // Resolved again: a second round is owed before closing.
    let owed = r.refused(
        &w,
        "hr",
        "close_after_callback",
        json!({"customer_feedback": "satisfied", "final_result": "x", "evaluation": "x"}),
        t("2026-10-08T09:00:00+08:00"),
    );
    assert_refused(&owed, RefusalReason::CallbackOwed, "四(三)1");
    r.verdict(
        &w,
        "hr",
        Party::Customer,
        "satisfied",
        t("2026-10-08T09:00:00+08:00"),
    );
    assert_eq!(r.case.state, "replied");
    assert_eq!(r.case.callbacks.len(), 2);
    let refusal = r.refused(
        &w,
        "hr",
        "close_after_callback",
        json!({"customer_feedback": "satisfied"}),
        t("2026-10-08T09:00:00+08:00"),
    );
    let missing: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(missing, ["final_result", "evaluation"], "四(三)2");
    r.act(
        &w,
        "hr",
        "close_after_callback",
        json!({"customer_feedback": "satisfied",
        "final_result": "返修完成", "evaluation": "响应及时"}),
        t("2026-10-08T09:00:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn regional_第七条_30_to_100_yuan_per_substantiated_complaint_decided_by_the_general_manager() {
    let p = load(P);
    let rules: Vec<(&str, i64, i64)> = p
        .penalties
        .iter()
        .map(|r| (r.id.as_str(), r.min_fen, r.max_fen))
        .collect();
    assert_eq!(
        rules,
        [
            ("upheld_attitude", 3_000, 10_000),
            ("upheld_competence", 3_000, 10_000),
            ("upheld_efficiency", 3_000, 10_000),
        ]
    );
    assert!(p.penalties.iter().all(|r| r.clause == "第七条"
        && r.requires_substantiation
        && r.decided_by == ["general_manager"]));
}

/// A complaint of the given 投诉级别, sent on to the engineering department.
fn sent_with_severity(w: &World, severity: &str) -> Run {
    let mut f = fields();
    f["severity"] = json!(severity);
    let mut r = Run::open(
        load(P),
        w,
        "complaint",
        "phone",
        "hr",
        f,
        t("2026-09-29T10:00:00+08:00"),
    );
    r.act(
        w,
        "hr",
        "send_to_department_unit",
        json!({"complained_unit": "ENG"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    r
}

#[test]
fn regional_六_五_the_complaint_level_is_a_code_of_the_severity_list() {
    let w = world();
    let mut f = fields();
    f["severity"] = json!("urgent");
    let refusal = try_open(
        &load(P),
        &w,
        "complaint",
        "phone",
        "hr",
        f,
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("not a level of the list");
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    assert_eq!(refusal.fields[0].field, "severity");
    assert_eq!(refusal.fields[0].code, "code.unknown");
    assert!(
        refusal.fields[0].message.contains("complaint_severity"),
        "{:?}",
        refusal.fields[0]
    );
    let p = load(P);
    let codes: Vec<&str> = p
        .codelists
        .iter()
        .find(|l| l.id == "complaint_severity")
        .expect("the list")
        .codes
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(
        codes,
        ["normal", "serious", "major", "media"],
        "CLAUSES A24/A36"
    );
}

#[test]
fn regional_六_五_a_media_exposed_complaint_is_investigated_and_answered_by_the_general_manager_personally()
 {
    let w = world();
    let mut r = sent_with_severity(&w, "media");
    let refusal = r.refused(
        &w,
        "sup",
        "start_investigation",
        json!({"responsible_person": "维修工王某"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "第五条");
    assert!(
        refusal.message_zh.contains("六(五)"),
        "{}",
        refusal.message_zh
    );
    r.act(
        &w,
        "gm",
        "gm_start_investigation",
        json!({"responsible_person": "维修工王某"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_eq!(r.case.state, "investigating");
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "gm");
    assert_eq!(r.case.clocks["investigation"].status, ClockStatus::Stopped);
    // 四(二)3: the general manager who investigates replies personally.
    r.act(
        &w,
        "gm",
        "reply",
        json!({"resolution_plan": "公开致歉并免费返修", "reply_content": "已致歉"}),
        t("2026-09-29T16:00:00+08:00"),
    );
    assert_eq!(r.case.state, "replied");
}

#[test]
fn regional_六_五_a_normal_complaint_stays_with_the_department_supervisor() {
    let w = world();
    let mut r = sent_with_severity(&w, "normal");
    let refusal = r.refused(
        &w,
        "gm",
        "gm_start_investigation",
        json!({"responsible_person": "维修工王某"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "六(五)");
    r.act(
        &w,
        "sup",
        "start_investigation",
        json!({"responsible_person": "维修工王某"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "sup");
}
