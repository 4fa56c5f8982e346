//! Signals: what a lead did, extracted from a payload by a Signal Staging template (SPEC §4).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::extract::{check, ExtractError, FieldError};
use crate::hint::closest_path;
use crate::ids::{LeadId, ProductOrgId};
use crate::path::FieldPath;
use crate::template::SignalTemplate;
use crate::value;

/// One validated signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The lead: its `leadId` when the payload has one, else its normalised email.
    pub lead_id: LeadId,
    /// Normalised (trimmed, lower-cased) email, when the payload has one.
    pub email: Option<String>,
    /// The product org the lead acted in; links the lead to that org's target org.
    pub product_org_id: Option<ProductOrgId>,
    /// The event name.
    pub name: Option<String>,
    pub event_at: Option<DateTime<Utc>>,
    pub properties: Option<Map<String, Value>>,
    pub custom_fields: Map<String, Value>,
    pub message_id: Option<String>,
}

/// Extracts a signal from `payload` with `template`; every bad field is listed at once.
pub fn extract_signal(template: &SignalTemplate, payload: &Value) -> Result<Signal, ExtractError> {
    let mut errors = Vec::new();
    let read = |path| found(path, payload);
    let lead = read(&template.lead_id);
    let email = read(&template.email);
    let product_org_id = read(&template.product_org_id);
    let name = read(&template.signal);
    let event_at = read(&template.event_timestamp);
    let properties = read(&template.properties);
    let message_id = read(&template.message_id);

    if lead.is_none() && email.is_none() {
        let paths: Vec<&FieldPath> = [&template.lead_id, &template.email]
            .into_iter()
            .flatten()
            .collect();
        let did_you_mean = paths
            .iter()
            .flat_map(|p| p.paths())
            .find_map(|p| closest_path(payload, p.as_str()));
        return Err(ExtractError::MissingLead {
            paths: paths.iter().map(|p| p.as_str().to_owned()).collect(),
            did_you_mean,
        });
    }
    let lead_id = lead.and_then(|(p, v)| check(&mut errors, "leadId", p, value::lead_id(&v)));
    let email = email.and_then(|(p, v)| check(&mut errors, "email", p, value::email(&v)));
    let product_org_id = product_org_id
        .and_then(|(p, v)| check(&mut errors, "productOrgId", p, value::product_org_id(&v)));
    let name = name.and_then(|(p, v)| check(&mut errors, "signal", p, value::text(&v)));
    let event_at =
        event_at.and_then(|(p, v)| check(&mut errors, "eventTimestamp", p, value::timestamp(&v)));
    let properties =
        properties.and_then(|(p, v)| check(&mut errors, "properties", p, value::object(&v)));
    let message_id =
        message_id.and_then(|(p, v)| check(&mut errors, "messageId", p, value::message_id(&v)));
    let mut custom_fields = Map::new();
    for (name, path) in &template.custom_fields {
        if let Some(found) = path.resolve(payload).filter(|v| !v.is_null()) {
            let field = format!("customFields.{name}");
            if let Some(v) = check(&mut errors, &field, path, value::json(found)) {
                custom_fields.insert(name.clone(), v);
            }
        }
    }
    if !errors.is_empty() {
        return Err(ExtractError::Invalid(errors));
    }
    let lead_id = match (lead_id, &email) {
        (Some(id), _) => id,
        (None, Some(email)) => LeadId::parse(email.clone()).map_err(|message| {
            ExtractError::Invalid(vec![FieldError {
                field: "email".into(),
                path: template.email.as_ref().map_or("", |p| p.as_str()).into(),
                message: format!("email {message}"),
            }])
        })?,
        (None, None) => unreachable!("a lead id or an email was found above"),
    };
    Ok(Signal {
        lead_id,
        email,
        product_org_id,
        name,
        event_at,
        properties,
        custom_fields,
        message_id,
    })
}

/// The value at `path` unless it is missing or null (both mean "not given" for a signal).
fn found<'t>(path: &'t Option<FieldPath>, payload: &Value) -> Option<(&'t FieldPath, Value)> {
    let path = path.as_ref()?;
    match path.resolve(payload) {
        None | Some(Value::Null) => None,
        Some(value) => Some((path, value.clone())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::EndpointType;
    use crate::template::{PayloadTemplate, Preset};

    fn segment() -> SignalTemplate {
        match PayloadTemplate::preset(EndpointType::SignalStaging, Preset::Segment) {
            PayloadTemplate::Signal(t) => t,
            PayloadTemplate::ProductOrg(_) => unreachable!(),
        }
    }

    #[test]
    fn segment_track_and_identify() {
        let track = extract_signal(
            &segment(),
            &json!({"type": "track", "event": "Report Exported", "userId": "u_1",
                "context": {"groupId": "ws_abc123", "traits": {"email": "Ada@Example.com"}},
                "properties": {"format": "pdf"}, "timestamp": "2026-01-15T10:30:00Z", "messageId": "m1"}),
        )
        .unwrap();
        assert_eq!(track.lead_id.as_str(), "u_1");
        assert_eq!(track.email.as_deref(), Some("ada@example.com"));
        assert_eq!(track.product_org_id.unwrap().as_str(), "ws_abc123");
        assert_eq!(track.name.as_deref(), Some("Report Exported"));
        assert_eq!(track.properties.unwrap()["format"], "pdf");

        let identify = extract_signal(
            &segment(),
            &json!({"type": "identify", "traits": {"email": "bo@example.com", "productOrgId": "ws_9"}}),
        )
        .unwrap();
        assert_eq!(
            identify.lead_id.as_str(),
            "bo@example.com",
            "known by email only"
        );
        assert_eq!(identify.name.as_deref(), Some("identify"));
        assert_eq!(identify.product_org_id.unwrap().as_str(), "ws_9");
    }

    #[test]
    fn a_lead_is_required_and_bad_fields_are_listed() {
        let err = extract_signal(&segment(), &json!({"event": "x", "userid": "u_1"})).unwrap_err();
        let ExtractError::MissingLead {
            paths,
            did_you_mean,
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            paths,
            [
                "userId",
                "context.traits.email | traits.email | properties.email"
            ]
        );
        assert_eq!(did_you_mean.as_deref(), Some("userid"));

        let err = extract_signal(
            &segment(),
            &json!({"userId": "u", "context": {"traits": {"email": "nope"}, "groupId": {"id": 1}}}),
        )
        .unwrap_err();
        let ExtractError::Invalid(errors) = err else {
            panic!("{err:?}")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "productOrgId"]);
    }
}
