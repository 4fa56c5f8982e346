//! Extraction: a payload and its key's template become one validated `Update`, or every reason
//! it cannot (SPEC §2: the request is atomic, each bad field is listed).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::fields::{Field, FieldPatch};
use crate::hint::{closest_path, NearPaths};
use crate::ids::ProductOrgId;
use crate::json::Json;
use crate::path::FieldPath;
use crate::template::ProductOrgTemplate;
use crate::update::Update;
use crate::value;
use crate::warning::Warning;

/// One field that could not be taken from the payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The trailspark field (`userCount`, `customFields.seats`).
    pub field: String,
    /// The template path it was read from.
    pub path: String,
    /// What was wrong and what is accepted.
    pub message: String,
}

/// Why a payload yields no update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// Nothing (or `null`) at the productOrgId path; `did_you_mean` is a near existing path.
    MissingProductOrgId {
        path: String,
        null: bool,
        did_you_mean: Option<String>,
    },
    /// Neither a lead id nor an email at their paths (signals); `paths` are those tried.
    MissingLead {
        paths: Vec<String>,
        did_you_mean: Option<String>,
    },
    /// Some fields hold values of the wrong type.
    Invalid(Vec<FieldError>),
}

/// Extracts a product org update from `payload` with `template`.
pub fn extract_product_org<J: Json>(
    template: &ProductOrgTemplate,
    payload: &J,
) -> Result<Update, ExtractError> {
    let read = read_product_org(template, payload);
    // A missing id is answered before the other fields: without it nothing can be stored.
    if let Some(missing) = read.missing_product_org_id {
        return Err(missing);
    }
    match read.product_org_id {
        Some(product_org_id) if read.errors.is_empty() => Ok(Update {
            product_org_id,
            patches: read.patches,
            event_at: read.event_at,
            message_id: read.message_id,
            warnings: read.warnings,
        }),
        _ => Err(ExtractError::Invalid(read.errors)),
    }
}

/// Everything a payload says through a product org template, every problem included: the
/// webhook ([`extract_product_org`]) and the template preview read payloads with it, so what
/// a preview shows is what a webhook would do.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductOrgReading {
    /// The product org id, unless it is missing or its value is refused (then in `errors`).
    pub product_org_id: Option<ProductOrgId>,
    /// Why there is no product org id at all: nothing (or `null`) at its path.
    pub missing_product_org_id: Option<ExtractError>,
    /// The fields the payload sets or clears, in template order.
    pub patches: Vec<FieldPatch>,
    /// The event's own time, when the template maps one and the payload has it.
    pub event_at: Option<DateTime<Utc>>,
    /// The sender's message id, when the template maps one and the payload has it.
    pub message_id: Option<String>,
    /// Every value its rule refused, in template order.
    pub errors: Vec<FieldError>,
    /// An `unresolved_path` warning for each mapped field whose path found nothing while a
    /// near path exists, in template order.
    pub warnings: Vec<Warning>,
}

/// Reads every field of `payload` that `template` maps, whether or not the id is there.
pub fn read_product_org<J: Json>(template: &ProductOrgTemplate, payload: &J) -> ProductOrgReading {
    let id_path = &template.product_org_id;
    let mut fields = Fields {
        payload,
        template,
        errors: Vec::new(),
        // One allocation, not one per doubling: most mapped fields are sent.
        patches: Vec::with_capacity(template.fields.len() + template.custom_fields.len()),
        unresolved: Vec::new(),
    };
    let found = id_path.resolve(payload);
    let (product_org_id, missing_product_org_id) = match found {
        Some(v) if !v.is_null() => (
            fields.check("productOrgId", id_path, value::product_org_id(v)),
            None,
        ),
        _ => (
            None,
            Some(ExtractError::MissingProductOrgId {
                path: id_path.as_str().to_owned(),
                null: found.is_some(),
                did_you_mean: id_path
                    .paths()
                    .iter()
                    .find_map(|p| closest_path(payload, p.as_str())),
            }),
        ),
    };
    for (field, path) in &template.fields {
        fields.patch(*field, path);
    }
    let event_at: Option<DateTime<Utc>> = fields.scalar(
        "eventTimestamp",
        &template.event_timestamp,
        value::timestamp,
    );
    let message_id = fields.scalar("messageId", &template.message_id, value::message_id);
    for (name, path) in &template.custom_fields {
        match path.resolve(payload) {
            None => fields.unresolved(format!("customFields.{name}"), path),
            Some(found) if found.is_null() => {
                fields.patches.push(FieldPatch::Custom(name.clone(), None));
            }
            Some(found) => {
                let field = format!("customFields.{name}");
                if let Some(v) = fields.check(&field, path, value::json(found)) {
                    fields
                        .patches
                        .push(FieldPatch::Custom(name.clone(), Some(v)));
                }
            }
        }
    }
    let warnings = fields.warnings();
    ProductOrgReading {
        product_org_id,
        missing_product_org_id,
        patches: fields.patches,
        event_at,
        message_id,
        warnings,
        errors: fields.errors,
    }
}

/// The coerced value, or `None` with the reason added to `errors`.
pub(crate) fn check<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    path: &FieldPath,
    result: Result<T, String>,
) -> Option<T> {
    result
        .map_err(|message| {
            errors.push(FieldError {
                field: field.to_owned(),
                path: path.as_str().to_owned(),
                message: format!("{field} {message}"),
            })
        })
        .ok()
}

/// The fields read so far and the errors met on the way.
struct Fields<'a, J> {
    payload: &'a J,
    template: &'a ProductOrgTemplate,
    errors: Vec<FieldError>,
    patches: Vec<FieldPatch>,
    /// The mapped paths that found nothing, with their fields.
    unresolved: Vec<(Cow<'static, str>, &'a FieldPath)>,
}

impl<'a, J: Json> Fields<'a, J> {
    fn check<T>(&mut self, field: &str, path: &FieldPath, result: Result<T, String>) -> Option<T> {
        check(&mut self.errors, field, path, result)
    }

    /// A mapped path found nothing: a warning, once every field is read, if a path near it
    /// exists.
    fn unresolved(&mut self, field: impl Into<Cow<'static, str>>, path: &'a FieldPath) {
        self.unresolved.push((field.into(), path));
    }

    /// The `unresolved_path` warnings of the paths that found nothing, in template order: one
    /// walk of the payload for all of them.
    fn warnings(&self) -> Vec<Warning> {
        if self.unresolved.is_empty() {
            return Vec::new();
        }
        let template = self.template;
        let taken = |p: &str| template.reads(p);
        let near = NearPaths::of(self.payload).without(&taken);
        let asked: Vec<&str> = self
            .unresolved
            .iter()
            .flat_map(|(_, path)| path.paths().iter().map(|p| p.as_str()))
            .collect();
        let found = near.closest_each_cached(&asked, &template.hints);
        // Each field's alternatives have their answers in a row, in template order; the
        // warning names the nearest to the first alternative that has one.
        let mut rest = &found[..];
        self.unresolved
            .iter()
            .filter_map(|(field, path)| {
                let (answers, after) = rest.split_at(path.paths().len().min(rest.len()));
                rest = after;
                let nearest = answers.iter().flatten().next()?;
                Some(Warning::unresolved_path(field, path.as_str(), nearest))
            })
            .collect()
    }

    /// A field that can be set or cleared: missing leaves it alone, `null` clears it.
    fn patch(&mut self, field: Field, path: &'a FieldPath) {
        match path.resolve(self.payload) {
            None => self.unresolved(field.name(), path),
            Some(found) if found.is_null() => self.patches.push(field.cleared()),
            Some(found) => {
                if let Some(patch) = self.check(field.name(), path, field.read(found)) {
                    self.patches.push(patch);
                }
            }
        }
    }

    /// A value about the update itself (timestamp, message id); `null` is the same as missing.
    fn scalar<T>(
        &mut self,
        field: &'static str,
        path: &'a Option<FieldPath>,
        coerce: fn(&J) -> Result<T, String>,
    ) -> Option<T> {
        let path = path.as_ref()?;
        match path.resolve(self.payload) {
            None => {
                self.unresolved(field, path);
                None
            }
            Some(found) if found.is_null() => None,
            Some(found) => self.check(field, path, coerce(found)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::EndpointType;
    use crate::template::{PayloadTemplate, Preset};

    fn template(preset: Preset) -> ProductOrgTemplate {
        PayloadTemplate::preset(EndpointType::ProductOrgUpdates, preset)
            .as_product_org()
            .cloned()
            .unwrap()
    }

    #[test]
    fn segment_group_call() {
        let update = extract_product_org(
            &template(Preset::Segment),
            &json!({"type": "group", "groupId": "ws_abc123", "traits": {"name": "Acme", "plan": "pro",
                "employees": 47, "mrr": 49900}, "timestamp": "2026-01-15T10:30:00.000Z",
                "messageId": "seg-msg-abc123"}),
        )
        .unwrap();
        assert_eq!(update.product_org_id.as_str(), "ws_abc123");
        assert_eq!(update.message_id.as_deref(), Some("seg-msg-abc123"));
        assert_eq!(update.event_at.unwrap().timestamp(), 1_768_473_000);
        assert_eq!(
            update.patches,
            vec![
                FieldPatch::Name(Some("Acme".into())),
                FieldPatch::PlanId(Some("pro".into())),
                FieldPatch::UserCount(Some(47)),
                FieldPatch::Mrr(Some(49900)),
            ]
        );
    }

    /// The `unresolved_path` warnings of an update: (field, path, didYouMean).
    fn unresolved(update: &Update) -> Vec<(&str, &str, &str)> {
        update
            .warnings
            .iter()
            .map(|w| match w {
                Warning::UnresolvedPath {
                    field,
                    path,
                    did_you_mean,
                    ..
                } => (field.as_str(), path.as_str(), did_you_mean.as_str()),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_mapped_path_that_found_nothing_near_a_path_that_exists_is_warned() {
        let update = extract_product_org(
            &template(Preset::Segment),
            &json!({"groupId": "ws_1", "traits": {"name": "Acme", "Plan": "pro",
                "employes": 47}, "Timestamp": "2026-01-15T10:30:00Z"}),
        )
        .unwrap();
        assert_eq!(
            unresolved(&update),
            [
                ("planId", "traits.plan", "traits.Plan"),
                ("userCount", "traits.employees", "traits.employes"),
                ("eventTimestamp", "timestamp", "Timestamp"),
            ],
            "in template order; planName and trialStatus have nothing near"
        );
    }

    /// A CDP sends one shape again and again: its hints are worked out once per template.
    #[test]
    fn payloads_of_one_shape_are_warned_alike_from_hints_worked_out_once() {
        let template = template(Preset::Segment);
        let payload = |id: &str, plan: &str| json!({"groupId": id, "traits": {"Plan": plan}});
        let first = extract_product_org(&template, &payload("ws_1", "pro")).unwrap();
        let second = extract_product_org(&template, &payload("ws_2", "free")).unwrap();
        assert_eq!(
            unresolved(&first),
            [("planId", "traits.plan", "traits.Plan")]
        );
        assert_eq!(unresolved(&second), unresolved(&first));
        assert_eq!(template.hints.len(), 1, "one shape, worked out once");
    }

    #[test]
    fn a_field_with_alternative_paths_is_warned_once_and_the_next_field_keeps_its_own() {
        let template = crate::template::PayloadTemplate::from_json(
            EndpointType::ProductOrgUpdates,
            &json!({"productOrgId": "id", "name": ["nme", "title", "label"], "mrr": "mrr"}),
        )
        .unwrap()
        .as_product_org()
        .cloned()
        .unwrap();
        let update =
            extract_product_org(&template, &json!({"id": "w", "name": "Acme", "MRR": 5})).unwrap();
        let warned: Vec<_> = unresolved(&update)
            .into_iter()
            .map(|(field, _, did_you_mean)| (field, did_you_mean))
            .collect();
        assert_eq!(warned, [("name", "name"), ("mrr", "MRR")]);
    }

    #[test]
    fn a_payload_without_some_mapped_fields_and_nothing_near_them_is_not_warned() {
        let update = extract_product_org(
            &template(Preset::Segment),
            &json!({"type": "group", "groupId": "ws_1", "traits": {"name": "W", "plan": "pro",
                "employees": 1, "mrr": 49900}, "messageId": "m", "timestamp": "2026-01-15T10:30:00.000Z"}),
        )
        .unwrap();
        assert_eq!(update.warnings, []);
        let flat = extract_product_org(
            &template(Preset::Flat),
            &json!({"workspace_id": "w", "plan_id": "pro"}),
        )
        .unwrap();
        assert_eq!(
            flat.warnings,
            [],
            "plan_id is mapped (to planId): no typo of plan_name"
        );
    }

    #[test]
    fn null_clears_and_missing_keeps() {
        let update = extract_product_org(
            &template(Preset::Flat),
            &json!({"workspace_id": "w", "plan_name": null, "feature_flags": null}),
        )
        .unwrap();
        assert_eq!(
            update.patches,
            vec![FieldPatch::PlanName(None), FieldPatch::FeatureFlags(None)]
        );
    }

    /// A `null` event timestamp or message id is the same as none: the update is applied
    /// without them, not refused.
    #[test]
    fn a_null_event_timestamp_or_message_id_is_the_same_as_none() {
        let template = PayloadTemplate::from_json(
            EndpointType::ProductOrgUpdates,
            &json!({"productOrgId": "id", "eventTimestamp": "ts", "messageId": "msg"}),
        )
        .unwrap();
        let template = template.as_product_org().unwrap();
        let update =
            extract_product_org(template, &json!({"id": "w", "ts": null, "msg": null})).unwrap();
        assert_eq!((update.event_at, update.message_id), (None, None));
    }

    /// A custom field's `null` clears it too (no patch of a JSON null to keep), and a missing
    /// one is left alone.
    #[test]
    fn a_null_custom_field_clears_it() {
        let template = PayloadTemplate::from_json(
            EndpointType::ProductOrgUpdates,
            &json!({"productOrgId": "id", "customFields": {"seats": "m.seats", "tier": "m.tier"}}),
        )
        .unwrap();
        let template = template.as_product_org().unwrap();
        let update =
            extract_product_org(template, &json!({"id": "w", "m": {"seats": null}})).unwrap();
        assert_eq!(
            update.patches,
            vec![FieldPatch::Custom("seats".into(), None)]
        );
    }

    #[test]
    fn lists_every_bad_field_in_template_order() {
        let err = extract_product_org(
            &template(Preset::Flat),
            &json!({"workspace_id": "w", "mrr": "lots", "plan_id": {"a": 1}, "user_count": -2}),
        )
        .unwrap_err();
        let ExtractError::Invalid(errors) = err else {
            panic!("{err:?}")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["planId", "userCount", "mrr"]);
        assert_eq!(errors[2].path, "mrr");
    }

    #[test]
    fn missing_id_suggests_a_near_path() {
        let err = extract_product_org(&template(Preset::Segment), &json!({"groupid": "ws_1"}))
            .unwrap_err();
        assert_eq!(
            err,
            ExtractError::MissingProductOrgId {
                path: "groupId".into(),
                null: false,
                did_you_mean: Some("groupid".into())
            }
        );
        let err =
            extract_product_org(&template(Preset::Segment), &json!({"groupId": null})).unwrap_err();
        assert!(matches!(
            err,
            ExtractError::MissingProductOrgId { null: true, .. }
        ));
    }

    #[test]
    fn a_bad_id_type_is_a_field_error() {
        let err = extract_product_org(&template(Preset::Segment), &json!({"groupId": {"id": 1}}))
            .unwrap_err();
        let ExtractError::Invalid(errors) = err else {
            panic!("{err:?}")
        };
        assert_eq!(errors[0].field, "productOrgId");
    }
}
