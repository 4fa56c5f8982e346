//! The web UI (SPEC §1 "Web UI"): server-rendered pages, plain HTML forms that work without
//! JavaScript. Sign-in by tenant, email and password; then Settings > API Keys (list, create a
//! key shown once, revoke) and Settings > Org Management (target orgs, their product orgs with
//! every field, change history, linked leads, a lead's evaluation context).
//!
//! One module per concern: `session` (the session cookie, the signed-in `Viewer`, CSRF
//! tokens), `layout` (the page skeleton), `login` (sign-in, the setup link, sign-out), `keys`
//! and `new_key` with its template `builder` (API keys), a key's own page (`key_page`, its
//! template editor `key_template`, its delivery log `key_deliveries`, `key_replay`, its health
//! `key_health` with its `chart`), `orgs` (Org Management, with its search and possible
//! duplicates `org_search`, the move of a product org `org_move`, the leads list `leads`).
//! Around them: the stylesheet and script as files (`assets`), the headers every page gets
//! (`security_headers`), and where browsers reach the service (`public_url`).

use axum::Router;

use crate::app::App;

mod assets;
mod builder;
mod chart;
mod error_page;
mod key_deliveries;
mod key_health;
mod key_page;
mod key_replay;
mod key_template;
mod keys;
mod layout;
mod leads;
mod login;
mod new_key;
mod org_move;
mod org_search;
mod orgs;
mod overview;
mod public_url;
mod security_headers;
mod session;
mod sign_in_limits;
mod values;
mod warnings;

pub use login::login_limiter;
pub use public_url::PublicUrl;
pub(crate) use security_headers::add as add_security_headers;
pub(crate) use session::{random_token, Viewer, CSRF_HEADER, SESSION_COOKIE};
pub use sign_in_limits::SignInLimits;

/// Routes of the web UI. Their failures answer as pages of the UI (`error_page`), drawn for
/// the viewer of `app`'s sessions.
pub fn router(app: &App) -> Router<App> {
    Router::new()
        .merge(login::router())
        .merge(overview::router())
        .merge(keys::router())
        .merge(key_page::router())
        .merge(key_replay::router())
        .merge(new_key::router())
        .merge(orgs::router())
        .merge(assets::router())
        .merge(error_page::router())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            error_page::html_errors,
        ))
}
