//! The notes and attachments section of the case page: writing an internal note, uploading
//! a file, downloading one. The decisions are `api::notes`'s; these handlers turn their
//! errors into messages beside the field, with what was typed kept.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use manyi_store::User;
use serde::Serialize;

use super::case_page::{PageState, page};
use super::i18n::{Lang, tr, tr_with};
use super::session::{CSRF_FIELD, CsrfForm, Ctx, WebUser, check_csrf};
use super::templates::{WebError, percent_encode, redirect};
use super::view;
use crate::AppState;
use crate::api::notes::{download, list_for, note_as, read_form};
use crate::error::AppError;
use crate::json::ApiPath;

/// An attachment as the case page lists it.
#[derive(Serialize)]
pub(super) struct AttachmentView {
    filename: String,
    href: String,
    size: String,
    by: String,
    at: String,
}

pub(super) async fn attachment_views(
    state: &AppState,
    user: &User,
    number: &str,
    lang: Lang,
) -> Result<Vec<AttachmentView>, AppError> {
    Ok(list_for(state, user, number)
        .await?
        .into_iter()
        .map(|a| AttachmentView {
            href: format!("/cases/{}/attachments/{}", percent_encode(number), a.id),
            filename: a.filename,
            size: view::file_size(a.size_bytes),
            by: a
                .uploaded_by
                .map_or_else(|| tr(lang, "attachments.customer").to_owned(), |p| p.name),
            at: view::local_time(&a.uploaded_at),
        })
        .collect())
}

/// `POST /cases/{number}/notes`: `note`.
pub async fn add_note(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let typed = form.get("note").unwrap_or("").to_owned();
    match note_as(&state, &user.user, &number, &typed).await {
        Ok(()) => Ok(redirect(&format!(
            "/cases/{}?noted=1#notes",
            percent_encode(&number)
        ))),
        Err(AppError::Invalid { fields, .. }) => {
            let message = fields
                .first()
                .map(|f| ctx.lang.message(&f.message_zh, &f.message).to_owned())
                .unwrap_or_default();
            let ps = PageState {
                note_attempt: Some((typed, message)),
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                ..PageState::default()
            };
            page(&ctx, &user, &state, &number, ps).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /cases/{number}/attachments`: a `multipart/form-data` form with `csrf` and `file`.
pub async fn upload(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let limit = state.config.attachment_limit;
    let too_large = || {
        tr_with(
            lang,
            "attachments.too_large",
            &[("limit", &view::file_size(limit as i64))],
        )
    };
    let refused = |status: StatusCode, message: String| PageState {
        file_error: Some(message),
        status: Some(status),
        ..PageState::default()
    };
    // A body over the route's limit is refused before it is read: say so on the page.
    let body = match body {
        Ok(body) => body,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let ps = refused(StatusCode::PAYLOAD_TOO_LARGE, too_large());
            return page(&ctx, &user, &state, &number, ps).await;
        }
        Err(r) => return Err(AppError::BadRequest(r.body_text()).into()),
    };
    let (fields, upload) = read_form(&headers, &body)?;
    let csrf = fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str());
    check_csrf(&headers, csrf)?;
    let (record, _) = crate::api::cases::visible_case(&state, &user.user, &number).await?;
    let Some(upload) = upload.filter(|u| !u.data.is_empty()) else {
        let ps = refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr(lang, "attachments.required").to_owned(),
        );
        return page(&ctx, &user, &state, &number, ps).await;
    };
    match crate::api::notes::attach(&state, record.id, Some(&user.user), upload).await {
        Ok(a) => Ok(redirect(&format!(
            "/cases/{}?uploaded={}#notes",
            percent_encode(&number),
            percent_encode(&a.filename)
        ))),
        Err(AppError::PayloadTooLarge(_)) => {
            let ps = refused(StatusCode::PAYLOAD_TOO_LARGE, too_large());
            page(&ctx, &user, &state, &number, ps).await
        }
        Err(AppError::UnsupportedMediaType(_)) => {
            let ps = refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                tr(lang, "attachments.bad_type").to_owned(),
            );
            page(&ctx, &user, &state, &number, ps).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /cases/{number}/attachments/{id}`: the file, as a download.
pub async fn get(
    user: WebUser,
    State(state): State<AppState>,
    ApiPath((number, id)): ApiPath<(String, i64)>,
) -> Result<Response, WebError> {
    Ok(download(&state, &user.user, &number, id).await?)
}
