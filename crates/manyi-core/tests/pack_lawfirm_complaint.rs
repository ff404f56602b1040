//! lawfirm-complaint (客户投诉及客户意见反馈处理管理制度, CLAUSES.md §2.6), clause by clause.

mod packs_common;

use manyi_core::archive;
use manyi_core::callback::Party;
use manyi_core::case::Change;
use manyi_core::engine::RefusalReason;
use manyi_core::survey;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "lawfirm-complaint";

/// Firm(1) → Litigation group(2).
fn world() -> World {
    let mut w = World::new(&[(1, "FIRM", "firm", "/1/"), (2, "LIT", "team", "/1/2/")]);
    w.person(10, "desk", 1, &["front_desk"])
        .person(11, "officer", 1, &["complaints_officer"])
        .person(12, "partner", 1, &["partner_in_charge", "partner"])
        .person(13, "director", 1, &["director", "partner"])
        .person(14, "lawyer", 2, &["partner"])
        .person(15, "admin", 1, &["admin_staff"]);
    w
}

fn complaint(subject: &str) -> Value {
    json!({
        "feedback_type": "complaint",
        "complainant": "王芳",
        "contact_phone": "13912345678",
        "matter": "承办律师长期不回复",
        "subject_person": subject,
    })
}

fn open(w: &World, channel: &str, who: &str) -> Run {
    Run::open(
        load(P),
        w,
        "complaint",
        channel,
        who,
        complaint("lawyer"),
        t("2026-09-29T09:00:00+08:00"),
    )
}

const REG: &str = r#"{"ledger_entered": "yes", "originals_kept": "yes"}"#;

fn reg() -> Value {
    serde_json::from_str(REG).unwrap()
}

/// A complaint accepted by the officer and with the partner in charge.
fn with_partner(w: &World) -> Run {
    let mut r = open(w, "phone", "desk");
    r.act(
        w,
        "officer",
        "accept",
        reg(),
        t("2026-09-29T09:30:00+08:00"),
    );
    r.act(
        w,
        "officer",
        "write_opinion",
        json!({"officer_opinion": "建议更换承办律师"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    r
}

#[test]
fn lawfirm_一_一_至_三_written_complaints_to_the_front_desk_others_to_the_designated_officer() {
    let w = world();
    let mut phone = open(&w, "phone", "desk");
    let refusal = phone.refused(&w, "desk", "accept", reg(), t("2026-09-29T09:10:00+08:00"));
    assert_refused(&refusal, RefusalReason::ConditionFailed, "一(二)");
    let mut referral = open(&w, "authority_referral", "officer");
    referral.act(
        &w,
        "officer",
        "accept",
        reg(),
        t("2026-09-29T09:10:00+08:00"),
    );
    let mut written = open(&w, "written", "desk");
    written.act(&w, "desk", "accept", reg(), t("2026-09-29T09:10:00+08:00"));
    assert_eq!(written.case.state, "registered");
}

#[test]
fn lawfirm_一_四_the_ledger_and_the_originals_are_recorded_at_intake() {
    let w = world();
    let mut r = open(&w, "written", "desk");
    let refusal = r.refused(
        &w,
        "desk",
        "accept",
        json!({}),
        t("2026-09-29T09:10:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields);
    let missing: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(missing, ["ledger_entered", "originals_kept"]);
}

#[test]
fn lawfirm_二_二_the_person_complained_about_recuses() {
    let w = world();
    let mut r = Run::open(
        load(P),
        &w,
        "complaint",
        "phone",
        "desk",
        complaint("partner"),
        t("2026-09-29T09:00:00+08:00"),
    );
    r.act(
        &w,
        "officer",
        "accept",
        reg(),
        t("2026-09-29T09:30:00+08:00"),
    );
    r.act(
        &w,
        "officer",
        "write_opinion",
        json!({"officer_opinion": "x"}),
        t("2026-09-29T10:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "partner",
        "decide",
        json!({"signed_decision": "驳回", "investigation": "x"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::Recused, "二(二)");
    // 二(一): the partner in charge being the subject, the director handles it.
    r.act(
        &w,
        "director",
        "decide",
        json!({"signed_decision": "更换承办律师", "investigation": "属实"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "director");
}

#[test]
fn lawfirm_二_一_a_partner_who_does_not_decide_within_a_working_day_is_absent() {
    let w = world();
    let mut r = with_partner(&w);
    // Tuesday 09-29 + 1 working day = Wednesday 09-30.
    assert_eq!(r.due_day("partner_decision"), "2026-09-30");
    let due = r.case.clocks["partner_decision"].deadline.due;
    let event = r.breach(&w, "partner_decision", due).expect("breach");
    let manyi_core::case::Change::ClockBreached {
        notify, violation, ..
    } = &event.change
    else {
        unreachable!()
    };
    assert!(violation.is_none(), "absence is not a violation");
    assert_eq!(notify, &["director", "partner"]);
    r.act(
        &w,
        "director",
        "decide",
        json!({"signed_decision": "x", "investigation": "x"}),
        t("2026-10-08T09:00:00+08:00"),
    );
}

#[test]
fn lawfirm_二_四_a_major_matter_is_decided_by_the_meeting_not_by_one_partner() {
    let w = world();
    let mut r = with_partner(&w);
    r.act(
        &w,
        "partner",
        "acknowledge",
        json!({"arrangement_told": "已告知将提交合伙人会议", "major": "yes"}),
        t("2026-09-29T12:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "partner",
        "decide",
        json!({"signed_decision": "x", "investigation": "x"}),
        t("2026-09-29T13:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "二(六)");
    r.act(
        &w,
        "partner",
        "refer_to_meeting",
        json!({"meeting": "partners"}),
        t("2026-09-29T13:00:00+08:00"),
    );
    // The reply clock waits while the meeting is pending.
    assert_eq!(
        r.case.clocks["reply"].status,
        manyi_core::deadlines::ClockStatus::Paused
    );
    let refusal = r.refused(
        &w,
        "director",
        "meeting_decides",
        json!({"meeting_decision": "更换律师并退费"}),
        t("2026-09-30T10:00:00+08:00"),
    );
    assert_eq!(
        refusal.reason,
        RefusalReason::InvalidFields,
        "whether to report to the regulators"
    );
    r.act(
        &w,
        "director",
        "meeting_decides",
        json!({
            "meeting_decision": "更换律师并退费", "report_to_authority": "no",
            "signed_decision": "合伙人会议决定", "investigation": "属实",
        }),
        t("2026-09-30T10:00:00+08:00"),
    );
    assert_eq!(r.case.state, "decided");
}

#[test]
fn lawfirm_二_五_the_complainant_is_told_the_arrangements_within_a_working_day() {
    let w = world();
    let mut r = with_partner(&w);
    assert_eq!(r.due_day("acknowledge"), "2026-09-30");
    r.act(
        &w,
        "officer",
        "acknowledge",
        json!({"arrangement_told": "电话告知处理安排"}),
        t("2026-09-29T15:00:00+08:00"),
    );
    assert_eq!(r.case.clocks["acknowledge"].met(), Some(true));
    assert_eq!(r.case.state, "with_partner");
}

#[test]
fn lawfirm_二_七_5_a_reply_that_is_not_written_is_a_soft_rule_overridden_with_a_reason() {
    let w = world();
    let mut r = with_partner(&w);
    r.act(
        &w,
        "partner",
        "decide",
        json!({"signed_decision": "更换承办律师", "investigation": "属实"}),
        t("2026-09-29T14:00:00+08:00"),
    );
    let reply = json!({"implementation": "已更换", "reply_channel": "phone", "reply_content": "已更换律师"});
    // 原则上书面: a phone reply warns (soft_rule), naming the clause.
    let refusal = r.refused(
        &w,
        "officer",
        "reply",
        reply.clone(),
        t("2026-09-29T15:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::SoftRule, "二(七)5");
    // The officer may not override it; the partner in charge may not without a reason.
    let before = r.case.clone();
    let refusal = r
        .try_act_overriding(
            &w,
            "officer",
            "reply",
            reply.clone(),
            "客户要求",
            t("2026-09-29T15:00:00+08:00"),
        )
        .expect_err("only the partner in charge overrides");
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "二(七)5");
    let refusal = r
        .try_act_overriding(
            &w,
            "partner",
            "reply",
            reply.clone(),
            " ",
            t("2026-09-29T15:00:00+08:00"),
        )
        .expect_err("a reason is required");
    assert_eq!(refusal.reason, RefusalReason::ReasonRequired);
    assert_eq!(r.case, before);
    r.try_act_overriding(
        &w,
        "partner",
        "reply",
        reply,
        "客户要求电话答复",
        t("2026-09-29T15:00:00+08:00"),
    )
    .expect("overridden with a reason");
    assert_eq!(r.case.state, "replied");
    assert_eq!(r.case.clocks["reply"].met(), Some(true));
    let logged: Vec<&str> = r
        .log
        .iter()
        .rev()
        .take(3)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(logged, ["callback_opened", "reply", "rule_overridden"]);
    let overridden = &r.log[r.log.len() - 3];
    assert_eq!(overridden.clause.as_deref(), Some("二(七)5"));
    match &overridden.change {
        Change::RuleOverridden { reason, .. } => assert_eq!(reason, "客户要求电话答复"),
        other => panic!("not an override: {other:?}"),
    }
}

#[test]
fn lawfirm_三_二_三_三_either_party_dissatisfied_reopens_satisfied_files_by_year() {
    let w = world();
    let mut r = with_partner(&w);
    r.act(
        &w,
        "partner",
        "decide",
        json!({"signed_decision": "x", "investigation": "x"}),
        t("2026-09-29T14:00:00+08:00"),
    );
    r.act(
        &w,
        "officer",
        "reply",
        json!({"implementation": "x", "reply_channel": "written",
        "reply_content": "书面答复"}),
        t("2026-09-29T15:00:00+08:00"),
    );
    // 三(二): the callback of both parties is owed; filing before it is refused.
    let refusal = r.refused(
        &w,
        "admin",
        "archive",
        json!({"archive_year": 2026}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::CallbackOwed, "三(二)");
    // The officer who replied is not independent of the handling.
    let refusal = r
        .try_verdict(
            &w,
            "officer",
            Party::Customer,
            "satisfied",
            t("2026-09-30T09:00:00+08:00"),
        )
        .expect_err("not independent");
    assert_refused(&refusal, RefusalReason::NotIndependent, "三(二)");
    // The complainant is satisfied, the person complained about is not (三(三)): back to the
    // handler, with a new reply clock.
    r.verdict(
        &w,
        "admin",
        Party::Customer,
        "satisfied",
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(r.case.state, "replied", "one party's verdict is not enough");
    r.verdict(
        &w,
        "admin",
        Party::Subject,
        "dissatisfied",
        t("2026-09-30T09:05:00+08:00"),
    );
    assert_eq!(r.case.state, "with_partner");
    assert_eq!(r.case.clocks["reply"].generation, 2, "a new reply clock");
    r.act(
        &w,
        "partner",
        "decide",
        json!({"signed_decision": "补充说明", "investigation": "x"}),
        t("2026-09-30T10:00:00+08:00"),
    );
    r.act(
        &w,
        "officer",
        "reply",
        json!({"implementation": "x", "reply_channel": "written",
        "reply_content": "补充书面答复"}),
        t("2026-09-30T11:00:00+08:00"),
    );
    r.verdict(
        &w,
        "admin",
        Party::Customer,
        "satisfied",
        t("2026-09-30T11:30:00+08:00"),
    );
    r.verdict(
        &w,
        "admin",
        Party::Subject,
        "basically_satisfied",
        t("2026-09-30T11:35:00+08:00"),
    );
    assert_eq!(r.case.callbacks.len(), 2);
    r.act(
        &w,
        "admin",
        "archive",
        json!({"archive_year": 2026}),
        t("2026-09-30T12:00:00+08:00"),
    );
    assert!(r.case.closed);
    // 三(一) 行政人员归档 / 二(七)4: filed under the year 30 days after closing (CLAUSES.md §4.4
    // default), read by the admin staff, not by the partner complained about.
    let rule = r
        .policy
        .kind("complaint")
        .unwrap()
        .archive
        .clone()
        .expect("an archive");
    assert_eq!(rule.clause, "三(一)");
    let filed = archive::entry(&rule, &r.case, t("2026-10-31T00:00:00+08:00")).expect("filed");
    assert_eq!(filed.year, 2026);
    assert!(archive::entry(&rule, &r.case, t("2026-10-30T23:59:00+08:00")).is_none());
    assert!(archive::may_read(&rule, &r.case, 15, &["admin_staff".to_owned()]).is_ok());
    let refusal =
        archive::may_read(&rule, &r.case, 14, &["partner".to_owned()]).expect_err("need-to-know");
    assert_eq!(refusal.clause.as_deref(), Some("三(一)"));
    // 三(一) 按年度建立案宗: numbers run per year.
    let p = load(P);
    let n = &p.kind("complaint").unwrap().numbering;
    assert_ne!(
        n.period(jiff::civil::date(2026, 12, 31)),
        n.period(jiff::civil::date(2027, 1, 1))
    );
    assert_eq!(n.format(jiff::civil::date(2026, 9, 30), 7), "LS2026-0007");
}

#[test]
fn lawfirm_三_二_the_complainant_gets_a_survey_link_with_the_reply_and_only_the_officer_issues_another()
 {
    let w = world();
    let mut r = with_partner(&w);
    r.act(
        &w,
        "partner",
        "decide",
        json!({"signed_decision": "x", "investigation": "x"}),
        t("2026-09-29T14:00:00+08:00"),
    );
    let kind = r.policy.kind("complaint").unwrap();
    assert!(
        !survey::issues_on(kind, r.log.last().unwrap()),
        "no survey before the reply"
    );
    r.act(
        &w,
        "officer",
        "reply",
        json!({"implementation": "x", "reply_channel": "written",
        "reply_content": "书面答复"}),
        t("2026-09-29T15:00:00+08:00"),
    );
    // 三(二): the reply issues the complainant's survey link (the callback is owed as well).
    let reply = r
        .log
        .iter()
        .rev()
        .find(|e| e.action == "reply")
        .expect("the reply");
    let kind = r.policy.kind("complaint").unwrap();
    assert!(survey::issues_on(kind, reply));
    assert_eq!(r.case.callbacks.len(), 1);
    let rule = survey::check_issue(&r.policy, &r.case, &w.actor("officer")).expect("officer");
    assert_eq!(rule.clause, "三(二)");
    // Another link only by the officer (e.g. the first expired): not the partner nor the
    // admin staff.
    for who in ["partner", "admin"] {
        let refusal = survey::check_issue(&r.policy, &r.case, &w.actor(who))
            .expect_err("only the officer issues");
        assert_refused(&refusal, RefusalReason::RoleNotAllowed, "三(二)");
    }
    let errors = survey::validate_answers(rule, &obj(json!({"informed": "maybe"})))
        .expect_err("overall missing, unknown choice");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(
        fields.contains(&"overall") && fields.contains(&"informed"),
        "{fields:?}"
    );
    survey::validate_answers(rule, &obj(json!({"overall": 5, "informed": "yes"})))
        .expect("valid answers");
}

#[test]
fn lawfirm_三_二_三_the_lawyer_complained_about_gets_a_survey_link_of_their_own() {
    let w = world();
    let r = with_partner(&w);
    let rule = survey::check_issue(&r.policy, &r.case, &w.actor("officer")).expect("officer");
    assert!(rule.also_subject);
    // The complainant's link goes to no named person; the subject's to the lawyer the case
    // names in `subject_person`.
    assert_eq!(
        survey::check_party(&r.policy, rule, &r.case, survey::Party::Customer),
        Ok(None)
    );
    let subject = r.case.fields["subject_person"]
        .as_str()
        .expect("subject")
        .to_owned();
    assert_eq!(
        survey::check_party(&r.policy, rule, &r.case, survey::Party::Subject),
        Ok(Some(subject))
    );
    // Each party reads a text addressed to them.
    let fields = r.case.fields.clone();
    let (to_lawyer, _) = survey::message(
        rule,
        survey::Party::Subject,
        "LS2026-0001",
        &fields,
        "L",
        "D",
    );
    assert!(
        to_lawyer.contains("律师您好") && to_lawyer.contains("L"),
        "{to_lawyer}"
    );
    let (to_customer, _) = survey::message(
        rule,
        survey::Party::Customer,
        "LS2026-0001",
        &fields,
        "L",
        "D",
    );
    assert!(!to_customer.contains("律师您好"), "{to_customer}");
    // A case that names no one complained about has no subject to survey.
    let mut nobody = r.case.clone();
    nobody.fields.remove("subject_person");
    let refusal = survey::check_party(&r.policy, rule, &nobody, survey::Party::Subject)
        .expect_err("no subject");
    assert_refused(&refusal, RefusalReason::InvalidFields, "三(二)");
    assert_eq!(refusal.fields[0].field, "party");
}
