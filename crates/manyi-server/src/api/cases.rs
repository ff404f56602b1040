//! `/api/v1/cases`: register, read, list, and act on cases.
//!
//! Each write follows the same steps: load what the decision needs (the case, its policy
//! version, the org units and people the input names), let `manyi-core` decide, then append the
//! events and the new current state in one store transaction. A concurrent change to the same
//! case is detected by its version, and the decision is made again on the fresh state.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use manyi_core::calendar::CalendarView;
use manyi_core::case::{self, Case, Change, Event};
use manyi_core::deadlines::{self, ClockStatus, TimerInstruction};
use manyi_core::engine::{self, CreateInput, Directory, TransitionInput};
use manyi_core::org::Actor;
use manyi_core::policy::{FieldType, Policy};
use manyi_store::{
    CaseFilter, CaseOrder, CaseRecord, CaseUpdate, CreateOutcome, Idempotency, NewCase, NewEvent,
    StoreError, TimerChange, User, Visibility,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AppState;
use crate::auth::{CurrentUser, token_hash};
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath, JsonBytes, parse_json};
use crate::org_cache::OrgSnapshot;
use crate::policies::Compiled;

/// `POST /api/v1/cases` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The policy id; optional when exactly one active policy has the kind.
    #[serde(default)]
    pub policy: Option<String>,
    pub kind: String,
    pub channel: String,
    #[serde(default)]
    pub fields: Map<String, Value>,
}

/// `POST /api/v1/cases/{number}/transitions` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub action: String,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub note: Option<String>,
    /// Overrides a soft rule (原则上) with a reason: `{"reason": "…"}`.
    #[serde(default, rename = "override")]
    pub override_rule: Option<crate::api::violations::OverrideBody>,
}

/// Applies `event` to `case` (stored as `record`) and builds the store update that writes it
/// in one transaction: the new current state, the event, and the timer rows its clock changes
/// need. The caller adds ledger entries when the event records a violation.
pub fn update_for(
    record: &CaseRecord,
    case: &Case,
    event: &Event,
    now: jiff::Timestamp,
) -> Result<(Case, CaseUpdate), AppError> {
    let next = case::apply(&case.number, Some(case.clone()), event)
        .map_err(|e| AppError::Internal(format!("a decided event does not apply: {e}")))?;
    let update = CaseUpdate {
        id: record.id,
        expected_version: record.version,
        state: next.state.clone(),
        owner_unit_id: next.owner_unit.id,
        assignee_id: next.assignee.as_ref().map(|a| a.id),
        first_contact_id: (next.first_contact.id != case.first_contact.id)
            .then_some(next.first_contact.id),
        closed: next.closed,
        updated_at: now,
        snapshot: snapshot_of(&next)?,
        events: vec![event_of(event)?],
        timers: timer_changes(deadlines::timer_plan(&case.clocks, &event.clocks)),
        violations: Vec::new(),
        // Only a transition changes the customer's fields; it sets the keys (`transition_as`).
        find: None,
        due_at: deadlines::due_at(&next),
    };
    Ok((next, update))
}

/// The quick-find keys of a case of `kind` under the policy `policy_id` (`manyi_core::find`),
/// as the store keeps them: the phone and name keys, and the exact repeat-complaint key when
/// the kind has a `repeat_complaint` rule and every key field is filled.
pub fn find_keys(
    policy_id: &str,
    kind: &manyi_core::policy::CaseKind,
    fields: &BTreeMap<String, Value>,
) -> Vec<manyi_store::FindKey> {
    let mut keys: Vec<manyi_store::FindKey> = manyi_core::find::keys(kind, fields)
        .into_iter()
        .map(|k| manyi_store::FindKey {
            kind: k.kind.to_owned(),
            key: k.key,
        })
        .collect();
    if let Some(key) = manyi_core::find::repeat_key(policy_id, kind, fields) {
        keys.push(manyi_store::FindKey {
            kind: manyi_core::find::REPEAT.to_owned(),
            key,
        });
    }
    keys
}

/// The keys a new case is written with: [`find_keys`], and when it has a repeat key, the
/// marker that the repeat it makes is still to be recorded (removed by
/// `api::violations::record_repeat` once done; what the catch-up walks after a crash).
fn new_case_keys(
    policy_id: &str,
    kind: &manyi_core::policy::CaseKind,
    fields: &BTreeMap<String, Value>,
) -> Vec<manyi_store::FindKey> {
    let mut keys = find_keys(policy_id, kind, fields);
    if keys.iter().any(|k| k.kind == manyi_core::find::REPEAT) {
        keys.push(manyi_store::FindKey {
            kind: manyi_core::find::REPEAT_PENDING.to_owned(),
            key: String::new(),
        });
    }
    keys
}

/// The store's form of the core's timer plan.
pub fn timer_changes(plan: Vec<TimerInstruction>) -> Vec<TimerChange> {
    plan.into_iter()
        .map(|i| match i {
            TimerInstruction::Cancel { clock } => TimerChange::CancelClock { clock },
            TimerInstruction::Schedule {
                clock,
                kind,
                generation,
                due_at,
            } => TimerChange::Schedule {
                clock,
                kind: kind.as_str().to_owned(),
                purpose: manyi_store::TIMER_FOR_CLOCK.to_owned(),
                generation: i64::from(generation),
                due_at,
            },
        })
        .collect()
}

/// A clock (time limit) of a case, as the API shows it.
#[derive(Serialize)]
pub struct ClockBody {
    pub id: String,
    pub label: String,
    pub clause: String,
    /// running, paused or stopped.
    pub status: ClockStatus,
    /// The level whose limit applies (per-level limits).
    pub level: Option<String>,
    /// The limit, e.g. "2 working days".
    pub limit: String,
    pub started_at: String,
    pub due: String,
    /// For day limits: the last day (the deadline is its end, 24:00).
    pub due_day: Option<String>,
    /// Clock time left (working time for working-day limits), in seconds; negative when
    /// overdue. Only for running clocks.
    pub remaining_seconds: Option<i64>,
    pub overdue: bool,
    pub warn_at: Option<String>,
    pub warned: bool,
    pub breached_at: Option<String>,
    pub stopped_at: Option<String>,
    /// For stopped clocks: stopped in time.
    pub met: Option<bool>,
    /// Computed without the official notice of some year (Monday–Friday assumed); will be
    /// recomputed when the data arrives.
    pub provisional: bool,
    pub calendar_version: String,
}

fn clock_bodies(
    case: &Case,
    policy: &Policy,
    calendar: &CalendarView<'_>,
    now: jiff::Timestamp,
) -> Vec<ClockBody> {
    let rules = policy
        .kind(&case.kind)
        .map(|k| k.clocks.as_slice())
        .unwrap_or(&[]);
    let remaining = deadlines::remaining(&case.clocks, calendar, now);
    rules
        .iter()
        .filter_map(|rule| {
            let c = case.clocks.get(&rule.id)?;
            let day_based = c.deadline.duration.unit().is_day_based();
            Some(ClockBody {
                id: c.id.clone(),
                label: rule.label.clone(),
                clause: rule.clause.clone(),
                status: c.status,
                level: c.level.clone(),
                limit: c.deadline.duration.to_string(),
                started_at: timestamp(c.started_at),
                due: timestamp(c.deadline.due),
                due_day: day_based.then(|| c.deadline.due_day().to_string()),
                remaining_seconds: remaining.get(&c.id).map(|d| d.as_secs()),
                overdue: c.is_overdue(now),
                warn_at: c.warn_at.map(timestamp),
                warned: c.warned,
                breached_at: c.breached_at.map(timestamp),
                stopped_at: c.stopped_at.map(timestamp),
                met: c.met(),
                provisional: c.deadline.provisional,
                calendar_version: c.deadline.calendar_version.clone(),
            })
        })
        .collect()
}

/// A case as the API shows it.
#[derive(Serialize)]
pub struct CaseBody {
    pub number: String,
    pub kind: String,
    pub kind_label: String,
    pub policy: PolicyRef,
    pub state: String,
    pub state_label: String,
    pub closed: bool,
    pub channel: String,
    pub owner_unit: UnitBody,
    /// 首问负责人.
    pub first_contact: PersonBody,
    pub assignee: Option<PersonBody>,
    /// CLAUSES.md A20, made explicit: the intake owner (首问负责人 — customer contact, deadline
    /// watch, callback, archive) is `first_contact`; the handler (承办人 — investigates and
    /// resolves) is `assignee`. Within the first contact's authority they are the same person.
    pub intake_owner: PersonBody,
    pub handler: Option<PersonBody>,
    pub fields: BTreeMap<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
    /// The case's time limits.
    pub clocks: Vec<ClockBody>,
    /// What the current user may do next.
    pub actions: Vec<ActionBody>,
    /// 回访: the callback record, when the kind declares one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<crate::api::callbacks::CallbackBody>,
    /// A satisfaction survey this action issued (its link is shown only here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survey_issued: Option<crate::api::surveys::IssuedSurvey>,
    /// Set once the case is archived (read-only, filed by year).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<crate::api::archive::ArchiveBody>,
    /// Assistance requested of other units (ccb-counter 第二十条).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assists: Vec<crate::api::assist::AssistBody>,
    /// Disputes between units (ccb-counter 第二十一条).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<crate::api::disputes::DisputeBody>,
}

#[derive(Serialize)]
pub struct PolicyRef {
    pub id: String,
    pub version: i64,
}

#[derive(Serialize)]
pub struct UnitBody {
    pub code: String,
    pub name: String,
    pub level: String,
}

#[derive(Serialize)]
pub struct PersonBody {
    pub login: String,
    pub name: String,
}

#[derive(Serialize)]
pub struct ActionBody {
    pub action: String,
    pub label: String,
    pub to: String,
    pub requires: Vec<String>,
    pub clause: String,
}

/// What a stored event looks like over the API.
#[derive(Serialize)]
pub struct EventBody {
    pub seq: i64,
    pub at: String,
    pub actor: Option<PersonBody>,
    pub action: String,
    pub clause: Option<String>,
    #[serde(flatten)]
    pub change: Value,
}

/// Builds the engine's view of the caller.
pub fn actor_of(user: &User, directory: &Directory) -> Result<Actor, AppError> {
    let unit = directory
        .unit(user.unit_id)
        .cloned()
        .ok_or_else(|| AppError::Internal(format!("unit {} of a user is missing", user.unit_id)))?;
    Ok(Actor {
        id: user.id,
        login: user.login.clone(),
        name: user.name.clone(),
        unit,
        roles: user.roles.clone(),
    })
}

/// Loads the org units, and the people that `person` fields of the input name.
pub(crate) async fn directory_for(
    state: &AppState,
    policy: Option<(&Policy, &str)>,
    input: &Map<String, Value>,
) -> Result<Directory, AppError> {
    let snapshot = state.org.get(&state.store).await?;
    directory_with(state, &snapshot, policy, input).await
}

/// [`directory_for`] on a snapshot the caller already holds.
async fn directory_with(
    state: &AppState,
    snapshot: &OrgSnapshot,
    policy: Option<(&Policy, &str)>,
    input: &Map<String, Value>,
) -> Result<Directory, AppError> {
    Ok(directory_in(state, snapshot, policy, input)
        .await?
        .into_owned())
}

/// The snapshot's directory, copied only when a `person` field of the input names someone to
/// add to it. A create without such a field (most) borrows it: copying every unit and person
/// of the organisation per request was a measurable share of a create's CPU.
async fn directory_in<'s>(
    state: &AppState,
    snapshot: &'s OrgSnapshot,
    policy: Option<(&Policy, &str)>,
    input: &Map<String, Value>,
) -> Result<Cow<'s, Directory>, AppError> {
    let mut directory = Cow::Borrowed(&snapshot.directory);
    if let Some((policy, kind)) = policy.and_then(|(p, k)| Some((p, p.kind(k)?))) {
        let _ = policy;
        for field in kind
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::Person)
        {
            if let Some(login) = input.get(&field.id).and_then(Value::as_str)
                && let Some(user) = state.store.user_by_login(login.trim()).await?
            {
                directory.to_mut().add_person(case::PersonRef {
                    id: user.id,
                    login: user.login,
                    name: user.name,
                });
            }
        }
    }
    Ok(directory)
}

/// Reads a stored case back into the domain's form.
pub fn case_of(record: &CaseRecord) -> Result<Case, AppError> {
    let mut case: Case = serde_json::from_value(record.snapshot.clone())
        .map_err(|e| AppError::Internal(format!("case {} snapshot unreadable: {e}", record.id)))?;
    // The number is allocated by the store inside the insert transaction, after the snapshot
    // was built; the row is its authority.
    case.number = record.number.clone();
    Ok(case)
}

pub fn event_of(event: &Event) -> Result<NewEvent, AppError> {
    Ok(NewEvent {
        at: event.at,
        // Events the system takes by itself (a deadline passing) have no user behind them.
        actor_id: (event.actor.id != 0).then_some(event.actor.id),
        action: event.action.clone(),
        clause: event.clause.clone(),
        payload: serde_json::to_value(event)
            .map_err(|e| AppError::Internal(format!("event not serialisable: {e}")))?,
    })
}

pub fn snapshot_of(case: &Case) -> Result<Value, AppError> {
    serde_json::to_value(case)
        .map_err(|e| AppError::Internal(format!("case not serialisable: {e}")))
}

/// An instant as the API shows it: RFC 3339 in Asia/Shanghai (+08:00).
pub fn timestamp(t: jiff::Timestamp) -> String {
    t.to_zoned_datetime(manyi_core::china_tz())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

pub(crate) fn body_of(
    state: &AppState,
    case: &Case,
    policy: &Compiled,
    actor: Option<&Actor>,
) -> CaseBody {
    let kind = policy.kind(&case.kind);
    let state_label = kind
        .and_then(|k| k.state(&case.state))
        .map_or_else(|| case.state.clone(), |s| s.label.clone());
    let archived = crate::api::archive::entry_of(state, policy, case);
    let actions = match (kind, actor) {
        // An archived case is read-only: it offers nobody an action.
        _ if archived.is_some() => Vec::new(),
        (Some(kind), Some(actor)) => engine::available_transitions(kind, case, actor)
            .into_iter()
            .map(|t| ActionBody {
                action: t.id.clone(),
                label: t.label.clone(),
                to: t.to.clone(),
                requires: t.requires.clone(),
                clause: t.clause.clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    CaseBody {
        number: case.number.clone(),
        kind: case.kind.clone(),
        kind_label: kind.map_or_else(|| case.kind.clone(), |k| k.label.clone()),
        policy: PolicyRef {
            id: case.policy_id.clone(),
            version: policy.version,
        },
        state: case.state.clone(),
        state_label,
        closed: case.closed,
        channel: case.channel.clone(),
        owner_unit: UnitBody {
            code: case.owner_unit.code.clone(),
            name: case.owner_unit.name.clone(),
            level: case.owner_unit.level.clone(),
        },
        first_contact: PersonBody {
            login: case.first_contact.login.clone(),
            name: case.first_contact.name.clone(),
        },
        assignee: case.assignee.as_ref().map(|a| PersonBody {
            login: a.login.clone(),
            name: a.name.clone(),
        }),
        intake_owner: PersonBody {
            login: case.first_contact.login.clone(),
            name: case.first_contact.name.clone(),
        },
        handler: case.assignee.as_ref().map(|a| PersonBody {
            login: a.login.clone(),
            name: a.name.clone(),
        }),
        fields: case.fields.clone(),
        created_at: timestamp(case.created_at),
        updated_at: timestamp(case.updated_at),
        version: case.version,
        clocks: clock_bodies(
            case,
            policy,
            &state.calendar.current().view(),
            state.clock.now(),
        ),
        actions,
        callback: crate::api::callbacks::body(policy, kind, case, actor),
        survey_issued: None,
        archive: archived.map(Into::into),
        assists: case
            .assists
            .iter()
            .map(|a| crate::api::assist::body_of(case, a))
            .collect(),
        disputes: case
            .disputes
            .iter()
            .map(|d| crate::api::disputes::body_of(case, d))
            .collect(),
    }
}

/// Picks the active policy version for a create request.
async fn policy_for_create(
    state: &AppState,
    snapshot: &OrgSnapshot,
    req: &CreateRequest,
) -> Result<(i64, Arc<Compiled>), AppError> {
    let active = &snapshot.active_policies;
    let candidates: Vec<_> = match &req.policy {
        Some(name) => active.iter().filter(|p| &p.name == name).collect(),
        None => active.iter().collect(),
    };
    if req.policy.is_some() && candidates.is_empty() {
        return Err(AppError::Invalid {
            detail: "no such active policy".into(),
            fields: vec![engine::FieldError {
                field: "policy".into(),
                code: "unknown".into(),
                message: format!(
                    "no active policy `{}`; active: {}",
                    req.policy.as_deref().unwrap_or_default(),
                    active
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                message_zh: "没有这个已启用的策略".into(),
            }],
        });
    }
    let mut matching = Vec::new();
    for record in candidates {
        let policy = state.policies.compile(record)?;
        if policy.kind(&req.kind).is_some() {
            matching.push((record.id, policy));
        }
    }
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(AppError::Invalid {
            detail: "unknown case kind".into(),
            fields: vec![engine::FieldError {
                field: "kind".into(),
                code: "unknown".into(),
                message: format!("no active policy has a case kind `{}`", req.kind),
                message_zh: format!("没有已启用的策略包含案件类型“{}”", req.kind),
            }],
        }),
        _ => Err(AppError::Invalid {
            detail: "ambiguous case kind".into(),
            fields: vec![engine::FieldError {
                field: "policy".into(),
                code: "required".into(),
                message: format!(
                    "several active policies have a case kind `{}`: name one in `policy`",
                    req.kind
                ),
                message_zh: "多个已启用的策略都有该案件类型，请指定 policy".into(),
            }],
        }),
    }
}

/// What [`create_as`] did.
pub struct Created {
    /// False when an idempotent retry returned the first case.
    pub new: bool,
    pub record: CaseRecord,
    pub case: Case,
    pub policy: Arc<Compiled>,
    pub actor: Actor,
}

/// Registers a case as `user`: the shell around [`engine::decide_create`]. Used by the HTTP
/// handler and by the demo seeder, so both take exactly the same path.
pub async fn create_as(
    state: &AppState,
    user: &User,
    req: &CreateRequest,
    idempotency: Option<Idempotency>,
) -> Result<Created, AppError> {
    // One revision check for the whole request: policies, units and calendars of one snapshot.
    let snapshot = state.org.get(&state.store).await?;
    let (policy_version, policy) = policy_for_create(state, &snapshot, req).await?;
    let directory = directory_in(state, &snapshot, Some((&policy, &req.kind)), &req.fields).await?;
    let actor = actor_of(user, &directory)?;
    let now = state.clock.now();
    let input = CreateInput {
        kind: req.kind.clone(),
        channel: req.channel.clone(),
        fields: req.fields.clone(),
    };
    // The case's clocks run on the calendar of the unit that owns it: the registrar's.
    // (A second handle on the snapshot: the directory borrows from the first.)
    let calendars = crate::calendar::OrgCalendars::of(state, snapshot.clone());
    let calendar = calendars.view(&actor.unit);
    let event = engine::decide_create(
        &policy,
        policy_version,
        &input,
        &actor,
        &directory,
        &calendar,
        now,
    )
    .map_err(AppError::Refused)?;
    let case = case::apply("", None, &event)
        .map_err(|e| AppError::Internal(format!("fresh event does not apply: {e}")))?;
    let kind = policy
        .kind(&req.kind)
        .ok_or_else(|| AppError::Internal("kind vanished".into()))?;
    let date = now.to_zoned_datetime(manyi_core::china_tz()).date();
    let numbering = kind.numbering.clone();
    let new_case = NewCase {
        kind: case.kind.clone(),
        policy_id: policy_version,
        number_scope: numbering.pattern().to_owned(),
        number_period: numbering.period(date),
        state: case.state.clone(),
        owner_unit_id: case.owner_unit.id,
        first_contact_id: case.first_contact.id,
        assignee_id: case.assignee.as_ref().map(|a| a.id),
        channel: case.channel.clone(),
        created_at: now,
        snapshot: snapshot_of(&case)?,
        events: vec![event_of(&event)?],
        idempotency,
        timers: timer_changes(deadlines::timer_plan(&BTreeMap::new(), &event.clocks)),
        find: new_case_keys(&case.policy_id, kind, &case.fields),
        due_at: deadlines::due_at(&case),
    };
    let first_due = new_case
        .timers
        .iter()
        .filter_map(|t| match t {
            TimerChange::Schedule { due_at, .. } => Some(*due_at),
            TimerChange::CancelClock { .. } => None,
        })
        .min();
    let outcome = state
        .store
        .create_case(new_case, move |serial| numbering.format(date, serial))
        .await?;
    // Only a timer due before the scheduler's next look needs it awake (`WakeAt`).
    if first_due.is_some_and(|due| state.scheduler_wake.wrote(due)) {
        state.timers_changed.notify_one();
    }
    let (new, record) = match outcome {
        CreateOutcome::Created(record) => (true, record),
        CreateOutcome::Replayed(record) => (false, record),
        CreateOutcome::KeyReused => {
            return Err(AppError::Conflict(
                "this Idempotency-Key was already used for a different request".into(),
            ));
        }
    };
    let case = case_of(&record)?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    if new {
        // jinbi-property 第七条附则: a repeat complaint is recorded on the open first case.
        // The new case stands whatever happens here: a repeat that cannot be recorded now
        // keeps its pending marker, and the catch-up records it later.
        if let Err(e) = crate::api::violations::record_repeat(state, &policy, &record, &case).await
        {
            tracing::warn!(case = %record.number, error = ?e,
                "repeat complaint not recorded yet; the catch-up will");
        }
    }
    Ok(Created {
        new,
        record,
        case,
        policy,
        actor,
    })
}

/// `POST /api/v1/cases`: registers a case; the caller becomes its first-contact owner.
/// With an `Idempotency-Key` header, a retried request returns the first case (200) instead of
/// creating a second one.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Response, AppError> {
    let req: CreateRequest = parse_json(&body)?;
    let idempotency = match headers.get("idempotency-key") {
        Some(v) => {
            let key = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    AppError::BadRequest(
                        "Idempotency-Key must be 1 to 200 visible ASCII characters".into(),
                    )
                })?;
            Some(Idempotency {
                user_id: user.0.id,
                key: key.to_owned(),
                request_hash: token_hash(&String::from_utf8_lossy(&body)),
            })
        }
        None => None,
    };
    let created = create_as(&state, &user.0, &req, idempotency).await?;
    let status = if created.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/v1/cases/{}", created.record.number);
    Ok((
        status,
        [(axum::http::header::LOCATION, location)],
        axum::Json(body_of(
            &state,
            &created.case,
            &created.policy,
            Some(&created.actor),
        )),
    )
        .into_response())
}

/// Loads a case the user may see; 404 otherwise (existence is not revealed).
pub async fn visible_case(
    state: &AppState,
    user: &User,
    number: &str,
) -> Result<(CaseRecord, Case), AppError> {
    let not_found = || AppError::NotFound(format!("no case {number}"));
    let record = state
        .store
        .case_by_number(number)
        .await?
        .ok_or_else(not_found)?;
    if !may_see(user, &record) {
        return Err(not_found());
    }
    let case = case_of(&record)?;
    Ok((record, case))
}

/// The stored case `number` if `user` may see it; 404 otherwise.
pub async fn visible_record(
    state: &AppState,
    user: &User,
    number: &str,
) -> Result<CaseRecord, AppError> {
    visible_case(state, user, number).await.map(|(r, _)| r)
}

pub(crate) fn may_see(user: &User, record: &CaseRecord) -> bool {
    user.roles.iter().any(|r| r == "admin")
        || record.first_contact_id == user.id
        || record.owner_unit_path.starts_with(&user.unit_path)
}

/// A case as the API shows it, read without a viewer (the CLI): no actions are listed.
pub async fn case_view(state: &AppState, number: &str) -> Result<CaseBody, AppError> {
    let record = state
        .store
        .case_by_number(number)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no case {number}")))?;
    let case = case_of(&record)?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    Ok(body_of(state, &case, &policy, None))
}

/// `GET /api/v1/cases/{number}`.
pub async fn show(
    state: State<AppState>,
    user: CurrentUser,
    number: ApiPath<String>,
) -> Result<axum::Json<CaseBody>, AppError> {
    show_via(state, user, number, crate::api::archive::Interface::Api).await
}

/// [`show`], with the interface the read log records for an archived case.
pub async fn show_via(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    via: crate::api::archive::Interface,
) -> Result<axum::Json<CaseBody>, AppError> {
    let (record, case) = visible_case(&state, &user.0, &number).await?;
    crate::api::archive::gate_read(&state, &user.0, &record, &case, via, "case").await?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let directory = directory_for(&state, None, &Map::new()).await?;
    let actor = actor_of(&user.0, &directory)?;
    Ok(axum::Json(body_of(&state, &case, &policy, Some(&actor))))
}

/// `GET /api/v1/cases/{number}/events`: the case's log, oldest first.
pub async fn events(
    state: State<AppState>,
    user: CurrentUser,
    number: ApiPath<String>,
) -> Result<axum::Json<Vec<EventBody>>, AppError> {
    events_via(state, user, number, crate::api::archive::Interface::Api).await
}

/// [`events`], with the interface the read log records for an archived case.
pub async fn events_via(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    via: crate::api::archive::Interface,
) -> Result<axum::Json<Vec<EventBody>>, AppError> {
    let (record, case) = visible_case(&state, &user.0, &number).await?;
    crate::api::archive::gate_read(&state, &user.0, &record, &case, via, "events").await?;
    let events = state.store.case_events(record.id).await?;
    let bodies = events
        .into_iter()
        .map(|e| {
            let parsed: Option<Event> = serde_json::from_value(e.payload.clone()).ok();
            EventBody {
                seq: e.seq,
                at: timestamp(e.at),
                actor: parsed.as_ref().map(|p| PersonBody {
                    login: p.actor.login.clone(),
                    name: p.actor.name.clone(),
                }),
                action: e.action,
                clause: e.clause,
                change: parsed
                    .and_then(|p| serde_json::to_value(p.change).ok())
                    .unwrap_or(Value::Null),
            }
        })
        .collect();
    Ok(axum::Json(bodies))
}

/// Takes a transition as `user`: the shell around [`engine::decide_transition`].
pub async fn transition_as(
    state: &AppState,
    user: &User,
    number: &str,
    input: &TransitionInput,
) -> Result<(Case, Arc<Compiled>, Actor), AppError> {
    transition_with(state, user, number, input, None).await
}

/// [`transition_as`], overriding a soft rule (原则上) when `override_rule` is given.
pub async fn transition_with(
    state: &AppState,
    user: &User,
    number: &str,
    input: &TransitionInput,
    override_rule: Option<&manyi_core::soft::Override>,
) -> Result<(Case, Arc<Compiled>, Actor), AppError> {
    // Optimistic concurrency: if someone changed the case between our read and our write,
    // decide again on the fresh state (a few times, then give up with 409).
    for _attempt in 0..3 {
        let record = state
            .store
            .case_by_number(number)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no case {number}")))?;
        if !may_see(user, &record) {
            return Err(AppError::NotFound(format!("no case {number}")));
        }
        let case = case_of(&record)?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let directory = directory_for(state, Some((&policy, &case.kind)), &input.fields).await?;
        let actor = actor_of(user, &directory)?;
        let now = state.clock.now();
        // Clocks run on the calendar of the unit that owns the case; when the action hands the
        // case to another unit, decide again on that unit's calendar, so that a clock that
        // restarts there follows its working days and hours.
        let calendars = crate::calendar::OrgCalendars::load(state).await?;
        let decided = engine::decide_transition_with(
            &policy,
            &case,
            input,
            override_rule,
            &actor,
            &directory,
            &calendars.view(&case.owner_unit),
            now,
        );
        let mut decided = match decided {
            Ok(d) => d,
            Err(refusal) => {
                // 回避: the attempt is logged durably (crate::api::violations).
                crate::api::violations::log_recusal(
                    state, &record, &case, &policy, &actor, input, &refusal,
                )
                .await?;
                return Err(AppError::Refused(refusal));
            }
        };
        if let Change::Transitioned {
            owner_unit: Some(moved),
            ..
        } = &decided.event.change
            && calendars.overlay(moved.after.id) != calendars.overlay(case.owner_unit.id)
        {
            let new_owner = moved.after.clone();
            decided = engine::decide_transition_with(
                &policy,
                &case,
                input,
                override_rule,
                &actor,
                &directory,
                &calendars.view(&new_owner),
                now,
            )
            .map_err(AppError::Refused)?;
        }
        let (mut next, mut update) = update_for(&record, &case, &decided.event, now)?;
        // A transition that changes the customer's phone or name moves their find keys.
        if let Some(kind) = policy.kind(&case.kind) {
            let keys = find_keys(&case.policy_id, kind, &next.fields);
            if keys != find_keys(&case.policy_id, kind, &case.fields) {
                update.find = Some(keys);
            }
        }
        // 回访: entering a state that owes a callback opens it, in the same transaction.
        if let Some(opened) = manyi_core::callback::follow_up(&policy, &next, &decided.event) {
            next = case::apply(&next.number, Some(next.clone()), &opened)
                .map_err(|e| AppError::Internal(format!("a callback event does not apply: {e}")))?;
            update.events.push(event_of(&opened)?);
            update.snapshot = snapshot_of(&next)?;
        }
        // Overrides, notices and the violations the transition records, in the same
        // transaction (crate::api::violations).
        let next = crate::api::violations::extend_update(
            state,
            &policy,
            &case,
            next,
            &mut update,
            decided.overridden,
        )
        .await?;
        let wrote_timers = !update.timers.is_empty();
        match state.store.update_case(update).await {
            Ok(_) => {
                if wrote_timers {
                    state.timers_changed.notify_one();
                }
                return Ok((next, policy, actor));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// `POST /api/v1/cases/{number}/transitions`.
pub async fn transition(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiPath(number): ApiPath<String>,
    ApiJson(req): ApiJson<TransitionRequest>,
) -> Result<axum::Json<CaseBody>, AppError> {
    let input = TransitionInput {
        action: req.action,
        fields: req.fields,
        note: req.note,
    };
    let override_rule = req
        .override_rule
        .map(|o| manyi_core::soft::Override { reason: o.reason });
    let (case, policy, actor) =
        transition_with(&state, &user.0, &number, &input, override_rule.as_ref()).await?;
    let mut body = body_of(&state, &case, &policy, Some(&actor));
    body.survey_issued =
        crate::api::surveys::issue_on_entry(&state, &policy, &case, &input.action, &headers)
            .await?;
    Ok(axum::Json(body))
}

/// `GET /api/v1/cases` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub kind: Option<String>,
    pub state: Option<String>,
    /// A unit code: only cases owned in its subtree.
    pub unit: Option<String>,
    /// A login: only cases assigned to this person.
    pub assignee: Option<String>,
    /// A login: only cases with this first-contact owner.
    pub first_contact: Option<String>,
    pub closed: Option<bool>,
    /// RFC 3339 or `YYYY-MM-DD` (Asia/Shanghai), inclusive.
    pub created_from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (Asia/Shanghai), exclusive.
    pub created_to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    /// `newest` (the default: highest id first) or `due` (soonest due first, cases with no
    /// running clock last, ties by id).
    pub order: Option<String>,
}

#[derive(Serialize)]
pub struct ListBody {
    pub items: Vec<CaseBody>,
    pub next_cursor: Option<String>,
}

pub(crate) fn parse_instant(name: &str, s: &str) -> Result<jiff::Timestamp, AppError> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(manyi_core::china_tz()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "`{name}` = {s:?} is neither an RFC 3339 instant nor a YYYY-MM-DD date"
            ))
        })
}

/// The `order` of `GET /api/v1/cases`; an unknown one is a 422 naming the field, the value and
/// the orders there are.
pub fn parse_order(order: Option<&str>) -> Result<CaseOrder, AppError> {
    match order {
        None | Some("newest") => Ok(CaseOrder::Newest),
        Some("due") => Ok(CaseOrder::Due),
        Some(other) => Err(AppError::Invalid {
            detail: format!("`order` = {other:?}: the orders are `newest` and `due`"),
            fields: vec![manyi_core::engine::FieldError {
                field: "order".into(),
                code: "unknown".into(),
                message: format!("`order` = {other:?}: the orders are `newest` and `due`"),
                message_zh: format!(
                    "排序方式 {other:?} 无效：可选 `newest`（最新）或 `due`（到期时间）"
                ),
            }],
        }),
    }
}

/// A page cursor for the API: the last case's id, and in the due order its due time too
/// (`<due ms>.<id>`, `-.<id>` when it had none), so that the next page starts right after it.
pub fn cursor_text(order: CaseOrder, id: i64, due: Option<jiff::Timestamp>) -> String {
    match order {
        CaseOrder::Newest => id.to_string(),
        CaseOrder::Due => match due {
            Some(due) => format!("{}.{id}", due.as_millisecond()),
            None => format!("-.{id}"),
        },
    }
}

/// Reads a cursor made by [`cursor_text`] for `order` into `filter`.
pub fn read_cursor(filter: &mut CaseFilter, order: CaseOrder, text: &str) -> Result<(), AppError> {
    let bad = || {
        AppError::BadRequest(format!(
            "`cursor` = {text:?} is not a cursor from a previous page of this order"
        ))
    };
    match order {
        CaseOrder::Newest => filter.after = Some(text.parse().map_err(|_| bad())?),
        CaseOrder::Due => {
            let (due, id) = text.split_once('.').ok_or_else(bad)?;
            filter.after = Some(id.parse().map_err(|_| bad())?);
            filter.after_due = match due {
                "-" => None,
                ms => Some(
                    ms.parse::<i64>()
                        .ok()
                        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                        .ok_or_else(bad)?,
                ),
            };
        }
    }
    Ok(())
}

/// `GET /api/v1/cases`: the cases the caller may see, newest first (or soonest due first with
/// `order=due`), with cursor pagination.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<ListBody>, AppError> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let order = parse_order(q.order.as_deref())?;
    let mut filter = CaseFilter {
        kind: q.kind,
        state: q.state,
        closed: q.closed,
        limit: q.limit.unwrap_or(50).clamp(1, 500),
        order,
        ..CaseFilter::default()
    };
    if !user.is_admin() {
        filter.visible_to = Some(Visibility {
            unit_path: user.0.unit_path.clone(),
            user_id: user.0.id,
        });
    }
    if let Some(code) = &q.unit {
        let unit = state
            .store
            .unit_by_code(code)
            .await?
            .ok_or_else(|| AppError::BadRequest(format!("`unit` = {code:?}: no such unit")))?;
        filter.unit_subtree = Some(unit.path);
    }
    for (login, slot) in [
        (&q.assignee, &mut filter.assignee_id),
        (&q.first_contact, &mut filter.first_contact_id),
    ] {
        if let Some(login) = login {
            let found = state.store.user_by_login(login).await?;
            // An unknown login matches nothing rather than everything.
            *slot = Some(found.map_or(-1, |u| u.id));
        }
    }
    if let Some(s) = &q.created_from {
        filter.created_from = Some(parse_instant("created_from", s)?);
    }
    if let Some(s) = &q.created_to {
        filter.created_to = Some(parse_instant("created_to", s)?);
    }
    if let Some(c) = &q.cursor {
        read_cursor(&mut filter, order, c)?;
    }
    let page = state.store.list_cases(&filter).await?;
    let directory = directory_for(&state, None, &Map::new()).await?;
    let actor = actor_of(&user.0, &directory)?;
    let mut items = Vec::with_capacity(page.items.len());
    for record in &page.items {
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        items.push(body_of(&state, &case_of(record)?, &policy, Some(&actor)));
    }
    Ok(axum::Json(ListBody {
        items,
        next_cursor: page
            .next_cursor
            .map(|id| cursor_text(order, id, page.items.last().and_then(|c| c.due_at))),
    }))
}

/// `GET /api/v1/deadlines` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinesQuery {
    /// A unit code: its subtree (default: everything the caller may see).
    pub unit: Option<String>,
    /// "Due soon" means due within this many hours (default 8).
    pub within_hours: Option<u32>,
}

/// One running clock in the due-soon / overdue list.
#[derive(Serialize)]
pub struct DeadlineRow {
    pub number: String,
    pub state: String,
    pub owner_unit: String,
    pub first_contact: String,
    pub clock: String,
    pub label: String,
    pub clause: String,
    pub due: String,
    pub due_day: Option<String>,
    pub remaining_seconds: Option<i64>,
    pub provisional: bool,
}

#[derive(Serialize)]
pub struct DeadlinesBody {
    pub overdue: Vec<DeadlineRow>,
    pub due_soon: Vec<DeadlineRow>,
    /// Open cases examined: those due within the window, read soonest due first (the due
    /// order), at most [`DEADLINE_SCAN_LIMIT`].
    pub scanned: usize,
    /// False when more cases were due within the window than were examined.
    pub complete: bool,
}

/// How many open cases `GET /api/v1/deadlines` examines at most.
pub const DEADLINE_SCAN_LIMIT: usize = 5_000;

/// `GET /api/v1/deadlines`: the overdue and due-soon clocks of open cases in a unit's subtree
/// (within the caller's jurisdiction), soonest first.
pub async fn deadlines(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<DeadlinesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<DeadlinesBody>, AppError> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let viewer = (!user.is_admin()).then_some(&user.0);
    let list = deadline_list(
        &state,
        viewer,
        q.unit.as_deref(),
        q.within_hours.unwrap_or(8),
    )
    .await?;
    Ok(axum::Json(list))
}

/// The overdue and due-soon clocks of open cases in `unit`'s subtree (all units when `None`),
/// as `viewer` may see them (everything when `None`: the CLI and administrators).
pub async fn deadline_list(
    state: &AppState,
    viewer: Option<&User>,
    unit: Option<&str>,
    within_hours: u32,
) -> Result<DeadlinesBody, AppError> {
    let now = state.clock.now();
    let within = jiff::SignedDuration::from_hours(i64::from(within_hours));
    // Soonest due first: the walk stops at the first case due after the window, so it reads
    // what is overdue or due soon, not every open case.
    let mut filter = CaseFilter {
        closed: Some(false),
        limit: 100,
        order: CaseOrder::Due,
        ..CaseFilter::default()
    };
    if let Some(user) = viewer {
        filter.visible_to = Some(Visibility {
            unit_path: user.unit_path.clone(),
            user_id: user.id,
        });
    }
    if let Some(code) = unit {
        let unit = state
            .store
            .unit_by_code(code)
            .await?
            .ok_or_else(|| AppError::BadRequest(format!("`unit` = {code:?}: no such unit")))?;
        filter.unit_subtree = Some(unit.path);
    }
    let calendars = crate::calendar::OrgCalendars::load(state).await?;
    let mut body = DeadlinesBody {
        overdue: Vec::new(),
        due_soon: Vec::new(),
        scanned: 0,
        complete: true,
    };
    'pages: loop {
        let page = state.store.list_cases(&filter).await?;
        for record in &page.items {
            if record.due_at.is_none_or(|due| due > now + within) {
                break 'pages;
            }
            body.scanned += 1;
            for (overdue, row) in deadline_rows(state, &calendars, record, now, within).await? {
                if overdue {
                    body.overdue.push(row);
                } else {
                    body.due_soon.push(row);
                }
            }
        }
        match page.next_cursor {
            Some(cursor) if body.scanned < DEADLINE_SCAN_LIMIT => {
                filter.after = Some(cursor);
                filter.after_due = page.items.last().and_then(|c| c.due_at);
            }
            Some(_) => {
                body.complete = false;
                break;
            }
            None => break,
        }
    }
    body.overdue.sort_by(|a, b| a.due.cmp(&b.due));
    body.due_soon.sort_by(|a, b| a.due.cmp(&b.due));
    Ok(body)
}

/// The running clocks of one case that are overdue at `now` or due within `within` after it,
/// each with whether it is overdue.
pub async fn deadline_rows(
    state: &AppState,
    calendars: &crate::calendar::OrgCalendars,
    record: &CaseRecord,
    now: jiff::Timestamp,
    within: jiff::SignedDuration,
) -> Result<Vec<(bool, DeadlineRow)>, AppError> {
    let case = case_of(record)?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let remaining = deadlines::remaining(&case.clocks, &calendars.view(&case.owner_unit), now);
    let mut out = Vec::new();
    for clock in case
        .clocks
        .values()
        .filter(|c| c.status == ClockStatus::Running)
    {
        let overdue = clock.is_overdue(now);
        if !overdue && clock.deadline.due > now + within {
            continue;
        }
        let rule = policy
            .kind(&case.kind)
            .and_then(|k| k.clocks.iter().find(|r| r.id == clock.id));
        out.push((
            overdue,
            DeadlineRow {
                number: case.number.clone(),
                state: case.state.clone(),
                owner_unit: case.owner_unit.code.clone(),
                first_contact: case.first_contact.login.clone(),
                clock: clock.id.clone(),
                label: rule.map_or_else(|| clock.id.clone(), |r| r.label.clone()),
                clause: rule.map(|r| r.clause.clone()).unwrap_or_default(),
                due: timestamp(clock.deadline.due),
                due_day: clock
                    .deadline
                    .duration
                    .unit()
                    .is_day_based()
                    .then(|| clock.deadline.due_day().to_string()),
                remaining_seconds: remaining.get(&clock.id).map(|d| d.as_secs()),
                provisional: clock.deadline.provisional,
            },
        ));
    }
    Ok(out)
}

/// `GET /api/v1/calendar/alerts`: years whose official holiday notice is missing (from
/// 1 October for the next year), and the calendar version in use.
pub async fn calendar_alerts(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> axum::Json<Value> {
    let today = state
        .clock
        .now()
        .to_zoned_datetime(manyi_core::china_tz())
        .date();
    let alerts: Vec<Value> = state
        .calendar
        .gap_alerts(today)
        .iter()
        .map(|a| serde_json::json!({"year": a.year, "message": a.to_string()}))
        .collect();
    axum::Json(serde_json::json!({
        "calendar_version": state.calendar.version(),
        "covered_years": state.calendar.covered_years(),
        "alerts": alerts,
    }))
}

/// `POST /api/v1/calendar/files?name=2027.json` (admin): imports an official holiday notice
/// (holiday-cn JSON body), then rebuilds the deadlines of open cases. A bad file is refused
/// with 422 naming the file and the entry; nothing is imported.
pub async fn import_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    crate::json::RawBody(body): crate::json::RawBody,
) -> Result<axum::Json<crate::calendar::ImportReport>, AppError> {
    user.require_admin()?;
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let report = crate::calendar::import(&state, vec![(q.name, body.to_vec())]).await?;
    Ok(axum::Json(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The file name, e.g. `2027.json` (it names the file in errors).
    pub name: String,
}
