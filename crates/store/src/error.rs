use std::fmt;
use std::sync::Arc;

use thiserror::Error;
use trailspark_core::{AdminTokenId, ApiKeyId, LeadId, ProductOrgId, Subdomain, TargetOrgId};

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// What caused a store error: the driver's (or the file system's) own error, kept whole so the
/// log shows its chain. Shared, so one failed batch can fail each of its requests with it.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong in a store, independent of the backend. Backends map their driver
/// errors to these in one place (their `db` module).
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The thing asked for does not exist (for this tenant); it says which thing, in words a
    /// caller can show as they are.
    #[error("{0}")]
    NotFound(Missing),
    /// A page cursor that this store did not hand out.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A unique value is already taken.
    #[error("conflict: {what}")]
    Conflict {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The store cannot be reached or is too busy right now; the caller may retry.
    #[error("store unavailable: {what}")]
    Unavailable {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Anything else; a bug or corrupt data.
    #[error("store error: {what}")]
    Other {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl StoreError {
    /// The store cannot be reached or is too busy: `what` says how.
    pub fn unavailable(what: impl Into<String>) -> Self {
        Self::Unavailable {
            what: what.into(),
            cause: None,
        }
    }

    /// A unique value is already taken: `what` says which.
    pub fn conflict(what: impl Into<String>) -> Self {
        Self::Conflict {
            what: what.into(),
            cause: None,
        }
    }

    /// Anything else: `what` says what went wrong.
    pub fn other(what: impl Into<String>) -> Self {
        Self::Other {
            what: what.into(),
            cause: None,
        }
    }

    /// The same error, caused by `cause` (kept as the error's source).
    pub fn caused_by(self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        let cause: Option<Cause> = Some(Arc::new(cause));
        match self {
            Self::Conflict { what, .. } => Self::Conflict { what, cause },
            Self::Unavailable { what, .. } => Self::Unavailable { what, cause },
            Self::Other { what, .. } => Self::Other { what, cause },
            other => other,
        }
    }

    /// Whether the caller may retry (the store is away or busy, not the request at fault).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// The error and each of its causes, joined: what a log line or a message shows.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// What a store did not find: each thing by its id, so a message can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Tenant(Subdomain),
    ApiKey(ApiKeyId),
    AdminToken(AdminTokenId),
    ProductOrg(ProductOrgId),
    Lead(LeadId),
    TargetOrg(TargetOrgId),
    Delivery(i64),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(subdomain) => write!(f, "There is no tenant {:?}.", subdomain.as_str()),
            Self::ApiKey(id) => write!(f, "This tenant has no API key {:?}.", id.0),
            Self::AdminToken(id) => write!(f, "This tenant has no admin token {:?}.", id.0),
            Self::ProductOrg(id) => {
                write!(
                    f,
                    "This tenant has no product org with id {:?}.",
                    id.as_str()
                )
            }
            Self::Lead(id) => write!(f, "This tenant has no lead with id {:?}.", id.as_str()),
            Self::TargetOrg(id) => write!(f, "This tenant has no target org {id}."),
            Self::Delivery(id) => write!(f, "This tenant has no delivery {id}."),
        }
    }
}

impl From<Missing> for StoreError {
    fn from(missing: Missing) -> Self {
        Self::NotFound(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_keeps_the_cause_and_clones_share_it() {
        let io = std::io::Error::other("the disk refused the sync");
        let e = StoreError::unavailable("cannot flush t.db-wal").caused_by(io);
        assert_eq!(
            e.chain(),
            "store unavailable: cannot flush t.db-wal: the disk refused the sync"
        );
        assert!(e.is_unavailable());
        assert_eq!(e.clone().chain(), e.chain());
        let missing = StoreError::from(Missing::TargetOrg(TargetOrgId(7)));
        assert_eq!(missing.to_string(), "This tenant has no target org 7.");
    }
}
