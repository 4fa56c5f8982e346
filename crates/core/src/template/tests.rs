//! Tests of [`super`]: presets, validation and the JSON form.

use serde_json::json;

use super::*;

const PO: EndpointType = EndpointType::ProductOrgUpdates;

#[test]
fn spec_example_round_trips() {
    let json = json!({"productOrgId": "groupId", "name": "traits.name", "planId": "traits.plan",
        "planName": "traits.plan_name", "userCount": "traits.employees", "mrr": "traits.mrr",
        "trialStatus": "traits.trial_status", "lastActiveAt": "activity.last_seen",
        "featureFlags": "data.features", "eventTimestamp": "timestamp", "messageId": "messageId",
        "customFields": {"projects_count": "metrics.total_projects"}});
    let template = PayloadTemplate::from_json(PO, &json).unwrap();
    assert_eq!(template.to_json(), json);
    assert_eq!(template.endpoint_type(), PO);
}

#[test]
fn refuses_with_every_reason() {
    let err = PayloadTemplate::from_json(
        PO,
        &json!({"name": "a..b", "plan": "traits.plan", "mrr": 5, "customFields": {"x": ""}}),
    )
    .unwrap_err();
    let text = err.to_string();
    for needle in [
        "productOrgId",
        "unknown template key `plan`",
        "empty segment",
        "`mrr` must be a path string",
        "customFields.x",
        "empty",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    let err = PayloadTemplate::from_json(PO, &json!({"productOrgId": "id", "customFields": ["a"]}))
        .unwrap_err();
    assert!(err.to_string().contains("customFields"), "{err}");
    assert!(PayloadTemplate::from_json(PO, &json!("groupId")).is_err());
}

#[test]
fn presets_match_the_seed_tables() {
    let segment = PayloadTemplate::preset(PO, Preset::Segment).to_json();
    assert_eq!(segment["productOrgId"], "groupId");
    assert_eq!(segment["userCount"], "traits.employees");
    assert_eq!(segment["eventTimestamp"], "timestamp");
    assert_eq!(
        PayloadTemplate::preset(PO, Preset::Rudderstack).to_json(),
        segment
    );
    let flat = PayloadTemplate::preset(PO, Preset::Hightouch).to_json();
    assert_eq!(flat["productOrgId"], "workspace_id");
    assert_eq!(flat["featureFlags"], "feature_flags");
    let signals = PayloadTemplate::preset(EndpointType::SignalStaging, Preset::Segment);
    assert_eq!(signals.to_json()["productOrgId"][0], "context.groupId");
}

#[test]
fn presets_are_found_by_their_names() {
    for preset in Preset::ALL {
        assert_eq!(Preset::parse(preset.name()), Some(preset));
    }
    assert_eq!(Preset::parse("Segment"), None, "names are lower-case");
}

#[test]
fn signal_templates_need_email_or_lead_id() {
    let err = PayloadTemplate::from_json(EndpointType::SignalStaging, &json!({"signal": "event"}))
        .unwrap_err();
    assert!(err.to_string().contains("email"), "{err}");
    assert!(PayloadTemplate::from_json(PO, &json!({"productOrgId": "a", "email": "e"})).is_err());
}
