//! The Create a key form as axum reads a browser's post of it.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{header, Request};
use trailspark_core::EndpointType;

use super::draft::{Intent, KeyDraft, KeyForm};
use super::*;

/// `body` read as the browser's post is: through axum's form extractor.
async fn posted(body: &str) -> Result<KeyForm, String> {
    let request = Request::post("/settings/api-keys")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    Form::<KeyForm>::from_request(request, &())
        .await
        .map(|Form(form)| form)
        .map_err(|rejection| rejection.body_text())
}

fn path<'a>(draft: &'a KeyDraft, field: &str) -> &'a str {
    let (_, text) = draft
        .builder
        .paths
        .iter()
        .find(|(f, _)| *f == field)
        .unwrap();
    text
}

#[tokio::test]
async fn the_posted_form_becomes_the_draft() {
    let form = posted(
        "csrf=c&name=Seg&endpoint_type=signal-staging&with_secret=on&action=create\
         &path.leadId=+lead_id+&custom_name.0=plan&custom_path.0=+traits.plan\
         &custom_name.1=&custom_path.1=&custom_name.3=after+a+gap&custom_name.01=odd\
         &sample=+%7B%7D+",
    )
    .await
    .unwrap();
    assert_eq!(form.csrf, "c");
    assert!(matches!(form.intent(), Intent::Create));
    let (draft, _) = KeyDraft::from_form(form);
    assert_eq!(draft.name, "Seg");
    assert_eq!(draft.builder.kind, EndpointType::SignalStaging);
    assert!(
        draft.with_secret && !draft.with_hmac,
        "an absent box is unticked"
    );
    assert_eq!(path(&draft, "leadId"), "lead_id", "paths are trimmed");
    assert_eq!(path(&draft, "signal"), "", "a field not sent is empty");
    assert_eq!(
        draft.builder.custom,
        [("plan".to_owned(), "traits.plan".to_owned())],
        "blank rows go, and rows stop at the first missing number"
    );
    assert_eq!(draft.builder.sample, " {} ", "the sample stays as pasted");
}

#[tokio::test]
async fn a_remove_button_drops_its_row_and_draws_the_form_again() {
    let form = posted(
        "csrf=c&action=create&remove=0&custom_name.0=a&custom_path.0=b\
         &custom_name.1=c&custom_path.1=d",
    )
    .await
    .unwrap();
    assert!(matches!(form.intent(), Intent::Redraw));
    let (draft, _) = KeyDraft::from_form(form);
    assert_eq!(draft.builder.custom, [("c".to_owned(), "d".to_owned())]);
}

#[tokio::test]
async fn each_button_asks_for_its_step() {
    for (action, expected) in [
        ("preset", "preset"),
        ("add", "add"),
        ("preview", "preview"),
        ("create", "create"),
        ("", "create"),
    ] {
        let form = posted(&format!("csrf=c&action={action}")).await.unwrap();
        let step = match form.intent() {
            Intent::FillFromPreset => "preset",
            Intent::AddCustomRow => "add",
            Intent::Preview => "preview",
            Intent::Create => "create",
            Intent::Redraw => "redraw",
        };
        assert_eq!(step, expected, "action={action}");
    }
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_read_so_it_can_be_refused_as_forged() {
    let form = posted("name=Sneaky").await.unwrap();
    assert_eq!(form.csrf, "");
}

#[tokio::test]
async fn a_field_sent_twice_is_refused() {
    for body in [
        "csrf=a&csrf=b",
        "csrf=a&path.name=x&path.name=y",
        "csrf=a&custom_name.0=x&custom_name.0=y",
        "csrf=a&sample=1&sample=2",
    ] {
        let refused = posted(body).await.err().unwrap_or_default();
        assert!(refused.contains("duplicate field"), "{body}: {refused}");
    }
}
