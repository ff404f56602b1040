//! # manyi-server — the HTTP shell
//!
//! The imperative shell around `manyi-core`: it authenticates the caller, loads what a
//! decision needs from the store, asks the core to decide, and writes the resulting events
//! and current state in one transaction.
//!
//! ## Layout
//! - [`router`] / [`serve`]: the routes under `/api/v1` and a server that takes an
//!   already-bound listener and a shutdown future (so tests start one on port 0).
//! - `auth`: sessions (cookie) and API tokens (bearer), Argon2id passwords.
//! - `api::cases`, `api::notes` (internal notes, attachments), `api::org`, `api::policies`, `api::penalties` (the violations and penalty
//!   ledgers): the handlers.
//! - `error`: the one error type, rendered as RFC 9457 problem+json.
//! - `policies`: compiled policies cached by immutable stored version.

pub mod api;
pub mod auth;
pub mod calendar;
pub mod demo;
pub mod error;
pub mod find;
pub mod json;
pub mod multipart;
pub mod org_cache;
pub mod policies;
pub mod scheduler;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post, put};
use jiff::SignedDuration;
use manyi_core::clock::Clock;
use manyi_store::Store;
use tokio::net::TcpListener;

pub use error::AppError;
pub use policies::PolicyCache;

/// Settings of one server instance.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The largest request body accepted, in bytes (413 beyond).
    pub body_limit: usize,
    /// How long a browser session lasts.
    pub session_ttl: SignedDuration,
    /// Mark cookies `Secure` (when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// The largest attachment accepted, in bytes (413 beyond). Upload routes accept bodies
    /// this large (plus the form around the file) whatever `body_limit` says.
    pub attachment_limit: usize,
    /// The scheme and host survey links issued without a request are made of (routine rounds
    /// started by the scheduler), e.g. `https://manyi.example.com`. Unset: `http://localhost`,
    /// and the schedule's state says so.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: 1024 * 1024,
            session_ttl: SignedDuration::from_hours(12),
            secure_cookies: false,
            attachment_limit: 10 * 1024 * 1024,
            public_url: None,
        }
    }
}

/// Shared by every request. Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// The official working-day calendar deadlines are computed on.
    pub calendar: Arc<calendar::CalendarCell>,
    /// Woken when a request writes timers, so the scheduler can sleep until the next due
    /// instant and still notice a nearer one.
    pub timers_changed: Arc<tokio::sync::Notify>,
    /// When the scheduler sleeps until: creates wake it only for a timer due sooner.
    pub scheduler_wake: Arc<scheduler::WakeAt>,
    pub policies: Arc<PolicyCache>,
    /// Units, unit calendars and active policies, cached behind the database's revision.
    pub org: Arc<org_cache::OrgCache>,
    pub config: Arc<ServerConfig>,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: ServerConfig) -> AppState {
        AppState {
            store,
            clock,
            calendar: Arc::new(calendar::CalendarCell::official()),
            timers_changed: Arc::new(tokio::sync::Notify::new()),
            scheduler_wake: Arc::new(scheduler::WakeAt::new()),
            policies: Arc::new(PolicyCache::default()),
            org: Arc::new(org_cache::OrgCache::default()),
            config: Arc::new(config),
        }
    }
}

/// All routes.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/cases", post(api::cases::create).get(api::cases::list))
        .route("/cases/{number}", get(api::cases::show))
        .route("/cases/{number}/events", get(api::cases::events))
        .route(
            "/cases/{number}/violations",
            get(api::violations::case_violations),
        )
        .route("/cases/{number}/reads", get(api::archive::reads))
        .route("/archive", get(api::archive::list))
        .route("/cases/{number}/conduct", post(api::conduct::record))
        .route(
            "/cases/{number}/assists",
            get(api::assist::list).post(api::assist::request),
        )
        .route(
            "/cases/{number}/assists/{no}/accept",
            post(api::assist::accept),
        )
        .route(
            "/cases/{number}/assists/{no}/refuse",
            post(api::assist::refuse),
        )
        .route(
            "/cases/{number}/assists/{no}/complete",
            post(api::assist::complete),
        )
        .route(
            "/cases/{number}/disputes",
            get(api::disputes::list).post(api::disputes::raise),
        )
        .route(
            "/cases/{number}/disputes/{no}/decide",
            post(api::disputes::decide),
        )
        .route(
            "/cases/{number}/disputes/{no}/comply",
            post(api::disputes::comply),
        )
        .route("/stats/codes", get(api::codes::stats))
        .route("/cases/{number}/transitions", post(api::cases::transition))
        .route("/cases/{number}/notes", post(api::notes::post_note))
        .route(
            "/cases/{number}/attachments",
            get(api::notes::list)
                .post(api::notes::upload)
                .layer(DefaultBodyLimit::max(api::notes::upload_body_limit(
                    state.config.attachment_limit,
                ))),
        )
        .route("/cases/{number}/attachments/{id}", get(api::notes::get))
        .route("/deadlines", get(api::cases::deadlines))
        .route(
            "/cases/{number}/callback/attempts",
            post(api::callbacks::attempt),
        )
        .route(
            "/cases/{number}/callback/verdict",
            post(api::callbacks::verdict),
        )
        .route(
            "/cases/{number}/callback/waive",
            post(api::callbacks::waive),
        )
        .route(
            "/cases/{number}/surveys",
            post(api::surveys::issue_for_case),
        )
        .route("/surveys/results", get(api::surveys::results))
        .route("/survey-schedules", get(api::survey_schedules::list))
        .route(
            "/survey-schedules/{policy}/{kind}/{id}",
            put(api::survey_schedules::set_period),
        )
        .route(
            "/survey-schedules/{policy}/{kind}/{id}/rounds/{round}",
            get(api::survey_schedules::round),
        )
        .route(
            "/public/surveys/{token}",
            get(api::surveys::public_show).post(api::surveys::public_answer),
        )
        .route("/calendar/alerts", get(api::cases::calendar_alerts))
        .route("/calendar/files", post(api::cases::import_calendar))
        .route("/stats", get(api::stats::get_stats))
        .route("/conduct", post(api::caseless_conduct::record))
        .route("/violations", get(api::penalties::list_violations))
        .route("/penalties", get(api::penalties::list_penalties))
        .route("/penalties.csv", get(api::penalties::penalties_csv))
        .route(
            "/rewards",
            get(api::rewards::list).post(api::rewards::propose),
        )
        .route("/rewards.csv", get(api::rewards::csv))
        .route("/rewards/{id}/decide", post(api::rewards::decide))
        .route("/penalties/{id}/decide", post(api::penalties::decide))
        .route("/penalties/{id}/appeal", post(api::penalties::appeal))
        .route(
            "/penalties/{id}/appeal/decide",
            post(api::penalties::decide_appeal),
        )
        .route("/units", get(api::org::list_units).post(api::org::add_unit))
        .route(
            "/units/{code}",
            axum::routing::delete(api::org::remove_unit),
        )
        .route("/units/{code}/move", post(api::org::move_unit))
        .route(
            "/units/{code}/calendar",
            get(api::org::unit_calendar)
                .put(api::org::set_unit_calendar)
                .delete(api::org::delete_unit_calendar),
        )
        .route("/users", get(api::org::list_users).post(api::org::add_user))
        .route("/users/{login}", axum::routing::put(api::org::edit_user))
        .route("/users/{login}/disable", post(api::org::disable_user))
        .route("/users/{login}/enable", post(api::org::enable_user))
        .route(
            "/policies",
            get(api::policies::list).post(api::policies::upload),
        )
        .route("/policies/check", post(api::policies::check))
        .route("/ops", get(api::ops::get))
        .route("/policies/{name}/versions", get(api::policies::versions))
        .route(
            "/policies/{name}/versions/{version}/activate",
            post(api::policies::activate),
        )
        .fallback(api_not_found);
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
        .merge(web::routes(state.config.attachment_limit))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn api_not_found() -> AppError {
    AppError::NotFound("no such API endpoint; see docs/API.md".into())
}

/// `GET /healthz`: the process is up and the database answers.
async fn healthz(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, AppError> {
    state.store.ping().await?;
    Ok(axum::Json(serde_json::json!({
        "status": "ok",
        "backend": state.store.backend_name(),
    })))
}

/// How often the repeat-complaint catch-up looks for pending markers.
const REPEAT_CATCH_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Serves on an already-bound listener until `shutdown` completes, with the deadline
/// scheduler running beside the HTTP server (it first fires whatever fell due while the
/// server was down).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Err(e) = calendar::refresh(&state).await {
        tracing::error!(error = ?e, "could not load the imported calendar files");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(scheduler::run(state.clone(), stop_rx));
    // Quick find's keys of cases stored before migration 0013 (resumable; see `find`).
    let backfill_state = state.clone();
    let backfill = tokio::spawn(async move {
        if let Err(e) = find::backfill(&backfill_state, find::BATCH).await {
            tracing::error!(error = ?e, "quick-find backfill stopped; it resumes at the next start");
        }
        // Repeat-complaint keys of cases stored before migration 0016 (resumable; see `find`).
        if let Err(e) = find::backfill_repeat(&backfill_state, find::BATCH).await {
            tracing::error!(error = ?e, "repeat-key backfill stopped; it resumes at the next start");
        }
        // Repeats a crashed request left unrecorded, now and every few minutes (idempotent:
        // several instances may run it at once; see `api::violations::record_repeat`).
        loop {
            if let Err(e) = api::violations::catch_up_repeats(&backfill_state).await {
                tracing::error!(error = ?e, "repeat-complaint catch-up failed; it runs again");
            }
            tokio::time::sleep(REPEAT_CATCH_UP_EVERY).await;
        }
    });
    // The client address feeds the public pages' per-IP rate limit.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    let _ = scheduler.await;
    backfill.abort();
    result
}
