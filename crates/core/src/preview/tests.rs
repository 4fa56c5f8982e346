use serde_json::json;

use super::*;
use crate::extract::extract_product_org;
use crate::ids::EndpointType;
use crate::signal::extract_signal;
use crate::template::Preset;

const PO: EndpointType = EndpointType::ProductOrgUpdates;
const SIGNALS: EndpointType = EndpointType::SignalStaging;

/// The seed's Segment group call, as Segment delivers it.
fn segment_group() -> Value {
    json!({"type": "group", "groupId": "ws_abc123", "traits": {"name": "Acme Corp Workspace",
        "plan": "pro_annual", "plan_name": "Pro Annual", "employees": 47, "mrr": 49900,
        "trial_status": "converted"}, "userId": "user_789",
        "timestamp": "2026-01-15T10:30:00.000Z", "messageId": "seg-msg-abc123"})
}

#[test]
fn the_seed_group_call_through_the_segment_preset() {
    let shown = preview(
        &PayloadTemplate::preset(PO, Preset::Segment),
        &segment_group(),
    );
    assert_eq!(
        Value::Object(shown.fields.clone()),
        json!({"productOrgId": "ws_abc123", "name": "Acme Corp Workspace",
            "planId": "pro_annual", "planName": "Pro Annual", "userCount": 47, "mrr": 49900,
            "trialStatus": "converted", "eventTimestamp": "2026-01-15T10:30:00Z",
            "messageId": "seg-msg-abc123"})
    );
    assert!(shown.unresolved.is_empty(), "{:?}", shown.unresolved);
    assert!(shown.errors.is_empty(), "{:?}", shown.errors);
    assert_eq!(shown.mapped[0].field, "productOrgId");
    assert_eq!(shown.outcome("userCount"), Outcome::Value(&json!(47)));
}

#[test]
fn a_typo_is_unresolved_with_the_near_path_and_a_wrong_type_is_an_error() {
    let template = PayloadTemplate::from_json(
        PO,
        &json!({"productOrgId": "groupId", "userCount": "traits.employes", "mrr": "traits.mrr",
            "customFields": {"seats": "traits.seats", "region": "traits.region"}}),
    )
    .unwrap();
    let mut payload = segment_group();
    payload["traits"]["mrr"] = json!("lots");
    payload["traits"]["seats"] = json!(3);
    let shown = preview(&template, &payload);
    assert_eq!(
        shown.unresolved,
        [
            Unresolved {
                field: "userCount".into(),
                path: "traits.employes".into(),
                did_you_mean: Some("traits.employees".into())
            },
            Unresolved {
                field: "customFields.region".into(),
                path: "traits.region".into(),
                did_you_mean: None
            },
        ]
    );
    let refused: Vec<_> = shown.errors.iter().map(|e| (&*e.field, &*e.path)).collect();
    assert_eq!(refused, [("mrr", "traits.mrr")]);
    assert_eq!(shown.fields["customFields"], json!({"seats": 3}));
    assert_eq!(
        shown.outcome("customFields.seats"),
        Outcome::Value(&json!(3))
    );
    assert!(matches!(shown.outcome("mrr"), Outcome::Refused(e) if e.message.contains("mrr")));
    assert_eq!(
        shown.outcome("userCount"),
        Outcome::Nothing(Some("traits.employees"))
    );
}

#[test]
fn a_missing_id_is_an_error_of_its_field_and_null_clears_a_field() {
    let template = PayloadTemplate::preset(PO, Preset::Hightouch);
    let shown = preview(
        &template,
        &json!({"workspaceId": "w", "plan_name": null, "mrr": 5}),
    );
    assert_eq!(shown.errors.len(), 1, "{:?}", shown.errors);
    assert_eq!(shown.errors[0].field, "productOrgId");
    assert_eq!(shown.errors[0].path, "workspace_id");
    assert_eq!(
        shown.unresolved[0].did_you_mean.as_deref(),
        Some("workspaceId")
    );
    assert_eq!(
        Value::Object(shown.fields.clone()),
        json!({"planName": null, "mrr": 5}),
        "the other fields are read all the same; null clears planName"
    );
    let unresolved: Vec<_> = shown.unresolved.iter().map(|u| &*u.field).collect();
    assert!(!unresolved.contains(&"planName"), "{unresolved:?}");
    let null_id = preview(&template, &json!({"workspace_id": null}));
    assert!(
        null_id.errors[0].message.contains("null"),
        "{:?}",
        null_id.errors
    );
}

#[test]
fn signals_show_their_fields_and_a_missing_lead_on_each_lead_field() {
    let template = PayloadTemplate::preset(SIGNALS, Preset::Segment);
    let identify = json!({"type": "identify", "traits": {"email": "Bo@Example.com",
        "productOrgId": "ws_9"}});
    let shown = preview(&template, &identify);
    assert!(shown.errors.is_empty(), "{:?}", shown.errors);
    assert_eq!(shown.fields["leadId"], "bo@example.com", "known by email");
    assert_eq!(shown.fields["productOrgId"], "ws_9");
    assert_eq!(shown.fields["signal"], "identify");
    assert_eq!(
        shown.outcome("leadId"),
        Outcome::Nothing(None),
        "its own path found nothing"
    );

    let shown = preview(&template, &json!({"event": "x", "userid": "u_1"}));
    let fields: Vec<_> = shown.errors.iter().map(|e| &*e.field).collect();
    assert_eq!(fields, ["leadId", "email"]);
    assert_eq!(shown.unresolved[1].did_you_mean.as_deref(), Some("userid"));
}

/// The preview and the webhook read payloads with one reader: a preview without errors is
/// exactly a payload the webhook applies.
#[test]
fn no_errors_means_the_webhook_applies_it() {
    let payloads = [
        segment_group(),
        json!({"groupId": null}),
        json!({"groupId": "w", "traits": {"employees": -1}}),
        json!({"groupId": {"id": 1}}),
        json!({"groupId": 7, "timestamp": "yesterday"}),
        json!({"userId": "u", "context": {"traits": {"email": "nope"}}}),
        json!({"workspace_id": "w", "email": "a@b.c", "lead_id": ""}),
        json!([]),
    ];
    for kind in [PO, SIGNALS] {
        for preset in Preset::ALL {
            let template = PayloadTemplate::preset(kind, preset);
            for payload in &payloads {
                let applied = match &template {
                    PayloadTemplate::ProductOrg(t) => extract_product_org(t, payload).is_ok(),
                    PayloadTemplate::Signal(t) => extract_signal(t, payload).is_ok(),
                };
                let shown = preview(&template, payload);
                assert_eq!(
                    shown.errors.is_empty(),
                    applied,
                    "{kind:?} {preset:?} {payload}"
                );
            }
        }
    }
}
