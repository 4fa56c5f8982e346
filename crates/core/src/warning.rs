//! Warnings and reasons (SPEC §6): what an answer says when the status alone would hide a
//! mistake. A warning never changes the status; each names the cause and the fix, in the
//! words of the seeds' troubleshooting cases, so the answer, the delivery log and the UI all
//! say the same thing (they show these, never their own wording).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ProductOrgId;
use crate::update::{format_timestamp, Update};

/// One warning of a result: `{code, message, …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "code",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Warning {
    /// A mapped optional field's path found nothing, and a near path exists in the payload.
    UnresolvedPath {
        message: String,
        field: String,
        path: String,
        did_you_mean: String,
    },
    /// Mapped values not applied: the stored ones come from a newer event.
    OlderEvent {
        message: String,
        fields: Vec<String>,
        stored_event_timestamp: String,
    },
    /// A new product org whose id equals an existing one's once trimmed and case-folded.
    SimilarProductOrg { message: String, existing: String },
    /// One request carried the same productOrgId more than once.
    DuplicateInBatch {
        message: String,
        product_org_id: String,
        indexes: Vec<u32>,
    },
}

impl Warning {
    pub fn unresolved_path(field: &str, path: &str, did_you_mean: &str) -> Self {
        Self::UnresolvedPath {
            message: format!(
                "{field} was not set: its path `{path}` found nothing, but the payload has \
                 `{did_you_mean}`. Paths are case-sensitive; fix the template's path for \
                 {field} (the key's template can be changed without a new URL)."
            ),
            field: field.to_owned(),
            path: path.to_owned(),
            did_you_mean: did_you_mean.to_owned(),
        }
    }

    pub fn older_event(fields: Vec<String>, stored: DateTime<Utc>) -> Self {
        let stored = format_timestamp(&stored);
        Self::OlderEvent {
            message: format!(
                "{} not applied: the stored values come from a newer event ({stored}), and an \
                 older event never overwrites newer data. Send the current values with the \
                 time they were read.",
                fields.join(", ")
            ),
            fields,
            stored_event_timestamp: stored,
        }
    }

    pub fn similar_product_org(new: &ProductOrgId, existing: &ProductOrgId) -> Self {
        Self::SimilarProductOrg {
            message: format!(
                "{} is a new product org, but {} exists: ids must match exactly (case and \
                 spaces count), so these are two product orgs. Send one form of the id from \
                 every source, and move the product org under the other's target org in Org \
                 Management.",
                quoted(new.as_str()),
                quoted(existing.as_str())
            ),
            existing: existing.as_str().to_owned(),
        }
    }

    /// The signal's product org does not exist, but one whose id folds alike does.
    pub fn similar_product_org_for_lead(named: &ProductOrgId, existing: &ProductOrgId) -> Self {
        Self::SimilarProductOrg {
            message: format!(
                "The lead is not linked: product org {} does not exist, but {} does. Lead \
                 signals must carry the product org's id exactly (case-sensitive).",
                quoted(named.as_str()),
                quoted(existing.as_str())
            ),
            existing: existing.as_str().to_owned(),
        }
    }

    pub fn duplicate_in_batch(id: &ProductOrgId, indexes: Vec<u32>) -> Self {
        let at: Vec<String> = indexes.iter().map(u32::to_string).collect();
        Self::DuplicateInBatch {
            message: format!(
                "productOrgId {} appears at indexes {} of this request: each was applied in \
                 order, so where event times tie the last one wins. Make the primary key of \
                 the Hightouch model unique (one row per product org).",
                quoted(id.as_str()),
                at.join(", ")
            ),
            product_org_id: id.as_str().to_owned(),
            indexes,
        }
    }
}

/// An id in backticks, so that surrounding whitespace shows (`ws_abc123 ` beside `ws_abc123`).
fn quoted(id: &str) -> String {
    format!("`{id}`")
}

/// Why an update changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnchangedReason {
    /// Every mapped value equals the stored one.
    SameValues,
    /// Some mapped values lost to newer stored ones (see the `older_event` warning).
    OlderEvent,
}

impl UnchangedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SameValues => "same_values",
            Self::OlderEvent => "older_event",
        }
    }
}

/// Why a signal's lead is not linked to a target org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlinkedReason {
    /// No signal of the lead has named a product org.
    NoProductOrgId,
    /// The lead's product org does not exist (yet).
    ProductOrgNotFound,
}

impl UnlinkedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoProductOrgId => "no_product_org_id",
            Self::ProductOrgNotFound => "product_org_not_found",
        }
    }
}

/// Adds to each update of one request whose productOrgId another of its updates carries too
/// the `duplicate_in_batch` warning; `indexes()[n]` is update `n`'s index in the body (asked
/// only of a request of several updates).
pub fn warn_duplicates_in_batch(updates: &mut [Update], indexes: impl FnOnce() -> Vec<u32>) {
    if updates.len() < 2 {
        return;
    }
    let ids: Vec<&ProductOrgId> = updates.iter().map(|u| &u.product_org_id).collect();
    let warnings = duplicates_in_batch(&ids, &indexes());
    for (update, warning) in updates.iter_mut().zip(warnings) {
        update.warnings.extend(warning);
    }
}

/// For each update of one request, by position: the warning that its productOrgId appears
/// more than once, with the body indexes (`indexes[n]` is update `n`'s) of every occurrence.
pub fn duplicates_in_batch(ids: &[&ProductOrgId], indexes: &[u32]) -> Vec<Option<Warning>> {
    let mut seen: std::collections::HashMap<&ProductOrgId, Vec<usize>> =
        std::collections::HashMap::with_capacity(ids.len());
    for (n, id) in ids.iter().enumerate() {
        seen.entry(id).or_default().push(n);
    }
    let mut warnings = vec![None; ids.len()];
    for (id, at) in seen.into_iter().filter(|(_, at)| at.len() > 1) {
        let body: Vec<u32> = at
            .iter()
            .map(|n| indexes.get(*n).copied().unwrap_or(*n as u32))
            .collect();
        let warning = Warning::duplicate_in_batch(id, body);
        for n in at {
            warnings[n] = Some(warning.clone());
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn id(s: &str) -> ProductOrgId {
        ProductOrgId::parse(s).unwrap()
    }

    #[test]
    fn a_warning_is_code_message_and_its_keys_in_camel_case() {
        let w = Warning::unresolved_path("userCount", "traits.employes", "traits.employees");
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(v["code"], "unresolved_path");
        assert_eq!(v["didYouMean"], "traits.employees");
        assert_eq!(v["field"], "userCount");
        assert!(v["message"]
            .as_str()
            .unwrap()
            .contains("`traits.employees`"));
        let older = Warning::older_event(
            vec!["planId".into()],
            Utc.with_ymd_and_hms(2026, 1, 15, 10, 30, 0).unwrap(),
        );
        let v = serde_json::to_value(&older).unwrap();
        assert_eq!(
            v,
            json!({"code": "older_event", "message": v["message"], "fields": ["planId"],
                "storedEventTimestamp": "2026-01-15T10:30:00Z"})
        );
        let back: Warning = serde_json::from_value(v).unwrap();
        assert_eq!(back, older, "stored with a first answer, read back alike");
    }

    #[test]
    fn every_occurrence_of_a_repeated_id_is_warned_with_all_its_indexes() {
        let (a, b) = (id("ws_1"), id("ws_2"));
        let warnings = duplicates_in_batch(&[&a, &b, &a, &a], &[0, 2, 3, 5]);
        assert!(warnings[1].is_none(), "ws_2 appears once");
        for n in [0, 2, 3] {
            let Some(Warning::DuplicateInBatch { indexes, .. }) = &warnings[n] else {
                panic!("{warnings:?}")
            };
            assert_eq!(indexes, &[0, 3, 5], "body indexes, not update positions");
        }
        assert!(duplicates_in_batch(&[&a, &b], &[0, 1])
            .iter()
            .all(Option::is_none));
        let (upper, lower) = (id("WS_1"), id("ws_1"));
        assert!(
            duplicates_in_batch(&[&upper, &lower], &[0, 1])
                .iter()
                .all(Option::is_none),
            "ids differing in case are two orgs (similar_product_org says so), not a repeat"
        );
    }
}
