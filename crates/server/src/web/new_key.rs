//! Settings > API Keys > Create a key: what each button of the form does (show the fields of
//! the chosen type, fill from a preset, add or remove a custom row, preview, create). The form
//! as posted and the key it describes are [`draft`]'s, the form as drawn [`form`]'s, the
//! template builder in it [`super::builder`]'s, and the page that shows a new key once
//! [`shown`]'s.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use maud::Markup;
use trailspark_core::template::PayloadTemplate;

use super::keys::keys_page;
use super::session::{forbidden, Viewer};
use crate::app::App;
use crate::error::ApiError;
use crate::keys::{create_api_key, CreatedKey};
use draft::{Intent, KeyDraft, KeyForm};
use form::{key_form, Said};
use shown::shown_once;
pub(super) use shown::{quoted, webhook_url};

mod draft;
mod form;
mod shown;
#[cfg(test)]
mod tests;

/// The route of the Create a key form (the API Keys page posts to itself).
pub fn router() -> Router<App> {
    Router::new().route("/settings/api-keys", post(create_key))
}

/// The Create a key form as the API Keys page first shows it.
pub fn create_form(viewer: &Viewer) -> Markup {
    key_form(viewer, &KeyDraft::new(), Said::Nothing, None)
}

/// Every button of the Create a key form. All but Create draw the API Keys page again with
/// their outcome; Create shows the new key once.
async fn create_key(
    State(app): State<App>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let intent = form.intent();
    let (mut draft, drawn) = KeyDraft::from_form(form);
    let notice = match intent {
        // The button says what to do with the paths.
        Intent::FillFromPreset => None,
        _ => draft.follow_menus(&drawn),
    };
    let said = notice.as_deref().map_or(Said::Nothing, Said::Notice);
    let (status, said, preview) = match intent {
        Intent::Redraw => (StatusCode::OK, said, None),
        Intent::FillFromPreset => match draft.fill_from_preset() {
            Ok(()) => (StatusCode::OK, said, None),
            Err(why) => (StatusCode::BAD_REQUEST, Said::Error(why), None),
        },
        Intent::AddCustomRow => {
            draft.builder.custom.push((String::new(), String::new()));
            (StatusCode::OK, said, None)
        }
        Intent::Preview => (StatusCode::OK, said, Some(draft.builder.preview())),
        // What the user meant is unclear: nothing is created until they say.
        Intent::Create if notice.is_some() => {
            let message = format!(
                "No key was created. {} To save the paths as they are, press \"Create key\" again.",
                notice.as_deref().unwrap_or_default()
            );
            return key_page(
                &app,
                &viewer,
                &draft,
                StatusCode::CONFLICT,
                Said::Notice(&message),
                None,
            )
            .await;
        }
        Intent::Create => match create(&app, &viewer, &draft).await {
            Ok((template, created)) => {
                return shown_once(&app, &viewer, &headers, &template, &created)
            }
            Err(ApiError::BadRequest { message, .. }) => {
                return key_page(
                    &app,
                    &viewer,
                    &draft,
                    StatusCode::BAD_REQUEST,
                    Said::Error(&message),
                    None,
                )
                .await;
            }
            Err(e) => return e.into_response(),
        },
    };
    key_page(&app, &viewer, &draft, status, said, preview).await
}

/// The API Keys page drawn again by one of the form's buttons: the keys, then the form with
/// the outcome.
async fn key_page(
    app: &App,
    viewer: &Viewer,
    draft: &KeyDraft,
    status: StatusCode,
    said: Said<'_>,
    preview: Option<Markup>,
) -> Response {
    match keys_page(app, viewer, key_form(viewer, draft, said, preview)).await {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Stores the key the draft describes; a draft that is not a valid key is refused with the
/// reason (`BadRequest`).
async fn create(
    app: &App,
    viewer: &Viewer,
    draft: &KeyDraft,
) -> Result<(PayloadTemplate, CreatedKey), ApiError> {
    let now = Utc::now();
    let request = draft
        .key_request(now)
        .map_err(|message| ApiError::BadRequest {
            code: "invalid_key",
            message,
        })?;
    let template = request.template.clone();
    let created = create_api_key(app.store.as_ref(), viewer.tenant, request, now).await?;
    Ok((template, created))
}
