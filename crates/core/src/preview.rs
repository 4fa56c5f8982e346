//! The template preview (SPEC §5): what a template makes of a sample payload, nothing stored —
//! the fields a webhook would take, the mapped paths that found nothing (with the nearest
//! existing path), and the values their rules refuse. The admin API's preview endpoint and the
//! web UI's template builder both show [`preview`]'s answer, so they cannot disagree; it reads
//! the payload with the webhook's own readers, so neither can disagree with the webhook.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::extract::{read_product_org, ExtractError, FieldError};
use crate::fields::{FieldKey, CUSTOM_FIELDS};
use crate::hint::closest_path;
use crate::path::FieldPath;
use crate::signal::read_signal;
use crate::template::{PayloadTemplate, ProductOrgTemplate, SignalTemplate};
use crate::update::format_timestamp;

/// What a template makes of one payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// Every field the template maps, in template order, with the path it is read from.
    pub mapped: Vec<Mapped>,
    /// What a webhook would take, by JSON name; custom fields under `customFields`. A product
    /// org field the payload sets to `null` is here as `null`: the webhook clears it.
    pub fields: Map<String, Value>,
    /// The mapped fields whose path found nothing the webhook would take.
    pub unresolved: Vec<Unresolved>,
    /// The values their rules refuse, and a missing productOrgId or lead as an error of its
    /// field; empty when a webhook with this payload would be applied.
    pub errors: Vec<FieldError>,
}

/// One field a template maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Its name (`userCount`, `customFields.seats`).
    pub field: String,
    /// Its path as written (alternatives joined by ` | `).
    pub path: String,
}

/// A mapped field whose path found nothing in the payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unresolved {
    /// The field (`userCount`, `customFields.seats`).
    pub field: String,
    /// The template's path for it.
    pub path: String,
    /// The payload's existing path nearest to it, when one differs only by case or a typo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
}

/// What the preview says of one mapped field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome<'a> {
    /// The value a webhook would take.
    Value(&'a Value),
    /// Its value was refused, and why.
    Refused(&'a FieldError),
    /// Nothing at its path; the nearest existing path, if one is near.
    Nothing(Option<&'a str>),
}

impl Preview {
    /// What the preview says of the mapped field `field`.
    pub fn outcome(&self, field: &str) -> Outcome<'_> {
        if let Some(u) = self.unresolved.iter().find(|u| u.field == field) {
            return Outcome::Nothing(u.did_you_mean.as_deref());
        }
        if let Some(e) = self.errors.iter().find(|e| e.field == field) {
            return Outcome::Refused(e);
        }
        let value = match field
            .strip_prefix(CUSTOM_FIELDS)
            .and_then(|f| f.strip_prefix('.'))
        {
            Some(name) => self.fields.get(CUSTOM_FIELDS).and_then(|c| c.get(name)),
            None => self.fields.get(field),
        };
        value.map_or(Outcome::Nothing(None), Outcome::Value)
    }
}

/// What `template` makes of `payload`.
pub fn preview(template: &PayloadTemplate, payload: &Value) -> Preview {
    match template {
        PayloadTemplate::ProductOrg(t) => product_org(t, payload),
        PayloadTemplate::Signal(t) => signal(t, payload),
    }
}

/// A mapped field and whether a `null` at its path is a value the webhook takes (it clears a
/// product org field) rather than nothing.
struct Read<'t> {
    field: String,
    path: &'t FieldPath,
    null_is_a_value: bool,
}

fn product_org(template: &ProductOrgTemplate, payload: &Value) -> Preview {
    let read = read_product_org(template, payload);
    let mut fields = Map::new();
    let mut custom = Map::new();
    put(
        &mut fields,
        "productOrgId",
        read.product_org_id.map(|id| id.as_str().into()),
    );
    for patch in &read.patches {
        match patch.key() {
            FieldKey::Standard(field) => fields.insert(field.name().into(), patch.value()),
            FieldKey::Custom(name) => custom.insert(name.into(), patch.value()),
        };
    }
    put(
        &mut fields,
        "eventTimestamp",
        read.event_at.as_ref().map(|t| format_timestamp(t).into()),
    );
    put(&mut fields, "messageId", read.message_id.map(Value::String));
    let mut errors = read.errors;
    if let Some(ExtractError::MissingProductOrgId { path, null, .. }) = read.missing_product_org_id
    {
        let why = if null { "is null" } else { "is missing" };
        errors.insert(
            0,
            missing("productOrgId", &path, why, "every update needs one"),
        );
    }
    let scalar = |field: &str, path| Read {
        field: field.into(),
        path,
        null_is_a_value: false,
    };
    let mut mapped = vec![scalar("productOrgId", &template.product_org_id)];
    mapped.extend(template.fields.iter().map(|(field, path)| Read {
        field: field.name().into(),
        path,
        null_is_a_value: true,
    }));
    mapped.extend(
        template
            .event_timestamp
            .iter()
            .map(|p| scalar("eventTimestamp", p)),
    );
    mapped.extend(template.message_id.iter().map(|p| scalar("messageId", p)));
    mapped.extend(template.custom_fields.iter().map(|(name, path)| Read {
        field: format!("{CUSTOM_FIELDS}.{name}"),
        path,
        null_is_a_value: true,
    }));
    finish(mapped, fields, custom, errors, payload)
}

fn signal(template: &SignalTemplate, payload: &Value) -> Preview {
    let read = read_signal(template, payload);
    let text = |s: Option<String>| s.map(Value::String);
    let mut fields = Map::new();
    put(&mut fields, "email", text(read.email));
    put(
        &mut fields,
        "leadId",
        read.lead_id.map(|id| id.as_str().into()),
    );
    put(
        &mut fields,
        "productOrgId",
        read.product_org_id.map(|id| id.as_str().into()),
    );
    put(&mut fields, "signal", text(read.name));
    put(
        &mut fields,
        "eventTimestamp",
        read.event_at.as_ref().map(|t| format_timestamp(t).into()),
    );
    put(
        &mut fields,
        "properties",
        read.properties.map(Value::Object),
    );
    put(&mut fields, "messageId", text(read.message_id));
    let mut errors = read.errors;
    if let Some(ExtractError::MissingLead { paths, .. }) = read.missing_lead {
        let tried = paths
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(" nor at ");
        let why = format!("is missing: there is no value at {tried}");
        let lead_fields = [("leadId", &template.lead_id), ("email", &template.email)];
        for (field, path) in lead_fields
            .iter()
            .filter_map(|(f, p)| Some((*f, p.as_ref()?)))
        {
            errors.push(missing(
                field,
                path.as_str(),
                &why,
                "a signal needs its lead",
            ));
        }
    }
    let paths = [
        ("email", &template.email),
        ("leadId", &template.lead_id),
        ("productOrgId", &template.product_org_id),
        ("signal", &template.signal),
        ("eventTimestamp", &template.event_timestamp),
        ("properties", &template.properties),
        ("messageId", &template.message_id),
    ];
    let mut mapped: Vec<Read> = paths
        .into_iter()
        .filter_map(|(field, path)| {
            let path = path.as_ref()?;
            Some(Read {
                field: field.into(),
                path,
                null_is_a_value: false,
            })
        })
        .collect();
    mapped.extend(template.custom_fields.iter().map(|(name, path)| Read {
        field: format!("{CUSTOM_FIELDS}.{name}"),
        path,
        null_is_a_value: false,
    }));
    finish(mapped, fields, read.custom_fields, errors, payload)
}

/// Sets `field` when there is a value.
fn put(fields: &mut Map<String, Value>, field: &str, value: Option<Value>) {
    if let Some(value) = value {
        fields.insert(field.into(), value);
    }
}

/// The error of a field whose value is missing: `{field} {why}; {needed}`.
fn missing(field: &str, path: &str, why: &str, needed: &str) -> FieldError {
    FieldError {
        field: field.into(),
        path: path.into(),
        message: format!("{field} {why}; {needed}"),
    }
}

/// The preview: the custom fields join `fields`, and each mapped field whose path found
/// nothing the webhook takes is unresolved, with the nearest path to any of its alternatives.
fn finish(
    mapped: Vec<Read>,
    mut fields: Map<String, Value>,
    custom: Map<String, Value>,
    errors: Vec<FieldError>,
    payload: &Value,
) -> Preview {
    if !custom.is_empty() {
        fields.insert(CUSTOM_FIELDS.into(), Value::Object(custom));
    }
    let unresolved = mapped
        .iter()
        .filter(|read| match read.path.resolve(payload) {
            None => true,
            Some(Value::Null) => !read.null_is_a_value,
            Some(_) => false,
        })
        .map(|read| Unresolved {
            field: read.field.clone(),
            path: read.path.as_str().into(),
            did_you_mean: read
                .path
                .paths()
                .iter()
                .find_map(|p| closest_path(payload, p.as_str())),
        })
        .collect();
    let mapped = mapped
        .into_iter()
        .map(|read| Mapped {
            field: read.field,
            path: read.path.as_str().into(),
        })
        .collect();
    Preview {
        mapped,
        fields,
        unresolved,
        errors,
    }
}

#[cfg(test)]
mod tests;
