//! Signals: what a lead did, extracted from a payload by a Signal Staging template (SPEC §4).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::extract::{check, ExtractError, FieldError};
use crate::hint::{closest_path, NearPaths};
use crate::ids::{LeadId, ProductOrgId};
use crate::json::Json;
use crate::path::FieldPath;
use crate::template::SignalTemplate;
use crate::value;
use crate::warning::Warning;

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
    /// An `unresolved_path` warning when the productOrgId path found nothing but a near path
    /// exists: the mistake that leaves a lead unlinked.
    pub warnings: Vec<Warning>,
}

/// Extracts a signal from `payload` with `template`; every bad field is listed at once.
pub fn extract_signal<J: Json>(
    template: &SignalTemplate,
    payload: &J,
) -> Result<Signal, ExtractError> {
    let read = read_signal(template, payload);
    // A missing lead is answered before the other fields: without it nothing can be stored.
    if let Some(missing) = read.missing_lead {
        return Err(missing);
    }
    let lead_id = match read.lead_id {
        Some(lead_id) if read.errors.is_empty() => lead_id,
        _ => return Err(ExtractError::Invalid(read.errors)),
    };
    Ok(Signal {
        lead_id,
        email: read.email,
        product_org_id: read.product_org_id,
        name: read.name,
        event_at: read.event_at,
        properties: read.properties,
        custom_fields: read.custom_fields,
        message_id: read.message_id,
        warnings: read.warnings,
    })
}

/// Everything a payload says through a Signal Staging template, every problem included: the
/// webhook ([`extract_signal`]) and the template preview read payloads with it, so what a
/// preview shows is what a webhook would do. The fields are [`Signal`]'s, each `None` when the
/// payload does not have it or its value is refused (then in `errors`).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalReading {
    /// The lead: its `leadId`, else its normalised email.
    pub lead_id: Option<LeadId>,
    /// Why there is no lead at all: nothing at the leadId and email paths.
    pub missing_lead: Option<ExtractError>,
    pub email: Option<String>,
    pub product_org_id: Option<ProductOrgId>,
    pub name: Option<String>,
    pub event_at: Option<DateTime<Utc>>,
    pub properties: Option<Map<String, Value>>,
    pub custom_fields: Map<String, Value>,
    pub message_id: Option<String>,
    /// Every value its rule refused, in template order.
    pub errors: Vec<FieldError>,
    /// See [`Signal::warnings`].
    pub warnings: Vec<Warning>,
}

/// Reads every field of `payload` that `template` maps, whether or not the lead is there.
pub fn read_signal<J: Json>(template: &SignalTemplate, payload: &J) -> SignalReading {
    let mut errors = Vec::new();
    let read = |path| found(path, payload);
    let lead = read(&template.lead_id);
    let email = read(&template.email);
    let missing_lead = (lead.is_none() && email.is_none()).then(|| {
        let paths: Vec<&FieldPath> = [&template.lead_id, &template.email]
            .into_iter()
            .flatten()
            .collect();
        let did_you_mean = paths
            .iter()
            .flat_map(|p| p.paths())
            .find_map(|p| closest_path(payload, p.as_str()));
        ExtractError::MissingLead {
            paths: paths.iter().map(|p| p.as_str().to_owned()).collect(),
            did_you_mean,
        }
    });
    let lead_id = lead.and_then(|(p, v)| check(&mut errors, "leadId", p, value::lead_id(v)));
    let email = email.and_then(|(p, v)| check(&mut errors, "email", p, value::email(v)));
    let product_org = read(&template.product_org_id);
    let warnings = match (&template.product_org_id, &product_org) {
        (Some(path), None) => unresolved_product_org_id(template, path, payload),
        _ => Vec::new(),
    };
    let product_org_id = product_org
        .and_then(|(p, v)| check(&mut errors, "productOrgId", p, value::product_org_id(v)));
    let name =
        read(&template.signal).and_then(|(p, v)| check(&mut errors, "signal", p, value::text(v)));
    let event_at = read(&template.event_timestamp)
        .and_then(|(p, v)| check(&mut errors, "eventTimestamp", p, value::timestamp(v)));
    let properties = read(&template.properties)
        .and_then(|(p, v)| check(&mut errors, "properties", p, value::object(v)));
    let message_id = read(&template.message_id)
        .and_then(|(p, v)| check(&mut errors, "messageId", p, value::message_id(v)));
    let mut custom_fields = Map::new();
    for (name, path) in &template.custom_fields {
        if let Some(found) = path.resolve(payload).filter(|v| !v.is_null()) {
            let field = format!("customFields.{name}");
            if let Some(v) = check(&mut errors, &field, path, value::json(found)) {
                custom_fields.insert(name.clone(), v);
            }
        }
    }
    // Known by email only: the normalised email is the lead's id.
    let lead_id = lead_id.or_else(|| {
        let path = template.email.as_ref()?;
        let email = email.clone()?;
        check(&mut errors, "email", path, LeadId::parse(email))
    });
    SignalReading {
        lead_id,
        missing_lead,
        email,
        product_org_id,
        name,
        event_at,
        properties,
        custom_fields,
        message_id,
        errors,
        warnings,
    }
}

/// The `unresolved_path` warning of a productOrgId path that found nothing, when the payload
/// has a path near it that the template does not read for another field.
fn unresolved_product_org_id<J: Json>(
    template: &SignalTemplate,
    path: &FieldPath,
    payload: &J,
) -> Vec<Warning> {
    let mapped: Vec<&FieldPath> = [
        &template.email,
        &template.lead_id,
        &template.signal,
        &template.event_timestamp,
        &template.properties,
        &template.message_id,
    ]
    .into_iter()
    .flatten()
    .chain(template.custom_fields.iter().map(|(_, p)| p))
    .collect();
    let taken = |candidate: &str| {
        mapped
            .iter()
            .flat_map(|p| p.paths())
            .any(|p| p.as_str() == candidate)
    };
    let near = NearPaths::of(payload).without(&taken);
    let alternatives: Vec<&str> = path.paths().iter().map(|p| p.as_str()).collect();
    near.closest_each_cached(&alternatives, &template.hints)
        .iter()
        .flatten()
        .next()
        .map(|did_you_mean| Warning::unresolved_path("productOrgId", path.as_str(), did_you_mean))
        .into_iter()
        .collect()
}

/// The value at `path` unless it is missing or null (both mean "not given" for a signal).
fn found<'t, 'p, J: Json>(
    path: &'t Option<FieldPath>,
    payload: &'p J,
) -> Option<(&'t FieldPath, &'p J)> {
    let path = path.as_ref()?;
    Some((path, path.resolve(payload).filter(|v| !v.is_null())?))
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
