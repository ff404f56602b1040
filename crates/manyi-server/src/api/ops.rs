//! `GET /api/v1/ops`: operational figures of this instance, for operators (admin only).
//!
//! Today: what the group commit of case creates did since the process started
//! (`manyi_store::IntakeFigures`) — how many write transactions it ran, how many creates the
//! multi-row fast path wrote, how many jobs were written one at a time, and how many batches
//! fell back from the fast path because one of their creates could not be written. A steady
//! stream of fallbacks means some client keeps sending creates that fail (an unknown unit, a
//! reused key): each costs its whole batch a second pass. The server also warns about them in
//! its log, at most once a minute. Figures are per instance and restart at zero.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;

/// The answer of `GET /api/v1/ops`.
#[derive(Serialize)]
pub struct OpsBody {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub intake: IntakeBody,
}

/// `manyi_store::IntakeFigures`, since this process started.
#[derive(Serialize)]
pub struct IntakeBody {
    /// Write transactions of the group commit (one commit each).
    pub batches: u64,
    /// Creates written by the multi-row fast path.
    pub fast_creates: u64,
    /// Jobs written one at a time: replays, refusals, lone creates, updates (SQLite), and the
    /// creates of the batches that fell back.
    pub one_at_a_time: u64,
    /// Batches whose fast path failed, were rolled back and written one create at a time.
    pub fallbacks: u64,
}

/// `GET /api/v1/ops` (admin).
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<OpsBody>, AppError> {
    user.require_admin()?;
    let f = state.store.intake_figures();
    Ok(Json(OpsBody {
        backend: state.store.backend_name(),
        intake: IntakeBody {
            batches: f.batches,
            fast_creates: f.fast_creates,
            one_at_a_time: f.one_at_a_time,
            fallbacks: f.fallbacks,
        },
    }))
}
