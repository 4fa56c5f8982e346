//! The product org fields: one table, at the bottom of this file, that every list of fields is
//! made from — the patch type ([`FieldPatch`]), the stored values ([`ProductOrgFields`]), the
//! keys of a payload template and their extraction, the admin API's and the evaluation
//! context's output ([`AllFields`], [`ContextFields`]) and the OpenAPI document's schemas.
//!
//! Adding a field is one row in [`product_org_fields!`]'s invocation below, plus its tests.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::json::Json;
use crate::value;

/// How a field's values are read from a payload, kept and shown: one of the rows of SPEC §2's
/// value table.
pub trait Kind {
    /// What a value of the field is stored as.
    type Value: Clone + PartialEq + fmt::Debug + Serialize + for<'de> Deserialize<'de>;
    /// The value rule: a non-null payload value as stored, or what is wrong with it.
    fn coerce<J: Json>(found: &J) -> Result<Self::Value, String>;
    /// The value as JSON, as history and the APIs show it.
    fn json(value: &Self::Value) -> Value;
    /// The OpenAPI schema of a value.
    fn schema() -> Value;
}

/// Text: a string as is, a number or boolean as its JSON text.
pub struct Text;
/// A count: an integer ≥ 0, an integral float, or a string of digits.
pub struct Count;
/// A time: an RFC 3339 string, or epoch seconds or milliseconds; kept in UTC.
pub struct Timestamp;
/// A JSON object, kept as it came.
pub struct Object;

impl Kind for Text {
    type Value = String;
    fn coerce<J: Json>(found: &J) -> Result<String, String> {
        value::text(found)
    }
    fn json(value: &String) -> Value {
        Value::String(value.clone())
    }
    fn schema() -> Value {
        json!({"type": "string"})
    }
}

impl Kind for Count {
    type Value = i64;
    fn coerce<J: Json>(found: &J) -> Result<i64, String> {
        value::count(found)
    }
    fn json(value: &i64) -> Value {
        Value::from(*value)
    }
    fn schema() -> Value {
        json!({"type": "integer", "format": "int64"})
    }
}

impl Kind for Timestamp {
    type Value = DateTime<Utc>;
    fn coerce<J: Json>(found: &J) -> Result<DateTime<Utc>, String> {
        value::timestamp(found)
    }
    fn json(value: &DateTime<Utc>) -> Value {
        Value::String(crate::update::format_timestamp(value))
    }
    fn schema() -> Value {
        json!({"type": "string", "format": "date-time"})
    }
}

impl Kind for Object {
    type Value = Map<String, Value>;
    fn coerce<J: Json>(found: &J) -> Result<Map<String, Value>, String> {
        value::object(found)
    }
    fn json(value: &Map<String, Value>) -> Value {
        Value::Object(value.clone())
    }
    fn schema() -> Value {
        json!({"type": "object", "additionalProperties": true})
    }
}

/// The name custom fields go by as a whole (`customFields.seats` for one of them).
pub const CUSTOM_FIELDS: &str = "customFields";

/// Which field a patch sets: a standard one, or a custom field by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKey<'a> {
    Standard(Field),
    Custom(&'a str),
}

impl FieldKey<'_> {
    /// The name used in JSON, clocks and history (`planName`, `customFields.seats`).
    pub fn name(self) -> String {
        match self {
            Self::Standard(field) => field.name().to_owned(),
            Self::Custom(name) => format!("{CUSTOM_FIELDS}.{name}"),
        }
    }
}

/// Swaps a field's value for a patch's, returning the old and the new one as JSON (`null`
/// for unset).
fn swap<K: Kind>(slot: &mut Option<K::Value>, new: &Option<K::Value>) -> (Value, Value) {
    let old = slot.as_ref().map_or(Value::Null, K::json);
    slot.clone_from(new);
    (old, new.as_ref().map_or(Value::Null, K::json))
}

/// Every field of a product org for the admin API (SPEC §5): unset ones as `null`, custom
/// fields as one object (`null` when there are none).
pub struct AllFields<'a>(pub &'a ProductOrgFields);

/// The fields of a `productOrgInfo` entry of the evaluation context (SPEC §4): only those the
/// table marks for it, and only the set ones.
pub struct ContextFields<'a>(pub &'a ProductOrgFields);

impl Serialize for AllFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for field in Field::ALL {
            self.0.serialize_field(*field, &mut map, true)?;
        }
        let custom = &self.0.custom_fields;
        map.serialize_entry(CUSTOM_FIELDS, &(!custom.is_empty()).then_some(custom))?;
        map.end()
    }
}

impl Serialize for ContextFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for field in Field::ALL.iter().filter(|f| f.in_context()) {
            self.0.serialize_field(*field, &mut map, false)?;
        }
        if !self.0.custom_fields.is_empty() {
            map.serialize_entry(CUSTOM_FIELDS, &self.0.custom_fields)?;
        }
        map.end()
    }
}

/// Declares the product org fields. Each row: its doc comment, its variant and member names,
/// its [`Kind`], its JSON name, whether the evaluation context's `productOrgInfo` carries it,
/// and an example value its rule accepts.
macro_rules! product_org_fields {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $member:ident: $kind:ident = $json:literal, context: $context:literal,
            example: $example:tt;
    )*) => {
        /// A standard field of a product org (every field but the custom ones), in the order
        /// templates, outputs and documents list them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Field {
            /// Every standard field, in table order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];
            /// How many standard fields there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The name used in JSON, templates, clocks and history.
            pub const fn name(self) -> &'static str {
                match self { $(Field::$variant => $json,)* }
            }

            /// Whether a `productOrgInfo` entry of the evaluation context carries this field.
            pub const fn in_context(self) -> bool {
                match self { $(Field::$variant => $context,)* }
            }

            /// What the field holds, for documentation (its doc comment, joined).
            pub fn description(self) -> String {
                let lines: &[&str] = match self { $(Field::$variant => &[$($doc),*],)* };
                lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
            }

            /// A value the field's rule accepts, for example payloads.
            pub fn example(self) -> Value {
                match self { $(Field::$variant => json!($example),)* }
            }

            /// The OpenAPI schema of the field's values.
            pub fn schema(self) -> Value {
                match self { $(Field::$variant => <$kind as Kind>::schema(),)* }
            }

            /// The field by its JSON name.
            pub fn named(name: &str) -> Option<Field> {
                Self::ALL.iter().copied().find(|f| f.name() == name)
            }

            /// The patch that sets this field from a non-null payload value, or why the
            /// value is refused.
            pub fn read<J: Json>(self, found: &J) -> Result<FieldPatch, String> {
                match self {
                    $(Field::$variant => <$kind as Kind>::coerce(found)
                        .map(|v| FieldPatch::$variant(Some(v))),)*
                }
            }

            /// The patch that clears this field (the payload held JSON `null`).
            pub fn cleared(self) -> FieldPatch {
                match self { $(Field::$variant => FieldPatch::$variant(None),)* }
            }
        }

        /// A new value for one field; `None` clears the field (the payload held JSON `null`).
        #[derive(Debug, Clone, PartialEq)]
        pub enum FieldPatch {
            $($(#[doc = $doc])* $variant(Option<<$kind as Kind>::Value>),)*
            /// A custom field by name; any JSON value.
            Custom(String, Option<Value>),
        }

        impl FieldPatch {
            /// Which field this patch sets.
            pub fn key(&self) -> FieldKey<'_> {
                match self {
                    $(FieldPatch::$variant(_) => FieldKey::Standard(Field::$variant),)*
                    FieldPatch::Custom(name, _) => FieldKey::Custom(name),
                }
            }

            /// The new value as JSON, as history and the APIs show it (`null` clears).
            pub fn value(&self) -> Value {
                match self {
                    $(FieldPatch::$variant(v) => v.as_ref().map_or(Value::Null, <$kind as Kind>::json),)*
                    FieldPatch::Custom(_, v) => v.clone().unwrap_or(Value::Null),
                }
            }
        }

        /// The current values of a product org; `None` is unset.
        ///
        /// Stored as JSON with the unset fields left out (a store reads and writes this at
        /// every update, and keeps many in memory); a stored `null` reads as unset too.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct ProductOrgFields {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $json, skip_serializing_if = "Option::is_none")]
                pub $member: Option<<$kind as Kind>::Value>,
            )*
            /// Custom fields by name.
            #[serde(rename = "customFields", skip_serializing_if = "Map::is_empty")]
            pub custom_fields: Map<String, Value>,
        }

        impl ProductOrgFields {
            /// Sets one field and returns its old and new value as JSON (`null` for unset).
            pub(crate) fn set(&mut self, patch: &FieldPatch) -> (Value, Value) {
                match patch {
                    $(FieldPatch::$variant(v) => swap::<$kind>(&mut self.$member, v),)*
                    FieldPatch::Custom(name, v) => {
                        let old = self.custom_fields.get(name).cloned().unwrap_or(Value::Null);
                        match v {
                            Some(value) => self.custom_fields.insert(name.clone(), value.clone()),
                            None => self.custom_fields.remove(name),
                        };
                        (old, v.clone().unwrap_or(Value::Null))
                    }
                }
            }

            /// Writes one standard field into `map`: unset as `null` when `nulls`, else not
            /// at all.
            fn serialize_field<M: SerializeMap>(
                &self,
                field: Field,
                map: &mut M,
                nulls: bool,
            ) -> Result<(), M::Error> {
                match field {
                    $(Field::$variant => match &self.$member {
                        Some(v) => map.serialize_entry($json, v),
                        None if nulls => map.serialize_entry($json, &()),
                        None => Ok(()),
                    },)*
                }
            }
        }

        /// The keys of a Product Org Updates payload template besides `customFields`, in the
        /// order templates are shown.
        pub const PRODUCT_ORG_KEYS: [&str; Field::COUNT + 3] =
            ["productOrgId", $($json,)* "eventTimestamp", "messageId"];
    };
}

product_org_fields! {
    /// The product org's name; the first update of a product org names its target org after it.
    Name name: Text = "name", context: true, example: "Test Workspace";
    /// The id of its plan in the sender's billing system.
    PlanId plan_id: Text = "planId", context: false, example: "pro";
    /// The plan's name, as people read it.
    PlanName plan_name: Text = "planName", context: true, example: "Pro";
    /// How many users (seats) it has.
    UserCount user_count: Count = "userCount", context: true, example: 10;
    /// Monthly recurring revenue in cents.
    Mrr mrr: Count = "mrr", context: true, example: 9900;
    /// Where it stands in a trial (`active`, `converted`, `expired`, …).
    TrialStatus trial_status: Text = "trialStatus", context: true, example: "active";
    /// When someone last used it.
    LastActiveAt last_active_at: Timestamp = "lastActiveAt", context: false,
        example: "2026-01-15T10:30:00Z";
    /// Its feature flags, as an object of flag → value.
    FeatureFlags feature_flags: Object = "featureFlags", context: true,
        example: {"sso_enabled": true};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_the_table_order_is_the_documents_order() {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "name",
                "planId",
                "planName",
                "userCount",
                "mrr",
                "trialStatus",
                "lastActiveAt",
                "featureFlags"
            ]
        );
        for field in Field::ALL {
            assert_eq!(Field::named(field.name()), Some(*field));
            assert!(field.read(&field.example()).is_ok(), "{field:?}'s example");
            assert_eq!(field.cleared().key(), FieldKey::Standard(*field));
            assert!(!field.description().is_empty(), "{field:?}");
        }
        assert_eq!(PRODUCT_ORG_KEYS[0], "productOrgId");
        assert_eq!(PRODUCT_ORG_KEYS[Field::COUNT + 2], "messageId");
    }

    #[test]
    fn each_kind_follows_its_value_rule() {
        assert_eq!(
            Field::UserCount.read(&json!("47")),
            Ok(FieldPatch::UserCount(Some(47)))
        );
        assert!(Field::UserCount.read(&json!(-1)).is_err());
        assert_eq!(
            Field::PlanId.read(&json!(7)),
            Ok(FieldPatch::PlanId(Some("7".into())))
        );
        assert!(Field::FeatureFlags.read(&json!([1])).is_err());
        let FieldPatch::LastActiveAt(Some(at)) = Field::LastActiveAt.read(&json!(0)).unwrap()
        else {
            panic!("a timestamp")
        };
        assert_eq!(at.timestamp(), 0);
    }

    #[test]
    fn the_admin_output_has_every_field_and_the_context_only_its_own() {
        let fields = ProductOrgFields {
            plan_id: Some("pro".into()),
            mrr: Some(100),
            ..Default::default()
        };
        let all = serde_json::to_value(AllFields(&fields)).unwrap();
        let keys: Vec<&String> = all.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), Field::COUNT + 1, "{all}");
        assert_eq!(all["planId"], "pro");
        assert_eq!(all["name"], Value::Null);
        assert_eq!(all["customFields"], Value::Null);
        let context = serde_json::to_value(ContextFields(&fields)).unwrap();
        assert_eq!(context, json!({"mrr": 100}), "planId is not in the context");
    }
}
