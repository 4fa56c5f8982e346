//! What the admin API (and the web UI, which shows the same) answers about stored things: one
//! derived `Serialize` type per shape of SPEC §4–5, so a shape is written once. A product
//! org's fields come from core's field table ([`AllFields`], [`ContextFields`]): a new field
//! shows up here without an edit.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use trailspark_core::fields::{AllFields, ContextFields};
use trailspark_core::{ApiKeyId, FieldChange, LeadId, ProductOrgId, TargetOrgId};
use trailspark_store::{
    EvaluationContext, HistoryEntry, Lead, Page, ProductOrg, SignalRecord, TargetOrg,
    TargetOrgDetail,
};

/// A page of a list: `{items, nextCursor}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageView<'a, T> {
    pub items: Vec<T>,
    pub next_cursor: Option<&'a str>,
}

impl<'a, T> PageView<'a, T> {
    /// Each item of `page` shown as `view` shows it.
    pub fn of<I>(page: &'a Page<I>, view: impl Fn(&'a I) -> T) -> Self {
        Self {
            items: page.items.iter().map(view).collect(),
            next_cursor: page.next_cursor.as_deref(),
        }
    }
}

/// A product org (SPEC §5): every field, unset ones `null`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrgView<'a> {
    pub product_org_id: &'a ProductOrgId,
    pub target_org_id: TargetOrgId,
    #[serde(flatten)]
    pub fields: AllFields<'a>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl<'a> From<&'a ProductOrg> for ProductOrgView<'a> {
    fn from(org: &'a ProductOrg) -> Self {
        Self {
            product_org_id: &org.product_org_id,
            target_org_id: org.target_org_id,
            fields: AllFields(&org.fields),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// One entry of a product org's change history.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView<'a> {
    pub version: i64,
    pub changes: &'a [FieldChange],
    pub key_id: &'a ApiKeyId,
    pub event_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

impl<'a> From<&'a HistoryEntry> for HistoryView<'a> {
    fn from(entry: &'a HistoryEntry) -> Self {
        Self {
            version: entry.version,
            changes: &entry.changes,
            key_id: &entry.key_id,
            event_at: entry.event_at,
            received_at: entry.received_at,
        }
    }
}

/// A product org's history page: `{productOrgId, items, nextCursor}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPageView<'a> {
    pub product_org_id: &'a ProductOrgId,
    #[serde(flatten)]
    pub page: PageView<'a, HistoryView<'a>>,
}

/// A lead.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadView<'a> {
    pub lead_id: &'a LeadId,
    pub email: Option<&'a str>,
    pub product_org_id: Option<&'a ProductOrgId>,
    pub target_org_id: Option<TargetOrgId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl<'a> From<&'a Lead> for LeadView<'a> {
    fn from(lead: &'a Lead) -> Self {
        Self {
            lead_id: &lead.lead_id,
            email: lead.email.as_deref(),
            product_org_id: lead.product_org_id.as_ref(),
            target_org_id: lead.target_org_id,
            created_at: lead.created_at,
            updated_at: lead.updated_at,
        }
    }
}

/// One signal of a lead, in its evaluation context.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalView<'a> {
    pub signal: Option<&'a str>,
    pub product_org_id: Option<&'a ProductOrgId>,
    pub properties: Option<&'a Map<String, Value>>,
    pub custom_fields: &'a Map<String, Value>,
    pub event_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

impl<'a> From<&'a SignalRecord> for SignalView<'a> {
    fn from(signal: &'a SignalRecord) -> Self {
        Self {
            signal: signal.name.as_deref(),
            product_org_id: signal.product_org_id.as_ref(),
            properties: signal.properties.as_ref(),
            custom_fields: &signal.custom_fields,
            event_at: signal.event_at,
            received_at: signal.received_at,
        }
    }
}

/// One `productOrgInfo` entry (SPEC §4): exactly the keys of the seed's example, absent values
/// left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrgInfo<'a> {
    pub product_org_id: &'a ProductOrgId,
    #[serde(flatten)]
    pub fields: ContextFields<'a>,
}

/// What a lead-scoring model reads about a lead.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationContextView<'a> {
    pub lead: LeadView<'a>,
    pub signals: Vec<SignalView<'a>>,
    pub firmographics: Option<&'a Map<String, Value>>,
    pub product_org_info: Vec<ProductOrgInfo<'a>>,
}

impl<'a> From<&'a EvaluationContext> for EvaluationContextView<'a> {
    fn from(context: &'a EvaluationContext) -> Self {
        Self {
            lead: (&context.lead).into(),
            signals: context.signals.iter().map(Into::into).collect(),
            firmographics: context.firmographics.as_ref(),
            product_org_info: context
                .product_orgs
                .iter()
                .map(|org| ProductOrgInfo {
                    product_org_id: &org.product_org_id,
                    fields: ContextFields(&org.fields),
                })
                .collect(),
        }
    }
}

/// A target org.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetOrgView<'a> {
    pub target_org_id: TargetOrgId,
    pub name: &'a str,
    pub firmographics: Option<&'a Map<String, Value>>,
    pub product_org_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl<'a> From<&'a TargetOrg> for TargetOrgView<'a> {
    fn from(org: &'a TargetOrg) -> Self {
        Self {
            target_org_id: org.id,
            name: &org.name,
            firmographics: org.firmographics.as_ref(),
            product_org_count: org.product_org_count,
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// A target org with its product orgs and leads.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetOrgDetailView<'a> {
    #[serde(flatten)]
    pub org: TargetOrgView<'a>,
    pub product_orgs: Vec<ProductOrgView<'a>>,
    pub leads: Vec<LeadView<'a>>,
    pub lead_count: i64,
}

impl<'a> From<&'a TargetOrgDetail> for TargetOrgDetailView<'a> {
    fn from(detail: &'a TargetOrgDetail) -> Self {
        Self {
            org: (&detail.org).into(),
            product_orgs: detail.product_orgs.iter().map(Into::into).collect(),
            leads: detail.leads.iter().map(Into::into).collect(),
            lead_count: detail.lead_count,
        }
    }
}

/// A view as a JSON value, for pages that walk it.
pub fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).expect("views serialize to JSON")
}
