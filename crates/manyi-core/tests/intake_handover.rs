//! CLAUSES.md A20/A26 in regional-complaint: the HR/admin manager who took a complaint is its
//! intake owner (首问负责人: customer contact, deadlines, callback, archive); the supervisor who
//! investigates is its handler. When the complaint turns out to be about that HR/admin manager,
//! they are recused and the intake goes one level up: the general manager hands it to another
//! holder of the role, with the reason (`hand_intake`). Also the checker's errors for the effect.

mod packs_common;

use manyi_core::callback::Party;
use manyi_core::case::Change;
use manyi_core::engine::RefusalReason;
use manyi_core::policy;
use packs_common::*;
use serde_json::json;

const P: &str = "regional-complaint";

/// Company(1) → Engineering(2); two HR/admin managers and the general manager in the company.
fn world() -> World {
    let mut w = World::new(&[
        (1, "QY", "company", "/1/"),
        (2, "ENG", "department", "/1/2/"),
    ]);
    w.person(10, "hr", 1, &["hr_admin_manager"])
        .person(13, "hr2", 1, &["hr_admin_manager"])
        .person(11, "sup", 2, &["dept_supervisor"])
        .person(12, "gm", 1, &["general_manager"]);
    w
}

fn open(w: &World) -> Run {
    Run::open(
        load(P),
        w,
        "complaint",
        "phone",
        "hr",
        json!({
            "complainant": "刘女士",
            "contact_phone": "13700001111",
            "content": "人事行政经理接待时态度恶劣",
            "customer_demand": "要求道歉",
            "complained_department": "人事行政部",
        }),
        t("2026-09-29T10:00:00+08:00"),
    )
}

#[test]
fn a26_the_intake_owner_complained_about_is_recused_and_the_gm_hands_the_intake_to_another_hr_manager()
 {
    let w = world();
    let mut r = open(&w);
    assert_eq!(r.case.first_contact.login, "hr");
    r.act(
        &w,
        "hr",
        "send_to_department_unit",
        json!({"complained_unit": "ENG"}),
        t("2026-09-29T10:30:00+08:00"),
    );
    // While the intake owner is not the one complained about, nobody hands the intake over.
    let refusal = r.refused(
        &w,
        "gm",
        "hand_over_intake",
        json!({"intake_successor": "hr2", "intake_handover_reason": "x"}),
        t("2026-09-29T10:40:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::ConditionFailed, "CLAUSES A26");
    // The investigation finds the complaint is about the HR/admin manager who took it.
    r.act(
        &w,
        "sup",
        "start_investigation",
        json!({"subject_person": "hr", "responsible_person": "人事行政经理"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "sup");
    // Recused: the intake owner may no longer act on the case.
    let refusal = r.refused(
        &w,
        "hr",
        "customer_responded",
        json!({}),
        t("2026-09-29T11:10:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::Recused);
    // Only the general manager hands it over, with a successor and a reason; never to the
    // person complained about.
    let refusal = r.refused(
        &w,
        "hr2",
        "hand_over_intake",
        json!({"intake_successor": "hr2", "intake_handover_reason": "回避"}),
        t("2026-09-29T11:20:00+08:00"),
    );
    assert_refused(&refusal, RefusalReason::RoleNotAllowed, "CLAUSES A26");
    let refusal = r.refused(
        &w,
        "gm",
        "hand_over_intake",
        json!({"intake_successor": "hr2"}),
        t("2026-09-29T11:20:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields, "{refusal:?}");
    assert_eq!(refusal.fields[0].field, "intake_handover_reason");
    let refusal = r.refused(
        &w,
        "gm",
        "hand_over_intake",
        json!({"intake_successor": "ghost", "intake_handover_reason": "回避"}),
        t("2026-09-29T11:20:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::InvalidFields, "{refusal:?}");
    assert_eq!(refusal.fields[0].field, "intake_successor");

    r.act(
        &w,
        "gm",
        "hand_over_intake",
        json!({"intake_successor": "hr2", "intake_handover_reason": "被投诉人为首问负责人，按回避原则移交"}),
        t("2026-09-29T11:30:00+08:00"),
    );
    // The intake moved; state and handler did not; the log says from whom to whom.
    assert_eq!(r.case.first_contact.login, "hr2");
    assert_eq!(r.case.state, "investigating");
    assert_eq!(r.case.assignee.as_ref().unwrap().login, "sup");
    let Change::Transitioned {
        intake_owner: Some(moved),
        ..
    } = &r.log.last().unwrap().change
    else {
        panic!("{:?}", r.log.last())
    };
    assert_eq!(
        (moved.before.login.as_str(), moved.after.login.as_str()),
        ("hr", "hr2")
    );

    // The handler replies; the new intake owner calls back and closes.
    r.act(
        &w,
        "sup",
        "reply",
        json!({"resolution_plan": "道歉并培训", "reply_content": "已致歉"}),
        t("2026-09-29T16:00:00+08:00"),
    );
    r.verdict(
        &w,
        "hr2",
        Party::Customer,
        "satisfied",
        t("2026-09-30T09:00:00+08:00"),
    );
    r.act(
        &w,
        "hr2",
        "close_after_callback",
        json!({"customer_feedback": "satisfied", "final_result": "已解决", "evaluation": "满意"}),
        t("2026-09-30T09:30:00+08:00"),
    );
    assert!(r.case.closed);
}

#[test]
fn the_intake_is_never_handed_to_the_person_complained_about() {
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
        json!({"subject_person": "hr", "responsible_person": "人事行政经理"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    let refusal = r.refused(
        &w,
        "gm",
        "hand_over_intake",
        json!({"intake_successor": "hr", "intake_handover_reason": "x"}),
        t("2026-09-29T11:20:00+08:00"),
    );
    assert_eq!(refusal.reason, RefusalReason::Recused, "{refusal:?}");
    assert_eq!(r.case.first_contact.login, "hr");
}

#[test]
fn hand_intake_takes_to_actor_or_a_person_field_and_is_checked_at_its_place() {
    let src = r#"[policy]
id = "t"
title = "t"

[[role]]
id = "boss"
label = "boss"

[kind.c]
label = "c"
initial = "open"
create_roles = ["boss"]
channels = ["phone"]
numbering = { pattern = "C{SEQ:3}" }

[[kind.c.field]]
id = "note"
label = "note"
type = "text"

[kind.c.state.open]
label = "open"

[kind.c.state.done]
label = "done"
final = true

[[kind.c.transition]]
id = "finish"
label = "finish"
from = ["open"]
to = "done"
roles = ["boss"]
effects = [{ op = "hand_intake", field = "note" }, { op = "hand_intake", to = "boss" }]
clause = "1"
"#;
    let found: Vec<String> = policy::load("p.toml", src)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    for e in [
        "p.toml:34:42: error: field `note` is of type text, but `hand_intake` needs a person field",
        "p.toml:34:52: error: `hand_intake` takes either to = \"actor\", or field = \"<a person field>\"",
    ] {
        assert!(found.iter().any(|d| d == e), "missing {e:?} in {found:#?}");
    }
}

#[test]
fn lawfirm_一_四_3_二_六_the_officer_who_takes_a_phone_complaint_becomes_its_intake_owner_and_the_partner_its_handler()
 {
    let mut w = World::new(&[(1, "FIRM", "firm", "/1/"), (2, "LIT", "team", "/1/2/")]);
    w.person(10, "desk", 1, &["front_desk"])
        .person(11, "officer", 1, &["complaints_officer"])
        .person(12, "partner", 1, &["partner_in_charge", "partner"])
        .person(14, "lawyer", 2, &["partner"]);
    let mut r = Run::open(
        load("lawfirm-complaint"),
        &w,
        "complaint",
        "phone",
        "desk",
        json!({"feedback_type": "complaint", "complainant": "王芳", "contact_phone": "13912345678",
            "matter": "承办律师长期不回复", "subject_person": "lawyer"}),
        t("2026-09-29T09:00:00+08:00"),
    );
    assert_eq!(r.case.first_contact.login, "desk");
    r.act(
        &w,
        "officer",
        "accept",
        json!({"ledger_entered": "yes", "originals_kept": "yes"}),
        t("2026-09-29T09:30:00+08:00"),
    );
    assert_eq!(r.case.first_contact.login, "officer");
    r.act(
        &w,
        "officer",
        "write_opinion",
        json!({"officer_opinion": "建议更换承办律师"}),
        t("2026-09-29T11:00:00+08:00"),
    );
    r.act(
        &w,
        "partner",
        "decide",
        json!({"signed_decision": "更换承办律师", "investigation": "属实"}),
        t("2026-09-29T15:00:00+08:00"),
    );
    assert_eq!(
        (
            r.case.first_contact.login.as_str(),
            r.case.assignee.as_ref().map(|a| a.login.as_str())
        ),
        ("officer", Some("partner"))
    );
}
