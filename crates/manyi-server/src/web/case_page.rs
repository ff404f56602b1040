//! `/cases/{number}` — one case: its fields, its clocks, what the user may do (each action a
//! form with the fields it needs), and its timeline.
//!
//! The case is read through the API's `show` (so a case outside the user's jurisdiction
//! answers 404, existence not revealed) and acted on through `transition_as`; a refusal is
//! shown with the clause it comes from, with what the user typed kept in the action's form.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use manyi_core::engine::{FieldError, RefusalReason, TransitionInput};
use manyi_core::policy::{CaseKind, FieldType};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::forms::{self, Choice, Input, Typed};
use super::i18n::{Lang, tr};
use super::session::{CsrfForm, Ctx, WebUser};
use super::templates::{WebError, percent_encode, redirect, render_status, s};
use super::view::{self, PolicyLookup};
use crate::AppState;
use crate::api::cases::{CaseBody, EventBody, show};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::ApiPath;

#[derive(Deserialize, Default)]
pub struct CaseQuery {
    created: Option<String>,
    replayed: Option<String>,
    done: Option<String>,
    noted: Option<String>,
    uploaded: Option<String>,
    conduct: Option<String>,
}

/// A refusal as the page shows it.
#[derive(Serialize, Default)]
pub(super) struct RefusalView {
    pub(super) action: String,
    pub(super) message: String,
    pub(super) clause: Option<String>,
    pub(super) errors: Vec<String>,
}

impl RefusalView {
    /// As the page shows it: the block names the clause once, beside its heading, so the
    /// `CLAUSE: ` the engine puts before its messages comes off the message.
    pub(super) fn shown(mut self) -> RefusalView {
        self.message = without_clause(&self.message, self.clause.as_deref()).to_owned();
        self
    }
}

/// A refusal's message without the `CLAUSE: ` the engine puts first (`manyi_core::engine::
/// Refusal`), for places that show the clause beside it already.
pub(super) fn without_clause<'a>(message: &'a str, clause: Option<&str>) -> &'a str {
    clause
        .and_then(|c| message.strip_prefix(c))
        .and_then(|m| m.strip_prefix(": ").or_else(|| m.strip_prefix("：")))
        .unwrap_or(message)
}

/// An action the user may take, as a form.
#[derive(Serialize)]
struct ActionForm {
    action: String,
    label: String,
    to: String,
    clause: String,
    inputs: Vec<Input>,
    note: String,
    /// Open (after a refusal of this action).
    open: bool,
    /// A soft rule (原则上): the form offers an override reason.
    soft: bool,
}

#[derive(Serialize)]
struct FieldView {
    label: String,
    value: String,
    personal: bool,
    long: bool,
}

#[derive(Serialize)]
struct EventView {
    seq: i64,
    at: String,
    who: String,
    what: String,
    clause: Option<String>,
    from: Option<String>,
    to: Option<String>,
    changes: Vec<ChangeView>,
    note: Option<String>,
    system: bool,
    breach: bool,
}

#[derive(Serialize)]
struct ChangeView {
    label: String,
    before: String,
    after: String,
}

/// `GET /cases/{number}`.
pub async fn show_page(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
    Query(q): Query<CaseQuery>,
) -> Result<Response, WebError> {
    let notice = if q.created.is_some() {
        Some(super::i18n::tr_with(
            ctx.lang,
            "case.created",
            &[("number", &number)],
        ))
    } else if q.noted.is_some() {
        Some(tr(ctx.lang, "notes.added").to_owned())
    } else if let Some(name) = &q.uploaded {
        Some(super::i18n::tr_with(
            ctx.lang,
            "attachments.uploaded",
            &[("name", name)],
        ))
    } else if q.conduct.is_some() {
        Some(tr(ctx.lang, "conduct.recorded").to_owned())
    } else if q.replayed.is_some() {
        Some(tr(ctx.lang, "case.replayed").to_owned())
    } else {
        q.done.as_ref().map(|a| a.to_owned())
    };
    page(
        &ctx,
        &user,
        &state,
        &number,
        PageState {
            notice,
            done_action: q.done,
            ..PageState::default()
        },
    )
    .await
}

#[derive(Default)]
pub(super) struct PageState {
    pub(super) notice: Option<String>,
    pub(super) done_action: Option<String>,
    pub(super) refusal: Option<RefusalView>,
    /// The action whose form was submitted, with what was typed and the field errors.
    pub(super) attempt: Option<(String, Typed, HashMap<String, String>, String)>,
    pub(super) status: Option<StatusCode>,
    /// A note that was not written: what was typed and why (shown beside the note field).
    pub(super) note_attempt: Option<(String, String)>,
    /// Why an upload was refused (shown beside the file field).
    pub(super) file_error: Option<String>,
    /// A conduct recording that was refused (`web::conduct`).
    pub(super) conduct_attempt: Option<super::conduct::ConductAttempt>,
}

pub(super) async fn page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    number: &str,
    mut ps: PageState,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let Json(case) = crate::api::cases::show_via(
        State(state.clone()),
        CurrentUser(user.user.clone()),
        ApiPath(number.to_owned()),
        crate::api::archive::Interface::Web,
    )
    .await?;
    let Json(log) = crate::api::cases::events_via(
        State(state.clone()),
        CurrentUser(user.user.clone()),
        ApiPath(number.to_owned()),
        crate::api::archive::Interface::Web,
    )
    .await?;
    let mut policies = PolicyLookup::new(state);
    let (policy, kind_index) = policies.of_case(&case).await?;
    let kind = kind_index.map(|i| &policy.kinds[i]);

    // "Done: <action label>" after a successful action.
    if let (Some(action), Some(kind)) = (&ps.done_action, kind) {
        let label = kind.transition(action).map_or_else(
            || action.clone(),
            |t| lang.pick(&t.label, t.label_en.as_deref()).to_owned(),
        );
        ps.notice = Some(super::i18n::tr_with(
            lang,
            "case.done",
            &[("action", &label)],
        ));
    }

    // Person fields hold logins; people read names.
    let has_person = kind.is_some_and(|k| {
        k.fields
            .iter()
            .any(|f| f.field_type == FieldType::Person && case.fields.contains_key(&f.id))
    });
    let names: HashMap<String, String> = if has_person {
        state
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.login, u.name))
            .collect()
    } else {
        HashMap::new()
    };
    let fields: Vec<FieldView> = match kind {
        Some(kind) => kind
            .fields
            .iter()
            .filter_map(|f| {
                let v = case.fields.get(&f.id)?;
                let mut value = view::display_value(Some(f), v);
                if f.field_type == FieldType::Person
                    && let Some(name) = names.get(&value)
                {
                    value = format!("{name}（{value}）");
                }
                Some(FieldView {
                    label: view::field_label(f, lang),
                    value,
                    personal: f.personal,
                    long: matches!(f.field_type, FieldType::LongText { .. }),
                })
            })
            .collect(),
        None => case
            .fields
            .iter()
            .map(|(k, v)| FieldView {
                label: k.clone(),
                value: view::display_value(None, v),
                personal: false,
                long: false,
            })
            .collect(),
    };
    let clocks: Vec<view::ClockView> = case
        .clocks
        .iter()
        .map(|c| view::clock_view(c, lang))
        .collect();
    let actions = match kind {
        Some(kind) => action_forms(state, &case, kind, &ps, lang).await?,
        None => Vec::new(),
    };
    let timeline: Vec<EventView> = log
        .iter()
        .rev()
        .map(|e| event_view(e, kind, lang))
        .collect();
    let (violations, notices) =
        super::violations_view::for_case(state, &user.user, number, lang).await?;
    let attachments = super::notes::attachment_views(state, &user.user, number, lang).await?;
    let (note_typed, note_error) = ps.note_attempt.take().unwrap_or_default();
    // An archived case is read-only: recording conduct on it is refused (409, the archive's
    // clause), so the form is not offered there. A refused attempt still says why at the top.
    let attempt = ps.conduct_attempt.take();
    let conduct = if case.archive.is_none() {
        super::conduct::form(state, &user.user, &policy, attempt, lang).await?
    } else {
        None
    };
    let owner_level = policy.level(&case.owner_unit.level).map_or_else(
        || case.owner_unit.level.clone(),
        |l| lang.pick(&l.label, l.label_en.as_deref()).to_owned(),
    );
    let page = context! {
        number => case.number.clone(),
        kind_label => view::kind_label(kind, &case.kind, lang),
        state_label => view::state_label(kind, &case.state, lang),
        closed => case.closed,
        channel => view::channel_label(&case.channel, lang),
        owner_unit => case.owner_unit.name.clone(),
        owner_level,
        first_contact => case.first_contact.name.clone(),
        assignee => case.assignee.as_ref().map(|a| a.name.clone()),
        created_at => view::local_time(&case.created_at),
        updated_at => view::local_time(&case.updated_at),
        policy => format!("{} v{}", case.policy.id, case.policy.version),
        policy_title => policy.title.clone(),
        fields => s(fields),
        clocks => s(clocks),
        actions => s(actions),
        timeline => s(timeline),
        violations => s(violations),
        notices => s(notices),
        archive => s(&case.archive),
        assists => s(&case.assists),
        disputes => s(&case.disputes),
        notice => ps.notice,
        refusal => s(ps.refusal.map(RefusalView::shown)),
        callback => s(&case.callback),
        callback_channels => s(super::callbacks::channel_choices(case.callback.as_ref(), lang)),
        callback_parties => s(super::callbacks::parties(case.callback.as_ref())),
        attachments => s(attachments),
        conduct => s(conduct),
        note_typed,
        note_error,
        file_error => ps.file_error,
        attachment_limit => view::file_size(state.config.attachment_limit as i64),
    };
    render_status(
        ps.status.unwrap_or(StatusCode::OK),
        ctx,
        Some(user),
        "case.html",
        page,
    )
}

/// The forms of the actions the user may take now.
async fn action_forms(
    state: &AppState,
    case: &CaseBody,
    kind: &CaseKind,
    ps: &PageState,
    lang: Lang,
) -> Result<Vec<ActionForm>, AppError> {
    let current = Typed::from_case(kind, &case.fields);
    let no_errors = HashMap::new();
    let mut people: Option<Vec<Choice>> = None;
    let mut units: Option<Vec<Choice>> = None;
    let mut out = Vec::new();
    for a in &case.actions {
        let Some(t) = kind.transition(&a.action) else {
            continue;
        };
        let mut ids: Vec<&str> = t.requires.iter().map(String::as_str).collect();
        if let Some(target) = kind.state(t.target(&case.state)) {
            for id in &target.requires {
                if !ids.contains(&id.as_str()) {
                    ids.push(id);
                }
            }
        }
        let attempt = ps
            .attempt
            .as_ref()
            .filter(|(action, ..)| *action == a.action);
        let (typed, errors, note) = match attempt {
            Some((_, typed, errors, note)) => (typed, errors, note.clone()),
            None => (&current, &no_errors, String::new()),
        };
        let mut inputs = Vec::new();
        for id in ids {
            let Some(field) = kind.field(id) else {
                continue;
            };
            let mut input = forms::input(field, true, typed, errors, lang);
            match field.field_type {
                FieldType::Person => {
                    if people.is_none() {
                        people = Some(people_near(state, case).await?);
                    }
                    input.suggestions = people.clone().unwrap_or_default();
                }
                FieldType::Unit => {
                    if units.is_none() {
                        units = Some(
                            state
                                .store
                                .list_units()
                                .await?
                                .into_iter()
                                .map(|u| Choice {
                                    code: u.code,
                                    label: u.name,
                                })
                                .collect(),
                        );
                    }
                    input.suggestions = units.clone().unwrap_or_default();
                }
                _ => {}
            }
            inputs.push(input);
        }
        out.push(ActionForm {
            action: a.action.clone(),
            label: lang.pick(&t.label, t.label_en.as_deref()).to_owned(),
            to: view::state_label(Some(kind), &a.to, lang),
            clause: a.clause.clone(),
            inputs,
            note,
            open: attempt.is_some(),
            soft: t.soft.is_some(),
        });
    }
    Ok(out)
}

/// People of the case's owning unit and the units below it (suggestions for person fields,
/// e.g. the handler a case is dispatched to).
async fn people_near(state: &AppState, case: &CaseBody) -> Result<Vec<Choice>, AppError> {
    let Some(unit) = state.store.unit_by_code(&case.owner_unit.code).await? else {
        return Ok(Vec::new());
    };
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.unit_path.starts_with(&unit.path))
        .map(|u| Choice {
            code: u.login,
            label: u.name,
        })
        .collect())
}

fn event_view(e: &EventBody, kind: Option<&CaseKind>, lang: Lang) -> EventView {
    let change = &e.change;
    let kind_of_change = change.get("type").and_then(Value::as_str).unwrap_or("");
    let system = e
        .actor
        .as_ref()
        .is_none_or(|a| a.login.is_empty() || a.login == "system");
    let what = match e.action.as_str() {
        "open" => tr(lang, "event.open").to_owned(),
        action => match kind.and_then(|k| k.transition(action)) {
            Some(t) => lang.pick(&t.label, t.label_en.as_deref()).to_owned(),
            None => {
                let key = format!("event.{kind_of_change}");
                let text = tr(lang, &key);
                if text == key {
                    action.to_owned()
                } else {
                    text.to_owned()
                }
            }
        },
    };
    let field = |id: &str| kind.and_then(|k| k.field(id));
    let mut changes = Vec::new();
    if let Some(items) = change.get("fields").and_then(Value::as_array) {
        for item in items {
            let id = item.get("field").and_then(Value::as_str).unwrap_or("");
            let f = field(id);
            let show = |v: Option<&Value>| match v {
                None | Some(Value::Null) => tr(lang, "event.cleared").to_owned(),
                Some(v) => view::display_value(f, v),
            };
            changes.push(ChangeView {
                label: f.map_or_else(|| id.to_owned(), |f| view::field_label(f, lang)),
                before: match item.get("before") {
                    None | Some(Value::Null) => String::new(),
                    v => show(v),
                },
                after: show(item.get("after")),
            });
        }
    }
    let name_of = |v: Option<&Value>| {
        v.and_then(|v| v.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("—")
            .to_owned()
    };
    if let Some(moved) = change
        .get("owner_unit")
        .filter(|_| kind_of_change != "opened")
    {
        changes.push(ChangeView {
            label: tr(lang, "event.owner_unit").to_owned(),
            before: name_of(moved.get("before")),
            after: name_of(moved.get("after")),
        });
    }
    if let Some(moved) = change
        .get("assignee")
        .filter(|_| kind_of_change != "opened")
    {
        changes.push(ChangeView {
            label: tr(lang, "event.assignee").to_owned(),
            before: name_of(moved.get("before")),
            after: name_of(moved.get("after")),
        });
    }
    if let Some(clock) = change.get("clock").and_then(Value::as_str) {
        let label = kind
            .and_then(|k| k.clocks.iter().find(|c| c.id == clock))
            .map_or_else(|| clock.to_owned(), |c| c.label.clone());
        changes.push(ChangeView {
            label: tr(lang, "clock.due").to_owned(),
            before: label,
            after: change
                .get("due")
                .and_then(Value::as_str)
                .map(view::local_time)
                .unwrap_or_default(),
        });
    }
    let state_label = |key: &str| {
        change
            .get(key)
            .and_then(Value::as_str)
            .map(|s| view::state_label(kind, s, lang))
    };
    EventView {
        seq: e.seq,
        at: view::local_time(&e.at),
        who: if system {
            tr(lang, "case.system").to_owned()
        } else {
            e.actor.as_ref().map(|a| a.name.clone()).unwrap_or_default()
        },
        what,
        clause: e.clause.clone(),
        from: state_label("from"),
        to: state_label("to").or_else(|| {
            (kind_of_change == "opened")
                .then(|| state_label("state"))
                .flatten()
        }),
        changes,
        // A soft rule's override shows its reason as the note.
        note: change
            .get("note")
            .or_else(|| change.get("reason"))
            // What a recorded conduct violation says happened.
            .or_else(|| change.get("description"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        system,
        breach: kind_of_change == "clock_breached" || kind_of_change == "violations_recorded",
    }
}

/// `POST /cases/{number}/actions`: takes the action of the submitted form.
pub async fn act(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let action = form.text("action");
    let note = form.text("note");
    // 原则上: a soft rule is overridden only when a reason is typed (crate::api::violations).
    let override_reason = form.text("override_reason");
    let override_rule = (!override_reason.trim().is_empty()).then(|| manyi_core::soft::Override {
        reason: override_reason.clone(),
    });
    // The case's kind, to read the fields of the form; `show` keeps other jurisdictions out.
    let Json(case) = show(
        State(state.clone()),
        CurrentUser(user.user.clone()),
        ApiPath(number.clone()),
    )
    .await?;
    let mut policies = PolicyLookup::new(&state);
    let (policy, kind_index) = policies.of_case(&case).await?;
    let Some(kind) = kind_index.map(|i| &policy.kinds[i]) else {
        return Err(
            AppError::Internal(format!("case {number} has a kind its policy lacks")).into(),
        );
    };
    let all: Vec<&str> = kind.fields.iter().map(|f| f.id.as_str()).collect();
    let (fields, typed) = forms::fields_from_form(kind, &form, &all);
    let input = TransitionInput {
        action: action.clone(),
        fields,
        note: (!note.is_empty()).then(|| note.clone()),
    };
    match crate::api::cases::transition_with(
        &state,
        &user.user,
        &number,
        &input,
        override_rule.as_ref(),
    )
    .await
    {
        Ok((case, ..)) => Ok(redirect(&format!(
            "/cases/{}?done={}",
            percent_encode(&case.number),
            percent_encode(&action)
        ))),
        Err(AppError::Refused(r)) => {
            let lang = ctx.lang;
            let shown: Vec<&str> = typed.0.keys().map(String::as_str).collect();
            let (by_field, mut other) = forms::errors_by_field(&r.fields, &all, lang);
            // A required field without an input in this form still needs saying.
            other.extend(
                r.fields
                    .iter()
                    .filter(|e| {
                        !shown.contains(&e.field.as_str()) && !all.contains(&e.field.as_str())
                    })
                    .map(|e: &FieldError| lang.message(&e.message_zh, &e.message).to_owned()),
            );
            let status = match r.reason {
                RefusalReason::RoleNotAllowed | RefusalReason::OutsideJurisdiction => {
                    StatusCode::FORBIDDEN
                }
                RefusalReason::InvalidFields => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            let ps = PageState {
                refusal: Some(RefusalView {
                    action: action.clone(),
                    message: lang.message(&r.message_zh, &r.message).to_owned(),
                    clause: r.clause.clone(),
                    errors: other,
                }),
                attempt: Some((action, typed, by_field, note)),
                status: Some(status),
                ..PageState::default()
            };
            page(&ctx, &user, &state, &number, ps).await
        }
        Err(AppError::Conflict(_)) => {
            let ps = PageState {
                refusal: Some(RefusalView {
                    action: action.clone(),
                    message: tr(ctx.lang, "case.conflict").to_owned(),
                    clause: None,
                    errors: Vec::new(),
                }),
                attempt: Some((action, typed, HashMap::new(), note)),
                status: Some(StatusCode::CONFLICT),
                ..PageState::default()
            };
            page(&ctx, &user, &state, &number, ps).await
        }
        Err(e) => Err(e.into()),
    }
}
