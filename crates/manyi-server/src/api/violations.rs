//! The shell of `manyi_core::violations` and `manyi_core::soft`, and a case's violations.
//!
//! - After a transition is decided, [`extend_update`] adds to the same store update: the event
//!   logging a soft rule's override (before the transition), the notice to the customer of a
//!   complaint judged invalid, and the violations closing the case records (upheld complaints,
//!   record gaps) with their penalty proposals — stacked per CLAUSES.md A22.
//! - After a case is registered, [`record_repeat`] records a repeat complaint on the open case
//!   it repeats (its own transaction: the new case stands whatever happens to the old one),
//!   found through the index of repeat keys; [`catch_up_repeats`] finishes the ones a crash
//!   interrupted.
//! - When a recused person's attempt is refused, [`log_recusal`] appends it to the case's log
//!   and the ledger; the case itself does not move.
//! - `GET /api/v1/cases/{number}/violations` ([`case_violations`]): the case's violations with
//!   their penalties, and its notices.

use manyi_core::case::{self, Case, Change, Event, PersonRef};
use manyi_core::deadlines::Violation;
use manyi_core::engine::{Directory, Refusal, RefusalReason, TransitionInput};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::penalties::{self, Existing};
use manyi_core::policy::Policy;
use manyi_core::violations;
use manyi_store::{
    CaseFilter, CaseRecord, CaseUpdate, LedgerFilter, NewPenalty, NewViolation, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::api::cases::{case_of, event_of, snapshot_of, timestamp, update_for};
use crate::api::penalties::{PenaltyBody, ViolationBody};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::ApiPath;

/// `"override": {"reason": "…"}` in a transition request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    pub reason: String,
}

/// Units, and the role holders of `units` (the owning unit and its parent, for liability).
pub(crate) async fn role_directory(state: &AppState, units: &[i64]) -> Result<Directory, AppError> {
    let mut directory = Directory::default();
    for u in state.store.list_units().await? {
        directory.add_unit(UnitRef::from_path(
            u.id, &u.code, &u.name, &u.level, &u.path,
        ));
    }
    for user in state.store.list_users().await? {
        if !units.contains(&user.unit_id) {
            continue;
        }
        let person = PersonRef {
            id: user.id,
            login: user.login.clone(),
            name: user.name.clone(),
        };
        for role in &user.roles {
            directory.add_member(user.unit_id, role, person.clone());
        }
    }
    Ok(directory)
}

/// The penalty proposals `violation` (recorded on `case`, before the event) gives under
/// `policy`: liability by role falls on the unit `penalties::answering_unit` names (the
/// requested or ordered unit for assistance and disputes, the person's unit for conduct) and
/// its parent. The caller stacks them (`stack_rows`) with the rest of its update.
pub(crate) async fn proposals_for(
    state: &AppState,
    policy: &Policy,
    case: &Case,
    violation: &Violation,
) -> Result<Vec<NewPenalty>, AppError> {
    if !policy
        .penalties
        .iter()
        .any(|r| r.violation.matches(violation))
    {
        return Ok(Vec::new());
    }
    let unit = penalties::answering_unit(case, violation);
    let mut units = vec![unit.id];
    units.extend(unit.parent());
    let directory = role_directory(state, &units).await?;
    Ok(
        penalties::propose(&policy.penalties, case, violation, &directory, 1)
            .into_iter()
            .map(|p| NewPenalty {
                rule: p.rule,
                clause: p.clause,
                person_id: p.person.id,
                min_fen: p.min_fen,
                max_fen: p.max_fen,
                items: i64::from(p.items),
                discipline_referral: p.discipline_referral,
                requires_substantiation: p.requires_substantiation,
            })
            .collect(),
    )
}

fn units_of(case: &Case) -> Vec<i64> {
    let mut units = vec![case.owner_unit.id];
    units.extend(case.owner_unit.parent());
    units
}

/// The ledger rows for `found` — (index of the recording event in the update, violation) —
/// with their penalty proposals under `policy`, stacked (A22) against what the ledger already
/// holds for the case. `case` is where liability is resolved.
async fn ledger_rows(
    state: &AppState,
    policy: &Policy,
    case_id: i64,
    case: &Case,
    found: &[(usize, Violation)],
    directory: &Directory,
    at: jiff::Timestamp,
) -> Result<Vec<NewViolation>, AppError> {
    let mut proposals = Vec::new();
    for (i, (_, v)) in found.iter().enumerate() {
        for p in penalties::propose(&policy.penalties, case, v, directory, 1) {
            proposals.push((i, p));
        }
    }
    let existing: Vec<Existing> = if proposals.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .list_penalties(&LedgerFilter {
                case_id: Some(case_id),
                ..LedgerFilter::default()
            })
            .await?
            .into_iter()
            .map(|p| Existing {
                rule: p.rule,
                person_id: p.person_id,
                max_fen: p.max_fen,
            })
            .collect()
    };
    let proposals = penalties::apply_stacking(&policy.penalties, proposals, &existing);
    let mut rows = Vec::new();
    for (i, (event_index, v)) in found.iter().enumerate() {
        let penalties = proposals
            .iter()
            .filter(|(j, _)| *j == i)
            .cloned()
            .map(|(_, p)| NewPenalty {
                rule: p.rule,
                clause: p.clause,
                person_id: p.person.id,
                min_fen: p.min_fen,
                max_fen: p.max_fen,
                items: i64::from(p.items),
                discipline_referral: p.discipline_referral,
                requires_substantiation: p.requires_substantiation,
            })
            .collect();
        rows.push(NewViolation {
            event_index: *event_index,
            kind: v.kind.clone(),
            rule: v.rule.clone(),
            clause: v.clause.clone(),
            occurred_at: at,
            due_at: None,
            unit_id: case.owner_unit.id,
            person_ids: v.liable_persons.iter().map(|p| p.id).collect(),
            detail: serde_json::to_value(v)
                .map_err(|e| AppError::Internal(format!("violation not serialisable: {e}")))?,
            penalties,
        });
    }
    Ok(rows)
}

/// Applies CLAUSES.md A22 to ledger rows built elsewhere (a clock breach's, by the scheduler):
/// of the rules in one `stacking = "highest"` group, one person keeps only the highest tier on
/// the case, counting what the ledger already holds for it.
pub async fn stack_rows(
    state: &AppState,
    policy: &Policy,
    case_id: i64,
    rows: &mut [NewViolation],
) -> Result<(), AppError> {
    let grouped = policy
        .penalties
        .iter()
        .any(|r| matches!(r.stacking, penalties::Stacking::Highest { .. }));
    if !grouped || rows.iter().all(|r| r.penalties.is_empty()) {
        return Ok(());
    }
    let existing: Vec<Existing> = state
        .store
        .list_penalties(&LedgerFilter {
            case_id: Some(case_id),
            ..LedgerFilter::default()
        })
        .await?
        .into_iter()
        .map(|p| Existing {
            rule: p.rule,
            person_id: p.person_id,
            max_fen: p.max_fen,
        })
        .collect();
    // Only the rule, the person and the maximum matter to stacking.
    let mut batch = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for (j, p) in row.penalties.iter().enumerate() {
            batch.push((
                i * 10_000 + j,
                penalties::Proposal {
                    rule: p.rule.clone(),
                    clause: p.clause.clone(),
                    person: PersonRef {
                        id: p.person_id,
                        login: String::new(),
                        name: String::new(),
                    },
                    min_fen: p.min_fen,
                    max_fen: p.max_fen,
                    items: 1,
                    discipline_referral: p.discipline_referral,
                    requires_substantiation: p.requires_substantiation,
                },
            ));
        }
    }
    let kept: Vec<usize> = penalties::apply_stacking(&policy.penalties, batch, &existing)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for (i, row) in rows.iter_mut().enumerate() {
        let mut j = 0;
        row.penalties.retain(|_| {
            let keep = kept.contains(&(i * 10_000 + j));
            j += 1;
            keep
        });
    }
    Ok(())
}

fn push_event(next: Case, update: &mut CaseUpdate, event: &Event) -> Result<Case, AppError> {
    let number = next.number.clone();
    let after = case::apply(&number, Some(next), event)
        .map_err(|e| AppError::Internal(format!("a decided event does not apply: {e}")))?;
    update.events.push(event_of(event)?);
    update.snapshot = snapshot_of(&after)?;
    Ok(after)
}

/// Adds to `update` (which holds the transition from `before` to `next`) the override event,
/// the customer notice and the violations closing records. Returns the case after them all.
pub async fn extend_update(
    state: &AppState,
    policy: &Policy,
    before: &Case,
    mut next: Case,
    update: &mut CaseUpdate,
    overridden: Option<Event>,
) -> Result<Case, AppError> {
    let now = update.updated_at;
    if let Some(ov) = overridden {
        // The override comes before the transition it let through.
        let number = next.number.clone();
        next = case::apply(&number, Some(next), &ov)
            .map_err(|e| AppError::Internal(format!("an override does not apply: {e}")))?;
        update.events.insert(0, event_of(&ov)?);
        update.snapshot = snapshot_of(&next)?;
    }
    let Some(kind) = policy.kind(&next.kind) else {
        return Ok(next);
    };
    if let Some(notice) = violations::invalid_notice(kind, before, &next, now) {
        next = push_event(next, update, &notice)?;
    }
    if before.closed || !next.closed {
        return Ok(next);
    }
    let directory = role_directory(state, &units_of(&next)).await?;
    let mut found = violations::on_close(policy, before, &next, &directory, now);
    // A case closed again after a reopen does not record the same violation twice.
    if !found.is_empty() {
        let recorded = state
            .store
            .list_violations(&LedgerFilter {
                case_id: Some(update.id),
                ..LedgerFilter::default()
            })
            .await?;
        found.retain(|v| {
            !recorded
                .iter()
                .any(|r| r.kind == v.kind && r.rule == v.rule)
        });
    }
    let Some(event) = violations::recorded(found.clone(), now) else {
        return Ok(next);
    };
    next = push_event(next, update, &event)?;
    let index = update.events.len() - 1;
    let found: Vec<(usize, Violation)> = found.into_iter().map(|v| (index, v)).collect();
    let rows = ledger_rows(state, policy, update.id, &next, &found, &directory, now).await?;
    update.violations.extend(rows);
    Ok(next)
}

/// How often [`write_on_case`] decides again after a version conflict.
const WRITE_ATTEMPTS: usize = 10;

/// True when the case's log already holds a repeat complaint made by `new_number`.
async fn repeat_recorded(
    state: &AppState,
    case_id: i64,
    new_number: &str,
) -> Result<bool, AppError> {
    Ok(state
        .store
        .case_events(case_id)
        .await?
        .into_iter()
        .filter(|e| e.action == "repeat_complaint")
        .filter_map(|e| serde_json::from_value::<Event>(e.payload).ok())
        .any(|e| {
            matches!(&e.change, Change::ViolationsRecorded { related_case: Some(n), .. }
                if n == new_number)
        }))
}

/// Writes `event` (which records violations) on the stored case `record` with its ledger rows,
/// deciding again on a version conflict. With `once_for`, nothing is written when the case's
/// log already records the repeat complaint that case number made: the log is read after the
/// case row, and the update is refused if anyone wrote the case since, so two writers of the
/// same repeat (a request and the catch-up) record it once.
async fn write_on_case(
    state: &AppState,
    number: &str,
    once_for: Option<&str>,
    make: impl Fn(&Case) -> Option<Event>,
) -> Result<(), AppError> {
    // Each conflict means another writer got through; repeats of one busy case registered at
    // the same moment each need a turn.
    for _attempt in 0..WRITE_ATTEMPTS {
        let Some(record) = state.store.case_by_number(number).await? else {
            return Ok(());
        };
        if let Some(new_number) = once_for
            && repeat_recorded(state, record.id, new_number).await?
        {
            return Ok(());
        }
        let case = case_of(&record)?;
        let Some(event) = make(&case) else {
            return Ok(());
        };
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let now = event.at;
        let (_, mut update) = update_for(&record, &case, &event, now)?;
        if let Change::ViolationsRecorded { violations, .. } = &event.change {
            let directory = role_directory(state, &units_of(&case)).await?;
            let found: Vec<(usize, Violation)> =
                violations.iter().cloned().map(|v| (0, v)).collect();
            update.violations =
                ledger_rows(state, &policy, record.id, &case, &found, &directory, now).await?;
        }
        match state.store.update_case(update).await {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// How many open cases of a kind the repeat check examines (newest first) while the repeat
/// keys of cases stored before migration 0016 are still being backfilled.
const REPEAT_SCAN: u32 = 500;

/// jinbi-property 第七条附则: when the new case (`record`, `new`) repeats an open case of its
/// kind (the policy's `repeat_complaint` key), records the violation on that first case, then
/// removes the new case's pending marker.
///
/// The first case is the open case with the same repeat key (`manyi_core::find::repeat_key`)
/// and the lowest id below the new case's, found through the `case_find` index
/// (`Store::repeat_first`). **Why this is race-free:** creates are serialised on both
/// backends — SQLite has one writer and its group commit (`sqlite/group.rs`) runs one batch
/// at a time; on PostgreSQL every create batch of every instance first takes the advisory
/// lock `manyi:intake` (`postgres/group.rs`) and the case id is drawn after it, inside the
/// batch, so ids are handed out in commit order. When the new case is answered, every case
/// with a lower id has therefore committed, with its repeat key in the same transaction: two
/// complaints registered at the same instant each see the other only in one direction (the
/// later id sees the earlier one), so exactly one repeat is recorded between them, on the
/// earlier case. Bulk loads (`manyi gen`) take `cases` exclusively and record no repeats.
///
/// **A crash between the create's commit and this write** leaves the new case's
/// `repeat_pending` marker (written with the case): [`catch_up_repeats`] (at start-up and
/// every few minutes) finishes the work. Recording is idempotent (`write_on_case`'s
/// `once_for`), so the request and the catch-up may both run it. The marker survives updates
/// (an update replaces every other key of the case), and the catch-up checks the case as it
/// was registered: a transition that changed its key fields in between does not undo the
/// repeat it made.
pub async fn record_repeat(
    state: &AppState,
    policy: &Policy,
    record: &CaseRecord,
    new: &Case,
) -> Result<(), AppError> {
    let Some(kind) = policy.kind(&new.kind) else {
        return Ok(());
    };
    let Some(key) = manyi_core::find::repeat_key(&new.policy_id, kind, &new.fields) else {
        return Ok(());
    };
    let mut first = match state.store.repeat_first(&key, record.id).await? {
        Some(r) => Some((r.id, case_of(&r)?)),
        None => None,
    };
    if !state.store.repeat_backfill().await?.done {
        // Older cases may not have their key yet: look at the newest open ones too.
        let open = state
            .store
            .list_cases(&CaseFilter {
                kind: Some(new.kind.clone()),
                closed: Some(false),
                limit: REPEAT_SCAN,
                ..CaseFilter::default()
            })
            .await?;
        // Lowest id first: cases registered in the same instant go to the earliest.
        let mut below: Vec<(i64, Case)> = open
            .items
            .iter()
            .filter(|r| r.id < record.id)
            .filter_map(|r| Some((r.id, case_of(r).ok()?)))
            .collect();
        below.sort_by_key(|(id, _)| *id);
        let cases: Vec<Case> = below.iter().map(|(_, c)| c.clone()).collect();
        if let Some(scanned) = violations::repeat_of(kind, new, &cases)
            && let Some((id, _)) = below.iter().find(|(_, c)| c.number == scanned.number)
            && first.as_ref().is_none_or(|(f, _)| id < f)
        {
            first = Some((*id, scanned.clone()));
        }
    }
    if let Some((_, first)) = first {
        let directory = role_directory(state, &units_of(&first)).await?;
        let now = state.clock.now();
        let new_number = new.number.clone();
        let kind = kind.clone();
        write_on_case(state, &first.number, Some(&new_number), |case| {
            (!case.closed)
                .then(|| violations::repeat_event(&kind, case, &new_number, &directory, now))?
        })
        .await?;
    }
    state.store.repeat_checked(record.id).await?;
    Ok(())
}

/// How old a pending marker must be before the catch-up takes it: younger ones belong to a
/// create whose request is still finishing the work itself.
const CATCH_UP_AGE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Case `record` with the fields it was registered with (its log's `Opened` event): the
/// repeat a create made was a fact at creation, whatever a transition changed since (a
/// corrected address must not undo it, nor make a repeat the create did not make).
async fn as_registered(state: &AppState, record: &CaseRecord) -> Result<Case, AppError> {
    let mut case = case_of(record)?;
    let opened = state
        .store
        .case_events(record.id)
        .await?
        .into_iter()
        .next()
        .and_then(|e| serde_json::from_value::<Event>(e.payload).ok())
        .and_then(|e| match e.change {
            Change::Opened { fields, .. } => Some(fields),
            _ => None,
        });
    match opened {
        Some(fields) => case.fields = fields,
        // Every case's log opens with its registration; a log that does not is not ours to
        // guess from: the case as it is now.
        None => tracing::warn!(case_id = record.id, "case log does not open with `opened`"),
    }
    Ok(case)
}

/// Records the repeats of new cases whose request stopped between the create's commit and
/// [`record_repeat`] (a crash, a lost connection), oldest first; returns how many cases it
/// examined. Idempotent, and safe with several instances running it at once.
pub async fn catch_up_repeats(state: &AppState) -> Result<usize, AppError> {
    let before = state.clock.now() - CATCH_UP_AGE;
    let mut examined = 0;
    loop {
        let pending = state.store.repeat_pending(before, 100).await?;
        if pending.is_empty() {
            break;
        }
        for record in &pending {
            let case = as_registered(state, record).await?;
            let policy = state.policies.get(&state.store, record.policy_id).await?;
            record_repeat(state, &policy, record, &case).await?;
            // Also when the case no longer has a repeat key (a policy without the rule):
            // the marker must not be taken again.
            state.store.repeat_checked(record.id).await?;
        }
        examined += pending.len();
    }
    if examined > 0 {
        tracing::info!(
            cases = examined,
            "pending repeat-complaint checks caught up"
        );
    }
    Ok(examined)
}

/// 回避: when `refusal` refused the person a case is about, logs their attempt on the case
/// and in the ledger (a `recusal_attempt` violation against them). Other refusals: nothing.
pub async fn log_recusal(
    state: &AppState,
    record: &CaseRecord,
    case: &Case,
    policy: &Policy,
    actor: &Actor,
    input: &TransitionInput,
    refusal: &Refusal,
) -> Result<(), AppError> {
    if refusal.reason != RefusalReason::Recused {
        return Ok(());
    }
    let Some(kind) = policy.kind(&case.kind) else {
        return Ok(());
    };
    let is_subject = kind
        .subject_field
        .as_deref()
        .and_then(|f| case.fields.get(f))
        .and_then(Value::as_str)
        == Some(actor.login.as_str());
    if !is_subject {
        return Ok(());
    }
    let person = PersonRef {
        id: actor.id,
        login: actor.login.clone(),
        name: actor.name.clone(),
    };
    let now = state.clock.now();
    let action = input.action.clone();
    let result = write_on_case(state, &record.number, None, |c| {
        Some(violations::recusal_event(kind, c, &person, &action, now))
    })
    .await;
    if let Err(e) = &result {
        // The refusal stands either way; a lost log entry is reported, never hidden.
        tracing::error!(case = %record.number, error = ?e, "could not log a recusal attempt");
    }
    Ok(())
}

/// A notice queued on a case.
#[derive(Serialize)]
pub struct NoticeBody {
    pub seq: i64,
    pub at: String,
    pub audience: String,
    pub text: String,
    pub clause: Option<String>,
}

/// A violation with its penalties.
#[derive(Serialize)]
pub struct CaseViolationBody {
    #[serde(flatten)]
    pub violation: ViolationBody,
    pub penalties: Vec<PenaltyBody>,
}

#[derive(Serialize)]
pub struct CaseViolationsBody {
    pub case: String,
    pub violations: Vec<CaseViolationBody>,
    pub notices: Vec<NoticeBody>,
}

/// What [`case_violations`] shows, for the API and the case page.
pub async fn violations_of(
    state: &AppState,
    record: &CaseRecord,
) -> Result<CaseViolationsBody, AppError> {
    let filter = LedgerFilter {
        case_id: Some(record.id),
        ..LedgerFilter::default()
    };
    let vs = state.store.list_violations(&filter).await?;
    let ps = state.store.list_penalties(&filter).await?;
    let people = crate::api::penalties::people(state).await?;
    let mut bodies: Vec<CaseViolationBody> = vs
        .into_iter()
        .map(|v| {
            let id = v.id;
            CaseViolationBody {
                violation: crate::api::penalties::violation_body(v),
                penalties: ps
                    .iter()
                    .filter(|p| p.violation_id == id)
                    .cloned()
                    .map(|p| crate::api::penalties::penalty_body(p, &people))
                    .collect(),
            }
        })
        .collect();
    bodies.sort_by_key(|b| b.violation.id);
    let notices = state
        .store
        .case_events(record.id)
        .await?
        .into_iter()
        .filter_map(|e| {
            let parsed: Event = serde_json::from_value(e.payload).ok()?;
            match parsed.change {
                Change::NoticeQueued { audience, text } => Some(NoticeBody {
                    seq: e.seq,
                    at: timestamp(e.at),
                    audience,
                    text,
                    clause: e.clause,
                }),
                _ => None,
            }
        })
        .collect();
    Ok(CaseViolationsBody {
        case: record.number.clone(),
        violations: bodies,
        notices,
    })
}

/// `GET /api/v1/cases/{number}/violations`: the case's violations (clause, liable persons and
/// units, penalties with their status) and the notices queued for the customer.
pub async fn case_violations(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
) -> Result<axum::Json<CaseViolationsBody>, AppError> {
    let record = crate::api::cases::visible_record(&state, &user.0, &number).await?;
    Ok(axum::Json(violations_of(&state, &record).await?))
}
