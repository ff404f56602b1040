//! A case and its append-only event log.
//!
//! The log is the truth (有据可查): every change to a case is an [`Event`] naming who, when, what
//! and under which clause, with each changed field's value before and after. The current
//! [`Case`] is derived by folding the events with [`apply`]; [`replay`] rebuilds it from the
//! whole log, which is how a test proves the stored state and the log agree.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deadlines::{ClockState, Violation};
use crate::org::{UnitRef, UserId};

/// A person as recorded on a case and its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub id: UserId,
    pub login: String,
    pub name: String,
}

/// The current state of a case, derived from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub number: String,
    pub kind: String,
    /// The policy id and the stored version the case was opened under; it keeps them for life.
    pub policy_id: String,
    pub policy_version: i64,
    pub state: String,
    pub channel: String,
    /// The unit that owns (handles) the case now.
    pub owner_unit: UnitRef,
    /// 首问负责人: who registered the case. Recorded for good, accountable wherever the case goes.
    pub first_contact: PersonRef,
    /// Who is working on it now (the handler).
    pub assignee: Option<PersonRef>,
    pub fields: BTreeMap<String, Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// In a final state.
    pub closed: bool,
    /// When it last entered a final state (the archive period runs from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// How many events have been applied.
    pub version: u64,
    /// The case's clocks (time limits), by clock id.
    #[serde(default)]
    pub clocks: BTreeMap<String, ClockState>,
    /// 回访: the case's callback rounds, oldest first (the last is the current one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<crate::callback::CallbackRecord>,
    /// Assistance requested of other units (ccb-counter 第二十条), in request order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assists: Vec<crate::assist::Assist>,
    /// Disputes between units (ccb-counter 第二十一条), in the order raised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<crate::dispute::Dispute>,
}

/// One entry of a case's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    pub actor: PersonRef,
    /// `open` for registration, otherwise the transition's id.
    pub action: String,
    /// The clause of the rule that allowed it.
    pub clause: Option<String>,
    pub change: Change,
    /// The new state of every clock this event changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clocks: Vec<ClockState>,
}

/// What an event changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The case was registered; the actor becomes its first-contact owner.
    Opened {
        kind: String,
        policy_id: String,
        policy_version: i64,
        state: String,
        channel: String,
        owner_unit: UnitRef,
        assignee: Option<PersonRef>,
        fields: BTreeMap<String, Value>,
    },
    /// A transition was taken.
    Transitioned {
        from: String,
        to: String,
        closed: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<FieldChange>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_unit: Option<Moved<UnitRef>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<Moved<Option<PersonRef>>>,
        /// The intake owner (首问负责人, `Case::first_contact`) handed over (a `hand_intake`
        /// effect: recusal, or the intake department routed up; CLAUSES.md A20/A26).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        intake_owner: Option<Moved<PersonRef>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A clock reached its warning point.
    ClockWarned {
        clock: String,
        due: Timestamp,
        /// Roles to notify (the watchers).
        notify: Vec<String>,
    },
    /// The calendar changed (new holiday data, a unit's calendar): deadlines were rebuilt.
    ClocksRecomputed { calendar_version: String },
    /// An assistance request was made or moved on (requested, accepted, refused, completed,
    /// overdue): its new state, and the violation a refusal or a missed deadline records.
    Assistance {
        assist: Box<crate::assist::Assist>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        violation: Option<Violation>,
    },
    /// A dispute between units was raised, decided (moving ownership if the decision says
    /// so), carried out, or its decision's deadline passed (the violation).
    Dispute {
        dispute: Box<crate::dispute::Dispute>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_unit: Option<Moved<UnitRef>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        violation: Option<Violation>,
    },
    /// A clock's deadline passed: what the policy says a breach does.
    /// Violations the engine detected by itself (an incomplete record at closing, an upheld
    /// complaint, a repeat complaint, a recused person's attempt): see `crate::violations`.
    ViolationsRecorded {
        violations: Vec<Violation>,
        /// The other case involved (the repeat complaint's new case).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        related_case: Option<String>,
        /// The action that was attempted (a recused person's attempt).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempted: Option<String>,
        /// What the recorder saw (a person's recorded conduct, `crate::conduct`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// A notice to send outside (the explanation to the customer of a complaint judged
    /// invalid). Channels deliver it later; the case keeps it.
    NoticeQueued {
        /// `customer`.
        audience: String,
        text: String,
    },
    /// A soft rule (原则上) was overridden by an authorised person, with a reason.
    RuleOverridden {
        transition: String,
        /// The warning the rule gives.
        warning: String,
        reason: String,
    },
    ClockBreached {
        clock: String,
        due: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        violation: Option<Violation>,
        notify: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_unit: Option<Moved<UnitRef>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<Moved<Option<PersonRef>>>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<FieldChange>,
    },
    /// 回访: the case entered a state that owes a callback (see [`crate::callback`]).
    CallbackOpened {
        round: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved_by: Option<PersonRef>,
        parties: Vec<crate::callback::Party>,
    },
    /// An attempt to reach a party of the callback.
    CallbackAttempted {
        party: crate::callback::Party,
        channel: String,
        reached: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A party's verdict (满意 / 基本满意 / 不满意), and what a dissatisfied one did.
    CallbackVerdict {
        party: crate::callback::Party,
        verdict: crate::callback::Verdict,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// The callback is done (every party answered, or the case was sent back).
        complete: bool,
        /// The state the case went back to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reopen: Option<Moved<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_unit: Option<Moved<UnitRef>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<Moved<Option<PersonRef>>>,
    },
    /// The callback was waived, with the reason.
    CallbackWaived { reason: String },
    /// An internal note (内部备注) was written on the case: it changes nothing but the log.
    Noted { note: String },
}

/// A field's value before and after a change (`None` = empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A value before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moved<T> {
    pub before: T,
    pub after: T,
}

/// Why an event log could not be folded into a case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the log is empty")]
    Empty,
    #[error("event {index} opens a case that is already open")]
    OpenedTwice { index: usize },
    #[error("event {index} changes a case before it was opened")]
    NotOpened { index: usize },
    #[error("event {index} starts from state `{from}` but the case is in `{actual}`")]
    StateMismatch {
        index: usize,
        from: String,
        actual: String,
    },
}

/// Applies one event to the case it belongs to (`None` before the first event).
pub fn apply(number: &str, case: Option<Case>, event: &Event) -> Result<Case, ReplayError> {
    apply_at(number, case, event, 0)
}

fn apply_at(
    number: &str,
    case: Option<Case>,
    event: &Event,
    index: usize,
) -> Result<Case, ReplayError> {
    let mut case = apply_change(number, case, event, index)?;
    for clock in &event.clocks {
        case.clocks.insert(clock.id.clone(), clock.clone());
    }
    Ok(case)
}

fn apply_change(
    number: &str,
    case: Option<Case>,
    event: &Event,
    index: usize,
) -> Result<Case, ReplayError> {
    match (&event.change, case) {
        (
            Change::Opened {
                kind,
                policy_id,
                policy_version,
                state,
                channel,
                owner_unit,
                assignee,
                fields,
            },
            None,
        ) => Ok(Case {
            number: number.to_owned(),
            kind: kind.clone(),
            policy_id: policy_id.clone(),
            policy_version: *policy_version,
            state: state.clone(),
            channel: channel.clone(),
            owner_unit: owner_unit.clone(),
            first_contact: event.actor.clone(),
            assignee: assignee.clone(),
            fields: fields.clone(),
            created_at: event.at,
            updated_at: event.at,
            closed: false,
            closed_at: None,
            version: 1,
            clocks: BTreeMap::new(),
            callbacks: Vec::new(),
            assists: Vec::new(),
            disputes: Vec::new(),
        }),
        (Change::Opened { .. }, Some(_)) => Err(ReplayError::OpenedTwice { index }),
        (
            Change::Transitioned { .. }
            | Change::ClockWarned { .. }
            | Change::ClockBreached { .. }
            | Change::ClocksRecomputed { .. }
            | Change::CallbackOpened { .. }
            | Change::CallbackAttempted { .. }
            | Change::CallbackVerdict { .. }
            | Change::CallbackWaived { .. }
            | Change::ViolationsRecorded { .. }
            | Change::NoticeQueued { .. }
            | Change::RuleOverridden { .. }
            | Change::Noted { .. }
            | Change::Assistance { .. }
            | Change::Dispute { .. },
            None,
        ) => Err(ReplayError::NotOpened { index }),
        (
            Change::CallbackOpened { .. }
            | Change::CallbackAttempted { .. }
            | Change::CallbackVerdict { .. }
            | Change::CallbackWaived { .. },
            Some(mut case),
        ) => {
            crate::callback::apply(&mut case, event).map_err(|e| match e {
                ReplayError::StateMismatch { from, actual, .. } => ReplayError::StateMismatch {
                    index,
                    from,
                    actual,
                },
                other => other,
            })?;
            case.updated_at = event.at;
            case.version += 1;
            Ok(case)
        }
        (
            Change::Dispute {
                dispute,
                owner_unit,
                ..
            },
            Some(mut case),
        ) => {
            match case.disputes.iter_mut().find(|d| d.no == dispute.no) {
                Some(d) => *d = (**dispute).clone(),
                None => case.disputes.push((**dispute).clone()),
            }
            if let Some(moved) = owner_unit {
                case.owner_unit = moved.after.clone();
            }
            case.updated_at = event.at;
            case.version += 1;
            Ok(case)
        }
        (Change::Assistance { assist, .. }, Some(mut case)) => {
            match case.assists.iter_mut().find(|a| a.no == assist.no) {
                Some(a) => *a = (**assist).clone(),
                None => case.assists.push((**assist).clone()),
            }
            case.updated_at = event.at;
            case.version += 1;
            Ok(case)
        }
        (
            Change::ClockWarned { .. }
            | Change::ClocksRecomputed { .. }
            | Change::ViolationsRecorded { .. }
            | Change::NoticeQueued { .. }
            | Change::RuleOverridden { .. }
            | Change::Noted { .. },
            Some(mut case),
        ) => {
            case.updated_at = event.at;
            case.version += 1;
            Ok(case)
        }
        (
            Change::ClockBreached {
                fields,
                owner_unit,
                assignee,
                ..
            },
            Some(mut case),
        ) => {
            apply_moves(&mut case, fields, owner_unit, assignee);
            case.updated_at = event.at;
            case.version += 1;
            Ok(case)
        }
        (
            Change::Transitioned {
                from,
                to,
                closed,
                fields,
                owner_unit,
                assignee,
                intake_owner,
                note: _,
            },
            Some(mut case),
        ) => {
            if &case.state != from {
                return Err(ReplayError::StateMismatch {
                    index,
                    from: from.clone(),
                    actual: case.state,
                });
            }
            case.state = to.clone();
            case.closed_at = match (*closed, case.closed) {
                (true, false) => Some(event.at),
                (true, true) => case.closed_at,
                (false, _) => None,
            };
            case.closed = *closed;
            apply_moves(&mut case, fields, owner_unit, assignee);
            if let Some(moved) = intake_owner {
                case.first_contact = moved.after.clone();
            }
            case.updated_at = event.at;
            case.version += 1;
            Ok(case)
        }
    }
}

fn apply_moves(
    case: &mut Case,
    fields: &[FieldChange],
    owner_unit: &Option<Moved<UnitRef>>,
    assignee: &Option<Moved<Option<PersonRef>>>,
) {
    for change in fields {
        match &change.after {
            Some(v) => case.fields.insert(change.field.clone(), v.clone()),
            None => case.fields.remove(&change.field),
        };
    }
    if let Some(moved) = owner_unit {
        case.owner_unit = moved.after.clone();
    }
    if let Some(moved) = assignee {
        case.assignee = moved.after.clone();
    }
}

/// The longest internal note, in characters.
pub const NOTE_MAX_CHARS: usize = 4000;

/// Why a note was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the note is empty")]
    Empty,
    #[error("the note is longer than {NOTE_MAX_CHARS} characters")]
    TooLong,
}

/// Decides an internal note by `actor` on a case at `at`: the event to append. Anyone who may
/// see the case may write one (the shell checks jurisdiction); closed cases take notes too,
/// since follow-ups often come after closing. The text is trimmed.
pub fn note(actor: &PersonRef, text: &str, at: Timestamp) -> Result<Event, NoteError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(NoteError::Empty);
    }
    if text.chars().count() > NOTE_MAX_CHARS {
        return Err(NoteError::TooLong);
    }
    Ok(Event {
        at,
        actor: actor.clone(),
        action: "note".to_owned(),
        clause: None,
        change: Change::Noted {
            note: text.to_owned(),
        },
        clocks: Vec::new(),
    })
}

/// Rebuilds a case from its whole log.
pub fn replay(number: &str, events: &[Event]) -> Result<Case, ReplayError> {
    let mut case = None;
    for (index, event) in events.iter().enumerate() {
        case = Some(apply_at(number, case, event, index)?);
    }
    case.ok_or(ReplayError::Empty)
}
