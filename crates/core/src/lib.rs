//! The pure domain of trailspark: identifiers, payload templates and their paths, extraction
//! and value rules, the per-field merge, and API credentials. No I/O lives here.

pub mod credentials;
pub mod example;
pub mod extract;
pub mod fields;
pub mod firmographics;
pub mod hint;
pub mod ids;
pub mod json;
pub mod path;
pub mod preview;
pub mod redact;
pub mod signal;
pub mod signature;
pub mod step;
pub mod template;
pub mod update;
pub mod value;
pub mod warning;

pub use fields::{Field, FieldPatch, ProductOrgFields};
pub use ids::{
    AdminTokenId, ApiKeyId, EndpointType, FoldedIdSql, LeadId, ProductOrgId, ProductOrgIdError,
    Subdomain, SubdomainError, TargetOrgId, TenantId, FOLDED_ID_SQL,
};
pub use step::{Applied, OrgState, SignalApplied, Step, Write};
pub use update::{FieldChange, FieldClock, MergeOutcome, Update};
pub use warning::{UnchangedReason, UnlinkedReason, Warning};
