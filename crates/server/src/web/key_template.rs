//! The template editor of a key's page: the template builder filled with the key's current
//! template; "Test against recent deliveries" runs the edited template over the key's stored
//! payloads (nothing saved, [`crate::template_test`]); "Save as new version" makes it the
//! key's next version ([`crate::keys::change_template`]). Plain form posts, as the builder's.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::template::{PayloadTemplate, TemplateError};
use trailspark_store::ApiKeyRecord;

use super::builder::{Builder, BuilderForm};
use super::key_deliveries::{delivery_link, LogFilter};
use super::key_page::{draw, key_href, key_of};
use super::session::{forbidden, Viewer};
use super::values::{label, message, value};
use crate::app::App;
use crate::error::ApiError;
use crate::keys::{change_template, TemplateSource, BY_WEB_UI};
use crate::template_test::{self, TemplateTest, DEFAULT_LIMIT};

/// The editor as posted: its CSRF token, the button pressed, the builder's inputs.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct TemplateForm {
    csrf: String,
    action: String,
    #[serde(flatten)]
    builder: BuilderForm,
}

/// What the editor says above its form.
pub(super) enum Said {
    Nothing,
    /// The template was saved as this version.
    Saved(i64),
    /// The template was refused for these reasons; nothing was saved.
    Refused(Vec<String>),
    /// Something else stopped the button (a revoked key).
    Error(String),
}

/// The editor's state: the builder's inputs, what is said, and what a button showed.
pub(super) struct Editor {
    pub builder: Builder,
    pub said: Said,
    /// The builder's preview of its sample payload.
    pub preview: Option<Markup>,
    /// The test against recent deliveries.
    pub test: Option<Markup>,
}

/// Every button of the editor: Save redirects to the key's page with the new version said;
/// the others draw the page again with their outcome.
pub(super) async fn edit(
    State(app): State<App>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TemplateForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let key = match key_of(&app, viewer.tenant, &id).await {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let action = if form.builder.removes_a_row() {
        // The row is gone already: only draw the form again.
        ""
    } else {
        form.action.as_str()
    };
    let mut editor = Editor {
        builder: Builder::from_form(key.endpoint_type, form.builder),
        said: Said::Nothing,
        preview: None,
        test: None,
    };
    let mut status = StatusCode::OK;
    match action {
        "add" => editor.builder.custom.push((String::new(), String::new())),
        "preview" => editor.preview = Some(editor.builder.preview()),
        "test" => match candidate(&key, &editor.builder) {
            Ok(template) => {
                match template_test::test(app.store.as_ref(), key.clone(), &template, DEFAULT_LIMIT)
                    .await
                {
                    Ok(tested) => editor.test = Some(test_table(&key, &tested)),
                    Err(e) => return e.into_response(),
                }
            }
            Err(TemplateError(reasons)) => {
                (status, editor.said) = (StatusCode::UNPROCESSABLE_ENTITY, Said::Refused(reasons));
            }
        },
        "save" => match save(&app, &viewer, &key, &editor.builder).await {
            Ok(version) => {
                let to = format!("{}?saved={version}#template", key_href(&key));
                return Redirect::to(&to).into_response();
            }
            Err((code, said)) => (status, editor.said) = (code, said),
        },
        _ => {}
    }
    match draw(&app, &viewer, &headers, &key, editor, &LogFilter::default()).await {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The builder's template compiled for the key's type, or every reason it is not one.
fn candidate(key: &ApiKeyRecord, builder: &Builder) -> Result<PayloadTemplate, TemplateError> {
    TemplateSource::Json(builder.template_json()).compile(key.endpoint_type)
}

/// Saves the builder's template as the key's next version; what to say when it is not saved.
async fn save(
    app: &App,
    viewer: &Viewer,
    key: &ApiKeyRecord,
    builder: &Builder,
) -> Result<i64, (StatusCode, Said)> {
    let source = TemplateSource::Json(builder.template_json());
    match change_template(
        app.store.as_ref(),
        viewer.tenant,
        &key.id,
        &source,
        BY_WEB_UI,
    )
    .await
    {
        Ok(version) => Ok(version.version),
        Err(ApiError::InvalidTemplate(TemplateError(reasons))) => {
            Err((StatusCode::UNPROCESSABLE_ENTITY, Said::Refused(reasons)))
        }
        Err(e) => {
            let message = e.body()["message"].as_str().unwrap_or_default().to_owned();
            Err((e.status(), Said::Error(message)))
        }
    }
}

/// The editor: the builder, then its Test and Save buttons; a revoked key's template no
/// longer changes, so it has none.
pub(super) fn editor(viewer: &Viewer, key: &ApiKeyRecord, editor: &Editor) -> Markup {
    if key.revoked_at.is_some() {
        return html! { section #edit { h2 { "Edit the template" } p.muted { "This key is revoked: its template no longer changes." } } };
    }
    html! {
        section #edit {
            h2 { "Edit the template" }
            form.card.wide method="post" action={ (key_href(key)) "/template#edit" } id="template-form" {
                // Enter in a path input previews (the first submit button is the default).
                button type="submit" name="action" value="preview" hidden tabindex="-1" aria-hidden="true" { "Preview" }
                div #said {
                    @match &editor.said {
                        Said::Refused(reasons) => div.error role="alert" {
                            p { "The template is not valid, for " (reasons.len()) " reason(s); nothing was saved:" }
                            ul #reasons { @for reason in reasons { li { (message(reason)) } } }
                        },
                        Said::Error(said) => p.error role="alert" { (message(said)) },
                        Said::Saved(_) | Said::Nothing => {},
                    }
                }
                input type="hidden" name="csrf" value=(viewer.csrf);
                (editor.builder.fieldset())
                @if let Some(preview) = &editor.preview { (preview) }
                p.muted {
                    "Test runs this template over the key's newest " (DEFAULT_LIMIT) " deliveries that kept their payload and saves nothing. "
                    "Save makes it the key's next version: updates are read with it from then on, at the same URL."
                }
                button type="submit" name="action" value="test" formaction={ (key_href(key)) "/template#test" } { "Test against recent deliveries" }
                " "
                button type="submit" name="action" value="save" { "Save as new version" }
            }
            @if let Some(test) = &editor.test { (test) }
        }
    }
}

/// The test's summary and one row per delivery: before, after, and what it would take.
fn test_table(key: &ApiKeyRecord, tested: &TemplateTest) -> Markup {
    let s = &tested.summary;
    html! {
        section #test role="status" {
            h3 { "Test against recent deliveries" }
            p { "Tested against " (tested.tested) " recent deliveries with a payload. Nothing was saved." }
            ul #test-summary {
                li { strong { (s.now_applied) " would now apply" } " (refused before)" }
                li { (s.still_refused) " still refused" }
                li { (s.newly_refused) " newly refused" }
                li { (s.extraction_changed) " would take other fields" }
                li { (s.same) " the same" }
            }
            table.stack #test-results {
                thead { tr { th { "Delivery" } th { "Before" } th { "After" } th { "Fields" } } }
                tbody {
                    @for row in &tested.results {
                        tr {
                            td data-label="Delivery" { (delivery_link(&key_href(key), row.delivery_id)) }
                            td data-label="Before" { (row.before.outcome) @if let Some(code) = &row.before.code { br; code { (code) } } }
                            td data-label="After" { (row.after.outcome) @if let Some(code) = &row.after.code { br; code { (code) } } }
                            td.fields data-label="Fields" {
                                ul.pairs {
                                    @for (name, taken) in row.after.fields.iter().flatten() {
                                        li { span title=(name) { (label(name)) } ": " (field_value(name, taken)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A field's value as the tables show it (`null` clears a product org field, so it is said).
fn field_value(name: &str, taken: &Value) -> Markup {
    match taken {
        Value::Null => html! { code { "null" } " (clears the field)" },
        other => value(name, other),
    }
}
