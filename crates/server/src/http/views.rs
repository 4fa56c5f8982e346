//! What the admin API (and the web UI, which shows the same) answers about stored things: one
//! derived `Serialize` type per shape of SPEC §4–5, so a shape is written once. A product
//! org's fields come from core's field table ([`AllFields`], [`ContextFields`]): a new field
//! shows up here without an edit.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Map, Value};
use trailspark_core::fields::{AllFields, ContextFields};
use trailspark_core::{ApiKeyId, EndpointType, FieldChange, LeadId, ProductOrgId, TargetOrgId};
use trailspark_store::{
    ApiKeyRecord, EvaluationContext, HistoryEntry, Lead, Page, ProductOrg, SignalRecord, TargetOrg,
    TargetOrgDetail, TemplateVersion,
};

use crate::keys::CreatedKey;

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

/// A whole list, not paged: `{items}` (a tenant's keys, a key's template versions: few).
#[derive(Serialize)]
pub struct ItemsView<T> {
    pub items: Vec<T>,
}

/// An API key as the admin API lists it: never the key itself.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView<'a> {
    pub id: &'a ApiKeyId,
    pub name: &'a str,
    pub endpoint_type: EndpointType,
    pub prefix: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub template_version: i64,
}

impl<'a> From<&'a ApiKeyRecord> for ApiKeyView<'a> {
    fn from(key: &'a ApiKeyRecord) -> Self {
        Self {
            id: &key.id,
            name: &key.name,
            endpoint_type: key.endpoint_type,
            prefix: &key.prefix,
            created_at: key.created_at,
            expires_at: key.expires_at,
            revoked_at: key.revoked_at,
            last_used_at: key.last_used_at,
            template_version: key.template_version,
        }
    }
}

/// One API key with its current template (the one of `templateVersion`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyDetailView<'a> {
    #[serde(flatten)]
    pub key: ApiKeyView<'a>,
    pub template: Value,
}

impl<'a> TryFrom<&'a ApiKeyRecord> for ApiKeyDetailView<'a> {
    type Error = anyhow::Error;
    fn try_from(key: &'a ApiKeyRecord) -> anyhow::Result<Self> {
        Ok(Self {
            key: key.into(),
            template: stored_template(&key.template)?,
        })
    }
}

/// One version of a key's template.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateVersionView<'a> {
    pub template_version: i64,
    pub template: Value,
    pub created_at: DateTime<Utc>,
    pub created_by: &'a str,
}

impl<'a> TryFrom<&'a TemplateVersion> for TemplateVersionView<'a> {
    type Error = anyhow::Error;
    fn try_from(version: &'a TemplateVersion) -> anyhow::Result<Self> {
        Ok(Self {
            template_version: version.version,
            template: stored_template(&version.template)?,
            created_at: version.created_at,
            created_by: &version.created_by,
        })
    }
}

/// A key just created (`POST /api/admin/api-keys`): its fields and template, and the key
/// and its secrets, shown this once.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyView<'a> {
    #[serde(flatten)]
    pub key: ApiKeyDetailView<'a>,
    pub api_key: &'a str,
    pub secret: Option<&'a str>,
    pub hmac_secret: Option<&'a str>,
}

impl<'a> TryFrom<&'a CreatedKey> for CreatedApiKeyView<'a> {
    type Error = anyhow::Error;
    fn try_from(created: &'a CreatedKey) -> anyhow::Result<Self> {
        Ok(Self {
            key: (&created.record).try_into()?,
            api_key: created.api_key.expose_secret(),
            secret: created.secret.as_ref().map(|s| s.expose_secret()),
            hmac_secret: created.hmac_secret.as_ref().map(|s| s.expose_secret()),
        })
    }
}

/// What a template change answers: the version it became.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateChangedView {
    pub template_version: i64,
}

/// A stored template's JSON text as JSON (the store keeps what was validated; anything else
/// is corrupt data, a 500).
fn stored_template(text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("a stored template is not JSON: {e}"))
}

/// A view as a JSON value, for pages that walk it.
pub fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).expect("views serialize to JSON")
}
