//! pcb-complaint (客户投诉管理办法, CLAUSES.md §2.4), clause by clause: the year-month-serial
//! numbering, the placeholders of the truncated values, the sales form, the no-loss path, the
//! handling limit with its overdue reaction, the approval authority and recusal.

mod packs_common;

use manyi_core::callback::Party;

use jiff::civil::date;
use manyi_core::case::Change;
use manyi_core::deadlines::ClockStatus;
use manyi_core::engine::RefusalReason;
use manyi_core::policy;
use packs_common::*;
use serde_json::{Value, json};

const P: &str = "pcb-complaint";

/// Company(1) → Sales(2), GM office(3), QA(4), Manufacturing(5).
fn world() -> World {
    let mut w = World::new(&[
        (1, "CO", "company", "/1/"),
        (2, "SALES", "department", "/1/2/"),
        (3, "GMO", "department", "/1/3/"),
        (4, "QA", "department", "/1/4/"),
        (5, "MFG", "department", "/1/5/"),
    ]);
    w.person(10, "sales", 2, &["sales"])
        .person(11, "pc", 1, &["pc_group"])
        .person(12, "pc2", 1, &["pc_group"])
        .person(13, "qa", 1, &["qa"])
        .person(14, "mfg", 1, &["manufacturing"])
        .person(15, "gm", 1, &["general_manager"])
        .person(16, "op", 5, &[]);
    w
}

fn report(loss: &str) -> Value {
    json!({
        "customer": "华星电子",
        "order_no": "PO-2609-17",
        "part_no": "PCB-4L-0931",
        "ship_date": "2026-09-20",
        "quantity": 5000,
        "defect_quantity": 120,
        "customer_demand": "退换不良品",
        "loss_caused": loss,
    })
}

const AT: &str = "2026-09-29T10:00:00+08:00";

fn open(w: &World) -> Run {
    Run::open(
        policy_(),
        w,
        "complaint",
        "phone",
        "sales",
        report("yes"),
        t(AT),
    )
}

fn policy_() -> manyi_core::policy::Policy {
    load(P)
}

/// Drives a case to `investigated`, with `responsible` proposed by QA.
fn investigated(w: &World, responsible: &str) -> Run {
    let mut r = open(w);
    r.act(
        w,
        "sales",
        "send_to_gm_office",
        json!({"return_undetermined": "yes", "sample": "att-1", "sales_opinion": "孔铜不足"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    r.act(
        w,
        "pc",
        "register",
        json!({}),
        t("2026-09-29T11:30:00+08:00"),
    );
    r.act(
        w,
        "qa",
        "report_investigation",
        json!({
            "cause_type": "quality", "qa_verification": "切片确认孔铜不足",
            "root_cause": "电镀参数漂移", "proposed_responsible": responsible,
        }),
        t("2026-09-29T15:00:00+08:00"),
    );
    assert_eq!(r.case.state, "investigated");
    r
}

#[test]
fn pcb_第八条_numbering_is_year_month_serial() {
    let p = load(P);
    let n = &p.kind("complaint").unwrap().numbering;
    assert_eq!(n.pattern(), "{YY}{MM}{SEQ:3}");
    assert_eq!(n.format(date(2026, 9, 30), 1), "2609001");
    assert_eq!(n.format(date(2026, 9, 30), 2), "2609002");
    // 编号周期以年度月份为原则: October starts a new serial.
    assert_ne!(n.period(date(2026, 9, 30)), n.period(date(2026, 10, 1)));
    assert_eq!(n.period(date(2026, 9, 1)), n.period(date(2026, 9, 30)));
    // CLAUSES.md A32: past 999 the serial widens instead of wrapping.
    assert_eq!(n.format(date(2026, 10, 1), 1000), "26101000");
}

#[test]
fn pcb_二_a31_truncated_values_are_placeholders_warned_at_their_place() {
    let src = source(P);
    let names: Vec<String> = policy::placeholders(&src)
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        [
            "（五）其余分类",
            "（六）分类（原文缺失）",
            "处理期限",
            "逾期预警点",
            "核决权限（生产管理组可核决的金额，分）"
        ]
    );
    let outcome = policy::load("pcb-complaint.toml", &src);
    assert!(
        outcome.policy.is_some(),
        "placeholders are warnings, not errors"
    );
    let warnings: Vec<String> = outcome.diagnostics.iter().map(|d| d.to_string()).collect();
    let limit_line = src
        .lines()
        .position(|l| l.starts_with("limit = \"<<待填: 处理期限"))
        .unwrap()
        + 1;
    assert!(
        warnings.iter().any(|w| w.starts_with(&format!(
            "pcb-complaint.toml:{limit_line}:10: warning: placeholder `处理期限`"
        ))),
        "{warnings:#?}"
    );
    // The other packs have none: they may be activated.
    for other in [
        "ccb-counter",
        "pharma-complaint",
        "lawfirm-complaint",
        "sht-bigcustomer",
        "csg-custservice",
    ] {
        assert!(policy::placeholders(&source(other)).is_empty(), "{other}");
    }
}

#[test]
fn pcb_九_1_the_form_states_the_return_quantity_or_that_it_is_undetermined() {
    let w = world();
    let mut r = open(&w);
    let refusal = r.refused(
        &w,
        "sales",
        "send_to_gm_office",
        json!({"sample": "att-1", "sales_opinion": "孔铜不足"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "（九）1");
    assert!(
        refusal.message_zh.contains("客户加工中未确定"),
        "{}",
        refusal.message_zh
    );
    // Without the sample and the signed opinion the GM office does not take it.
    let refusal = r.refused(
        &w,
        "sales",
        "send_to_gm_office",
        json!({"return_quantity": 120}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields, "{refusal:?}");
    r.act(
        &w,
        "sales",
        "send_to_gm_office",
        json!({"return_undetermined": "yes", "sample": "att-1", "sales_opinion": "孔铜不足"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    assert_eq!(r.case.state, "at_gm_office");
    // 应即 (CLAUSES.md A4): the same-shift clock for the form stopped when it arrived.
    assert_eq!(
        r.case.clocks["form_to_gm_office"].status,
        ClockStatus::Stopped
    );
}

#[test]
fn pcb_三_only_a_complaint_without_loss_is_closed_with_an_abnormality_note() {
    let w = world();
    let mut r = open(&w);
    let refusal = r.refused(
        &w,
        "sales",
        "handle_as_abnormality",
        json!({"abnormality_note": "现场处理"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "（三）");
    let mut r = Run::open(
        load(P),
        &w,
        "complaint",
        "phone",
        "sales",
        report("no"),
        t(AT),
    );
    r.act(
        &w,
        "sales",
        "handle_as_abnormality",
        json!({"abnormality_note": "现场重工，反应制造部改进"}),
        t("2026-09-29T10:10:00+08:00"),
    );
    assert!(r.case.closed);
    assert_eq!(r.case.clocks["handling"].status, ClockStatus::Stopped);
}

#[test]
fn pcb_二_七_3_1_the_handling_limit_runs_on_working_days_and_overdue_goes_up() {
    let w = world();
    // Tuesday 2026-09-29 + 2 working days (provisional value): Wed 09-30, then the National
    // Day holiday 10-01..07, then Thursday 10-08.
    let mut r = open(&w);
    assert_eq!(r.due_day("handling"), "2026-10-08");
    r.act(
        &w,
        "sales",
        "send_to_gm_office",
        json!({"return_quantity": 120, "sample": "att-1", "sales_opinion": "孔铜不足"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    r.act(
        &w,
        "pc",
        "register",
        json!({}),
        t("2026-09-29T11:30:00+08:00"),
    );
    let due = r.case.clocks["handling"].deadline.due;
    let event = r.breach(&w, "handling", due).expect("the breach fires");
    let (clause, persons, units) = violation_of(&event);
    assert_eq!(clause, "（二）");
    assert_eq!(persons, ["pc"]);
    assert_eq!(units, ["SALES"]);
    let Change::ClockBreached {
        notify, owner_unit, ..
    } = &event.change
    else {
        unreachable!()
    };
    assert_eq!(notify, &["pc_group", "general_manager"]);
    // 逾期反应 (CLAUSES.md A24): the case goes up to the company.
    assert_eq!(owner_unit.as_ref().unwrap().after.code, "CO");
}

#[test]
fn pcb_二_above_the_approval_authority_the_general_manager_decides() {
    let w = world();
    let mut r = investigated(&w, "op");
    let decision =
        json!({"disposal": "全数退换", "responsibility": "制造部", "claim_amount": "20000元"});
    let refusal = r.refused(
        &w,
        "pc",
        "decide",
        decision.clone(),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "（二）");
    assert!(
        refusal.message_zh.contains("核决权限"),
        "{}",
        refusal.message_zh
    );
    // Within the (provisional) 10,000 元 the group decides itself.
    let mut small = investigated(&w, "op");
    small.act(
        &w,
        "pc",
        "decide",
        json!({"disposal": "退换", "responsibility": "制造部", "claim_amount": "8000元"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_eq!(small.case.state, "decided");
    r.act(
        &w,
        "pc",
        "refer_to_gm",
        json!({"claim_amount": "20000元"}),
        t("2026-09-30T09:10:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "pc",
        "gm_decide",
        decision.clone(),
        t("2026-09-30T10:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "（二）");
    r.act(
        &w,
        "gm",
        "gm_decide",
        decision,
        t("2026-09-30T10:00:00+08:00"),
    );
    assert_eq!(r.case.state, "decided");
}

#[test]
fn pcb_七_3_4_the_person_qa_holds_responsible_takes_no_part_in_the_ruling() {
    let w = world();
    // The group member handling the case cannot be named responsible while assigned to it.
    let mut r = investigated(&w, "pc2");
    let mut other = open(&w);
    other.act(
        &w,
        "sales",
        "send_to_gm_office",
        json!({"return_quantity": 1, "sample": "att-1", "sales_opinion": "x"}),
        t("2026-09-29T10:20:00+08:00"),
    );
    other.act(
        &w,
        "pc",
        "register",
        json!({}),
        t("2026-09-29T10:30:00+08:00"),
    );
    let refusal = other.refused(&w, "qa", "report_investigation", json!({
        "cause_type": "quality", "qa_verification": "x", "root_cause": "x", "proposed_responsible": "pc",
    }), t("2026-09-29T15:00:00+08:00"));
    assert_refused(&refusal, RefusalReason::Recused, "CLAUSES A26");
    // The person proposed as responsible may not rule on it; another member of the group does.
    let ruling = json!({"disposal": "退换", "responsibility": "生产管理组"});
    let refusal = r.refused(
        &w,
        "pc2",
        "decide",
        ruling.clone(),
        t("2026-09-30T09:00:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::Recused, "CLAUSES A26");
    r.act(&w, "pc", "decide", ruling, t("2026-09-30T09:05:00+08:00"));
    assert_eq!(r.case.state, "decided");
}

#[test]
fn pcb_七_4_2_七_3_5_clauses_4_4_traceability_the_callback_and_verified_improvement_before_closing()
{
    let w = world();
    let mut r = investigated(&w, "op");
    let refusal = r.refused(
        &w,
        "mfg",
        "report_production",
        json!({"production_unit": "电镀二线"}),
        t("2026-09-29T16:00:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::WrongState, "{refusal:?}");
    let mut r2 = open(&w);
    r2.act(
        &w,
        "sales",
        "send_to_gm_office",
        json!({"return_quantity": 1, "sample": "att-1", "sales_opinion": "x"}),
        t("2026-09-29T10:20:00+08:00"),
    );
    r2.act(
        &w,
        "pc",
        "register",
        json!({}),
        t("2026-09-29T10:30:00+08:00"),
    );
    let refusal = r2.refused(
        &w,
        "mfg",
        "report_production",
        json!({"production_unit": "电镀二线"}),
        t("2026-09-29T16:00:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields, "{refusal:?}");
    let missing: Vec<&str> = refusal.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(missing, ["machine_shift", "operators", "production_date"]);
    r2.act(
        &w,
        "mfg",
        "report_production",
        json!({"production_unit": "电镀二线",
        "machine_shift": "3号线夜班", "operators": "李四", "production_date": "2026-09-10",
        "countermeasure": "调整电镀参数，每班首件检查"}),
        t("2026-09-29T16:00:00+08:00"),
    );
    // （七）4(1): manufacturing's countermeasure is recorded with the traceability.
    assert_eq!(
        r2.case.fields["countermeasure"],
        json!("调整电镀参数，每班首件检查")
    );
    // The whole path to closing: decide, tell the customer, verify the improvement.
    r.act(
        &w,
        "pc",
        "decide",
        json!({"disposal": "退换", "responsibility": "制造部"}),
        t("2026-09-30T09:00:00+08:00"),
    );
    r.act(
        &w,
        "sales",
        "communicate_result",
        json!({"result_communicated": "已电话告知"}),
        t("2026-09-30T10:00:00+08:00"),
    );
    assert_eq!(r.case.clocks["handling"].met(), Some(true));
    // CLAUSES.md §4.4 (pcb is silent): the callback comes first, not by the salesperson.
    let owed = r.refused(
        &w,
        "pc",
        "verify_and_close",
        json!({"improvement_effect": "x"}),
        t("2026-10-09T10:00:00+08:00"),
    );
    assert_refused(&owed, RefusalReason::CallbackOwed, "CLAUSES §4.4");
    let refusal = r
        .try_verdict(
            &w,
            "sales",
            Party::Customer,
            "satisfied",
            t("2026-10-09T09:00:00+08:00"),
        )
        .expect_err("the salesperson gave the result");
    assert_eq!(refusal.clause.as_deref(), Some("CLAUSES §4.4"));
    r.verdict(
        &w,
        "qa",
        Party::Customer,
        "satisfied",
        t("2026-10-09T09:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "pc",
        "verify_and_close",
        json!({}),
        t("2026-10-09T10:00:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields, "{refusal:?}");
    r.act(
        &w,
        "pc",
        "verify_and_close",
        json!({"improvement_effect": "连续三批无异常"}),
        t("2026-10-09T10:00:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn pcb_五_六_a31_the_cause_list_keeps_item_1_and_leaves_the_lost_items_to_the_organisation() {
    let src = source(P);
    let p = load(P);
    let list = p
        .codelists
        .iter()
        .find(|l| l.id == "pcb_cause")
        .expect("（五）'s list");
    assert_eq!(list.clause.as_deref(), Some("（五）"));
    let codes: Vec<&str> = list.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["non_quality", "quality", "other", "item_6"]);
    assert_eq!(list.codes[0].label, "非质量异常（人为因素）");
    // The lost items are placeholders, warned at their place: the pack cannot be activated
    // until the organisation writes its own list (CLAUSES.md A31).
    let outcome = policy::load("pcb-complaint.toml", &src);
    let warnings: Vec<String> = outcome.diagnostics.iter().map(|d| d.to_string()).collect();
    for name in ["（五）其余分类", "（六）分类（原文缺失）"] {
        let line = src
            .lines()
            .position(|l| l.contains(&format!("<<待填: {name}")))
            .unwrap()
            + 1;
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&format!("pcb-complaint.toml:{line}:"))
                    && w.contains(&format!("placeholder `{name}`"))),
            "{name}: {warnings:#?}"
        );
    }
    // QA's cause class must be a code of the list.
    let w = world();
    let mut r = open(&w);
    r.act(
        &w,
        "sales",
        "send_to_gm_office",
        json!({"return_undetermined": "yes", "sample": "att-1", "sales_opinion": "孔铜不足"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    r.act(
        &w,
        "pc",
        "register",
        json!({}),
        t("2026-09-29T11:30:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "qa",
        "report_investigation",
        json!({
            "cause_type": "human", "qa_verification": "x",
            "root_cause": "x", "proposed_responsible": "pc2",
        }),
        t("2026-09-29T15:00:00+08:00"),
    );
    assert_eq!(refusal.fields[0].field, "cause_type");
    assert_eq!(refusal.fields[0].code, "code.unknown");
    assert!(
        refusal.fields[0].message.contains("pcb_cause"),
        "{refusal:?}"
    );
}
