//! sht-bigcustomer (大客户服务质量监督管理办法, CLAUSES.md §2.7), clause by clause.

mod packs_common;

use manyi_core::callback::Party;

use manyi_core::engine::RefusalReason;
use manyi_core::survey;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "sht-bigcustomer";

/// Key-account department(1, where marketing management sits: 归口) with its marketing
/// management office(2) and support(3); a district centre(4).
fn world() -> World {
    let mut w = World::new(&[
        (1, "DKH", "department", "/1/"),
        (2, "YXGL", "department", "/1/2/"),
        (3, "ZHZC", "department", "/1/3/"),
        (4, "PD", "district", "/1/4/"),
    ]);
    w.person(10, "mm", 1, &["marketing_mgmt"])
        .person(11, "support", 3, &["support"])
        .person(12, "am", 4, &["account_manager"])
        .person(13, "mkt", 4, &["marketing"])
        .person(14, "hr", 1, &["hr"]);
    w
}

fn complaint(dimension: &str) -> Value {
    json!({
        "customer": "浦江银行",
        "credit_code": "91350100M000100Y43",
        "contact_phone": "021-65521234",
        "matter": "专线账单重复计费",
        "quality_dimension": dimension,
    })
}

fn open(w: &World, dimension: &str) -> Run {
    Run::open(
        load(P),
        w,
        "complaint",
        "phone",
        "mm",
        complaint(dimension),
        t("2026-09-29T10:00:00+08:00"),
    )
}

#[test]
fn sht_4_1_the_quality_dimension_is_one_of_the_listed_codes() {
    let w = world();
    let refusal = try_open(
        &load(P),
        &w,
        "complaint",
        "phone",
        "mm",
        complaint("network_speed"),
        t("2026-09-29T10:00:00+08:00"),
    )
    .expect_err("unknown dimension");
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    assert_eq!(refusal.fields[0].field, "quality_dimension");
    // A versioned code list (4.1): the error names the list and its version.
    assert_eq!(refusal.fields[0].code, "code.unknown");
    let message = &refusal.fields[0].message;
    assert!(
        message.contains("sht_quality_dimension") && message.contains("2026-pack1"),
        "{message}"
    );
}

#[test]
fn sht_5_3_1_billing_installation_acceptance_and_product_problems_go_to_integrated_support() {
    let w = world();
    let mut r = open(&w, "billing");
    r.act(
        &w,
        "mm",
        "route_to_support",
        json!({"support_unit": "ZHZC"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_eq!(r.case.owner_unit.code, "ZHZC");
    r.act(
        &w,
        "support",
        "take_up",
        json!({}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "support");
    // A price complaint is not support's.
    let mut r = open(&w, "price");
    let refusal = r.refused(
        &w,
        "mm",
        "route_to_support",
        json!({"support_unit": "ZHZC"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "5.3.1");
}

#[test]
fn sht_5_4_1_account_manager_and_price_complaints_go_to_the_account_manager() {
    let w = world();
    let mut r = open(&w, "account_manager");
    r.act(
        &w,
        "mm",
        "route_to_account_manager",
        json!({"account_manager_unit": "PD", "account_manager_person": "am"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "am");
    assert_eq!(
        r.case.owner_unit.code, "PD",
        "handed to the account manager's centre"
    );
    assert_eq!(r.case.clocks["take_up"].met(), Some(true));
    let mut r = open(&w, "billing");
    let refusal = r.refused(
        &w,
        "mm",
        "route_to_account_manager",
        json!({"account_manager_unit": "PD", "account_manager_person": "am"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "5.4.1");
}

#[test]
fn sht_5_1_1_an_unanswered_complaint_breaches_the_default_reply_limit() {
    let w = world();
    let mut r = open(&w, "install_repair");
    // CLAUSES.md A18 default: Tuesday 09-29 + 2 working days, across National Day: 10-08.
    assert_eq!(r.due_day("reply"), "2026-10-08");
    r.act(
        &w,
        "mm",
        "route_to_support",
        json!({"support_unit": "ZHZC"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    r.act(
        &w,
        "support",
        "take_up",
        json!({}),
        t("2026-09-29T11:00:00+08:00"),
    );
    let due = r.case.clocks["reply"].deadline.due;
    let event = r.breach(&w, "reply", due).expect("breach");
    let (clause, persons, units) = violation_of(&event);
    assert_eq!(clause, "CLAUSES A18");
    assert_eq!(persons, ["support"]);
    assert_eq!(units, ["ZHZC"]);
}

#[test]
fn sht_5_1_1_5_1_6_the_owner_analyses_after_the_callback_and_a_dissatisfied_customer_reopens() {
    let w = world();
    let mut r = open(&w, "account_manager");
    r.act(
        &w,
        "mm",
        "route_to_account_manager",
        json!({"account_manager_unit": "PD", "account_manager_person": "am"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    r.act(
        &w,
        "am",
        "reply",
        json!({"resolution": "上门致歉"}),
        t("2026-09-29T15:00:00+08:00"),
    );
    // 5.1.6: the callback is owed before the analysis closes the case; the account manager who
    // replied does not make it.
    let refusal = r.refused(
        &w,
        "mm",
        "analyse_and_close",
        json!({"analysis": "x"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::CallbackOwed, "5.1.6");
    let refusal = r
        .try_verdict(
            &w,
            "am",
            Party::Customer,
            "satisfied",
            t("2026-09-30T09:00:00+08:00"),
        )
        .expect_err("the account manager may not call back");
    assert_eq!(refusal.clause.as_deref(), Some("5.1.6"));
    r.verdict(
        &w,
        "mm",
        Party::Customer,
        "dissatisfied",
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(r.case.state, "registered");
    assert_eq!(r.case.clocks["reply"].generation, 2);
    r.act(
        &w,
        "mm",
        "route_to_account_manager",
        json!({"account_manager_unit": "PD", "account_manager_person": "am"}),
        t("2026-09-30T09:10:00+08:00"),
    );
    r.act(
        &w,
        "am",
        "reply",
        json!({"resolution": "调整服务经理"}),
        t("2026-09-30T15:00:00+08:00"),
    );
    r.verdict(
        &w,
        "mm",
        Party::Customer,
        "satisfied",
        t("2026-10-08T08:30:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "mm",
        "analyse_and_close",
        json!({"customer_feedback": "satisfied"}),
        t("2026-10-08T09:00:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::InvalidFields,
        "the analysis is required"
    );
    r.act(
        &w,
        "mm",
        "analyse_and_close",
        json!({"customer_feedback": "satisfied", "analysis": "客户经理频繁更换"}),
        t("2026-10-08T09:00:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn sht_5_3_2_an_issue_from_a_satisfaction_report_is_passed_to_the_back_end_and_tracked() {
    let w = world();
    let mut r = Run::open(
        load(P),
        &w,
        "issue",
        "satisfaction_report",
        "support",
        json!({"source_report": "2026年三季度满意度报告", "problem": "故障修复慢"}),
        t("2026-09-29T10:00:00+08:00"),
    );
    assert!(!r.case.clocks.contains_key("back_end_answer"));
    r.act(
        &w,
        "support",
        "pass_to_back_end",
        json!({"back_end_unit": "PD"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_eq!(r.case.owner_unit.code, "PD");
    assert_eq!(r.due_day("back_end_answer"), "2026-10-08");
    let due = r.case.clocks["back_end_answer"].deadline.due;
    let (clause, _, units) = violation_of(&r.breach(&w, "back_end_answer", due).expect("breach"));
    assert_eq!((clause.as_str(), units), ("5.3.2", vec!["PD".to_owned()]));
    r.act(
        &w,
        "mkt",
        "answer",
        json!({"back_end_answer": "增派装维人员"}),
        t("2026-10-09T09:00:00+08:00"),
    );
    r.act(
        &w,
        "mm",
        "confirm_done",
        json!({"implementation": "10月起平均修复时长下降"}),
        t("2026-10-20T09:00:00+08:00"),
    );
    assert!(r.case.closed);
}

fn survey_round() -> Value {
    json!({
        "customer": "浦江银行",
        "contact_phone": "13800138000",
        "survey_round": "2026年第四季度",
    })
}

#[test]
fn sht_5_1_3_5_4_2_a_routine_survey_of_a_key_account_is_sent_answered_and_evaluated() {
    let w = world();
    // 5.1.3: a round is organised by marketing management, not by support.
    let refusal = try_open(
        &load(P),
        &w,
        "quality_survey",
        "sms",
        "support",
        survey_round(),
        t("2026-10-12T10:00:00+08:00"),
    )
    .expect_err("support does not organise surveys");
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "5.1.3");
    let mut r = Run::open(
        load(P),
        &w,
        "quality_survey",
        "sms",
        "mm",
        survey_round(),
        t("2026-10-12T10:00:00+08:00"),
    );
    assert_eq!(r.case.state, "planned");
    // 5.4.2: sending it issues the tokenised link (the shell makes the token).
    r.act(
        &w,
        "mm",
        "send_survey",
        json!({}),
        t("2026-10-12T10:05:00+08:00"),
    );
    let kind = r.policy.kind("quality_survey").unwrap();
    assert!(survey::issues_on(kind, r.log.last().unwrap()));
    let rule = survey::check_issue(&r.policy, &r.case, &w.actor("mm")).expect("mm issues");
    assert_eq!(rule.clause, "5.4.2");
    assert_eq!(
        survey::expires_at(rule, t("2026-10-12T10:05:00+08:00")),
        t("2026-10-26T10:05:00+08:00"),
        "valid 14 days"
    );
    // The text with the link invites to a routine round, not to rate a handled complaint, and
    // names the round from the case's `survey_round` field.
    let (sms, sms_en) = survey::message(
        rule,
        survey::Party::Customer,
        "DC20260001",
        &r.case.fields,
        "https://x/s/t",
        "2026-10-26",
    );
    assert_eq!(
        sms,
        "【上海电信大客户服务质量调查】尊敬的客户您好！为了解您对我们大客户服务的评价以及您的需求、看法和建议，诚邀您参加2026年第四季度服务质量调查：https://x/s/t （2026-10-26 前有效，每个链接仅可提交一次）"
    );
    assert!(
        sms_en.starts_with("[Shanghai Telecom key-account service-quality survey] Dear customer")
            && sms_en.contains(
                "survey (2026年第四季度): https://x/s/t (valid until 2026-10-26; one answer per link)"
            ),
        "{sms_en}"
    );
    let refusal =
        survey::check_issue(&r.policy, &r.case, &w.actor("hr")).expect_err("HR may not issue");
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "5.4.2");
    // The customer's answers: the overall rating is required and 1–5; needs, views and
    // suggestions are free text (5.4.2).
    let errors = survey::validate_answers(rule, &obj(json!({"overall": 6, "needs": "x"})))
        .expect_err("a rating of 6");
    assert_eq!(errors[0].field, "overall");
    let kept = survey::validate_answers(
        rule,
        &obj(json!({"overall": 4, "account_manager_service": 5,
                    "needs": "希望专线扩容", "opinions": "装机偏慢", "suggestions": "缩短装机周期"})),
    )
    .expect("valid answers");
    assert_eq!(kept["needs"], "希望专线扩容");
    // 5.1.3 评估分析: only marketing management evaluates, and not without the evaluation.
    let refusal = r.refused(
        &w,
        "am",
        "evaluate",
        json!({"evaluation": "x"}),
        t("2026-10-27T09:00:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::OutsideJurisdiction,
        "{refusal:?}"
    );
    let refusal = r.refused(
        &w,
        "mm",
        "evaluate",
        json!({}),
        t("2026-10-27T09:00:00+08:00"),
    );
    assert_eq!(refusal.fields[0].field, "evaluation");
    r.act(
        &w,
        "mm",
        "evaluate",
        json!({"evaluation": "满意度良好；装机周期问题转综合支撑部跟踪（5.3.2）"}),
        t("2026-10-27T09:00:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn sht_5_4_2_an_account_manager_surveys_their_own_account_and_marketing_management_evaluates() {
    let w = world();
    let mut r = Run::open(
        load(P),
        &w,
        "quality_survey",
        "visit",
        "am",
        survey_round(),
        t("2026-10-12T10:00:00+08:00"),
    );
    r.act(
        &w,
        "am",
        "send_survey",
        json!({}),
        t("2026-10-12T10:05:00+08:00"),
    );
    let kind = r.policy.kind("quality_survey").unwrap();
    assert!(survey::issues_on(kind, r.log.last().unwrap()));
    // Another link for the account (e.g. a second contact) may be issued by hand.
    survey::check_issue(&r.policy, &r.case, &w.actor("am")).expect("the account manager issues");
    let refusal = r.refused(
        &w,
        "am",
        "evaluate",
        json!({"evaluation": "x"}),
        t("2026-10-27T09:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "5.1.3");
    r.act(
        &w,
        "mm",
        "evaluate",
        json!({"evaluation": "客户希望专线扩容"}),
        t("2026-10-27T09:00:00+08:00"),
    );
    assert_eq!(r.case.state, "evaluated");
}

/// 5.1.3 负责组织大客户服务质量常态调查: the routine round of `complaint` is a sample of 5 key
/// accounts per district whose complaints were closed in the period. "常态" gives no period
/// (CLAUSES.md A16): the policy leaves it to the organisation, so until one is configured the
/// schedule is "period not configured" — never a silent pass — and once it is quarterly, the
/// round of the last complete quarter (China time) falls due.
#[test]
fn sht_5_1_3_the_routine_quality_round_has_no_period_until_the_organisation_sets_one() {
    use manyi_core::survey_schedule::{
        self as sched, Candidate, Customers, Period, PeriodSetting, ScheduleState,
    };
    let policy = load(P);
    let rule = policy
        .kind("complaint")
        .and_then(|k| k.survey.as_ref())
        .expect("complaint survey");
    assert!(
        rule.issue_on.is_empty(),
        "no link on closing: the callback covers that"
    );
    let [schedule] = rule.schedules.as_slice() else {
        panic!("one schedule: {:?}", rule.schedules);
    };
    assert_eq!(schedule.clause, "5.1.3");
    assert_eq!(schedule.period, PeriodSetting::Configured);
    assert_eq!(schedule.customers, Customers::SamplePerUnit(5));
    assert_eq!(
        sched::schedule_key(&policy.id, "complaint", &schedule.id),
        "sht-bigcustomer/complaint/routine_quality"
    );

    let now = t("2026-10-08T09:00:00+08:00");
    let unset = sched::effective_period(schedule.period, None);
    assert_eq!(sched::state(unset, &[], now), ScheduleState::NotConfigured);
    let quarterly = sched::effective_period(schedule.period, Some(Period::Quarterly));
    let ScheduleState::Due { round } = sched::state(quarterly, &[], now) else {
        panic!("the third quarter is due");
    };
    assert_eq!(round.key, "2026-Q3");
    assert_eq!(round.to, t("2026-10-01T00:00:00+08:00"));
    // Seven accounts closed in the district, two at the department: 5 + 2 are surveyed.
    let candidates: Vec<Candidate> = (0..9)
        .map(|i| Candidate {
            unit_id: if i < 7 { 4 } else { 1 },
            number: format!("DK2609{i:04}"),
        })
        .collect();
    let picked = sched::pick(schedule.customers, &round.key, &candidates);
    assert_eq!(picked.len(), 7);
    assert_eq!(
        picked
            .iter()
            .filter(|&&i| candidates[i].unit_id == 4)
            .count(),
        5
    );
    // The round's text is the routine wording, not the complaint follow-up's default.
    let (zh, _) = survey::message(
        rule,
        Party::Customer,
        "DK26090001",
        &Default::default(),
        "https://x/public/survey/T",
        "2026-10-22",
    );
    assert!(zh.contains("常态调查") && zh.contains("DK26090001"), "{zh}");
}
