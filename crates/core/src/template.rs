//! Payload templates (SPEC §2): which path of an incoming payload feeds which field.
//!
//! A template is validated and compiled once, when its key is created; its JSON form is what
//! the store keeps and what users write.

use std::fmt;

use serde_json::{Map, Value};

use crate::fields::{Field, CUSTOM_FIELDS};
use crate::hint::HintCache;
use crate::ids::EndpointType;
use crate::path::{FieldPath, Path, MAX_ALTERNATIVES};

pub use crate::fields::PRODUCT_ORG_KEYS;

/// Most custom fields one template may map.
pub const MAX_CUSTOM_FIELDS: usize = 100;
/// Longest custom field name.
pub const MAX_CUSTOM_FIELD_NAME: usize = 100;

/// The ready-made templates of the seed documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Segment,
    Rudderstack,
    Hightouch,
    Flat,
}

impl Preset {
    /// Every preset, in the order menus and documents list them.
    pub const ALL: [Preset; 4] = [
        Preset::Segment,
        Preset::Rudderstack,
        Preset::Hightouch,
        Preset::Flat,
    ];

    /// The name used on the command line and in the admin API (`segment`, …).
    pub fn name(self) -> &'static str {
        match self {
            Preset::Segment => "segment",
            Preset::Rudderstack => "rudderstack",
            Preset::Hightouch => "hightouch",
            Preset::Flat => "flat",
        }
    }

    /// The preset of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|preset| preset.name() == name)
    }
}

/// A compiled template for one endpoint type.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadTemplate {
    ProductOrg(ProductOrgTemplate),
    Signal(SignalTemplate),
}

/// Where each product org field is found in a payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductOrgTemplate {
    pub product_org_id: FieldPath,
    /// The standard fields it maps, in the order of [`Field::ALL`].
    pub fields: Vec<(Field, FieldPath)>,
    pub event_timestamp: Option<FieldPath>,
    pub message_id: Option<FieldPath>,
    /// Custom field name → path, in the order written.
    pub custom_fields: Vec<(String, FieldPath)>,
    /// The "did you mean" answers of the payload shapes met so far.
    pub hints: HintCache,
}

impl ProductOrgTemplate {
    /// Whether some field is read from `path` (as the payload's paths spell it).
    pub fn reads(&self, path: &str) -> bool {
        std::iter::once(&self.product_org_id)
            .chain(self.fields.iter().map(|(_, p)| p))
            .chain(&self.event_timestamp)
            .chain(&self.message_id)
            .chain(self.custom_fields.iter().map(|(_, p)| p))
            .flat_map(FieldPath::paths)
            .any(|p| p.as_str() == path)
    }
}

/// Where each signal field is found in a payload (`email` and/or `leadId` is mapped).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalTemplate {
    pub email: Option<FieldPath>,
    pub lead_id: Option<FieldPath>,
    pub product_org_id: Option<FieldPath>,
    pub signal: Option<FieldPath>,
    pub event_timestamp: Option<FieldPath>,
    pub properties: Option<FieldPath>,
    pub message_id: Option<FieldPath>,
    pub custom_fields: Vec<(String, FieldPath)>,
    /// The "did you mean" answers of the payload shapes met so far.
    pub hints: HintCache,
}

/// Every reason a template was refused, so the user fixes them all in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub Vec<String>);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for TemplateError {}

impl ProductOrgTemplate {
    /// The path of a standard field, if the template maps it.
    pub fn path(&self, field: Field) -> Option<&FieldPath> {
        self.fields
            .iter()
            .find_map(|(f, path)| (*f == field).then_some(path))
    }
}

/// The fields a Signal Staging template maps (besides `customFields`), in display order.
pub const SIGNAL_KEYS: [&str; 7] = [
    "email",
    "leadId",
    "productOrgId",
    "signal",
    "eventTimestamp",
    "properties",
    "messageId",
];

impl PayloadTemplate {
    /// Validates and compiles a template's JSON form for keys of `kind`.
    pub fn from_json(kind: EndpointType, json: &Value) -> Result<Self, TemplateError> {
        let Value::Object(map) = json else {
            return Err(TemplateError(vec![format!(
                "the template must be a JSON object of field → path, got {}",
                crate::value::describe(json)
            )]));
        };
        let known: &[&str] = match kind {
            EndpointType::ProductOrgUpdates => &PRODUCT_ORG_KEYS,
            EndpointType::SignalStaging => &SIGNAL_KEYS,
        };
        let mut reader = Reader {
            map,
            errors: Vec::new(),
        };
        for key in map.keys() {
            if key != "customFields" && !known.contains(&key.as_str()) {
                reader.errors.push(format!(
                    "unknown template key `{key}` (a {} template takes {} and customFields)",
                    kind.title(),
                    known.join(", ")
                ));
            }
        }
        let template = match kind {
            EndpointType::ProductOrgUpdates => {
                let product_org_id = reader.required("productOrgId");
                let template = ProductOrgTemplate {
                    fields: Field::ALL
                        .iter()
                        .filter_map(|f| Some((*f, reader.optional(f.name())?)))
                        .collect(),
                    event_timestamp: reader.optional("eventTimestamp"),
                    message_id: reader.optional("messageId"),
                    custom_fields: reader.custom_fields(),
                    hints: HintCache::default(),
                    product_org_id: match product_org_id {
                        Some(path) => path,
                        None => return Err(TemplateError(reader.errors)),
                    },
                };
                PayloadTemplate::ProductOrg(template)
            }
            EndpointType::SignalStaging => {
                let template = SignalTemplate {
                    email: reader.optional("email"),
                    lead_id: reader.optional("leadId"),
                    product_org_id: reader.optional("productOrgId"),
                    signal: reader.optional("signal"),
                    event_timestamp: reader.optional("eventTimestamp"),
                    properties: reader.optional("properties"),
                    message_id: reader.optional("messageId"),
                    custom_fields: reader.custom_fields(),
                    hints: HintCache::default(),
                };
                if template.email.is_none() && template.lead_id.is_none() {
                    reader.errors.push(
                        "a Signal Staging template must map `email` or `leadId` (or both)".into(),
                    );
                }
                PayloadTemplate::Signal(template)
            }
        };
        if reader.errors.is_empty() {
            Ok(template)
        } else {
            Err(TemplateError(reader.errors))
        }
    }

    /// One of the seed documents' ready-made templates.
    pub fn preset(kind: EndpointType, preset: Preset) -> Self {
        let json = match (kind, preset) {
            (EndpointType::ProductOrgUpdates, Preset::Segment | Preset::Rudderstack) => {
                serde_json::json!({
                    "productOrgId": "groupId", "name": "traits.name", "planId": "traits.plan",
                    "planName": "traits.plan_name", "userCount": "traits.employees",
                    "mrr": "traits.mrr", "trialStatus": "traits.trial_status",
                    "eventTimestamp": "timestamp", "messageId": "messageId"
                })
            }
            (EndpointType::ProductOrgUpdates, Preset::Hightouch | Preset::Flat) => {
                serde_json::json!({
                    "productOrgId": "workspace_id", "name": "workspace_name",
                    "planId": "plan_id", "planName": "plan_name", "userCount": "user_count",
                    "mrr": "mrr", "trialStatus": "trial_status",
                    "lastActiveAt": "last_active_at", "featureFlags": "feature_flags"
                })
            }
            (EndpointType::SignalStaging, Preset::Segment | Preset::Rudderstack) => {
                // One preset for `track` and `identify` events: where a field sits differs by
                // event type, so the alternatives are tried in order.
                serde_json::json!({
                    "leadId": "userId",
                    "email": ["context.traits.email", "traits.email", "properties.email"],
                    "productOrgId": ["context.groupId", "properties.productOrgId", "traits.productOrgId"],
                    "signal": ["event", "type"],
                    "eventTimestamp": "timestamp", "properties": ["properties", "traits"],
                    "messageId": "messageId"
                })
            }
            (EndpointType::SignalStaging, Preset::Hightouch | Preset::Flat) => {
                serde_json::json!({
                    "email": "email", "leadId": "lead_id", "productOrgId": "product_org_id",
                    "signal": "signal", "eventTimestamp": "timestamp", "properties": "properties"
                })
            }
        };
        Self::from_json(kind, &json).expect("presets are valid templates")
    }

    /// The JSON form, as stored and shown: keys in a fixed order, unmapped keys left out.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, path: Option<&FieldPath>| {
            if let Some(path) = path {
                map.insert(key.into(), path_json(path));
            }
        };
        let custom = match self {
            PayloadTemplate::ProductOrg(t) => {
                put("productOrgId", Some(&t.product_org_id));
                for (field, path) in &t.fields {
                    put(field.name(), Some(path));
                }
                put("eventTimestamp", t.event_timestamp.as_ref());
                put("messageId", t.message_id.as_ref());
                &t.custom_fields
            }
            PayloadTemplate::Signal(t) => {
                put("email", t.email.as_ref());
                put("leadId", t.lead_id.as_ref());
                put("productOrgId", t.product_org_id.as_ref());
                put("signal", t.signal.as_ref());
                put("eventTimestamp", t.event_timestamp.as_ref());
                put("properties", t.properties.as_ref());
                put("messageId", t.message_id.as_ref());
                &t.custom_fields
            }
        };
        if !custom.is_empty() {
            let fields = custom
                .iter()
                .map(|(name, path)| (name.clone(), path_json(path)))
                .collect();
            map.insert(CUSTOM_FIELDS.into(), Value::Object(fields));
        }
        Value::Object(map)
    }

    /// The endpoint type this template is for.
    pub fn endpoint_type(&self) -> EndpointType {
        match self {
            PayloadTemplate::ProductOrg(_) => EndpointType::ProductOrgUpdates,
            PayloadTemplate::Signal(_) => EndpointType::SignalStaging,
        }
    }

    /// The product org template, if this is one.
    pub fn as_product_org(&self) -> Option<&ProductOrgTemplate> {
        match self {
            PayloadTemplate::ProductOrg(t) => Some(t),
            PayloadTemplate::Signal(_) => None,
        }
    }
}

/// A field path as written: a string, or an array of alternatives.
fn path_json(path: &FieldPath) -> Value {
    match path.paths() {
        [one] => Value::String(one.as_str().into()),
        many => Value::Array(
            many.iter()
                .map(|p| Value::String(p.as_str().into()))
                .collect(),
        ),
    }
}

/// Reads a template's keys, collecting every problem instead of stopping at the first.
struct Reader<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn required(&mut self, key: &str) -> Option<FieldPath> {
        match self.map.get(key) {
            None | Some(Value::Null) => {
                self.errors.push(format!("`{key}` is required: the path of the {key} in your payload, e.g. \"groupId\" or \"workspace_id\""));
                None
            }
            Some(value) => self.path(key, value),
        }
    }

    /// An optional key; JSON `null` is the same as leaving it out.
    fn optional(&mut self, key: &str) -> Option<FieldPath> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => self.path(key, value),
        }
    }

    fn path(&mut self, field: &str, value: &Value) -> Option<FieldPath> {
        let sources: Vec<&Value> = match value {
            Value::String(_) => vec![value],
            Value::Array(items) if !items.is_empty() && items.len() <= MAX_ALTERNATIVES => {
                items.iter().collect()
            }
            Value::Array(_) => {
                self.errors.push(format!(
                    "`{field}` lists {} alternative paths; give 1 to {MAX_ALTERNATIVES}",
                    value.as_array().map_or(0, Vec::len)
                ));
                return None;
            }
            other => {
                self.errors.push(format!(
                    "`{field}` must be a path string (or an array of alternative paths), got {}",
                    crate::value::describe(other)
                ));
                return None;
            }
        };
        let mut paths = Vec::with_capacity(sources.len());
        for source in sources {
            let Value::String(source) = source else {
                self.errors.push(format!(
                    "`{field}`: every alternative must be a path string, got {}",
                    crate::value::describe(source)
                ));
                return None;
            };
            match Path::parse(source) {
                Ok(path) => paths.push(path),
                Err(e) => {
                    self.errors.push(format!("`{field}`: {e}"));
                    return None;
                }
            }
        }
        FieldPath::new(paths)
    }

    fn custom_fields(&mut self) -> Vec<(String, FieldPath)> {
        let fields = match self.map.get("customFields") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Object(fields)) => fields,
            Some(other) => {
                self.errors.push(format!(
                    "`customFields` must be an object of name → path, got {}",
                    crate::value::describe(other)
                ));
                return Vec::new();
            }
        };
        if fields.len() > MAX_CUSTOM_FIELDS {
            self.errors.push(format!(
                "`customFields` maps {} fields; at most {MAX_CUSTOM_FIELDS} are allowed",
                fields.len()
            ));
        }
        let mut out = Vec::new();
        for (name, value) in fields {
            let label = format!("customFields.{name}");
            if name.trim().is_empty() {
                self.errors
                    .push("a custom field name must not be empty".into());
                continue;
            }
            if name.chars().count() > MAX_CUSTOM_FIELD_NAME {
                self.errors.push(format!(
                    "the custom field name `{name}` is longer than {MAX_CUSTOM_FIELD_NAME} characters"
                ));
                continue;
            }
            if let Some(path) = self.path(&label, value) {
                out.push((name.clone(), path));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
