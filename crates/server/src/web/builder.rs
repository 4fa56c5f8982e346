//! The template builder of Settings > API Keys: one path input per field of the key's type,
//! custom fields to add and remove, a preset to start from, and a preview that runs a pasted
//! sample payload through the template being built (nothing is stored). Plain form posts: each
//! button sends the whole form back and the page is drawn again with its outcome.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use maud::{html, Markup};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use trailspark_core::preview::{preview, Outcome};
use trailspark_core::template::{PayloadTemplate, Preset, PRODUCT_ORG_KEYS, SIGNAL_KEYS};
use trailspark_core::EndpointType;

use super::values::message;

/// Alternatives in one input (tried in order, as a template's path arrays are).
const SEPARATOR: &str = " | ";
/// Blank custom field rows offered beside the filled ones.
const BLANK_CUSTOM_ROWS: usize = 1;

/// The builder's state, as the form holds it.
#[derive(Debug, Clone)]
pub struct Builder {
    /// Which endpoint the key is for: it decides the fields.
    pub kind: EndpointType,
    /// Path text per field of `kind`, in display order.
    pub paths: Vec<(&'static str, String)>,
    /// Custom fields: name and path text.
    pub custom: Vec<(String, String)>,
    /// A payload pasted for the preview (never stored).
    pub sample: String,
}

/// The builder's inputs as the browser posts them: `path.FIELD` per field of the key's type,
/// `custom_name.N` and `custom_path.N` per custom row, the `sample` payload, and `remove` (the
/// custom row whose Remove button was pressed). Other fields are the enclosing form's.
#[derive(Debug, Default)]
pub struct BuilderForm {
    /// Path text by field name, as typed.
    paths: HashMap<String, String>,
    /// Custom field names by row number, as typed.
    custom_names: HashMap<usize, String>,
    /// Custom field paths by row number, as typed.
    custom_paths: HashMap<usize, String>,
    sample: Option<String>,
    remove: Option<String>,
}

impl BuilderForm {
    /// Whether a custom row's Remove button sent the form.
    pub fn removes_a_row(&self) -> bool {
        self.remove.as_deref().is_some_and(|row| !row.is_empty())
    }

    /// Takes one form field if it is the builder's; `false` when the form sent it before.
    fn take(&mut self, name: &str, value: String) -> bool {
        // Only the row numbers the page writes: `custom_name.01` is not row 1.
        let row = |n: &str| n.parse::<usize>().ok().filter(|row| row.to_string() == n);
        if let Some(field) = name.strip_prefix("path.") {
            insert_new(&mut self.paths, field.to_owned(), value)
        } else if let Some(row) = name.strip_prefix("custom_name.").and_then(row) {
            insert_new(&mut self.custom_names, row, value)
        } else if let Some(row) = name.strip_prefix("custom_path.").and_then(row) {
            insert_new(&mut self.custom_paths, row, value)
        } else if name == "sample" {
            set_once(&mut self.sample, value)
        } else if name == "remove" {
            set_once(&mut self.remove, value)
        } else {
            true
        }
    }
}

/// Stores `value` under `key` unless the key has one: `false` then.
fn insert_new<K: Eq + Hash>(map: &mut HashMap<K, String>, key: K, value: String) -> bool {
    match map.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(value);
            true
        }
        Entry::Occupied(_) => false,
    }
}

/// Stores `value` unless `slot` has one: `false` then.
fn set_once(slot: &mut Option<String>, value: String) -> bool {
    let fresh = slot.is_none();
    slot.get_or_insert(value);
    fresh
}

/// The field names are made by the page (`path.name`, `custom_name.3`), so no derived struct
/// can list them: the form is read field by field. A field sent twice makes the form unreadable,
/// as it does every derived form's.
impl<'de> Deserialize<'de> for BuilderForm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = BuilderForm;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the template builder's form fields")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BuilderForm, A::Error> {
                let mut form = BuilderForm::default();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    if !form.take(&name, value) {
                        return Err(de::Error::custom(format_args!("duplicate field `{name}`")));
                    }
                }
                Ok(form)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

impl Builder {
    /// The builder filled from a preset.
    pub fn from_preset(kind: EndpointType, preset: Preset) -> Self {
        Self::from_template(kind, &PayloadTemplate::preset(kind, preset).to_json())
    }

    /// The builder filled from a template's JSON form (a key's current template, to edit it).
    pub fn from_template(kind: EndpointType, template: &Value) -> Self {
        let mut builder = Self {
            kind,
            paths: Vec::new(),
            custom: Vec::new(),
            sample: String::new(),
        };
        builder.load(template);
        builder
    }

    fn keys(kind: EndpointType) -> &'static [&'static str] {
        match kind {
            EndpointType::ProductOrgUpdates => &PRODUCT_ORG_KEYS,
            EndpointType::SignalStaging => &SIGNAL_KEYS,
        }
    }

    /// Fills the inputs from a template's JSON form.
    fn load(&mut self, template: &Value) {
        let text = |v: Option<&Value>| match v {
            Some(Value::String(path)) => path.clone(),
            Some(Value::Array(paths)) => paths
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(SEPARATOR),
            _ => String::new(),
        };
        self.paths = Self::keys(self.kind)
            .iter()
            .map(|key| (*key, text(template.get(*key))))
            .collect();
        self.custom = template
            .get("customFields")
            .and_then(Value::as_object)
            .map(|fields| {
                fields
                    .iter()
                    .map(|(name, path)| (name.clone(), text(Some(path))))
                    .collect()
            })
            .unwrap_or_default();
    }

    /// The builder as the form left it: custom rows are read up to the first missing index,
    /// the row whose Remove button was pressed is dropped, and so are rows left blank (the
    /// page offers a fresh blank row anyway).
    pub fn from_form(kind: EndpointType, form: BuilderForm) -> Self {
        let trimmed = |text: Option<&String>| text.map(|t| t.trim().to_owned()).unwrap_or_default();
        let paths = Self::keys(kind)
            .iter()
            .map(|key| (*key, trimmed(form.paths.get(*key))))
            .collect();
        let mut custom = Vec::new();
        for n in 0.. {
            let (name, path) = (form.custom_names.get(&n), form.custom_paths.get(&n));
            if name.is_none() && path.is_none() {
                break;
            }
            custom.push((trimmed(name), trimmed(path)));
        }
        if let Ok(remove) = form.remove.unwrap_or_default().trim().parse::<usize>() {
            if remove < custom.len() {
                custom.remove(remove);
            }
        }
        custom.retain(|(name, path)| !name.is_empty() || !path.is_empty());
        Self {
            kind,
            paths,
            custom,
            sample: form.sample.unwrap_or_default(),
        }
    }

    /// Whether both builders map the same paths (the sample aside).
    pub fn same_template(&self, other: &Builder) -> bool {
        self.kind == other.kind && self.paths == other.paths && self.custom == other.custom
    }

    /// This builder moved to endpoint type `kind`, starting from `preset`'s paths: the paths
    /// typed by hand (those that differ from `drawn`'s) go to the same fields of `kind`, and
    /// the custom fields stay. Also returns the fields whose typed paths were kept, and those
    /// whose typed paths were left out (`kind` has no such field).
    pub fn switched(
        &self,
        kind: EndpointType,
        preset: Preset,
        drawn: &Builder,
    ) -> (Builder, Vec<&'static str>, Vec<&'static str>) {
        let mut next = Builder::from_preset(kind, preset);
        next.sample.clone_from(&self.sample);
        next.custom.clone_from(&self.custom);
        let (mut kept, mut left_out) = (Vec::new(), Vec::new());
        for ((key, text), (_, was)) in self.paths.iter().zip(&drawn.paths) {
            if text == was {
                continue;
            }
            // An emptied input is kept empty, and is not worth a word.
            let Some((_, path)) = next.paths.iter_mut().find(|(k, _)| k == key) else {
                if !text.is_empty() {
                    left_out.push(*key);
                }
                continue;
            };
            path.clone_from(text);
            if !text.is_empty() {
                kept.push(*key);
            }
        }
        if !self.custom.is_empty() {
            kept.push("the custom fields");
        }
        (next, kept, left_out)
    }

    /// The template's JSON form: empty inputs left out.
    pub fn template_json(&self) -> Value {
        let json = |text: &str| {
            let alternatives: Vec<&str> = text
                .split(SEPARATOR.trim())
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            match alternatives.as_slice() {
                [one] => Value::String((*one).to_owned()),
                many => Value::Array(
                    many.iter()
                        .map(|p| Value::String((*p).to_owned()))
                        .collect(),
                ),
            }
        };
        let mut map = Map::new();
        for (key, text) in &self.paths {
            if !text.is_empty() {
                map.insert((*key).to_owned(), json(text));
            }
        }
        let custom: Map<String, Value> = self
            .custom
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, path)| (name.clone(), json(path)))
            .collect();
        if !custom.is_empty() {
            map.insert("customFields".into(), Value::Object(custom));
        }
        Value::Object(map)
    }

    /// The compiled template, or why it is not one.
    pub fn template(&self) -> Result<PayloadTemplate, String> {
        PayloadTemplate::from_json(self.kind, &self.template_json()).map_err(|e| e.to_string())
    }

    /// The builder's inputs.
    pub fn fieldset(&self) -> Markup {
        html! {
            fieldset {
                legend { "Payload template: where each field is in your payload" }
                p.muted { "Dot-separated paths such as " code { "traits.plan" } "; several paths tried in order are separated by " code { "|" } ". Leave a field empty to ignore it." }
                table {
                    thead { tr { th scope="col" { "Field" } th scope="col" { "Path in the payload" } } }
                    tbody {
                        @for (key, text) in &self.paths {
                            tr {
                                th scope="row" { label for={ "path." (key) } { (key) } }
                                td { input id={ "path." (key) } type="text" name={ "path." (key) } value=(text); }
                            }
                        }
                    }
                }
                h3 { "Custom fields" }
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Path" } th { span.muted { "Remove" } } } }
                    tbody {
                        @for (n, (name, path)) in self.custom.iter().enumerate() {
                            tr {
                                td { input type="text" name={ "custom_name." (n) } value=(name) aria-label={ "Custom field " (n + 1) " name" }; }
                                td { input type="text" name={ "custom_path." (n) } value=(path) aria-label={ "Custom field " (n + 1) " path" }; }
                                td { button type="submit" name="remove" value=(n) formnovalidate aria-label={ "Remove custom field " (n + 1) } { "Remove" } }
                            }
                        }
                        @for n in self.custom.len()..self.custom.len() + BLANK_CUSTOM_ROWS {
                            tr {
                                td { input type="text" name={ "custom_name." (n) } aria-label={ "Custom field " (n + 1) " name" }; }
                                td { input type="text" name={ "custom_path." (n) } aria-label={ "Custom field " (n + 1) " path" }; }
                                td {}
                            }
                        }
                    }
                }
                button type="submit" name="action" value="add" formnovalidate { "Add custom field" }
                label for="sample" { "Sample payload (for the preview; not stored)" }
                textarea #sample name="sample" rows="8" { (self.sample) }
                button type="submit" name="action" value="preview" formnovalidate { "Preview" }
            }
        }
    }

    /// What the template makes of the sample payload, as core's [`preview`] says (the admin
    /// API's preview endpoint answers the same): each field's value, the paths that found
    /// nothing (with the nearest existing path), and the errors a webhook would answer.
    pub fn preview(&self) -> Markup {
        let payload: Value = match serde_json::from_str(&self.sample) {
            Ok(payload) => payload,
            Err(e) => {
                return html! { div #preview.card role="status" { p.error { "The sample payload is not JSON: " (e) } } };
            }
        };
        let template = match self.template() {
            Ok(template) => template,
            Err(why) => {
                return html! { div #preview.card role="status" { p.error { "The template is not valid: " (message(&why)) } } };
            }
        };
        html! {
            div #preview.card role="status" {
                h2 { "Preview" }
                (extraction(&template, &payload))
            }
        }
    }
}

/// What `template` makes of `payload`, as core's [`preview`] says (the admin API's preview
/// endpoint answers the same): each mapped field's value, the paths that found nothing (with
/// the nearest existing path), the values refused, and whether a webhook would take it.
pub fn extraction(template: &PayloadTemplate, payload: &Value) -> Markup {
    let shown = preview(template, payload);
    let refusals: Vec<&str> = shown.errors.iter().map(|e| e.message.as_str()).collect();
    html! {
        // On a phone each field is a card: its name and path, then its value (keys.css).
        table.reading {
            thead { tr { th scope="col" { "Field" } th scope="col" { "Path" } th scope="col" { "Value" } } }
            tbody {
                @for mapped in &shown.mapped {
                    tr {
                        td.field data-label="Field" { (mapped.field) }
                        td.path data-label="Path" { code { (mapped.path) } }
                        @match shown.outcome(&mapped.field) {
                            Outcome::Value(Value::Null) => td.value data-label="Value" { code { "null" } " (clears the field)" },
                            Outcome::Value(Value::String(text)) => td.value data-label="Value" { code { (text) } },
                            Outcome::Value(value) => td.value data-label="Value" { code { (value) } },
                            Outcome::Refused(error) => td.value.error data-label="Value" { (message(&error.message)) },
                            Outcome::Nothing(near) => td.value.error data-label="Value" {
                                "Nothing at this path."
                                @if let Some(near) = near { " Did you mean " code { (near) } "?" }
                            },
                        }
                    }
                }
            }
        }
        @if refusals.is_empty() {
            p { "A webhook with this payload would be applied." }
        } @else {
            p.error {
                "A webhook with this payload would be refused: "
                @for (n, refusal) in refusals.iter().enumerate() { @if n > 0 { "; " } (message(refusal)) }
                "."
            }
        }
    }
}
