//! Identifiers, parsed once at the edge so the rest of the code can trust them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest product org id we keep (SPEC §2).
pub const MAX_PRODUCT_ORG_ID_LEN: usize = 255;

/// Internal id of a tenant (a trailspark customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TenantId(pub i64);

/// Id of a target org, unique within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TargetOrgId(pub i64);

/// Public id of an API key (not the key itself), e.g. `key_3f9c…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKeyId(pub String);

/// Public id of an admin token (not the token itself), e.g. `adm_3f9c…`: what the token is
/// listed and revoked by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminTokenId(pub String);

/// The tenant's own id of one workspace of its product: a non-empty string of at most
/// [`MAX_PRODUCT_ORG_ID_LEN`] characters, kept exactly as sent (no trimming, case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ProductOrgId(String);

/// Why a string is not a product org id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductOrgIdError {
    #[error("must not be empty")]
    Empty,
    #[error("is {0} characters long; at most 255 are allowed")]
    TooLong(usize),
    #[error("must not contain NUL (\\u0000) characters")]
    Nul,
}

impl ProductOrgId {
    /// Parses a product org id, keeping the text exactly.
    pub fn parse(s: impl Into<String>) -> Result<Self, ProductOrgIdError> {
        let s = s.into();
        let len = s.chars().count();
        if len == 0 {
            return Err(ProductOrgIdError::Empty);
        }
        if len > MAX_PRODUCT_ORG_ID_LEN {
            return Err(ProductOrgIdError::TooLong(len));
        }
        if s.contains('\0') {
            return Err(ProductOrgIdError::Nul);
        }
        Ok(Self(s))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as two ids that differ only by surrounding whitespace or letter case fold to
    /// (`WS_ABC123` and `ws_abc123 `): what a possible duplicate shares (SPEC §6). ASCII only,
    /// so that both stores' SQL ([`FOLDED_ID_SQL`]) folds exactly as this does.
    pub fn folded(&self) -> String {
        fold(&self.0)
    }
}

/// [`ProductOrgId::folded`] of an id's text.
pub fn fold(id: &str) -> String {
    id.trim_matches(FOLDED_SPACE).to_ascii_lowercase()
}

/// The whitespace [`ProductOrgId::folded`] trims.
const FOLDED_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// The SQL of [`ProductOrgId::folded`] over column `product_org_id`, for SQLite (whose
/// `lower` folds ASCII only) and PostgreSQL (where `translate` does, whatever the locale).
/// Each store indexes this expression, and a query must spell it the same way to use it.
pub const FOLDED_ID_SQL: FoldedIdSql = FoldedIdSql {
    sqlite: "lower(trim(product_org_id, ' ' || char(9, 10, 13)))",
    postgres: "translate(btrim(product_org_id, E' \\t\\n\\r'), \
               'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
};

/// [`FOLDED_ID_SQL`] per backend.
pub struct FoldedIdSql {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// A lead's id within a tenant: the sender's `leadId` exactly, or, for a lead known only by
/// email, its normalised email. Non-empty, at most [`MAX_LEAD_ID_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct LeadId(String);

/// Longest lead id: room for the longest email address.
pub const MAX_LEAD_ID_LEN: usize = 320;

impl LeadId {
    /// Parses a lead id, keeping the text exactly.
    pub fn parse(s: impl Into<String>) -> Result<Self, String> {
        let s = s.into();
        let len = s.chars().count();
        if len == 0 {
            return Err("must not be empty".into());
        }
        if len > MAX_LEAD_ID_LEN {
            return Err(format!(
                "is {len} characters long; at most {MAX_LEAD_ID_LEN} are allowed"
            ));
        }
        if s.contains('\0') {
            return Err("must not contain NUL (\\u0000) characters".into());
        }
        Ok(Self(s))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LeadId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl From<LeadId> for String {
    fn from(id: LeadId) -> String {
        id.0
    }
}

impl TryFrom<String> for ProductOrgId {
    type Error = ProductOrgIdError;
    fn try_from(s: String) -> Result<Self, ProductOrgIdError> {
        Self::parse(s)
    }
}

impl From<ProductOrgId> for String {
    fn from(id: ProductOrgId) -> String {
        id.0
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ProductOrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for AdminTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for TargetOrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant's subdomain: a DNS label of lower-case letters, digits and inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Subdomain(String);

/// Why a string is not a subdomain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid subdomain {0:?}: use 1 to 63 lower-case letters, digits or inner hyphens (like \"acme\" or \"acme-eu\")")]
pub struct SubdomainError(pub String);

impl Subdomain {
    /// Parses a subdomain (case is not folded: `Acme` is refused, so the user sees the rule).
    pub fn parse(s: &str) -> Result<Self, SubdomainError> {
        let ok = (1..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(SubdomainError(s.to_owned()))
        }
    }

    /// The subdomain a `Host` header names: the first label of `{subdomain}.{domain}.{tld}`
    /// (a port and the case aside). Never one of an IP address or of `localhost`: `127` is not
    /// a tenant of `127.0.0.1:8080`.
    pub fn of_host(host: &str) -> Option<Self> {
        if host.starts_with('[') {
            return None; // an IPv6 address
        }
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let labels: Vec<&str> = name.split('.').collect();
        let tld = labels.last().copied().unwrap_or_default();
        if labels.len() < 3 || tld == "localhost" || tld.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Self::parse(labels[0]).ok()
    }

    /// The subdomain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which endpoint an API key may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointType {
    /// `POST /api/product-orgs/webhook/{apiKey}`.
    ProductOrgUpdates,
    /// `POST /api/signals/webhook/{apiKey}`.
    SignalStaging,
}

impl EndpointType {
    /// The name used on the command line, in the store and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProductOrgUpdates => "product-org-updates",
            Self::SignalStaging => "signal-staging",
        }
    }

    /// The human name used in the documents ("Product Org Updates").
    pub fn title(self) -> &'static str {
        match self {
            Self::ProductOrgUpdates => "Product Org Updates",
            Self::SignalStaging => "Signal Staging",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "product-org-updates" => Some(Self::ProductOrgUpdates),
            "signal-staging" => Some(Self::SignalStaging),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differing_by_surrounding_space_or_case_fold_alike() {
        let fold = |s: &str| ProductOrgId::parse(s).unwrap().folded();
        assert_eq!(fold("WS_ABC123"), "ws_abc123");
        assert_eq!(fold("ws_abc123 "), "ws_abc123");
        assert_eq!(fold("\tWs_Abc123\r\n"), "ws_abc123");
        assert_eq!(fold("ws abc"), "ws abc", "inner space is kept");
        assert_eq!(fold("ÉCOLE"), "École", "ASCII only, as both stores' SQL");
    }

    #[test]
    fn a_host_names_a_subdomain_only_as_subdomain_domain_tld() {
        let of = |host: &str| Subdomain::of_host(host).map(|s| s.0);
        for host in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "[::1]:8080",
            "::1",
            "localhost:8080",
            "app.localhost",
            "example.com",
            "1.2.3",
            "",
            "bad_name.example.com",
        ] {
            assert_eq!(of(host), None, "{host}");
        }
        assert_eq!(of("acme.example.com"), Some("acme".into()));
        assert_eq!(of("ACME.example.co.uk:8443"), Some("acme".into()));
        assert_eq!(of("acme.example.com."), Some("acme".into()));
    }

    #[test]
    fn product_org_id_is_kept_exactly() {
        assert_eq!(ProductOrgId::parse(" Ws_1 ").unwrap().as_str(), " Ws_1 ");
        assert_eq!(ProductOrgId::parse(""), Err(ProductOrgIdError::Empty));
        assert!(ProductOrgId::parse("x".repeat(255)).is_ok());
        assert_eq!(
            ProductOrgId::parse("é".repeat(256)),
            Err(ProductOrgIdError::TooLong(256))
        );
    }

    #[test]
    fn subdomains_are_dns_labels() {
        for ok in ["default", "acme", "acme-eu", "a1", "9"] {
            assert!(Subdomain::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Acme", "-a", "a-", "a.b", "a_b", &"a".repeat(64)] {
            assert!(Subdomain::parse(bad).is_err(), "{bad}");
        }
    }
}
