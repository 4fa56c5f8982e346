//! Moving a product org (and the leads linked through it) under another target org from Org
//! Management: the fix for two product orgs that are one workspace spelled two ways
//! (`WS_ABC123`, `ws_abc123 `), or for several workspaces of one company.

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use trailspark_core::{ProductOrgId, TargetOrgId};
use trailspark_store::{is_possible_duplicate, ProductOrg};

use super::layout::{crumbs, page};
use super::orgs::{product_org_href, product_org_link, target_href, urlencode, HOME};
use super::session::{forbidden, Viewer};
use super::values::{message, visible_id};
use crate::app::App;
use crate::error::ApiError;

/// The route of the move form.
pub fn router() -> Router<App> {
    Router::new().route("/settings/product-orgs/{id}/move", post(move_product_org))
}

/// Where a product org's move form posts.
fn action(id: &ProductOrgId) -> String {
    format!("/settings/product-orgs/{}/move", urlencode(id.as_str()))
}

/// The move form's fields: the session's CSRF token and the target org to move under.
#[derive(Deserialize)]
struct MoveForm {
    // Absent, it is empty: the 403 of a wrong token, as every form answers.
    #[serde(default)]
    csrf: String,
    target_org_id: String,
}

/// Moves the product org, then shows the target org it is now under.
async fn move_product_org(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let Ok(id) = ProductOrgId::parse(id) else {
        return ApiError::NotFound("No such product org.".into()).into_response();
    };
    let wanted = form.target_org_id.trim();
    let moved = match wanted.parse::<i64>() {
        Ok(to) => app
            .store
            .move_product_org(viewer.tenant, &id, TargetOrgId(to))
            .await
            .map_err(ApiError::from),
        Err(_) => Err(ApiError::BadRequest {
            code: "invalid_target_org_id",
            message: format!(
                "{wanted:?} is not a target org id: enter the number shown beside the target \
                 org in Org Management."
            ),
        }),
    };
    match moved {
        // See Other: reloading the target org's page must not post the move again.
        Ok(org) => Redirect::to(&target_href(org.target_org_id)).into_response(),
        Err(e @ (ApiError::NotFound(_) | ApiError::BadRequest { .. })) => {
            let said = e.body()["message"].as_str().unwrap_or_default().to_owned();
            let back = product_org_href(&id);
            let body = html! {
                (crumbs(&[HOME, (id.as_str(), &back)]))
                p.error role="alert" { "Not moved: " (message(&said)) }
                p { "Back to " (product_org_link(&id)) " to try another target org." }
            };
            (e.status(), page("Not moved", Some(&viewer), body)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// A button that moves `org` under the target org of `under` (a possible duplicate of it).
pub fn move_under(viewer: &Viewer, org: &ProductOrg, under: &ProductOrg) -> Markup {
    html! {
        form.inline method="post" action=(action(&org.product_org_id)) {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="target_org_id" value=(under.target_org_id.0);
            button type="submit" {
                "Move " (visible_id(org.product_org_id.as_str())) " under target org #" (under.target_org_id.0)
                " (that of " (visible_id(under.product_org_id.as_str())) ")"
            }
        }
    }
}

/// A product org's move form: any target org by id, and a button for each target org of its
/// possible duplicates (`similar`, orgs whose ids fold like its own).
pub fn move_form(viewer: &Viewer, org: &ProductOrg, similar: &[ProductOrg]) -> Markup {
    html! {
        h2 { "Move to another target org" }
        @for other in similar.iter().filter(|o| o.target_org_id != org.target_org_id) {
            (move_under(viewer, org, other))
        }
        form.card #move-product-org method="post" action=(action(&org.product_org_id)) {
            p.muted { "Its leads move with it. Two product orgs of one company (or one workspace whose id two sources spell differently) belong under one target org." }
            input type="hidden" name="csrf" value=(viewer.csrf);
            label for="target_org_id" { "Target org ID" }
            input #target_org_id type="number" name="target_org_id" min="1" required aria-describedby="target-org-id-hint" value=(org.target_org_id.0);
            p.muted #target-org-id-hint { "The number after # beside each target org in Org Management." }
            button type="submit" { "Move" }
        }
    }
}

/// The note on a product org that other product orgs' ids fold like its own.
pub fn duplicate_note(id: &ProductOrgId, similar: &[ProductOrg]) -> Markup {
    let others: Vec<&ProductOrg> = similar
        .iter()
        .filter(|o| is_possible_duplicate(id, &o.product_org_id))
        .collect();
    html! {
        @if !others.is_empty() {
            p.notice.duplicate-note role="note" {
                (visible_id(id.as_str())) " is a possible duplicate of "
                @for (n, other) in others.iter().enumerate() {
                    @if n > 0 { ", " }
                    (product_org_link(&other.product_org_id))
                    " (target org " a href=(target_href(other.target_org_id)) { "#" (other.target_org_id.0) } ")"
                }
                ": the ids differ only by letter case or surrounding spaces. Product org ids match exactly, so these are separate product orgs; send one form of the id from every source, and move them under one target org."
            }
        }
    }
}
