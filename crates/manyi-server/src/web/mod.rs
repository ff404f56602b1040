//! # The web interface — server-rendered pages, Chinese first
//!
//! The people who use manyi (counter staff, unit heads, service departments, customers,
//! administrators) work in a browser. These pages are rendered on the server from
//! [MiniJinja](https://docs.rs/minijinja) templates embedded in the binary, with htmx (also
//! embedded) for the few partial updates; no Node toolchain is needed to build or run them.
//!
//! The pages never decide anything themselves: they call the same functions as the JSON API
//! (`api::cases::create_as`, `transition_as`, the `show`/`list`/`events` handlers,
//! `deadline_list`, `policies::install`) and the engine's own field validation, and only turn
//! the results into HTML.
//!
//! ## Layout
//! - [`routes`]: every page's route (merged into [`crate::router`]).
//! - `session`: the page context ([`Ctx`]: language, CSRF token), the signed-in user
//!   ([`WebUser`]), log in / log out, the language switch.
//! - `i18n`: the one translation table (zh-CN and en) every user-visible string goes through.
//! - `templates`: the template environment, rendering and the error pages.
//! - `view`: presenting values — field values, masked personal data, working time left.
//! - `forms`: policy fields → form inputs, and form posts → field values for the engine.
//! - `workspace` (`/`), `register` (`/cases/new`), `case_page` (`/cases/{number}`), `notes`
//!   (its notes and attachments), `conduct` (its form to record a conduct violation),
//!   `dashboard`, `survey_results` (`/surveys/results`), `rewards` (`/rewards`), `public`
//!   (customers, no login), `admin`.
//! - `assets`: CSS, a little JavaScript and htmx, served from the binary.
//!
//! ## Security
//! Every POST form carries a CSRF token that must match the `manyi_csrf` cookie
//! (double-submit; the cookie is HttpOnly, SameSite=Lax, Secure when configured). Pages of
//! cases outside the user's jurisdiction answer 404, like the API. Pages with personal data
//! are `Cache-Control: no-store`.

mod account;
mod admin;
mod assets;
mod callbacks;
mod case_page;
mod conduct;
mod conduct_page;
pub mod dashboard;
mod diff;
mod forms;
pub mod i18n;
mod notes;
mod public;
mod register;
mod rewards;
mod session;
mod survey;
mod survey_results;
mod templates;
mod view;
mod violations_view;
mod workspace;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::AppState;

pub use session::{CSRF_COOKIE, Ctx, LANG_COOKIE, WebUser};
pub use templates::WebError;

/// The web pages. Merged into the main router, beside `/api/v1`.
pub fn routes(attachment_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(workspace::page))
        .route(
            "/login",
            get(session::login_page).post(session::login_submit),
        )
        .route("/logout", post(session::logout))
        .route("/lang", get(session::set_lang))
        .route("/account/lang", post(session::set_user_lang))
        .route(
            "/account/password",
            get(account::password_form).post(account::password_submit),
        )
        .route("/cases/new", get(register::form).post(register::submit))
        .route("/cases/new/check", post(register::check_field))
        .route("/cases/{number}", get(case_page::show_page))
        .route("/cases/{number}/actions", post(case_page::act))
        .route("/cases/{number}/callback", post(callbacks::act))
        .route("/cases/{number}/notes", post(notes::add_note))
        .route("/cases/{number}/conduct", post(conduct::record))
        .route(
            "/conduct/new",
            get(conduct_page::form).post(conduct_page::submit),
        )
        .route(
            "/cases/{number}/attachments",
            post(notes::upload).layer(DefaultBodyLimit::max(crate::api::notes::upload_body_limit(
                attachment_limit,
            ))),
        )
        .route("/cases/{number}/attachments/{id}", get(notes::get))
        .route("/dashboard", get(dashboard::page))
        .route("/surveys/results", get(survey_results::page))
        .route("/rewards", get(rewards::page).post(rewards::propose))
        .route("/rewards/{id}/decide", post(rewards::decide))
        .route(
            "/public/complaint",
            get(public::complaint_form)
                .post(public::complaint_submit)
                .layer(DefaultBodyLimit::max(crate::api::notes::upload_body_limit(
                    attachment_limit,
                ))),
        )
        .route("/public/complaint/done", get(public::complaint_done))
        .route("/public/check", post(public::check_field))
        .route(
            "/public/survey/{token}",
            get(survey::form).post(survey::submit),
        )
        .route(
            "/public/track",
            get(public::track_form).post(public::track_submit),
        )
        .route("/admin", get(admin::org))
        .route("/admin/units", post(admin::unit_add))
        .route("/admin/units/move", post(admin::unit_move))
        .route("/admin/units/{code}/remove", post(admin::unit_remove))
        .route("/admin/users", get(admin::users).post(admin::user_add))
        .route(
            "/admin/users/{login}",
            get(admin::user_edit_form).post(admin::user_edit),
        )
        .route("/admin/users/{login}/{to}", post(admin::user_access))
        .route(
            "/admin/policies",
            get(admin::policies).post(admin::policy_submit),
        )
        .route("/admin/policies/{name}/compare", get(admin::policy_compare))
        .route(
            "/admin/policies/{name}/versions/{version}/activate",
            post(admin::policy_activate),
        )
        .route("/admin/calendar", get(admin::calendar))
        .route("/admin/calendar/{code}", post(admin::calendar_save))
        .route("/assets/{file}", get(assets::serve))
        .fallback(templates::not_found)
        .layer(axum::middleware::from_fn(templates::render_error_pages))
}
