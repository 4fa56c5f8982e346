//! An example payload for a template: every mapped path holds a value its field's rule accepts,
//! so a new key can be tried with a request that is answered 200 (the web UI's "Try it").

use serde_json::{json, Map, Value};

use crate::path::FieldPath;
use crate::template::PayloadTemplate;

/// The product org id the examples name.
pub const EXAMPLE_PRODUCT_ORG_ID: &str = "test_ws_001";
/// The event time the examples carry.
const EXAMPLE_TIME: &str = "2026-01-15T10:30:00Z";

/// A payload that `template` reads a value of every mapped field from. Each field's value is
/// put at its first path (the one tried first). The required fields go in first: where two
/// paths cannot both hold a value (a template mapping `org` and `org.id`), theirs is kept.
pub fn example_payload(template: &PayloadTemplate) -> Value {
    let mut payload = Value::Object(Map::new());
    for (path, value) in examples(template) {
        if let Some(first) = path.paths().first() {
            first.insert(&mut payload, value);
        }
    }
    payload
}

/// Each mapped field's path with an example value, required fields first.
fn examples<'t>(template: &'t PayloadTemplate) -> Vec<(&'t FieldPath, Value)> {
    let mut out = Vec::new();
    let mut put = |path: Option<&'t FieldPath>, value: Value| {
        if let Some(path) = path {
            out.push((path, value));
        }
    };
    let custom = match template {
        PayloadTemplate::ProductOrg(t) => {
            put(Some(&t.product_org_id), json!(EXAMPLE_PRODUCT_ORG_ID));
            for (field, path) in &t.fields {
                put(Some(path), field.example());
            }
            put(t.event_timestamp.as_ref(), json!(EXAMPLE_TIME));
            put(t.message_id.as_ref(), json!("test-message-001"));
            &t.custom_fields
        }
        PayloadTemplate::Signal(t) => {
            put(t.lead_id.as_ref(), json!("test_lead_001"));
            put(t.email.as_ref(), json!("test@example.com"));
            put(t.product_org_id.as_ref(), json!(EXAMPLE_PRODUCT_ORG_ID));
            put(t.signal.as_ref(), json!("Tried the webhook"));
            put(t.event_timestamp.as_ref(), json!(EXAMPLE_TIME));
            put(t.properties.as_ref(), json!({"source": "trailspark"}));
            put(t.message_id.as_ref(), json!("test-message-001"));
            &t.custom_fields
        }
    };
    for (_, path) in custom {
        put(Some(path), json!("example"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::extract_product_org;
    use crate::ids::EndpointType;
    use crate::signal::extract_signal;
    use crate::template::Preset;

    #[test]
    fn every_preset_reads_every_field_from_its_example() {
        for preset in [
            Preset::Segment,
            Preset::Rudderstack,
            Preset::Hightouch,
            Preset::Flat,
        ] {
            let template = PayloadTemplate::preset(EndpointType::ProductOrgUpdates, preset);
            let payload = example_payload(&template);
            let t = template.as_product_org().unwrap();
            let update = extract_product_org(t, &payload)
                .unwrap_or_else(|e| panic!("{preset:?}: {e:?} for {payload}"));
            assert_eq!(update.product_org_id.as_str(), EXAMPLE_PRODUCT_ORG_ID);
            assert_eq!(
                update.patches.len(),
                t.fields.len(),
                "{preset:?}: {payload}"
            );

            let template = PayloadTemplate::preset(EndpointType::SignalStaging, preset);
            let payload = example_payload(&template);
            let PayloadTemplate::Signal(t) = &template else {
                unreachable!()
            };
            let signal = extract_signal(t, &payload)
                .unwrap_or_else(|e| panic!("{preset:?}: {e:?} for {payload}"));
            assert!(
                signal.product_org_id.is_some() && signal.name.is_some(),
                "{payload}"
            );
        }
    }

    #[test]
    fn nested_paths_alternatives_and_indexes_get_their_values() {
        let template = PayloadTemplate::from_json(
            EndpointType::ProductOrgUpdates,
            &json!({"productOrgId": ["data.org.id", "orgId"], "name": "data.org.name",
                    "planName": "items.0.plan", "featureFlags": "data.flags",
                    "customFields": {"seats": "metrics.seats"}}),
        )
        .unwrap();
        assert_eq!(
            example_payload(&template),
            json!({"data": {"org": {"id": "test_ws_001", "name": "Test Workspace"},
                            "flags": {"sso_enabled": true}},
                   "items": [{"plan": "Pro"}], "metrics": {"seats": "example"}})
        );
    }

    #[test]
    fn where_two_paths_collide_the_required_field_keeps_its_value() {
        let template = PayloadTemplate::from_json(
            EndpointType::ProductOrgUpdates,
            &json!({"productOrgId": "org.id", "name": "org"}),
        )
        .unwrap();
        let payload = example_payload(&template);
        assert_eq!(payload, json!({"org": {"id": "test_ws_001"}}));
    }
}
