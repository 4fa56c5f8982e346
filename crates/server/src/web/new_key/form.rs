//! The Create a key form as drawn (where JavaScript runs, `assets/app.js` redraws its fields as
//! soon as a menu changes and its preview as the user types).

use maud::{html, Markup};
use trailspark_core::EndpointType;

use super::draft::{KeyDraft, PRESETS};
use crate::web::session::Viewer;

/// What the page says above the form: an error, or a notice about what the last button did.
pub(super) enum Said<'a> {
    Nothing,
    Error(&'a str),
    Notice(&'a str),
}

/// The Create a key form, with what is `said` above it and `preview` below the builder.
pub(super) fn key_form(
    viewer: &Viewer,
    draft: &KeyDraft,
    said: Said,
    preview: Option<Markup>,
) -> Markup {
    let kind = draft.kind;
    html! {
        form.card.wide method="post" action="/settings/api-keys#create" id="create" {
            h2 { "Create a key" }
            div #said {
                @match said {
                    Said::Error(error) => p.error role="alert" { (error) },
                    Said::Notice(notice) => p.notice role="status" { (notice) },
                    Said::Nothing => {},
                }
            }
            input type="hidden" name="csrf" value=(viewer.csrf);
            label for="name" { "Name" }
            input #name type="text" name="name" value=(draft.name) maxlength="200" placeholder="Segment production";
            label for="endpoint_type" { "Endpoint type" }
            select #endpoint_type name="endpoint_type" {
                @for each in [EndpointType::ProductOrgUpdates, EndpointType::SignalStaging] {
                    option value=(each.as_str()) selected[kind == each] { (each.title()) }
                }
            }
            button type="submit" name="action" value="fields" formnovalidate { "Show this type's fields" }
            label for="preset" { "Start from a preset" }
            select #preset name="preset" {
                @for (_, value, name, note) in PRESETS {
                    option value=(value) selected[draft.preset == value] { (name) (note) }
                }
            }
            button type="submit" name="action" value="preset" formnovalidate { "Fill the template from the preset" }
            // What the fields were drawn for, so the next post knows what the user changed.
            div #template {
                input type="hidden" name="drawn_type" value=(kind.as_str());
                input type="hidden" name="drawn_preset" value=(draft.preset);
                (draft.builder.fieldset())
            }
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
    }
}
