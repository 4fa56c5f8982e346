//! The pure domain of trailspark: identifiers, payload templates and their paths, extraction
//! and value rules, the per-field merge, and API credentials. No I/O lives here.

pub mod credentials;
pub mod extract;
pub mod firmographics;
pub mod hint;
pub mod ids;
pub mod path;
pub mod signal;
pub mod signature;
pub mod template;
pub mod update;
pub mod value;

pub use ids::{
    ApiKeyId, EndpointType, LeadId, ProductOrgId, ProductOrgIdError, Subdomain, SubdomainError,
    TargetOrgId, TenantId,
};
pub use update::{FieldChange, FieldClock, FieldPatch, MergeOutcome, ProductOrgFields, Update};
