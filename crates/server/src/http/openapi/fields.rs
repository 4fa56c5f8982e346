//! The product org fields as the document lists them. Both schemas that list them
//! (`ProductOrg` of the admin API, `ProductOrgInfo` of an evaluation context) are built here
//! from one list, [`product_org_fields`], so that the list can come from core's field table
//! without anything else changing.

use serde_json::{json, Value};
use trailspark_core::fields::{Field, CUSTOM_FIELDS};

use super::parts::{spread, timestamp};

/// What the document says of one product org field.
pub(super) struct FieldDoc {
    /// The field's name in JSON.
    name: &'static str,
    /// Its schema when set. The admin API adds `nullable` (an unset field is null there);
    /// an evaluation context leaves an unset field out instead.
    schema: Value,
    /// Whether a `productOrgInfo` entry carries the field.
    in_context: bool,
    /// What the field holds.
    description: String,
}

/// The product org fields of core's field table, then the custom fields, in the order both
/// schemas list them.
pub(super) fn product_org_fields() -> Vec<FieldDoc> {
    let mut fields: Vec<FieldDoc> = Field::ALL
        .iter()
        .map(|field| FieldDoc {
            name: field.name(),
            schema: field.schema(),
            in_context: field.in_context(),
            description: field.description(),
        })
        .collect();
    fields.push(FieldDoc {
        name: CUSTOM_FIELDS,
        schema: json!({"type": "object", "additionalProperties": true}),
        in_context: true,
        description: "The custom fields the key's template maps, by name; any JSON values.".into(),
    });
    fields
}

/// `ProductOrg`, a product org as the admin API shows it: its ids, every field (null when
/// unset), and when it was created and last changed.
pub(super) fn product_org_schema(fields: &[FieldDoc]) -> Value {
    let mut required = vec!["productOrgId", "targetOrgId"];
    let mut properties = json!({
        "productOrgId": {"type": "string"},
        "targetOrgId": {"type": "integer", "format": "int64"},
    });
    for field in fields {
        required.push(field.name);
        let schema = spread(field.schema.clone(), json!({"nullable": true}));
        properties[field.name] = spread(schema, json!({"description": field.description}));
    }
    required.extend(["createdAt", "updatedAt"]);
    properties["createdAt"] = timestamp();
    properties["updatedAt"] = timestamp();
    json!({"type": "object", "required": required, "properties": properties})
}

/// `ProductOrgInfo`, one product org in an evaluation context: its id and the fields a
/// lead-scoring model reads, each left out when unset.
pub(super) fn product_org_info_schema(fields: &[FieldDoc]) -> Value {
    let mut properties = json!({"productOrgId": {"type": "string"}});
    for field in fields.iter().filter(|field| field.in_context) {
        properties[field.name] = spread(
            field.schema.clone(),
            json!({"description": field.description}),
        );
    }
    json!({
        "type": "object",
        "required": ["productOrgId"],
        "description": "Exactly these keys; absent values are left out.",
        "additionalProperties": false,
        "properties": properties,
    })
}
