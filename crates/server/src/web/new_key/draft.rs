//! The Create a key form as posted, and the key it describes: what the button pressed asks
//! for, and the builder brought in line with the endpoint type and preset the menus show.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer};
use trailspark_core::template::Preset;
use trailspark_core::EndpointType;

use crate::keys::KeyRequest;
use crate::web::builder::{Builder, BuilderForm};

/// The Create a key form as posted. A missing field reads as an empty one, as browsers leave
/// out unticked boxes; a form without its CSRF token is then refused as forged (403). A field
/// sent twice makes the form unreadable (422), as in every other form: no browser sends one
/// twice, and which of two CSRF tokens counts is not a guess to make.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct KeyForm {
    pub(super) csrf: String,
    name: String,
    endpoint_type: String,
    preset: String,
    /// The endpoint type the path inputs were drawn for.
    drawn_type: String,
    /// The preset the menu showed when the form was drawn: a different one now means the
    /// user chose another since.
    drawn_preset: String,
    expires_days: String,
    #[serde(deserialize_with = "ticked")]
    with_secret: bool,
    #[serde(deserialize_with = "ticked")]
    with_hmac: bool,
    /// The value of the submit button that sent the form.
    action: String,
    #[serde(flatten)]
    builder: BuilderForm,
}

/// A checkbox is ticked when the browser sends it with any value.
fn ticked<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    String::deserialize(deserializer).map(|value| !value.is_empty())
}

/// What the button that sent the form asks for.
pub(super) enum Intent {
    /// Draw the form again: "Show this type's fields", or a custom row's Remove button (the
    /// row is already gone).
    Redraw,
    FillFromPreset,
    AddCustomRow,
    Preview,
    Create,
}

impl KeyForm {
    pub(super) fn intent(&self) -> Intent {
        if self.builder.removes_a_row() {
            return Intent::Redraw;
        }
        match self.action.as_str() {
            "fields" => Intent::Redraw,
            "preset" => Intent::FillFromPreset,
            "add" => Intent::AddCustomRow,
            "preview" => Intent::Preview,
            _ => Intent::Create,
        }
    }
}

/// What the form showed when it was drawn.
pub(super) struct Drawn {
    /// The endpoint type its path inputs were for.
    kind: EndpointType,
    /// The preset its menu showed.
    preset: Option<Preset>,
}

/// A key being composed on the API Keys page.
pub(super) struct KeyDraft {
    pub(super) name: String,
    /// The endpoint type chosen in the menu.
    pub(super) kind: EndpointType,
    /// The preset chosen in the menu (its form value).
    pub(super) preset: String,
    pub(super) expires_days: String,
    pub(super) with_secret: bool,
    pub(super) with_hmac: bool,
    pub(super) builder: Builder,
}

impl KeyDraft {
    /// The form as the API Keys page first shows it: Segment's preset for product org updates.
    pub(super) fn new() -> Self {
        let kind = EndpointType::ProductOrgUpdates;
        Self {
            name: String::new(),
            kind,
            preset: "segment".into(),
            expires_days: String::new(),
            with_secret: false,
            with_hmac: false,
            builder: Builder::from_preset(kind, Preset::Segment),
        }
    }

    /// The draft as the form left it (its path inputs read as the type they were drawn for),
    /// and what the form showed when it was drawn.
    pub(super) fn from_form(form: KeyForm) -> (Self, Drawn) {
        let kind =
            EndpointType::parse(&form.endpoint_type).unwrap_or(EndpointType::ProductOrgUpdates);
        let drawn = Drawn {
            kind: EndpointType::parse(&form.drawn_type).unwrap_or(kind),
            preset: preset_named(&form.drawn_preset),
        };
        let draft = Self {
            name: form.name,
            kind,
            preset: form.preset,
            expires_days: form.expires_days,
            with_secret: form.with_secret,
            with_hmac: form.with_hmac,
            builder: Builder::from_form(drawn.kind, form.builder),
        };
        (draft, drawn)
    }

    /// Fills the builder from the chosen type and preset; the sample payload stays.
    pub(super) fn fill_from_preset(&mut self) -> Result<(), &'static str> {
        let preset = preset_named(&self.preset).ok_or("Choose a preset.")?;
        let sample = std::mem::take(&mut self.builder.sample);
        self.builder = Builder::from_preset(self.kind, preset);
        self.builder.sample = sample;
        Ok(())
    }

    /// Brings the builder in line with the endpoint type and preset chosen in the menus since
    /// the form was `drawn`, as the user expects whatever button they press next: paths still
    /// as the drawn preset left them become the chosen preset's. Paths typed by hand are never
    /// silently replaced: they are kept (those of fields the chosen type has), and the answer
    /// says what became of them.
    pub(super) fn follow_menus(&mut self, drawn: &Drawn) -> Option<String> {
        let chosen = preset_named(&self.preset)
            .or(drawn.preset)
            .unwrap_or(Preset::Segment);
        let drawn_preset = drawn.preset.unwrap_or(chosen);
        if self.kind == drawn.kind && chosen == drawn_preset {
            return None;
        }
        let as_drawn = Builder::from_preset(drawn.kind, drawn_preset);
        if self.builder.same_template(&as_drawn) {
            self.preset = preset_value(chosen).into();
            self.fill_from_preset().ok()?;
            return None;
        }
        if self.kind == drawn.kind {
            return Some(format!(
                "The paths below were edited by hand, so they were kept: the {} preset was not \
                 applied. To use its paths instead, press \"Fill the template from the preset\".",
                preset_title(chosen)
            ));
        }
        let (builder, kept, left_out) = self.builder.switched(self.kind, chosen, &as_drawn);
        self.builder = builder;
        let mut said = format!(
            "The fields are now those of {}, filled from the {} preset.",
            self.kind.title(),
            preset_title(chosen)
        );
        if !kept.is_empty() {
            said += &format!(" Your paths for {} were kept.", listed(&kept));
        }
        if !left_out.is_empty() {
            said += &format!(
                " Your paths for {} were left out: a {} key has no such {}.",
                listed(&left_out),
                self.kind.title(),
                if left_out.len() == 1 {
                    "field"
                } else {
                    "fields"
                }
            );
        }
        Some(said)
    }

    /// The key this draft describes, or what is wrong with it.
    pub(super) fn key_request(&self, now: DateTime<Utc>) -> Result<KeyRequest, String> {
        let template = self
            .builder
            .template()
            .map_err(|why| format!("The template is not valid: {why}."))?;
        let expires_at = match self.expires_days.trim() {
            "" => None,
            days => match days.parse::<i64>() {
                Ok(days) if (1..=3650).contains(&days) => Some(now + Duration::days(days)),
                _ => return Err("Expiry must be a number of days from 1 to 3650, or empty.".into()),
            },
        };
        Ok(KeyRequest {
            name: self.name.clone(),
            template,
            expires_at,
            with_secret: self.with_secret,
            with_hmac_secret: self.with_hmac,
            created_by: crate::keys::BY_WEB_UI.into(),
        })
    }
}

/// The form's preset menu: each preset, its value, its name, and what the menu adds to it.
pub(super) const PRESETS: [(Preset, &str, &str, &str); 4] = [
    (Preset::Segment, "segment", "Segment", " (group calls)"),
    (Preset::Rudderstack, "rudderstack", "RudderStack", ""),
    (Preset::Hightouch, "hightouch", "Hightouch", " (flat rows)"),
    (Preset::Flat, "flat", "Flat", ""),
];

/// The preset a value of the form's preset menu names.
fn preset_named(value: &str) -> Option<Preset> {
    PRESETS
        .iter()
        .find_map(|(preset, v, _, _)| (*v == value).then_some(*preset))
}

/// A preset's value in the menu.
fn preset_value(preset: Preset) -> &'static str {
    PRESETS
        .iter()
        .find_map(|(p, value, _, _)| (*p == preset).then_some(*value))
        .unwrap_or_default()
}

/// A preset's name, as messages say it.
fn preset_title(preset: Preset) -> &'static str {
    PRESETS
        .iter()
        .find_map(|(p, _, name, _)| (*p == preset).then_some(*name))
        .unwrap_or_default()
}

/// `a`, `a and b`, `a, b and c`.
fn listed(items: &[&str]) -> String {
    match items {
        [init @ .., last] if !init.is_empty() => format!("{} and {last}", init.join(", ")),
        _ => items.concat(),
    }
}
