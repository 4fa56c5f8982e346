//! Settings > API Keys > Create a key: the form with its template builder ([`super::builder`]),
//! what each of its buttons does (fill from a preset, add or remove a custom row, preview,
//! create); [`shown`] is the page that shows a new key once.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup, PreEscaped};
use serde::{Deserialize, Deserializer};
use trailspark_core::template::{PayloadTemplate, Preset};
use trailspark_core::EndpointType;

use super::builder::{Builder, BuilderForm};
use super::layout::page;
use super::session::{forbidden, Viewer};
use crate::app::App;
use crate::error::ApiError;
use crate::keys::{create_api_key, CreatedKey, KeyRequest};
use shown::shown_once;

/// The route of the Create a key form (the API Keys page posts to itself).
pub fn router() -> Router<App> {
    Router::new().route("/settings/api-keys", post(create_key))
}

/// The Create a key form as posted. A missing field reads as an empty one, as browsers leave
/// out unticked boxes; a form without its CSRF token is then refused as forged (403). A field
/// sent twice makes the form unreadable (422), as in every other form: no browser sends one
/// twice, and which of two CSRF tokens counts is not a guess to make.
#[derive(Default, Deserialize)]
#[serde(default)]
struct KeyForm {
    csrf: String,
    name: String,
    endpoint_type: String,
    preset: String,
    /// The preset the menu showed when the form was drawn: a different one now means the
    /// user chose another since.
    drawn_preset: String,
    expires_days: String,
    #[serde(deserialize_with = "ticked")]
    with_secret: bool,
    #[serde(deserialize_with = "ticked")]
    with_hmac: bool,
    /// The value of the submit button that sent the form.
    action: String,
    #[serde(flatten)]
    builder: BuilderForm,
}

/// A checkbox is ticked when the browser sends it with any value.
fn ticked<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    String::deserialize(deserializer).map(|value| !value.is_empty())
}

/// What the button that sent the form asks for.
enum Intent {
    /// Draw the form again (a custom row's Remove button: the row is already gone).
    Redraw,
    FillFromPreset,
    AddCustomRow,
    Preview,
    Create,
}

impl KeyForm {
    fn intent(&self) -> Intent {
        if self.builder.removes_a_row() {
            return Intent::Redraw;
        }
        match self.action.as_str() {
            "preset" => Intent::FillFromPreset,
            "add" => Intent::AddCustomRow,
            "preview" => Intent::Preview,
            _ => Intent::Create,
        }
    }
}

/// A key being composed on the API Keys page.
struct KeyDraft {
    name: String,
    /// The preset chosen in the menu (its form value).
    preset: String,
    expires_days: String,
    with_secret: bool,
    with_hmac: bool,
    builder: Builder,
}

impl KeyDraft {
    /// The form as the API Keys page first shows it: Segment's preset for product org updates.
    fn new() -> Self {
        Self {
            name: String::new(),
            preset: "segment".into(),
            expires_days: String::new(),
            with_secret: false,
            with_hmac: false,
            builder: Builder::from_preset(EndpointType::ProductOrgUpdates, Preset::Segment),
        }
    }

    /// The draft as the form left it, and the preset its menu showed when it was drawn.
    fn from_form(form: KeyForm) -> (Self, Option<Preset>) {
        let kind =
            EndpointType::parse(&form.endpoint_type).unwrap_or(EndpointType::ProductOrgUpdates);
        let draft = Self {
            name: form.name,
            preset: form.preset,
            expires_days: form.expires_days,
            with_secret: form.with_secret,
            with_hmac: form.with_hmac,
            builder: Builder::from_form(kind, form.builder),
        };
        (draft, preset_named(&form.drawn_preset))
    }

    /// Fills the builder from the chosen preset; the sample payload stays.
    fn fill_from_preset(&mut self) -> Result<(), &'static str> {
        let preset = preset_named(&self.preset).ok_or("Choose a preset.")?;
        let sample = std::mem::take(&mut self.builder.sample);
        self.builder = Builder::from_preset(self.builder.kind, preset);
        self.builder.sample = sample;
        Ok(())
    }

    /// Applies a preset chosen in the menu since the form was `drawn` (without pressing
    /// "Fill the template from the preset"), as the user expects, when the paths are still
    /// the drawn preset's. Paths edited by hand are kept instead: the answer says so.
    fn apply_chosen_preset(&mut self, drawn: Option<Preset>) -> Option<String> {
        let chosen = preset_named(&self.preset)?;
        let drawn = drawn.filter(|drawn| *drawn != chosen)?;
        if self
            .builder
            .same_template(&Builder::from_preset(self.builder.kind, drawn))
        {
            self.fill_from_preset().ok()?;
            return None;
        }
        Some(format!(
            "The paths below were edited by hand, so they were kept: the {} preset was not \
             applied. To use its paths instead, press \"Fill the template from the preset\".",
            preset_title(&self.preset)
        ))
    }

    /// The key this draft describes, or what is wrong with it.
    fn key_request(&self, now: DateTime<Utc>) -> Result<KeyRequest, String> {
        let template = self
            .builder
            .template()
            .map_err(|why| format!("The template is not valid: {why}."))?;
        let expires_at = match self.expires_days.trim() {
            "" => None,
            days => match days.parse::<i64>() {
                Ok(days) if (1..=3650).contains(&days) => Some(now + Duration::days(days)),
                _ => return Err("Expiry must be a number of days from 1 to 3650, or empty.".into()),
            },
        };
        Ok(KeyRequest {
            name: self.name.clone(),
            template,
            expires_at,
            with_secret: self.with_secret,
            with_hmac_secret: self.with_hmac,
            created_by: crate::keys::BY_WEB_UI.into(),
        })
    }
}

/// The form's preset menu: each preset's value, its name, and what the menu adds to the name.
const PRESETS: [(&str, &str, &str); 4] = [
    ("segment", "Segment", " (group calls)"),
    ("rudderstack", "RudderStack", ""),
    ("hightouch", "Hightouch", " (flat rows)"),
    ("flat", "Flat", ""),
];

/// The preset a value of the form's preset menu names.
fn preset_named(name: &str) -> Option<Preset> {
    match name {
        "segment" => Some(Preset::Segment),
        "rudderstack" => Some(Preset::Rudderstack),
        "hightouch" => Some(Preset::Hightouch),
        "flat" => Some(Preset::Flat),
        _ => None,
    }
}

/// The name of the preset a menu value stands for, as messages say it.
fn preset_title(value: &str) -> &str {
    PRESETS
        .iter()
        .find_map(|(v, name, _)| (*v == value).then_some(*name))
        .unwrap_or(value)
}

/// What the page says above the form: an error, or a notice about what the last button did.
enum Said<'a> {
    Nothing,
    Error(&'a str),
    Notice(&'a str),
}

/// The Create a key form, with what is `said` above it and `preview` below the builder.
fn key_form(viewer: &Viewer, draft: &KeyDraft, said: Said, preview: Option<Markup>) -> Markup {
    let kind = draft.builder.kind;
    html! {
        form.card.wide method="post" action="/settings/api-keys#create" id="create" {
            h2 { "Create a key" }
            @match said {
                Said::Error(error) => p.error role="alert" { (error) },
                Said::Notice(notice) => p.notice role="status" { (notice) },
                Said::Nothing => {},
            }
            input type="hidden" name="csrf" value=(viewer.csrf);
            label for="name" { "Name" }
            input #name type="text" name="name" value=(draft.name) maxlength="200" placeholder="Segment production";
            label for="endpoint_type" { "Endpoint type" }
            select #endpoint_type name="endpoint_type" {
                option value="product-org-updates" selected[kind == EndpointType::ProductOrgUpdates] { "Product Org Updates" }
                option value="signal-staging" selected[kind == EndpointType::SignalStaging] { "Signal Staging" }
            }
            label for="preset" { "Start from a preset" }
            select #preset name="preset" {
                @for (value, name, note) in PRESETS {
                    option value=(value) selected[draft.preset == value] { (name) (note) }
                }
            }
            input type="hidden" name="drawn_preset" value=(draft.preset);
            button type="submit" name="action" value="preset" formnovalidate { "Fill the template from the preset" }
            (draft.builder.fieldset())
            @if let Some(preview) = preview { (preview) }
            label for="expires_days" { "Expires after (days, empty for never)" }
            input #expires_days type="number" name="expires_days" min="1" max="3650" value=(draft.expires_days);
            p.check {
                input #with_secret type="checkbox" name="with_secret" value="on" checked[draft.with_secret];
                " " label for="with_secret" { "Require an X-Api-Secret header" }
            }
            p.check {
                input #with_hmac type="checkbox" name="with_hmac" value="on" checked[draft.with_hmac];
                " " label for="with_hmac" { "Require signed requests (HMAC)" }
            }
            button type="submit" name="action" value="create" { "Create key" }
        }
        // With JavaScript the preview follows the typing; without, the Preview button does it.
        script { (PreEscaped(LIVE_PREVIEW_SCRIPT)) }
    }
}

const LIVE_PREVIEW_SCRIPT: &str = r#"(function () {
  var form = document.getElementById('create');
  var sample = document.getElementById('sample');
  if (!form || !sample || !window.fetch || !window.DOMParser) return;
  var timer;
  function refresh() {
    if (!sample.value.trim()) return;
    var data = new URLSearchParams(new FormData(form));
    data.set('action', 'preview');
    fetch(form.getAttribute('action').split('#')[0], { method: 'POST', body: data, credentials: 'same-origin' })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('preview');
        var old = document.getElementById('preview');
        if (!fresh) return;
        if (old) { old.replaceWith(fresh); } else { sample.nextElementSibling.after(fresh); }
      });
  }
  form.addEventListener('input', function (e) {
    if (e.target.closest('fieldset')) { clearTimeout(timer); timer = setTimeout(refresh, 400); }
  });
})();"#;

/// The Create a key form as the API Keys page first shows it.
pub fn create_form(viewer: &Viewer) -> Markup {
    key_form(viewer, &KeyDraft::new(), Said::Nothing, None)
}

/// Every button of the Create a key form. All but Create draw the form again with their
/// outcome; Create shows the new key once.
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
    let (mut draft, drawn_preset) = KeyDraft::from_form(form);
    let notice = match intent {
        Intent::FillFromPreset => None,
        _ => draft.apply_chosen_preset(drawn_preset),
    };
    let said = notice.as_deref().map_or(Said::Nothing, Said::Notice);
    let redraw = |draft: &KeyDraft, said: Said, preview: Option<Markup>| {
        key_page(&viewer, draft, StatusCode::OK, said, preview)
    };
    match intent {
        Intent::Redraw => redraw(&draft, said, None),
        Intent::FillFromPreset => match draft.fill_from_preset() {
            Ok(()) => redraw(&draft, said, None),
            Err(why) => key_page(
                &viewer,
                &draft,
                StatusCode::BAD_REQUEST,
                Said::Error(why),
                None,
            ),
        },
        Intent::AddCustomRow => {
            draft.builder.custom.push((String::new(), String::new()));
            redraw(&draft, said, None)
        }
        Intent::Preview => redraw(&draft, said, Some(draft.builder.preview())),
        // What the user meant is unclear: nothing is created until they say.
        Intent::Create if notice.is_some() => {
            let message = format!(
                "No key was created. {} To save the paths as they are, press \"Create key\" again.",
                notice.as_deref().unwrap_or_default()
            );
            key_page(
                &viewer,
                &draft,
                StatusCode::CONFLICT,
                Said::Notice(&message),
                None,
            )
        }
        Intent::Create => match create(&app, &viewer, &draft).await {
            Ok((template, created)) => shown_once(&viewer, &headers, &template, &created),
            Err(response) => response,
        },
    }
}

/// The API Keys page drawn by one of the form's buttons: only the form, with the outcome.
fn key_page(
    viewer: &Viewer,
    draft: &KeyDraft,
    status: StatusCode,
    said: Said,
    preview: Option<Markup>,
) -> Response {
    let body = page(
        "API Keys",
        Some(viewer),
        key_form(viewer, draft, said, preview),
    );
    (status, body).into_response()
}

/// Stores the key the draft describes; a draft that is not a valid key gets its form back
/// with the reason.
async fn create(
    app: &App,
    viewer: &Viewer,
    draft: &KeyDraft,
) -> Result<(PayloadTemplate, CreatedKey), Response> {
    let invalid = |message: &str| {
        key_page(
            viewer,
            draft,
            StatusCode::BAD_REQUEST,
            Said::Error(message),
            None,
        )
    };
    let now = Utc::now();
    let request = draft
        .key_request(now)
        .map_err(|message| invalid(&message))?;
    let template = request.template.clone();
    match create_api_key(app.store.as_ref(), viewer.tenant, request, now).await {
        Ok(created) => Ok((template, created)),
        Err(ApiError::BadRequest { message, .. }) => Err(invalid(&message)),
        Err(e) => Err(e.into_response()),
    }
}

mod shown;
#[cfg(test)]
mod tests;
