//! Clocks on cases, clause by clause: ccb-counter 第十九条's per-level limits with breach and
//! escalation, jinbi-property 第七条's five-minute dispatch, regional-complaint 第五条's
//! 1- and 2-working-day pair; pause and resume; the timer plan the shell writes.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use manyi_core::calendar::{Calendar, CalendarView};
use manyi_core::case::{self, Case, Change, Event, PersonRef};
use manyi_core::deadlines::{
    ClockStatus, TimerInstruction, TimerKind, decide_timer, due_at, timer_plan,
};
use manyi_core::engine::{
    CreateInput, Directory, TransitionInput, decide_create, decide_transition,
};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::policy::{self, Policy};
use serde_json::{Value, json};

fn load(name: &str) -> Policy {
    let path = format!("{}/../../policies/{name}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    let outcome = policy::load(name, &source);
    outcome
        .policy
        .unwrap_or_else(|| panic!("{name}: {:#?}", outcome.diagnostics))
}

fn cal() -> CalendarView<'static> {
    Calendar::official().view()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn person(id: i64, login: &str) -> PersonRef {
    PersonRef {
        id,
        login: login.into(),
        name: login.into(),
    }
}

/// HQ(1) → BJ(2) → BJHD(3) → BJHD01(4); the outlet head of BJHD01 is `head`.
fn org() -> Directory {
    let mut d = Directory::default();
    for (id, code, level, path) in [
        (1, "HQ", "hq", "/1/"),
        (2, "BJ", "branch1", "/1/2/"),
        (3, "BJHD", "branch2", "/1/2/3/"),
        (4, "BJHD01", "outlet", "/1/2/3/4/"),
    ] {
        d.add_unit(UnitRef::from_path(id, code, code, level, path));
    }
    d.add_member(4, "outlet_head", person(11, "head"));
    d
}

fn actor(d: &Directory, id: i64, login: &str, unit: i64, roles: &[&str]) -> Actor {
    Actor {
        id,
        login: login.into(),
        name: login.into(),
        unit: d.unit(unit).unwrap().clone(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

struct Run {
    policy: Policy,
    directory: Directory,
    case: Case,
    log: Vec<Event>,
}

impl Run {
    fn open(
        policy: Policy,
        who: &Actor,
        directory: Directory,
        fields: Value,
        at: Timestamp,
    ) -> Run {
        let input = CreateInput {
            kind: "complaint".into(),
            channel: policy.kind("complaint").unwrap().channels[0].clone(),
            fields: fields.as_object().unwrap().clone(),
        };
        let event = decide_create(&policy, 1, &input, who, &directory, &cal(), at).unwrap();
        let case = case::apply("N1", None, &event).unwrap();
        Run {
            policy,
            directory,
            case,
            log: vec![event],
        }
    }

    fn push(&mut self, event: Event) {
        self.case = case::apply("N1", Some(self.case.clone()), &event).unwrap();
        self.log.push(event);
    }

    fn act(&mut self, who: &Actor, action: &str, fields: Value, at: Timestamp) {
        let input = TransitionInput {
            action: action.into(),
            fields: fields.as_object().unwrap().clone(),
            note: None,
        };
        let event = decide_transition(
            &self.policy,
            &self.case,
            &input,
            who,
            &self.directory,
            &cal(),
            at,
        )
        .unwrap_or_else(|r| panic!("{action}: {r:?}"));
        self.push(event);
    }

    /// Fires the clock's breach timer at `at`, as the scheduler would.
    fn breach(&mut self, clock: &str, at: Timestamp) -> Option<Event> {
        let generation = self.case.clocks[clock].generation;
        let event = decide_timer(
            &self.policy,
            &self.case,
            clock,
            TimerKind::Breach,
            generation,
            &self.directory,
            &cal(),
            at,
        )
        .unwrap()?;
        self.push(event.clone());
        Some(event)
    }
}

fn ccb_fields() -> Value {
    json!({
        "customer_name": "张伟",
        "customer_phone": "13800138000",
        "content": "柜员态度冷淡",
        "customer_demand": "要求道歉",
    })
}

#[test]
fn an_outlet_complaint_must_be_answered_within_one_working_day_under_article_19() {
    let d = org();
    let teller = actor(&d, 10, "teller", 4, &["teller"]);
    let run = Run::open(
        load("ccb-counter.toml"),
        &teller,
        d,
        ccb_fields(),
        t("2026-09-30T10:00:00+08:00"),
    );
    let clock = &run.case.clocks["handling"];
    assert_eq!(clock.status, ClockStatus::Running);
    assert_eq!(clock.level.as_deref(), Some("outlet"));
    // Across the National Day holiday: due at the end of Thursday 2026-10-08.
    assert_eq!(clock.deadline.due, t("2026-10-09T00:00:00+08:00"));
    assert_eq!(clock.deadline.due_day().to_string(), "2026-10-08");
    assert!(!clock.deadline.provisional);
    assert_eq!(
        clock.deadline.calendar_version,
        Calendar::official().version()
    );
}

#[test]
fn an_unanswered_outlet_complaint_breaches_article_19_and_goes_up_to_the_tier_2_branch() {
    let d = org();
    let teller = actor(&d, 10, "teller", 4, &["teller"]);
    let mut run = Run::open(
        load("ccb-counter.toml"),
        &teller,
        d,
        ccb_fields(),
        t("2026-09-30T10:00:00+08:00"),
    );
    let due = run.case.clocks["handling"].deadline.due;
    let event = run.breach("handling", due).expect("the breach fires");
    let Change::ClockBreached {
        violation,
        notify,
        owner_unit,
        ..
    } = &event.change
    else {
        panic!("not a breach: {event:?}")
    };
    let violation = violation.as_ref().unwrap();
    assert_eq!(violation.clause, "第十九条");
    let liable: Vec<&str> = violation
        .liable_persons
        .iter()
        .map(|p| p.login.as_str())
        .collect();
    assert_eq!(liable, ["teller", "head"]);
    assert_eq!(violation.liable_units[0].code, "BJHD01");
    assert_eq!(notify, &["service_mgmt"]);
    assert_eq!(owner_unit.as_ref().unwrap().after.code, "BJHD");
    // At the tier-2 branch a 2-working-day clock starts from the hand-up.
    let clock = &run.case.clocks["handling"];
    assert_eq!(clock.level.as_deref(), Some("branch2"));
    assert_eq!(clock.breached_at, None);
    assert_eq!(clock.started_at, due);
    // The hand-up lands at Friday 10-09 00:00, which is not counted: Saturday 10-10 (a make-up
    // working day) and Monday 10-12.
    assert_eq!(clock.deadline.due_day().to_string(), "2026-10-12");
    assert_eq!(run.case.first_contact.login, "teller");
    // The old generation's timer is stale now: firing it again does nothing.
    let stale = decide_timer(
        &run.policy,
        &run.case,
        "handling",
        TimerKind::Breach,
        1,
        &run.directory,
        &cal(),
        due,
    )
    .unwrap();
    assert!(stale.is_none());
    // And the log still replays to the same case.
    assert_eq!(case::replay("N1", &run.log).unwrap(), run.case);
}

#[test]
fn a_reply_in_time_stops_the_clock_and_no_breach_follows() {
    let d = org();
    let teller = actor(&d, 10, "teller", 4, &["teller"]);
    let mut run = Run::open(
        load("ccb-counter.toml"),
        &teller,
        d,
        ccb_fields(),
        t("2026-09-30T10:00:00+08:00"),
    );
    run.act(
        &teller,
        "start_handling",
        json!({}),
        t("2026-09-30T10:05:00+08:00"),
    );
    run.act(
        &teller,
        "reply",
        json!({"handling_result": "已致歉", "reply_channel": "phone"}),
        t("2026-10-08T16:00:00+08:00"),
    );
    let clock = &run.case.clocks["handling"];
    assert_eq!(clock.status, ClockStatus::Stopped);
    assert_eq!(clock.met(), Some(true));
    let due = clock.deadline.due;
    assert!(run.breach("handling", due).is_none());
}

#[test]
fn a_hand_up_by_the_outlet_head_restarts_the_clock_with_the_new_levels_limit() {
    let d = org();
    let teller = actor(&d, 10, "teller", 4, &["teller"]);
    let head = actor(&d, 11, "head", 4, &["outlet_head"]);
    let mut run = Run::open(
        load("ccb-counter.toml"),
        &teller,
        d,
        ccb_fields(),
        t("2026-02-13T09:00:00+08:00"),
    );
    // Friday + 1 working day = the make-up Saturday 2026-02-14.
    assert_eq!(
        run.case.clocks["handling"].deadline.due_day().to_string(),
        "2026-02-14"
    );
    run.act(
        &teller,
        "refer_to_head",
        json!({"referral_reason": "超出权限"}),
        t("2026-02-13T09:30:00+08:00"),
    );
    run.act(
        &head,
        "hand_up",
        json!({"escalation_reason": "需二级分行协调", "responsibility_level": "branch2"}),
        t("2026-02-13T11:00:00+08:00"),
    );
    let clock = &run.case.clocks["handling"];
    assert_eq!(clock.level.as_deref(), Some("branch2"));
    assert_eq!(clock.generation, 2);
    // 2 working days from Friday 02-13: Sat 02-14 (make-up), then the Spring Festival rest
    // 02-15..23, then Tue 02-24.
    assert_eq!(clock.deadline.due_day().to_string(), "2026-02-24");
    // The timer plan cancels generation 1 and schedules generation 2.
    let before: BTreeMap<_, _> =
        run.log[..run.log.len() - 1]
            .iter()
            .fold(BTreeMap::new(), |mut m, e| {
                for c in &e.clocks {
                    m.insert(c.id.clone(), c.clone());
                }
                m
            });
    let plan = timer_plan(&before, &run.log.last().unwrap().clocks);
    assert_eq!(
        plan[0],
        TimerInstruction::Cancel {
            clock: "handling".into()
        }
    );
    assert!(plan.iter().any(|i| matches!(i,
        TimerInstruction::Schedule { kind: TimerKind::Breach, generation: 2, due_at, .. }
            if *due_at == run.case.clocks["handling"].deadline.due)));
}

#[test]
fn the_warning_comes_at_80_percent_of_the_working_time() {
    let d = org();
    let teller = actor(&d, 10, "teller", 4, &["teller"]);
    let run = Run::open(
        load("ccb-counter.toml"),
        &teller,
        d,
        ccb_fields(),
        t("2026-09-30T10:00:00+08:00"),
    );
    let clock = &run.case.clocks["handling"];
    // One working day (Thursday 10-08, 24 h of working time): 80 % is spent at 19:12 on 10-08.
    assert_eq!(clock.warn_at, Some(t("2026-10-08T19:12:00+08:00")));
}

#[test]
fn the_jinbi_dispatch_clock_breaches_at_five_minutes_wall_clock_and_repeat_calls_do_not_restart_it()
{
    let mut d = org();
    d.add_member(4, "dispatch_supervisor", person(12, "supervisor"));
    let duty = actor(&d, 10, "duty", 4, &["duty_staff"]);
    let mut run = Run::open(
        load("jinbi-property.toml"),
        &duty,
        d,
        json!({
            "complainant": "陈先生",
            "contact_phone": "13912345678",
            "matter": "楼上漏水",
            "location": "3栋1201",
        }),
        t("2026-10-03T22:58:00+08:00"),
    );
    let clock = &run.case.clocks["dispatch"];
    assert_eq!(clock.deadline.due, t("2026-10-03T23:03:00+08:00"));
    run.act(
        &duty,
        "repeat_call",
        json!({}),
        t("2026-10-03T23:01:00+08:00"),
    );
    assert_eq!(run.case.clocks["dispatch"].generation, 1);
    assert_eq!(
        run.case.clocks["dispatch"].deadline.due,
        t("2026-10-03T23:03:00+08:00")
    );
    let event = run
        .breach("dispatch", t("2026-10-03T23:03:00+08:00"))
        .unwrap();
    let Change::ClockBreached { violation, .. } = &event.change else {
        panic!()
    };
    assert_eq!(violation.as_ref().unwrap().clause, "第七条");
    assert_eq!(violation.as_ref().unwrap().liable_persons[0].login, "duty");
}

#[test]
fn regional_complaints_start_investigating_within_one_working_day_and_reply_within_two() {
    let d = org();
    let hr = actor(&d, 10, "hr", 4, &["hr_admin_manager"]);
    let run = Run::open(
        load("regional-complaint.toml"),
        &hr,
        d,
        json!({
            "complainant": "刘女士",
            "contact_phone": "13700001111",
            "content": "维修人员迟到两小时",
            "customer_demand": "要求说明原因",
            "complained_department": "工程部",
        }),
        t("2026-04-30T15:00:00+08:00"),
    );
    // 2026-05-01..05 is the Labour Day rest; 05-09 (Saturday) is a make-up working day.
    assert_eq!(
        run.case.clocks["investigation"]
            .deadline
            .due_day()
            .to_string(),
        "2026-05-06"
    );
    assert_eq!(
        run.case.clocks["reply"].deadline.due_day().to_string(),
        "2026-05-07"
    );
}

#[test]
fn a_paused_clock_resumes_with_its_remaining_working_time() {
    let d = org();
    let hr = actor(&d, 10, "hr", 4, &["hr_admin_manager"]);
    let supervisor = actor(&d, 11, "supervisor", 4, &["dept_supervisor"]);
    let mut run = Run::open(
        load("regional-complaint.toml"),
        &hr,
        d,
        json!({
            "complainant": "刘女士",
            "contact_phone": "13700001111",
            "content": "维修人员迟到两小时",
            "customer_demand": "要求说明原因",
            "complained_department": "工程部",
        }),
        t("2026-06-01T09:00:00+08:00"), // Monday
    );
    let due = run.case.clocks["reply"].deadline.due;
    assert_eq!(due, t("2026-06-04T00:00:00+08:00")); // end of Wednesday 06-03
    run.act(
        &hr,
        "send_to_department",
        json!({}),
        t("2026-06-01T09:30:00+08:00"),
    );
    run.act(
        &supervisor,
        "start_investigation",
        json!({"responsible_person": "李工"}),
        t("2026-06-01T10:00:00+08:00"),
    );
    // Waiting for the customer from Tuesday 00:00 to Thursday 00:00: two working days.
    run.act(
        &supervisor,
        "wait_for_customer",
        json!({}),
        t("2026-06-02T00:00:00+08:00"),
    );
    assert_eq!(run.case.clocks["reply"].status, ClockStatus::Paused);
    run.act(
        &supervisor,
        "customer_responded",
        json!({}),
        t("2026-06-04T00:00:00+08:00"),
    );
    let clock = &run.case.clocks["reply"];
    assert_eq!(clock.status, ClockStatus::Running);
    assert_eq!(
        clock.deadline.due,
        due + SignedDuration::from_hours(48),
        "the deadline moves by exactly the paused working time"
    );
}

#[test]
fn a_provisional_deadline_is_recomputed_when_the_next_years_notice_arrives() {
    use manyi_core::deadlines::recompute;
    // A calendar without the 2026 notice: 2026 dates are provisional (Monday–Friday assumed).
    let without_2026: Vec<(&str, &str)> = manyi_core::calendar::EMBEDDED_FILES
        .iter()
        .filter(|(name, _)| !name.starts_with("2026"))
        .copied()
        .collect();
    let partial = Calendar::from_files(without_2026).unwrap();
    let d = org();
    let teller = actor(&d, 10, "teller", 4, &["teller"]);
    let policy = load("ccb-counter.toml");
    let input = CreateInput {
        kind: "complaint".into(),
        channel: "counter".into(),
        fields: ccb_fields().as_object().unwrap().clone(),
    };
    let at = t("2026-09-30T10:00:00+08:00");
    let event = decide_create(&policy, 1, &input, &teller, &d, &partial.view(), at).unwrap();
    let case = case::apply("N1", None, &event).unwrap();
    let clock = &case.clocks["handling"];
    assert!(clock.deadline.provisional);
    // Monday–Friday assumed: Thursday 10-01 looks like a working day.
    assert_eq!(clock.deadline.due_day().to_string(), "2026-10-01");

    // The notice arrives: the deadline moves past the National Day rest, and is final.
    let event = recompute(&policy, &case, &cal(), at)
        .unwrap()
        .expect("a change");
    let case = case::apply("N1", Some(case), &event).unwrap();
    let clock = &case.clocks["handling"];
    assert!(!clock.deadline.provisional);
    assert_eq!(clock.deadline.due_day().to_string(), "2026-10-08");
    assert_eq!(clock.generation, 2);
    // Nothing more to do on the same data.
    assert!(recompute(&policy, &case, &cal(), at).unwrap().is_none());
}

#[test]
fn a_cases_due_time_is_its_soonest_running_deadline_and_a_paused_clock_does_not_count() {
    let d = org();
    let hr = actor(&d, 10, "hr", 4, &["hr_admin_manager"]);
    let supervisor = actor(&d, 11, "supervisor", 4, &["dept_supervisor"]);
    let mut run = Run::open(
        load("regional-complaint.toml"),
        &hr,
        d,
        json!({
            "complainant": "刘女士",
            "contact_phone": "13700001111",
            "content": "维修人员迟到两小时",
            "customer_demand": "要求说明原因",
            "complained_department": "工程部",
        }),
        t("2026-06-01T09:00:00+08:00"), // Monday
    );
    // Two clocks run: investigation (1 working day) and reply (2): the sooner one counts.
    let investigation = run.case.clocks["investigation"].deadline.due;
    let reply = run.case.clocks["reply"].deadline.due;
    assert!(investigation < reply);
    assert_eq!(due_at(&run.case), Some(investigation));
    run.act(
        &hr,
        "send_to_department",
        json!({}),
        t("2026-06-01T09:30:00+08:00"),
    );
    run.act(
        &supervisor,
        "start_investigation",
        json!({"responsible_person": "李工"}),
        t("2026-06-01T10:00:00+08:00"),
    );
    assert_eq!(
        run.case.clocks["investigation"].status,
        ClockStatus::Stopped
    );
    assert_eq!(due_at(&run.case), Some(reply));
    run.act(
        &supervisor,
        "wait_for_customer",
        json!({}),
        t("2026-06-02T00:00:00+08:00"),
    );
    assert_eq!(run.case.clocks["reply"].status, ClockStatus::Paused);
    assert_eq!(due_at(&run.case), None, "a paused clock cannot become late");
    run.act(
        &supervisor,
        "customer_responded",
        json!({}),
        t("2026-06-04T00:00:00+08:00"),
    );
    assert_eq!(
        due_at(&run.case),
        Some(reply + SignedDuration::from_hours(48)),
        "resumed: the deadline moved by the paused time"
    );
    let mut closed = run.case.clone();
    closed.closed = true;
    assert_eq!(due_at(&closed), None);
}
