//! The customers' pages, without login: submit a complaint (`/public/complaint`) and follow a
//! case by its number and the last four digits of the phone (`/public/track`).
//!
//! **Intake user.** A complaint from the web is registered as the user with the well-known
//! login [`INTAKE_LOGIN`] (`web.intake`): that user becomes the first-contact owner and their
//! unit owns the case, under the `default-complaint` policy, channel `web`. An administrator
//! creates the user (e.g. in the service-management department, with a role that may register
//! complaints, such as `frontline` or `service_dept`); without it the page says online
//! complaints are not available.
//!
//! **Attachment.** The form may carry one optional file (`multipart/form-data`, field `file`;
//! a plain urlencoded form still works). It passes the checks of the staff upload (the
//! attachment size limit, an allowed type whose bytes match it: `api::notes::check_file`)
//! *before* anything is registered: a refused file is said beside the field, with the values
//! typed kept, and no case is opened. An accepted file is stored with the new case, with
//! `uploaded_by` null (the customer). A body over the route's limit (the attachment limit plus
//! 64 KiB) cannot be read: the form comes back empty, with the size error beside the field.
//!
//! **Rate limits.** Per client address and per phone number, counted in the database
//! (`Store::rate_limit_hit`, fixed windows), so that several instances share one count and a
//! restart forgets nothing. Phone numbers are kept there only as a hash. Every submission with
//! a phone counts, valid or not (a flood of bad forms is a flood too). Fixed windows let a
//! client send up to twice the limit across a window boundary; the limits are set with that
//! in mind. The client address needs the server to be run with connection info
//! (`into_make_service_with_connect_info`); without it only the per-phone limit applies.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use manyi_core::policy::FieldType;
use manyi_core::values::PhoneNumber;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::forms::{self, Input, Typed};
use super::i18n::{Lang, tr, tr_with};
use super::register::{Outcome, active_kind, register_from_form};
use super::session::{CSRF_FIELD, CsrfForm, Ctx, FormData, check_csrf};
use super::templates::{WebError, percent_encode, redirect, render_status, s};
use super::view;
use crate::AppState;
use crate::api::cases::case_view;
use crate::api::notes::{FileProblem, Upload, check_file, clean_filename, read_form};
use crate::auth::random_token;
use crate::error::AppError;

/// The login of the user that registers the customers' complaints.
pub const INTAKE_LOGIN: &str = "web.intake";
/// The policy and kind of the customers' complaints.
const POLICY: &str = "default-complaint";
const KIND: &str = "complaint";
const CHANNEL: &str = "web";

/// Complaints per client address per hour.
const PER_ADDRESS_PER_HOUR: usize = 10;
/// Complaints per phone number per day.
const PER_PHONE_PER_DAY: usize = 3;
/// Look-ups per client address per hour (the last four digits are a small secret).
const TRACK_PER_ADDRESS_PER_HOUR: usize = 30;

/// Counts one hit of `bucket` in the current fixed `window` (shared by every instance, in
/// the database); false when that makes more than `max`.
pub async fn allow(
    state: &AppState,
    bucket: &str,
    max: usize,
    window: SignedDuration,
) -> Result<bool, AppError> {
    let now = state.clock.now();
    let (start, forget_before) = window_of(now, window);
    let hits = state
        .store
        .rate_limit_hit(bucket, start, forget_before)
        .await?;
    Ok(usize::try_from(hits).unwrap_or(usize::MAX) <= max)
}

/// The start of the fixed window `now` falls in, and the instant before which windows are
/// forgotten (two days: longer than any window used here).
fn window_of(now: Timestamp, window: SignedDuration) -> (Timestamp, Timestamp) {
    let size = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
    let ms = now.as_millisecond();
    let start = ms - ms.rem_euclid(size);
    let forget = start.saturating_sub(2 * 24 * 3_600_000);
    (
        Timestamp::from_millisecond(start).unwrap_or(now),
        Timestamp::from_millisecond(forget).unwrap_or(now),
    )
}

/// The client's address, when the server runs with connection info.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The complaint form's inputs: the fields the policy requires at registration.
fn public_inputs(
    kind: &manyi_core::policy::CaseKind,
    typed: &Typed,
    errors: &HashMap<String, String>,
    lang: super::i18n::Lang,
) -> Vec<Input> {
    forms::registration_fields(kind)
        .into_iter()
        .filter(|(_, required)| *required)
        .map(|(f, _)| forms::input(f, true, typed, errors, lang))
        .collect()
}

/// `GET /public/complaint`.
pub async fn complaint_form(ctx: Ctx, State(state): State<AppState>) -> Result<Response, WebError> {
    let intake = state.store.user_by_login(INTAKE_LOGIN).await?;
    let found = active_kind(&state, POLICY, KIND).await?;
    let (Some(_), Some((policy, index))) = (intake, found) else {
        return not_configured(&ctx);
    };
    let kind = &policy.kinds[index];
    let inputs = public_inputs(kind, &Typed::default(), &HashMap::new(), ctx.lang);
    render_status(
        StatusCode::OK,
        &ctx,
        None,
        "public_complaint.html",
        context! {
            inputs => s(inputs),
            policy => POLICY,
            kind => KIND,
            idem => random_token(16),
            errors => Vec::<String>::new(),
            notice => None::<&str>,
            attachment_limit => view::file_size(i64::try_from(state.config.attachment_limit).unwrap_or(i64::MAX)),
        },
    )
}

/// The posted complaint form: urlencoded, or `multipart/form-data` with an optional file. The
/// CSRF token is checked either way.
pub struct ComplaintForm {
    form: FormData,
    upload: Option<Upload>,
    /// The body was over the route's limit and could not be read.
    too_large: bool,
}

impl FromRequest<AppState> for ComplaintForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<ComplaintForm, WebError> {
        let multipart = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.trim_start().starts_with("multipart/form-data"));
        if !multipart {
            let CsrfForm(form) = CsrfForm::from_request(req, state).await?;
            return Ok(ComplaintForm {
                form,
                upload: None,
                too_large: false,
            });
        }
        let headers = req.headers().clone();
        let body = match Bytes::from_request(req, state).await {
            Ok(body) => body,
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                // Nothing of the form can be read, not even its token: nothing is done
                // with it, the empty form comes back with the size error.
                return Ok(ComplaintForm {
                    form: FormData::default(),
                    upload: None,
                    too_large: true,
                });
            }
            Err(r) => return Err(AppError::BadRequest(r.body_text()).into()),
        };
        let (fields, upload) = read_form(&headers, &body)?;
        let csrf = fields
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str());
        check_csrf(&headers, csrf)?;
        Ok(ComplaintForm {
            form: FormData(fields),
            // A file input left empty still sends an empty part.
            upload: upload.filter(|u| !u.data.is_empty()),
            too_large: false,
        })
    }
}

/// Why a file was refused, as said beside the field, and the status of the page saying it.
fn file_refusal(problem: &FileProblem, lang: Lang, limit: usize) -> (StatusCode, String) {
    match problem {
        FileProblem::TooLarge(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            tr_with(
                lang,
                "attachments.too_large",
                &[(
                    "limit",
                    &view::file_size(i64::try_from(limit).unwrap_or(i64::MAX)),
                )],
            ),
        ),
        FileProblem::Type => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            tr(lang, "attachments.bad_type").to_owned(),
        ),
        FileProblem::Empty => (
            StatusCode::UNPROCESSABLE_ENTITY,
            tr(lang, "attachments.required").to_owned(),
        ),
    }
}

fn not_configured(ctx: &Ctx) -> Result<Response, WebError> {
    render_status(
        StatusCode::SERVICE_UNAVAILABLE,
        ctx,
        None,
        "public_complaint.html",
        context! { not_configured => true },
    )
}

/// `POST /public/complaint`.
pub async fn complaint_submit(
    ctx: Ctx,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    posted: ComplaintForm,
) -> Result<Response, WebError> {
    let Some(intake) = state.store.user_by_login(INTAKE_LOGIN).await? else {
        return not_configured(&ctx);
    };
    let Some((policy, index)) = active_kind(&state, POLICY, KIND).await? else {
        return not_configured(&ctx);
    };
    let kind = &policy.kinds[index];
    let limit = state.config.attachment_limit;
    let limit_text = view::file_size(i64::try_from(limit).unwrap_or(i64::MAX));
    let ComplaintForm {
        form,
        upload,
        too_large,
    } = posted;
    if too_large {
        let (status, file_error) = file_refusal(&FileProblem::TooLarge(limit), ctx.lang, limit);
        let inputs = public_inputs(kind, &Typed::default(), &HashMap::new(), ctx.lang);
        return render_status(
            status,
            &ctx,
            None,
            "public_complaint.html",
            context! {
                inputs => s(inputs),
                policy => POLICY,
                kind => KIND,
                idem => random_token(16),
                errors => Vec::<String>::new(),
                file_error,
                attachment_limit => limit_text,
            },
        );
    }
    if let Some(ip) = addr
        && !allow(
            &state,
            &format!("complaint-ip:{ip}"),
            PER_ADDRESS_PER_HOUR,
            SignedDuration::from_hours(1),
        )
        .await?
    {
        return Err(WebError::TooMany("pub.limited.ip"));
    }
    // The phone as the engine will store it (digits only), hashed: the table of counts holds
    // no phone numbers.
    let phone_key = kind
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Phone)
        .find_map(|f| form.get(&format!("{}{}", forms::FIELD_PREFIX, f.id)))
        .and_then(|p| PhoneNumber::parse(p).ok())
        .map(|p| format!("complaint-phone:{}", crate::auth::token_hash(p.as_str())));
    if let Some(key) = &phone_key
        && !allow(
            &state,
            key,
            PER_PHONE_PER_DAY,
            SignedDuration::from_hours(24),
        )
        .await?
    {
        return Err(WebError::TooMany("pub.limited.phone"));
    }
    let required: Vec<String> = forms::registration_fields(kind)
        .into_iter()
        .filter(|(_, r)| *r)
        .map(|(f, _)| f.id.clone())
        .collect();
    let only: Vec<&str> = required.iter().map(String::as_str).collect();
    // The file is checked before anything is registered: a refused file opens no case.
    let refused = upload.as_ref().and_then(|u| {
        check_file(
            &clean_filename(&u.filename),
            u.content_type.as_deref(),
            &u.data,
            limit,
        )
        .err()
    });
    if let Some(problem) = refused {
        let (status, file_error) = file_refusal(&problem, ctx.lang, limit);
        let (_, typed) = forms::fields_from_form(kind, &form, &only);
        let inputs = public_inputs(kind, &typed, &HashMap::new(), ctx.lang);
        return render_status(
            status,
            &ctx,
            None,
            "public_complaint.html",
            context! {
                inputs => s(inputs),
                policy => POLICY,
                kind => KIND,
                idem => form.text("idem"),
                errors => Vec::<String>::new(),
                file_error,
                attachment_limit => limit_text,
            },
        );
    }
    let (outcome, typed) = register_from_form(
        &state,
        &intake,
        &policy,
        kind,
        &form,
        CHANNEL.into(),
        Some(&only),
    )
    .await?;
    let (errors, notice, idem) = match outcome {
        Outcome::Created(created) => {
            // A replayed form (the same idempotency key) got its file the first time.
            if let Some(upload) = upload.filter(|_| created.new) {
                // Checked above; a failure to store it now does not lose the complaint.
                if let Err(e) =
                    crate::api::notes::attach(&state, created.record.id, None, upload).await
                {
                    tracing::warn!(case_id = created.record.id, error = ?e, "the customer's attachment was not stored");
                }
            }
            return Ok(redirect(&format!(
                "/public/complaint/done?number={}",
                percent_encode(&created.record.number)
            )));
        }
        Outcome::Invalid(errors) => (errors, None, form.text("idem")),
        Outcome::KeyReused => (Vec::new(), Some("reg.key_reused"), random_token(16)),
    };
    let (by_field, other) = forms::errors_by_field(&errors, &only, ctx.lang);
    let inputs = public_inputs(kind, &typed, &by_field, ctx.lang);
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ctx,
        None,
        "public_complaint.html",
        context! {
            inputs => s(inputs),
            policy => POLICY,
            kind => KIND,
            idem,
            errors => other,
            error_count => errors.len(),
            notice,
            attachment_limit => limit_text,
        },
    )
}

/// `POST /public/check`: the live check of one field of the complaint form.
pub async fn check_field(
    ctx: Ctx,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    super::register::check_field_for(&ctx, &state, &form).await
}

#[derive(Deserialize)]
pub struct DoneQuery {
    number: String,
}

/// `GET /public/complaint/done?number=…`: the case number to keep.
pub async fn complaint_done(ctx: Ctx, Query(q): Query<DoneQuery>) -> Result<Response, WebError> {
    render_status(
        StatusCode::OK,
        &ctx,
        None,
        "public_done.html",
        context! { number => q.number },
    )
}

#[derive(Serialize)]
struct Tracked {
    number: String,
    kind: String,
    state: String,
    closed: bool,
    received: String,
    updated: String,
    due: Vec<String>,
}

/// `GET /public/track`.
pub async fn track_form(ctx: Ctx) -> Result<Response, WebError> {
    render_status(
        StatusCode::OK,
        &ctx,
        None,
        "public_track.html",
        context! { number => "", found => s(None::<Tracked>), not_found => false },
    )
}

/// `POST /public/track` (a POST, so that phone digits stay out of URLs and logs): the state
/// and dates of a case whose phone ends with the given digits; nothing personal.
pub async fn track_submit(
    ctx: Ctx,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    if let Some(ip) = addr
        && !allow(
            &state,
            &format!("track-ip:{ip}"),
            TRACK_PER_ADDRESS_PER_HOUR,
            SignedDuration::from_hours(1),
        )
        .await?
    {
        return Err(WebError::TooMany("pub.limited.ip"));
    }
    let number = form.text("number").to_uppercase();
    let last4 = form.text("last4");
    let found = lookup(&state, &number, &last4, ctx.lang).await?;
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let not_found = found.is_none();
    render_status(
        status,
        &ctx,
        None,
        "public_track.html",
        context! { number, found => s(found), not_found },
    )
}

/// The case `number` if the last four digits of one of its phone fields are `last4`. A missing
/// case and wrong digits look the same.
async fn lookup(
    state: &AppState,
    number: &str,
    last4: &str,
    lang: super::i18n::Lang,
) -> Result<Option<Tracked>, AppError> {
    if last4.len() != 4 || !last4.chars().all(|c| c.is_ascii_digit()) || number.is_empty() {
        return Ok(None);
    }
    let Some(record) = state.store.case_by_number(number).await? else {
        return Ok(None);
    };
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let Some(kind) = policy.kind(&record.kind) else {
        return Ok(None);
    };
    let case = case_view(state, number).await?;
    let matches = kind
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Phone)
        .filter_map(|f| case.fields.get(&f.id).and_then(|v| v.as_str()))
        .any(|p| {
            PhoneNumber::parse(p)
                .map(|p| p.last4() == last4)
                .unwrap_or_else(|_| p.ends_with(last4))
        });
    if !matches {
        return Ok(None);
    }
    Ok(Some(Tracked {
        number: case.number.clone(),
        kind: view::kind_label(Some(kind), &case.kind, lang),
        state: view::state_label(Some(kind), &case.state, lang),
        closed: case.closed,
        received: view::local_date(&case.created_at),
        updated: view::local_date(&case.updated_at),
        due: case
            .clocks
            .iter()
            .filter(|c| matches!(c.status, manyi_core::deadlines::ClockStatus::Running))
            .map(|c| {
                c.due_day
                    .clone()
                    .unwrap_or_else(|| view::local_date(&c.due))
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_aligned_to_their_size() {
        let t: Timestamp = "2026-03-10T02:34:56Z".parse().expect("instant");
        let (start, forget) = window_of(t, SignedDuration::from_hours(1));
        assert_eq!(start.to_string(), "2026-03-10T02:00:00Z");
        assert_eq!(forget.to_string(), "2026-03-08T02:00:00Z");
        let (day, _) = window_of(t, SignedDuration::from_hours(24));
        assert_eq!(day.to_string(), "2026-03-10T00:00:00Z");
    }
}
