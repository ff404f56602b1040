//! Shared scaffolding of the `pack_*` scenario tests: load a shipped pack, build a small
//! organisation, open a case and drive it through `engine::decide_*` and `deadlines`.

#![allow(dead_code)]

use jiff::Timestamp;
use manyi_core::calendar::{Calendar, CalendarView};
use manyi_core::callback::{self, Party, Verdict, VerdictInput};
use manyi_core::case::{self, Case, Change, Event, PersonRef};
use manyi_core::deadlines::{TimerKind, decide_timer};
use manyi_core::engine::{
    CreateInput, Directory, Refusal, RefusalReason, TransitionInput, decide_create,
    decide_transition,
};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::policy::{self, Policy};
use serde_json::{Map, Value};

pub fn source(name: &str) -> String {
    let path = format!("{}/../../policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

pub fn load(name: &str) -> Policy {
    let outcome = policy::load(name, &source(name));
    outcome
        .policy
        .unwrap_or_else(|| panic!("{name}: {:#?}", outcome.diagnostics))
}

pub fn cal() -> CalendarView<'static> {
    Calendar::official().view()
}

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// An organisation: units `(id, code, level, path)` and people with their unit and roles.
pub struct World {
    pub directory: Directory,
    people: Vec<(i64, String, i64, Vec<String>)>,
}

impl World {
    pub fn new(units: &[(i64, &str, &str, &str)]) -> World {
        let mut directory = Directory::default();
        for (id, code, level, path) in units {
            directory.add_unit(UnitRef::from_path(*id, code, code, level, path));
        }
        World {
            directory,
            people: Vec::new(),
        }
    }

    /// Adds a person (id, login) in `unit` holding `roles` (also as members of the unit).
    pub fn person(&mut self, id: i64, login: &str, unit: i64, roles: &[&str]) -> &mut World {
        let p = PersonRef {
            id,
            login: login.into(),
            name: login.into(),
        };
        self.directory.add_person(p.clone());
        for r in roles {
            self.directory.add_member(unit, r, p.clone());
        }
        self.people.push((
            id,
            login.into(),
            unit,
            roles.iter().map(|r| (*r).to_owned()).collect(),
        ));
        self
    }

    pub fn actor(&self, login: &str) -> Actor {
        let (id, login, unit, roles) = self
            .people
            .iter()
            .find(|p| p.1 == login)
            .unwrap_or_else(|| panic!("no person {login}"));
        Actor {
            id: *id,
            login: login.clone(),
            name: login.clone(),
            unit: self.directory.unit(*unit).unwrap().clone(),
            roles: roles.clone(),
        }
    }
}

/// A case being driven through its policy, with its event log.
pub struct Run {
    pub policy: Policy,
    pub case: Case,
    pub log: Vec<Event>,
}

pub fn try_open(
    policy: &Policy,
    w: &World,
    kind: &str,
    channel: &str,
    who: &str,
    fields: Value,
    at: Timestamp,
) -> Result<Case, Refusal> {
    let input = CreateInput {
        kind: kind.into(),
        channel: channel.into(),
        fields: obj(fields),
    };
    let event = decide_create(policy, 1, &input, &w.actor(who), &w.directory, &cal(), at)?;
    Ok(case::apply("N1", None, &event).unwrap())
}

impl Run {
    pub fn open(
        policy: Policy,
        w: &World,
        kind: &str,
        channel: &str,
        who: &str,
        fields: Value,
        at: Timestamp,
    ) -> Run {
        let input = CreateInput {
            kind: kind.into(),
            channel: channel.into(),
            fields: obj(fields),
        };
        let event = decide_create(&policy, 1, &input, &w.actor(who), &w.directory, &cal(), at)
            .unwrap_or_else(|r| panic!("open: {r:?}"));
        let case = case::apply("N1", None, &event).unwrap();
        Run {
            policy,
            case,
            log: vec![event],
        }
    }

    pub fn try_act(
        &mut self,
        w: &World,
        who: &str,
        action: &str,
        fields: Value,
        at: Timestamp,
    ) -> Result<(), Refusal> {
        let input = TransitionInput {
            action: action.into(),
            fields: obj(fields),
            note: None,
        };
        let event = decide_transition(
            &self.policy,
            &self.case,
            &input,
            &w.actor(who),
            &w.directory,
            &cal(),
            at,
        )?;
        self.case = case::apply("N1", Some(self.case.clone()), &event).unwrap();
        // Entering a callback's `after` state opens one, in the same transaction.
        let opened = callback::follow_up(&self.policy, &self.case, &event);
        self.log.push(event);
        if let Some(opened) = opened {
            self.case = case::apply("N1", Some(self.case.clone()), &opened).unwrap();
            self.log.push(opened);
        }
        Ok(())
    }

    /// Takes `action` overriding its soft rule (原则上) with `reason`: the `rule_overridden`
    /// event is logged just before the transition.
    pub fn try_act_overriding(
        &mut self,
        w: &World,
        who: &str,
        action: &str,
        fields: Value,
        reason: &str,
        at: Timestamp,
    ) -> Result<(), Refusal> {
        let input = TransitionInput {
            action: action.into(),
            fields: obj(fields),
            note: None,
        };
        let ov = manyi_core::soft::Override {
            reason: reason.into(),
        };
        let decided = manyi_core::engine::decide_transition_with(
            &self.policy,
            &self.case,
            &input,
            Some(&ov),
            &w.actor(who),
            &w.directory,
            &cal(),
            at,
        )?;
        for event in decided.overridden.into_iter().chain([decided.event]) {
            self.case = case::apply("N1", Some(self.case.clone()), &event).unwrap();
            let opened = callback::follow_up(&self.policy, &self.case, &event);
            self.log.push(event);
            if let Some(opened) = opened {
                self.case = case::apply("N1", Some(self.case.clone()), &opened).unwrap();
                self.log.push(opened);
            }
        }
        Ok(())
    }

    /// Records a callback (回访) verdict of `party` (`customer` / `subject`) given to `who`.
    pub fn try_verdict(
        &mut self,
        w: &World,
        who: &str,
        party: Party,
        verdict: &str,
        at: Timestamp,
    ) -> Result<(), Refusal> {
        let input = VerdictInput {
            party,
            verdict: Verdict::parse(verdict).expect("a verdict"),
            channel: Some("phone".into()),
            note: None,
        };
        let event = callback::decide_verdict(
            &self.policy,
            &self.case,
            &input,
            &w.actor(who),
            &w.directory,
            &cal(),
            at,
        )?;
        self.case = case::apply("N1", Some(self.case.clone()), &event).unwrap();
        self.log.push(event);
        Ok(())
    }

    /// Waives the callback (回访) owed, as `who`, with `reason`.
    pub fn try_waive(
        &mut self,
        w: &World,
        who: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<(), Refusal> {
        let event = callback::decide_waiver(
            &self.policy,
            &self.case,
            Some(reason),
            &w.actor(who),
            &cal(),
            at,
        )?;
        self.case = case::apply("N1", Some(self.case.clone()), &event).unwrap();
        self.log.push(event);
        Ok(())
    }

    pub fn verdict(&mut self, w: &World, who: &str, party: Party, verdict: &str, at: Timestamp) {
        self.try_verdict(w, who, party, verdict, at)
            .unwrap_or_else(|r| panic!("callback verdict by {who}: {r:?}"));
    }

    pub fn act(&mut self, w: &World, who: &str, action: &str, fields: Value, at: Timestamp) {
        self.try_act(w, who, action, fields, at)
            .unwrap_or_else(|r| panic!("{action} by {who}: {r:?}"));
    }

    /// The refusal of an action that must be refused; the case is unchanged.
    pub fn refused(
        &mut self,
        w: &World,
        who: &str,
        action: &str,
        fields: Value,
        at: Timestamp,
    ) -> Refusal {
        let before = self.case.clone();
        let r = self
            .try_act(w, who, action, fields, at)
            .expect_err("the action must be refused");
        assert_eq!(self.case, before, "a refusal changes nothing");
        r
    }

    /// Fires the clock's breach timer at `at`, as the scheduler would.
    pub fn breach(&mut self, w: &World, clock: &str, at: Timestamp) -> Option<Event> {
        let generation = self.case.clocks[clock].generation;
        let event = decide_timer(
            &self.policy,
            &self.case,
            clock,
            TimerKind::Breach,
            generation,
            &w.directory,
            &cal(),
            at,
        )
        .unwrap()?;
        self.case = case::apply("N1", Some(self.case.clone()), &event).unwrap();
        self.log.push(event.clone());
        Some(event)
    }

    pub fn due_day(&self, clock: &str) -> String {
        self.case.clocks[clock].deadline.due_day().to_string()
    }
}

/// The clause of a breach's violation and the logins it names.
pub fn violation_of(event: &Event) -> (String, Vec<String>, Vec<String>) {
    let Change::ClockBreached { violation, .. } = &event.change else {
        panic!("not a breach: {event:?}")
    };
    let v = violation.as_ref().expect("the breach records a violation");
    (
        v.clause.clone(),
        v.liable_persons.iter().map(|p| p.login.clone()).collect(),
        v.liable_units.iter().map(|u| u.code.clone()).collect(),
    )
}

pub fn assert_refused(r: &Refusal, reason: RefusalReason, clause: &str) {
    assert_eq!(r.reason, reason, "{r:?}");
    assert_eq!(r.clause.as_deref(), Some(clause), "{r:?}");
    assert!(
        r.message_zh.starts_with(&format!("{clause}: ")),
        "the message names the clause: {}",
        r.message_zh
    );
}
