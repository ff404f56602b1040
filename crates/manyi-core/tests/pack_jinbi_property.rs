//! jinbi-property (客户服务部投诉处理管理制度, 金碧物业), the clauses the older tests leave out:
//! 第五条's record and daily review, 第七条's dispatch requirements and 第八条's briefing.

mod packs_common;

use manyi_core::callback::Party;

use manyi_core::deadlines::ClockStatus;
use manyi_core::engine::RefusalReason;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "jinbi-property";

fn world() -> World {
    let mut w = World::new(&[
        (1, "JB", "company", "/1/"),
        (2, "KF", "department", "/1/2/"),
    ]);
    w.person(10, "duty", 2, &["duty_staff"])
        .person(11, "supervisor", 2, &["dispatch_supervisor"])
        .person(12, "fixer", 2, &["handler"])
        .person(13, "cs", 2, &["customer_service"]);
    w
}

fn fields() -> Value {
    json!({"complainant": "陈先生", "contact_phone": "13912345678", "matter": "楼上漏水", "location": "3栋1201"})
}

fn open(w: &World, at: &str) -> Run {
    Run::open(load(P), w, "complaint", "phone", "duty", fields(), t(at))
}

#[test]
fn jinbi_第五条_the_record_names_complainant_matter_and_contact() {
    let w = world();
    let refusal = try_open(
        &load(P),
        &w,
        "complaint",
        "phone",
        "duty",
        json!({"location": "3栋"}),
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("incomplete record");
    let missing: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(missing, ["complainant", "contact_phone", "matter"]);
    let r = open(&w, "2026-09-29T10:00:00+08:00");
    assert_eq!(r.case.first_contact.login, "duty", "接单人 is recorded");
    assert_eq!(
        r.case.created_at,
        t("2026-09-29T10:00:00+08:00"),
        "投诉时间 is recorded"
    );
}

#[test]
fn jinbi_第五条_the_supervisor_signs_day_d_by_the_end_of_d_plus_1() {
    let w = world();
    // Saturday 10-03 (holiday): D+1 is Sunday 10-04, also a rest day: rolls to the end of the
    // next working day, Thursday 10-08.
    let mut r = open(&w, "2026-10-03T22:00:00+08:00");
    assert_eq!(r.due_day("record_review"), "2026-10-08");
    let mut weekday = open(&w, "2026-09-29T22:00:00+08:00");
    assert_eq!(weekday.due_day("record_review"), "2026-09-30");
    let refusal = weekday.refused(
        &w,
        "duty",
        "review_record",
        json!({}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "第五条");
    weekday.act(
        &w,
        "supervisor",
        "review_record",
        json!({"review_note": "已核"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(weekday.case.clocks["record_review"].met(), Some(true));
    let due = r.case.clocks["record_review"].deadline.due;
    let (clause, persons, _) = violation_of(&r.breach(&w, "record_review", due).expect("breach"));
    assert_eq!(
        (clause.as_str(), persons),
        ("第五条", vec!["supervisor".to_owned()])
    );
}

#[test]
fn jinbi_第七条_dispatch_names_the_department_and_the_complainant_is_reassured() {
    let w = world();
    let mut r = open(&w, "2026-09-29T10:00:00+08:00");
    let refusal = r.refused(
        &w,
        "duty",
        "dispatch",
        json!({"handling_department": "engineering"}),
        t("2026-09-29T10:03:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    assert_eq!(refusal.fields[0].field, "reassured");
    r.act(
        &w,
        "duty",
        "dispatch",
        json!({"handling_department": "engineering", "reassured": "yes"}),
        t("2026-09-29T10:03:00+08:00"),
    );
    assert_eq!(r.case.clocks["dispatch"].status, ClockStatus::Stopped);
    assert_eq!(r.case.clocks["dispatch"].met(), Some(true));
}

#[test]
fn jinbi_第八条_第一条_the_handler_is_briefed_and_the_callback_comes_before_closing() {
    let w = world();
    let mut r = open(&w, "2026-09-29T10:00:00+08:00");
    r.act(
        &w,
        "duty",
        "dispatch",
        json!({"handling_department": "engineering", "reassured": "yes"}),
        t("2026-09-29T10:03:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "supervisor",
        "assign_handler",
        json!({"handler": "fixer"}),
        t("2026-09-29T10:05:00+08:00"),
    );
    assert_eq!(refusal.fields[0].field, "briefing");
    r.act(
        &w,
        "supervisor",
        "assign_handler",
        json!({"handler": "fixer", "briefing": "3栋1201楼上漏水，带检漏仪"}),
        t("2026-09-29T10:05:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "fixer");
    r.act(
        &w,
        "fixer",
        "resolve",
        json!({"result": "已修复"}),
        t("2026-09-29T12:00:00+08:00"),
    );
    // 第一条 回访 (CLAUSES.md §4.4): closing waits for the callback; the handler does not make it.
    let owed = r.refused(&w, "cs", "close", json!({}), t("2026-09-29T12:30:00+08:00"));
    assert_refused(&owed, RefusalReason::CallbackOwed, "第一条");
    // A dissatisfied customer: back to dispatch, handled again.
    r.verdict(
        &w,
        "cs",
        Party::Customer,
        "dissatisfied",
        t("2026-09-29T12:30:00+08:00"),
    );
    assert_eq!(r.case.state, "dispatched");
    r.act(
        &w,
        "fixer",
        "resolve",
        json!({"result": "重新修复并检测"}),
        t("2026-09-29T12:50:00+08:00"),
    );
    r.verdict(
        &w,
        "cs",
        Party::Customer,
        "satisfied",
        t("2026-09-29T12:55:00+08:00"),
    );
    r.act(&w, "cs", "close", json!({}), t("2026-09-29T13:00:00+08:00"));
    assert!(r.case.closed);
}

#[test]
fn jinbi_第八条_a26_the_person_complained_about_is_not_made_the_handler() {
    let w = world();
    let mut f = fields();
    f["subject_person"] = json!("fixer");
    let mut r = Run::open(
        load(P),
        &w,
        "complaint",
        "phone",
        "duty",
        f,
        t("2026-09-29T10:00:00+08:00"),
    );
    r.act(
        &w,
        "duty",
        "dispatch",
        json!({"handling_department": "engineering", "reassured": "yes"}),
        t("2026-09-29T10:03:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "supervisor",
        "assign_handler",
        json!({"handler": "fixer", "briefing": "x"}),
        t("2026-09-29T10:05:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::Recused, "CLAUSES A26");
}
