//! Values of the lead side of the store: signals, leads, target orgs and their firmographics,
//! and the evaluation context that brings them together.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, LeadId, ProductOrgId, TargetOrgId, UnlinkedReason};

use crate::ProductOrg;

/// The signals of one webhook request, all sent with one key.
#[derive(Debug, Clone)]
pub struct SignalRequest {
    pub key_id: ApiKeyId,
    pub received_at: DateTime<Utc>,
    /// As in [`crate::IngestRequest`]: refused when seen before for this key.
    pub webhook_id: Option<String>,
    pub signals: Vec<Signal>,
    /// As in [`crate::IngestRequest`].
    pub log: Option<crate::RequestLog>,
}

/// A person known by signals.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub lead_id: LeadId,
    pub email: Option<String>,
    /// The product org of the lead's latest signal that named one.
    pub product_org_id: Option<ProductOrgId>,
    /// That product org's target org; `None` while the product org does not exist (pending).
    pub target_org_id: Option<TargetOrgId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A lead that is not linked to a target org, with what may fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlinkedLead {
    pub lead: Lead,
    /// An existing product org whose id folds like the one the lead names (the lead's
    /// `WS_ABC123` where `ws_abc123` exists): what the sender probably meant. The oldest when
    /// several do ([`crate::did_you_mean`]), as the signal's `similar_product_org` warning.
    pub did_you_mean: Option<ProductOrgId>,
}

impl UnlinkedLead {
    /// Why the lead is not linked: its signals named no product org, or the one they named
    /// does not exist (the link is made when it is created).
    pub fn reason(&self) -> UnlinkedReason {
        match self.lead.product_org_id {
            None => UnlinkedReason::NoProductOrgId,
            Some(_) => UnlinkedReason::ProductOrgNotFound,
        }
    }
}

/// One stored signal of a lead.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRecord {
    pub name: Option<String>,
    pub properties: Option<Map<String, Value>>,
    pub custom_fields: Map<String, Value>,
    pub product_org_id: Option<ProductOrgId>,
    pub event_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// A company a tenant sells to.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetOrg {
    pub id: TargetOrgId,
    pub name: String,
    /// CRM fields (domain, industry, employee count, …), as last set.
    pub firmographics: Option<Map<String, Value>>,
    pub product_org_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A target org with its product orgs and (up to [`TargetOrgDetail::MAX_LEADS`]) leads.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetOrgDetail {
    pub org: TargetOrg,
    pub product_orgs: Vec<ProductOrg>,
    pub leads: Vec<Lead>,
    pub lead_count: i64,
}

impl TargetOrgDetail {
    /// Most leads listed with a target org; the leads list pages through the rest.
    pub const MAX_LEADS: u32 = 200;
}

/// What a lead-scoring model reads about a lead.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationContext {
    pub lead: Lead,
    /// Newest first.
    pub signals: Vec<SignalRecord>,
    /// The target org's firmographics; `None` without a target org or when never set.
    pub firmographics: Option<Map<String, Value>>,
    /// Every product org of the lead's target org, ordered by id.
    pub product_orgs: Vec<ProductOrg>,
}

/// Which target org a firmographics row is for.
#[derive(Debug, Clone, PartialEq)]
pub enum FirmographicsKey {
    /// The target org of this product org.
    ProductOrg(ProductOrgId),
    TargetOrg(TargetOrgId),
}

/// One row of a firmographics import: replaces that target org's firmographics.
#[derive(Debug, Clone, PartialEq)]
pub struct FirmographicsRow {
    pub key: FirmographicsKey,
    pub fields: Map<String, Value>,
}
