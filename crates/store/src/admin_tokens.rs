//! Admin tokens as the store keeps them: by the SHA-256 of the token (never the token), with a
//! public id to list and revoke them by, an optional name and expiry, and a revocation time.

use chrono::{DateTime, Utc};
use trailspark_core::{AdminTokenId, TenantId};

/// An admin token to be stored. The token text itself is never stored: only its SHA-256.
#[derive(Debug, Clone)]
pub struct NewAdminToken {
    pub id: AdminTokenId,
    /// What the token is for, to recognise it in lists ("lead scoring", say).
    pub name: Option<String>,
    pub token_hash: [u8; 32],
    /// After this time the token is refused.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored admin token: everything about it but the token and its hash, so a list of them
/// cannot leak either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub tenant_id: TenantId,
    pub id: AdminTokenId,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When a server last found it in the store for a request (servers do not read the store
    /// at every request, so this is exact to their key refresh interval).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Whether an admin token is taken, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminTokenStatus {
    Active,
    Expired,
    Revoked,
}

impl AdminTokenStatus {
    /// As lists show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl AdminToken {
    /// The one rule of which tokens are taken: not revoked, and not at or past its expiry.
    pub fn status_at(&self, now: DateTime<Utc>) -> AdminTokenStatus {
        if self.revoked_at.is_some() {
            AdminTokenStatus::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            AdminTokenStatus::Expired
        } else {
            AdminTokenStatus::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_taken_until_its_expiry_and_never_once_revoked() {
        let now = Utc::now();
        let second = chrono::Duration::seconds(1);
        let token = |expires_at, revoked_at| AdminToken {
            tenant_id: TenantId(1),
            id: AdminTokenId("adm_1".into()),
            name: None,
            created_at: now,
            expires_at,
            revoked_at,
            last_used_at: None,
        };
        let status = |t: AdminToken| t.status_at(now);
        assert_eq!(status(token(None, None)), AdminTokenStatus::Active);
        assert_eq!(
            status(token(Some(now + second), None)),
            AdminTokenStatus::Active
        );
        assert_eq!(status(token(Some(now), None)), AdminTokenStatus::Expired);
        assert_eq!(
            status(token(Some(now - second), None)),
            AdminTokenStatus::Expired
        );
        assert_eq!(
            status(token(Some(now - second), Some(now))),
            AdminTokenStatus::Revoked
        );
        assert_eq!(status(token(None, Some(now))), AdminTokenStatus::Revoked);
    }
}
