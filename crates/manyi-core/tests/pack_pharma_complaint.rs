//! pharma-complaint (关于客户投诉的管理制度及操作流程, CLAUSES.md §2.5), clause by clause.

mod packs_common;

use manyi_core::callback::Party;
use manyi_core::case::Change;
use manyi_core::deadlines::ClockStatus;
use manyi_core::engine::RefusalReason;
use manyi_core::violations;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "pharma-complaint";

/// Company(1) → East region(2) → Shanghai area(3).
fn world() -> World {
    let mut w = World::new(&[
        (1, "CO", "company", "/1/"),
        (2, "EAST", "region", "/1/2/"),
        (3, "SH", "area", "/1/2/3/"),
    ]);
    w.person(10, "sales", 1, &["sales_dept"])
        .person(11, "area", 3, &["area_manager"])
        .person(12, "rm", 2, &["region_manager"])
        .person(13, "rh", 1, &["regional_head"])
        .person(14, "md", 1, &["marketing_director"])
        .person(15, "boh", 1, &["back_office_head"])
        .person(16, "bo", 1, &["back_office"]);
    w
}

fn complaint(object: &str) -> Value {
    json!({
        "customer": "仁和大药房",
        "contact_phone": "021-65521234",
        "description": "到货延误且态度不好",
        "object": object,
    })
}

fn open(w: &World, who: &str, object: &str, at: &str) -> Run {
    Run::open(
        load(P),
        w,
        "complaint",
        "sales_dept",
        who,
        complaint(object),
        t(at),
    )
}

#[test]
fn pharma_4_1_1_the_opinion_is_due_within_one_working_day_of_the_referral() {
    let w = world();
    let mut r = open(&w, "sales", "service", "2026-09-30T15:00:00+08:00");
    assert!(
        !r.case.clocks.contains_key("opinion"),
        "the clock starts at the referral"
    );
    r.act(
        &w,
        "sales",
        "refer",
        json!({"opinion_by": "rh"}),
        t("2026-09-30T16:00:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "rh");
    // Wednesday 09-30 + 1 working day across the National Day holiday: Thursday 10-08.
    assert_eq!(r.due_day("opinion"), "2026-10-08");
    let due = r.case.clocks["opinion"].deadline.due;
    let event = r.breach(&w, "opinion", due).expect("breach");
    let (clause, persons, _) = violation_of(&event);
    assert_eq!((clause.as_str(), persons), ("4.1.1", vec!["rh".to_owned()]));
}

#[test]
fn pharma_4_1_1_an_opinion_in_time_stops_the_clock() {
    let w = world();
    let mut r = open(&w, "sales", "service", "2026-10-09T09:00:00+08:00");
    r.act(
        &w,
        "sales",
        "refer",
        json!({"opinion_by": "md"}),
        t("2026-10-09T09:30:00+08:00"),
    );
    // Friday 10-09 + 1 working day = Saturday 10-10, a make-up working day (调休).
    assert_eq!(r.due_day("opinion"), "2026-10-10");
    r.act(
        &w,
        "md",
        "give_opinion",
        json!({"handling_opinion": "致歉并补发", "validity": "valid"}),
        t("2026-10-10T11:00:00+08:00"),
    );
    assert_eq!(r.case.clocks["opinion"].met(), Some(true));
}

#[test]
fn pharma_4_2_1_a_product_complaint_records_batch_and_dates_before_an_opinion() {
    let w = world();
    let mut r = open(&w, "sales", "product", "2026-09-29T09:00:00+08:00");
    r.act(
        &w,
        "sales",
        "refer",
        json!({"opinion_by": "rh"}),
        t("2026-09-29T09:30:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "rh",
        "give_opinion",
        json!({"handling_opinion": "退货", "validity": "valid"}),
        t("2026-09-29T10:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "4.2.1");
    r.act(
        &w,
        "rh",
        "give_opinion",
        json!({
            "product_category": "保健品", "batch_no": "B20260812", "production_date": "2026-08-12",
            "arrival_date": "2026-09-20", "quality_issue": "胶囊粘连",
            "handling_opinion": "退货", "validity": "valid",
        }),
        t("2026-09-29T10:00:00+08:00"),
    );
    assert_eq!(r.case.state, "opinion_given");
}

#[test]
fn pharma_2_2_an_invalid_complaint_closes_with_an_explanation_a_valid_one_is_answered() {
    let w = world();
    let mut r = open(&w, "sales", "service", "2026-09-29T09:00:00+08:00");
    r.act(
        &w,
        "sales",
        "refer",
        json!({"opinion_by": "rh"}),
        t("2026-09-29T09:30:00+08:00"),
    );
    // The validity gate: an invalid judgement closes the case, it is not given with an opinion.
    let refusal = r.refused(
        &w,
        "rh",
        "give_opinion",
        json!({"handling_opinion": "客户误解了发货规则", "validity": "invalid",
               "invalid_reason": "误解", "invalid_explanation": "说明"}),
        t("2026-09-29T10:00:00+08:00"),
    );
    assert_eq!(refusal.clause.as_deref(), Some("2.2"), "{refusal:?}");
    // Nor is a complaint without the judgement answered.
    let refusal = r.refused(
        &w,
        "rh",
        "reply",
        json!({"reply_content": "x"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::WrongState, "{refusal:?}");
    // 2.2: the reason and the explanation to the customer are both required.
    let refusal = r.refused(
        &w,
        "rh",
        "close_invalid",
        json!({"validity": "invalid"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    let named: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert!(named.contains(&"invalid_explanation"), "{named:?}");
    let refusal = r.refused(
        &w,
        "rh",
        "close_invalid",
        json!({"validity": "invalid", "invalid_explanation": "已向客户说明发货规则"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    let named: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(named, ["invalid_reason"], "2.2");
    let before = r.case.clone();
    r.act(
        &w,
        "rh",
        "close_invalid",
        json!({"validity": "invalid", "invalid_reason": "客户误解了节假日发货规则",
               "invalid_explanation": "您好，节假日期间按既定规则顺延发货，已向您说明"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    assert!(r.case.closed);
    assert_eq!(r.case.fields["validity"], "invalid");
    assert_eq!(r.case.clocks["reply"].status, ClockStatus::Stopped);
    // The explanation is queued as a notice to the customer, citing 2.2.
    let kind = r.policy.kind("complaint").unwrap();
    let notice = violations::invalid_notice(kind, &before, &r.case, t("2026-09-29T10:10:00+08:00"))
        .expect("a notice");
    assert_eq!(notice.clause.as_deref(), Some("2.2"));
    assert!(matches!(
        &notice.change,
        Change::NoticeQueued { audience, text } if audience == "customer" && text.starts_with("您好，节假日")
    ));
}

#[test]
fn pharma_4_1_2_a_recurring_complaint_from_the_same_contact_about_the_same_object_is_recorded() {
    let w = world();
    let first = open(&w, "sales", "service", "2026-09-29T09:00:00+08:00");
    let mut again = open(&w, "bo", "service", "2026-09-30T09:00:00+08:00");
    again.case.number = "N2".into();
    let product = open(&w, "bo", "product", "2026-09-30T09:00:00+08:00");
    let kind = first.policy.kind("complaint").unwrap();
    let open_cases = [first.case.clone(), product.case.clone(), again.case.clone()];
    let found = violations::repeat_of(kind, &again.case, &open_cases).expect("a recurring one");
    assert_eq!(found.number, first.case.number);
    // Another object from the same contact is not the same complaint.
    let mut other = product.case.clone();
    other.number = "N3".into();
    assert!(violations::repeat_of(kind, &other, std::slice::from_ref(&first.case)).is_none());
    let event = violations::repeat_event(
        kind,
        &first.case,
        "N2",
        &w.directory,
        t("2026-09-30T09:00:00+08:00"),
    )
    .expect("an event");
    assert_eq!(event.clause.as_deref(), Some("4.1.2"));
    let Change::ViolationsRecorded {
        violations,
        related_case,
        ..
    } = &event.change
    else {
        panic!("{event:?}")
    };
    assert_eq!(related_case.as_deref(), Some("N2"));
    let liable: Vec<&str> = violations[0]
        .liable_persons
        .iter()
        .map(|p| p.login.as_str())
        .collect();
    assert_eq!(liable, ["sales"], "the first case's first-contact owner");
}

#[test]
fn pharma_3_3_beyond_authority_goes_up_at_once_or_is_resolved_on_the_spot() {
    let w = world();
    let mut r = open(&w, "area", "service", "2026-09-29T09:00:00+08:00");
    // 马上 (CLAUSES.md A4): the same shift, 4 hours.
    assert_eq!(
        r.case.clocks["report_up"].deadline.due,
        t("2026-09-29T13:00:00+08:00")
    );
    r.act(
        &w,
        "area",
        "escalate",
        json!({"escalation_reason": "涉及赔偿"}),
        t("2026-09-29T09:20:00+08:00"),
    );
    assert_eq!(r.case.owner_unit.code, "EAST");
    assert_eq!(r.case.clocks["report_up"].status, ClockStatus::Stopped);
    // On the spot: only the person who took it, with the explanation given.
    let mut r = open(&w, "area", "service", "2026-09-29T09:00:00+08:00");
    let refusal = r.refused(
        &w,
        "rm",
        "resolve_on_spot",
        json!({"on_spot_explanation": "x"}),
        t("2026-09-29T09:05:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::RoleNotAllowed, "{refusal:?}");
    r.act(
        &w,
        "area",
        "resolve_on_spot",
        json!({"on_spot_explanation": "当场解释并致歉"}),
        t("2026-09-29T09:05:00+08:00"),
    );
    // CLAUSES.md §4.4: the callback, by someone other than the person who resolved it.
    let owed = r.refused(
        &w,
        "area",
        "close",
        json!({"summary": "加强发货通知"}),
        t("2026-09-29T09:10:00+08:00"),
    );
    assert_refused(&owed, RefusalReason::CallbackOwed, "CLAUSES §4.4");
    r.verdict(
        &w,
        "rh",
        Party::Customer,
        "satisfied",
        t("2026-09-29T09:08:00+08:00"),
    );
    r.act(
        &w,
        "area",
        "close",
        json!({"summary": "加强发货通知"}),
        t("2026-09-29T09:10:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn pharma_4_1_3_clauses_4_4_a_serious_back_office_complaint_goes_up_and_the_callback_reopens() {
    let w = world();
    let mut r = open(&w, "bo", "service", "2026-09-29T09:00:00+08:00");
    r.act(
        &w,
        "bo",
        "refer",
        json!({"opinion_by": "boh"}),
        t("2026-09-29T09:10:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "boh",
        "escalate_serious",
        json!({"severity": "normal"}),
        t("2026-09-29T09:20:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "4.1.3");
    r.act(
        &w,
        "boh",
        "give_opinion",
        json!({"handling_opinion": "批评教育后勤人员", "validity": "valid"}),
        t("2026-09-29T10:00:00+08:00"),
    );
    r.act(
        &w,
        "boh",
        "reply",
        json!({"reply_content": "已处理并致歉"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    // CLAUSES.md §4.4: the back-office head replied; the marketing director calls back. A
    // dissatisfied customer sends the case back for a new opinion, with a new reply clock.
    let refusal = r
        .try_verdict(
            &w,
            "boh",
            Party::Customer,
            "satisfied",
            t("2026-09-29T11:10:00+08:00"),
        )
        .expect_err("the person who replied is not independent");
    assert_refused(&refusal, RefusalReason::NotIndependent, "CLAUSES §4.4");
    r.verdict(
        &w,
        "md",
        Party::Customer,
        "dissatisfied",
        t("2026-09-29T11:10:00+08:00"),
    );
    assert_eq!(r.case.state, "referred");
    assert_eq!(r.case.clocks["reply"].generation, 2);
    r.act(
        &w,
        "boh",
        "give_opinion",
        json!({"handling_opinion": "更换后勤对接人"}),
        t("2026-09-29T11:15:00+08:00"),
    );
    r.act(
        &w,
        "boh",
        "reply",
        json!({"reply_content": "已更换对接人"}),
        t("2026-09-29T11:20:00+08:00"),
    );
    r.verdict(
        &w,
        "md",
        Party::Customer,
        "satisfied",
        t("2026-09-29T11:25:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "boh",
        "close",
        json!({}),
        t("2026-09-29T11:30:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::InvalidFields,
        "3.4: a summary is required"
    );
    r.act(
        &w,
        "boh",
        "close",
        json!({"summary": "后勤培训"}),
        t("2026-09-29T11:30:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn pharma_4_1_2_a_large_region_manager_gives_the_opinion_on_complaints_made_to_them() {
    let w = world();
    let mut r = Run::open(
        load(P),
        &w,
        "complaint",
        "region_manager",
        "rm",
        complaint("service"),
        t("2026-09-29T09:00:00+08:00"),
    );
    r.act(&w, "rm", "region_manager_opinion", json!({
        "handling_opinion": "通报批评地区经理", "validity": "valid", "public_notice": "大区通报",
    }), t("2026-09-29T10:00:00+08:00"));
    assert_eq!(r.case.state, "opinion_given");
    assert_eq!(r.case.fields["public_notice"], json!("大区通报"));
}

#[test]
fn pharma_2_1_the_object_is_a_code_of_the_versioned_list_service_or_product() {
    let w = world();
    let p = load(P);
    let list = p
        .codelists
        .iter()
        .find(|l| l.id == "pharma_complaint_object")
        .expect("2.1's list");
    assert_eq!(list.clause.as_deref(), Some("2.1"));
    let codes: Vec<(&str, &str)> = list
        .codes
        .iter()
        .map(|c| (c.code.as_str(), c.label.as_str()))
        .collect();
    assert_eq!(
        codes,
        [("service", "服务质量投诉"), ("product", "产品质量投诉")]
    );
    let refusal = try_open(
        &p,
        &w,
        "complaint",
        "sales_dept",
        "sales",
        complaint("delivery"),
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("not an object of 2.1");
    assert_eq!(refusal.fields[0].field, "object");
    assert_eq!(refusal.fields[0].code, "code.unknown");
    let message = &refusal.fields[0].message;
    assert!(
        message.contains("pharma_complaint_object") && message.contains("2026-pack1"),
        "{message}"
    );
    // Registered with a code of the list, it classifies the case.
    let r = open(&w, "sales", "product", "2026-09-29T10:00:00+08:00");
    assert_eq!(r.case.fields["object"], "product");
}
