//! Internal notes and attachments of a case: the shell around `case::note`, and files kept
//! in the database.
//!
//! A note is an event on the case's log (`Change::Noted`), written like any other through
//! `Store::update_case`, so it is in the audit trail with who and when. An attachment is a row
//! with its bytes (never a file on one instance's disk: several instances share the database),
//! limited in size (`ServerConfig::attachment_limit`, 413 beyond) and in type: only the
//! types in [`ALLOWED`], and only when the bytes look like the type claimed, so that nothing
//! a browser would run (HTML, SVG) is ever stored. Downloads are `Content-Disposition:
//! attachment` with `X-Content-Type-Options: nosniff`. Everything answers 404 for a case
//! outside the caller's jurisdiction, like the case itself.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use manyi_core::case::{self, NoteError, PersonRef};
use manyi_core::engine::FieldError;
use manyi_store::{AttachmentRecord, NewAttachment, StoreError, User};
use serde::{Deserialize, Serialize};

use super::cases::{PersonBody, timestamp, update_for, visible_case};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};
use crate::multipart;

/// An accepted attachment type: (content type, file extensions, what the bytes start with).
/// An empty signature list means any bytes (plain text, checked to be UTF-8).
pub type FileType = (
    &'static str,
    &'static [&'static str],
    &'static [&'static [u8]],
);

/// The attachment types accepted.
pub const ALLOWED: &[FileType] = &[
    ("image/png", &["png"], &[b"\x89PNG\r\n\x1a\n"]),
    ("image/jpeg", &["jpg", "jpeg"], &[b"\xff\xd8\xff"]),
    ("image/gif", &["gif"], &[b"GIF87a", b"GIF89a"]),
    ("application/pdf", &["pdf"], &[b"%PDF-"]),
    ("text/plain", &["txt"], &[]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
        &[b"PK\x03\x04"],
    ),
    ("application/msword", &["doc"], &[b"\xd0\xcf\x11\xe0"]),
    ("application/vnd.ms-excel", &["xls"], &[b"\xd0\xcf\x11\xe0"]),
    ("audio/mpeg", &["mp3"], &[b"ID3", b"\xff\xfb", b"\xff\xf3"]),
];

/// Why a file was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// No file was chosen (an empty part).
    Empty,
    /// Larger than the limit, in bytes.
    TooLarge(usize),
    /// A type not in [`ALLOWED`], or bytes that do not match the type claimed.
    Type,
}

impl FileProblem {
    /// The error as the API and the pages report it.
    pub fn into_error(self) -> AppError {
        match self {
            FileProblem::TooLarge(limit) => AppError::PayloadTooLarge(limit),
            FileProblem::Type => AppError::UnsupportedMediaType(
                "attachments may be PNG, JPEG, GIF, PDF, plain text, Word, Excel or MP3 / \
                 附件只能是 PNG、JPEG、GIF、PDF、纯文本、Word、Excel 或 MP3 文件"
                    .into(),
            ),
            FileProblem::Empty => AppError::Invalid {
                detail: "no file".into(),
                fields: vec![FieldError {
                    field: "file".into(),
                    code: "required".into(),
                    message: "choose a file".into(),
                    message_zh: "请选择文件".into(),
                }],
            },
        }
    }
}

/// The stored content type of an upload, from the type the browser claimed (or, when it
/// claimed none or `application/octet-stream`, the file name's extension), checked against
/// the bytes. Pure: the decision the upload handlers act on.
pub fn check_file(
    filename: &str,
    claimed: Option<&str>,
    data: &[u8],
    limit: usize,
) -> Result<&'static str, FileProblem> {
    if data.is_empty() {
        return Err(FileProblem::Empty);
    }
    if data.len() > limit {
        return Err(FileProblem::TooLarge(limit));
    }
    let claimed = claimed
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| !c.is_empty() && c != "application/octet-stream");
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let (content_type, _, signatures) = ALLOWED
        .iter()
        .find(|(t, exts, _)| match &claimed {
            Some(c) => c == t,
            None => exts.contains(&extension.as_str()),
        })
        .ok_or(FileProblem::Type)?;
    let bytes_match = if signatures.is_empty() {
        std::str::from_utf8(data).is_ok()
    } else {
        signatures.iter().any(|s| data.starts_with(s))
    };
    if bytes_match {
        Ok(content_type)
    } else {
        Err(FileProblem::Type)
    }
}

/// A file name safe to keep and to send back: the last path segment, without control
/// characters or quotes, at most 200 characters; "attachment" when nothing is left.
pub fn clean_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

// ---------------------------------------------------------------------------------------------
// The shell: used by the API below and by the case page
// ---------------------------------------------------------------------------------------------

/// Writes an internal note on a case the user may see. A note in the wrong shape is a 422
/// naming the `note` field.
pub async fn note_as(
    state: &AppState,
    user: &User,
    number: &str,
    text: &str,
) -> Result<(), AppError> {
    let actor = PersonRef {
        id: user.id,
        login: user.login.clone(),
        name: user.name.clone(),
    };
    // A concurrent change to the case makes the write conflict: read again and retry.
    for _attempt in 0..3 {
        let (record, case) = visible_case(state, user, number).await?;
        let now = state.clock.now();
        let event = case::note(&actor, text, now).map_err(note_error)?;
        let (_, update) = update_for(&record, &case, &event, now)?;
        match state.store.update_case(update).await {
            Ok(_) => {
                tracing::info!(case_id = record.id, user_id = user.id, "note written");
                return Ok(());
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

fn note_error(e: NoteError) -> AppError {
    let (code, message, message_zh) = match e {
        NoteError::Empty => (
            "required",
            "write a note".to_owned(),
            "请填写备注".to_owned(),
        ),
        NoteError::TooLong => (
            "too_long",
            format!("at most {} characters", case::NOTE_MAX_CHARS),
            format!("最多 {} 个字", case::NOTE_MAX_CHARS),
        ),
    };
    AppError::Invalid {
        detail: message.clone(),
        fields: vec![FieldError {
            field: "note".into(),
            code: code.into(),
            message,
            message_zh,
        }],
    }
}

/// An upload: its file name as sent, the type the browser claimed, its bytes.
pub struct Upload {
    pub filename: String,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Attaches a file to a case the user may see (`user` `None`: the customer, through the
/// public complaint page, on the case just opened for them).
pub async fn attach(
    state: &AppState,
    case_id: i64,
    user: Option<&User>,
    upload: Upload,
) -> Result<AttachmentRecord, AppError> {
    let filename = clean_filename(&upload.filename);
    let content_type = check_file(
        &filename,
        upload.content_type.as_deref(),
        &upload.data,
        state.config.attachment_limit,
    )
    .map_err(FileProblem::into_error)?;
    let record = state
        .store
        .add_attachment(NewAttachment {
            case_id,
            filename,
            content_type: content_type.to_owned(),
            content: upload.data,
            uploaded_by: user.map(|u| u.id),
            uploaded_at: state.clock.now(),
        })
        .await?;
    tracing::info!(
        case_id,
        attachment_id = record.id,
        size_bytes = record.size_bytes,
        "attachment stored"
    );
    Ok(record)
}

/// A multipart form read: its text fields, and its first file if any.
pub type UploadForm = (Vec<(String, String)>, Option<Upload>);

/// Reads a buffered `multipart/form-data` body: its text fields and its first file.
pub fn read_form(headers: &HeaderMap, body: &[u8]) -> Result<UploadForm, AppError> {
    let boundary = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart::boundary)
        .ok_or_else(|| {
            AppError::UnsupportedMediaType("send the file as multipart/form-data".into())
        })?;
    let parts = multipart::parse(body, &boundary)
        .ok_or_else(|| AppError::BadRequest("malformed multipart/form-data body".into()))?;
    let mut fields = Vec::new();
    let mut upload = None;
    for part in parts {
        match part.filename {
            Some(filename) if upload.is_none() => {
                upload = Some(Upload {
                    filename,
                    content_type: part.content_type,
                    data: part.data,
                })
            }
            Some(_) => {}
            None => {
                let text = part.text();
                fields.push((part.name, text));
            }
        }
    }
    Ok((fields, upload))
}

/// An attachment as the API lists it.
#[derive(Serialize)]
pub struct AttachmentBody {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: String,
    /// `null` when the customer uploaded it.
    pub uploaded_by: Option<PersonBody>,
    /// Where to download it (API).
    pub url: String,
}

/// The attachments of a case the user may see, with their uploaders.
pub async fn list_for(
    state: &AppState,
    user: &User,
    number: &str,
) -> Result<Vec<AttachmentBody>, AppError> {
    let (record, _) = visible_case(state, user, number).await?;
    let mut out = Vec::new();
    for a in state.store.case_attachments(record.id).await? {
        let uploaded_by = match a.uploaded_by {
            Some(id) => state.store.user_by_id(id).await?.map(|u| PersonBody {
                login: u.login,
                name: u.name,
            }),
            None => None,
        };
        out.push(AttachmentBody {
            url: format!("/api/v1/cases/{}/attachments/{}", record.number, a.id),
            id: a.id,
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            uploaded_at: timestamp(a.uploaded_at),
            uploaded_by,
        });
    }
    Ok(out)
}

/// The download of one attachment of a case the user may see (404 otherwise, and for an
/// attachment of another case).
pub async fn download(
    state: &AppState,
    user: &User,
    number: &str,
    id: i64,
) -> Result<Response, AppError> {
    let (record, _) = visible_case(state, user, number).await?;
    let not_found = || AppError::NotFound(format!("no attachment {id}"));
    let (a, content) = state.store.attachment(id).await?.ok_or_else(not_found)?;
    if a.case_id != record.id {
        return Err(not_found());
    }
    let mut response = (StatusCode::OK, content).into_response();
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(&a.filename))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266),
/// so that Chinese file names arrive intact.
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

// ---------------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub note: String,
}

/// `POST /api/v1/cases/{number}/notes` `{note}` → 201 with the case's log.
pub async fn post_note(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<Response, AppError> {
    note_as(&state, &user.0, &number, &req.note).await?;
    let events = super::cases::events(State(state), user, ApiPath(number)).await?;
    Ok((StatusCode::CREATED, events).into_response())
}

/// `GET /api/v1/cases/{number}/attachments`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
) -> Result<axum::Json<Vec<AttachmentBody>>, AppError> {
    Ok(axum::Json(list_for(&state, &user.0, &number).await?))
}

/// `POST /api/v1/cases/{number}/attachments`: `multipart/form-data` with a `file` part →
/// 201 with the attachment.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (record, _) = visible_case(&state, &user.0, &number).await?;
    let (_, upload) = read_form(&headers, &body)?;
    let upload = upload.ok_or_else(|| FileProblem::Empty.into_error())?;
    let a = attach(&state, record.id, Some(&user.0), upload).await?;
    let body = AttachmentBody {
        url: format!("/api/v1/cases/{}/attachments/{}", record.number, a.id),
        id: a.id,
        filename: a.filename,
        content_type: a.content_type,
        size_bytes: a.size_bytes,
        uploaded_at: timestamp(a.uploaded_at),
        uploaded_by: Some(PersonBody {
            login: user.0.login.clone(),
            name: user.0.name.clone(),
        }),
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `GET /api/v1/cases/{number}/attachments/{id}`: the file, as an attachment.
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((number, id)): ApiPath<(String, i64)>,
) -> Result<Response, AppError> {
    download(&state, &user.0, &number, id).await
}

/// The body limit of upload routes: the attachment limit plus room for the form around it.
/// The file itself is checked against the attachment limit, so 413 names that limit.
pub fn upload_body_limit(attachment_limit: usize) -> usize {
    attachment_limit.saturating_add(64 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_is_accepted_by_its_claimed_type_or_its_extension() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert_eq!(
            check_file("a.png", Some("image/png"), png, 100),
            Ok("image/png")
        );
        assert_eq!(
            check_file("a.PNG", Some("application/octet-stream"), png, 100),
            Ok("image/png")
        );
        assert_eq!(check_file("a.png", None, png, 100), Ok("image/png"));
    }

    #[test]
    fn html_svg_mismatched_bytes_empty_and_oversized_files_are_refused() {
        assert_eq!(
            check_file("x.html", Some("text/html"), b"<script>", 100),
            Err(FileProblem::Type)
        );
        assert_eq!(
            check_file("x.svg", Some("image/svg+xml"), b"<svg/>", 100),
            Err(FileProblem::Type)
        );
        assert_eq!(
            check_file("x.png", Some("image/png"), b"<html>", 100),
            Err(FileProblem::Type)
        );
        assert_eq!(check_file("x.txt", None, b"", 100), Err(FileProblem::Empty));
        assert_eq!(
            check_file("x.txt", None, &[b'a'; 101], 100),
            Err(FileProblem::TooLarge(100))
        );
        assert_eq!(
            check_file("x.txt", None, b"\xff\xfe", 100),
            Err(FileProblem::Type)
        );
    }

    #[test]
    fn file_names_lose_paths_quotes_and_control_characters_and_keep_chinese() {
        assert_eq!(clean_filename("C:\\Users\\x\\回单.pdf"), "回单.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\"b\r\n.txt"), "ab.txt");
        assert_eq!(clean_filename(".."), "attachment");
        assert_eq!(
            content_disposition("回单 1.pdf"),
            "attachment; filename=\"__ 1.pdf\"; filename*=UTF-8''%E5%9B%9E%E5%8D%95%201.pdf"
        );
    }
}
