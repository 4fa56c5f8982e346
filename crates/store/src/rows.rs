//! Values that go in and out of a [`crate::Store`].

use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use trailspark_core::{
    ApiKeyId, Applied, EndpointType, FieldChange, ProductOrgFields, ProductOrgId, Subdomain,
    TargetOrgId, TenantId, Update,
};

/// A trailspark customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub subdomain: Subdomain,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A key to be stored. The key text itself is never stored: only its SHA-256.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub endpoint_type: EndpointType,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    pub key_hash: [u8; 32],
    /// The payload template as JSON text (validated by the caller).
    pub template: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// SHA-256 of the `X-Api-Secret` value, when the key has one.
    pub secret_hash: Option<[u8; 32]>,
    /// The HMAC secret sealed with a key derived from the API key, when the key has one.
    pub hmac_secret_sealed: Option<Vec<u8>>,
    /// Who made the key: the author of its template's version 1 ("cli", "admin token", …).
    pub created_by: String,
}

/// A stored key.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub tenant_id: TenantId,
    pub id: ApiKeyId,
    pub name: String,
    pub endpoint_type: EndpointType,
    pub prefix: String,
    /// The current payload template as JSON text: the one of version `template_version`.
    pub template: String,
    /// The current version of the template (1 at creation, one more at each change).
    pub template_version: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub secret_hash: Option<[u8; 32]>,
    pub hmac_secret_sealed: Option<Vec<u8>>,
}

/// One version of a key's payload template (SPEC §6): every version stays readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVersion {
    /// 1 for the template the key was created with, then counting up.
    pub version: i64,
    /// The template as JSON text.
    pub template: String,
    pub created_at: DateTime<Utc>,
    /// Who set it, in words ("cli", "admin token", "key creation" for keys older than
    /// versions).
    pub created_by: String,
}

/// The updates of one webhook request, all sent with one key.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub key_id: ApiKeyId,
    /// When trailspark received the request; the event time of updates without one.
    pub received_at: DateTime<Utc>,
    /// The Standard Webhooks `webhook-id` of a signed request: a second request with the same
    /// id for the same key within the signature window is refused as a replay.
    pub webhook_id: Option<String>,
    pub updates: Vec<Update>,
    /// The request's delivery log entries, written in the transaction that applies it.
    pub log: Option<crate::RequestLog>,
}

/// What happened to a request: `T` is the outcome of one update (a product org update's
/// [`Applied`], a signal's [`crate::SignalApplied`]).
#[derive(Debug, Clone, PartialEq)]
pub enum IngestResult<T = Applied> {
    /// The request's `webhook-id` was seen before: nothing was applied.
    Replayed,
    /// One result per update, in order.
    Applied(Vec<Result<T, String>>),
}

/// A product org as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductOrg {
    pub product_org_id: ProductOrgId,
    pub target_org_id: TargetOrgId,
    pub fields: ProductOrgFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One applied change of a product org.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// 1 for the creating update, then counting up.
    pub version: i64,
    pub changes: Vec<FieldChange>,
    pub key_id: ApiKeyId,
    /// The event time the update carried, if any.
    pub event_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// A page request: at most `limit` items after the opaque `cursor`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Filters of a list (product orgs, leads, target orgs).
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Case-insensitive substring of the id or the name (email for leads).
    pub search: Option<String>,
    pub page: PageRequest,
}

impl SearchQuery {
    /// The search as a `LIKE`/`ILIKE` pattern that finds it anywhere (`%term%`), with `%`, `_`
    /// and `\` matched literally (both stores escape with `\`); `None` without a search.
    pub fn like_pattern(&self) -> Option<String> {
        let term = self.search.as_deref()?;
        let escaped = term
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        Some(format!("%{escaped}%"))
    }
}

/// One page of results; `next_cursor` is `None` on the last page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl PageRequest {
    /// Where this page starts and how many rows to fetch for it: the skeleton every list of
    /// every store shares. `K` is the list's sort key, which the cursor carries.
    pub fn window<K: CursorKey>(&self) -> StoreResult<Window<K>> {
        let after = match self.cursor.as_deref() {
            Some(cursor) => Some(
                K::from_text(&crate::cursor::decode(cursor)?).ok_or(StoreError::InvalidCursor)?,
            ),
            None => None,
        };
        Ok(Window {
            after,
            limit: self.limit.max(1),
        })
    }
}

/// A sort key that a page cursor carries.
pub trait CursorKey: Sized {
    /// The key as a cursor's text.
    fn to_text(&self) -> String;
    /// The key back from a cursor's text; `None` for text no cursor of this list holds.
    fn from_text(text: &str) -> Option<Self>;
}

impl CursorKey for String {
    fn to_text(&self) -> String {
        self.clone()
    }
    fn from_text(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

impl CursorKey for i64 {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// One page of a list being read: the sort key it starts after, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window<K> {
    /// The sort key of the previous page's last item; `None` for the first page.
    pub after: Option<K>,
    /// Most items on the page (at least 1).
    pub limit: u32,
}

impl<K: CursorKey> Window<K> {
    /// How many rows to fetch: one more than the page holds, which only says whether there
    /// is a next page.
    pub fn rows_to_fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The page of the rows fetched (up to [`Window::rows_to_fetch`]); its next cursor is the
    /// sort `key` of its last item when there is a next page.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Page<T> {
        let limit = self.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last()
                .map(|item| crate::cursor::encode(&key(item).to_text()))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// How many product orgs, target orgs and leads a tenant has (the web UI's overview).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantCounts {
    pub product_orgs: u64,
    pub target_orgs: u64,
    pub leads: u64,
}

/// A person who signs in to the web UI of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub tenant: TenantId,
    /// Trimmed and lower-cased.
    pub email: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// A signed-in web UI session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub tenant: TenantId,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

/// How a store's group commit went since it opened: transactions committed (or failed) and
/// the write requests they carried; their ratio is the average batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub commits: u64,
    pub requests: u64,
    /// Of those transactions, how many failed as a whole and were run again a request at a
    /// time, so that only a request at fault fails: each is a batch's work done twice, and a
    /// steady rise is a write path that fails where it should not.
    pub split: u64,
}

impl CommitStats {
    /// Requests per transaction (0 before the first).
    #[allow(clippy::cast_precision_loss)]
    pub fn average_batch(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.requests as f64 / self.commits as f64
        }
    }
}

/// Counters for [`CommitStats`], shared by a store's writers.
#[derive(Debug, Default)]
pub struct CommitCounters {
    commits: std::sync::atomic::AtomicU64,
    requests: std::sync::atomic::AtomicU64,
    split: std::sync::atomic::AtomicU64,
}

impl CommitCounters {
    /// Counts one transaction of `requests` requests.
    pub fn record(&self, requests: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.commits.fetch_add(1, Relaxed);
        self.requests.fetch_add(requests as u64, Relaxed);
    }

    /// Counts a transaction that failed and was run again a request at a time.
    pub fn record_split(&self) {
        self.split
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn stats(&self) -> CommitStats {
        use std::sync::atomic::Ordering::Relaxed;
        CommitStats {
            commits: self.commits.load(Relaxed),
            requests: self.requests.load(Relaxed),
            split: self.split.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_matches_its_wildcards_literally() {
        let query = |search: &str| SearchQuery {
            search: Some(search.into()),
            page: PageRequest::default(),
        };
        assert_eq!(
            query(r"50%_a\b").like_pattern().as_deref(),
            Some(r"%50\%\_a\\b%")
        );
        assert_eq!(SearchQuery::default().like_pattern(), None);
    }

    #[test]
    fn a_window_fetches_one_row_more_and_cuts_the_page_at_its_limit() {
        let request = PageRequest {
            cursor: Some(crate::cursor::encode("7")),
            limit: 2,
        };
        let window = request.window::<i64>().unwrap();
        assert_eq!((window.after, window.rows_to_fetch()), (Some(7), 3));
        let page = window.page(vec![8_i64, 9, 10], |n| *n);
        assert_eq!(page.items, [8, 9]);
        assert_eq!(page.next_cursor, Some(crate::cursor::encode("9")));
        let last = window.page(vec![8_i64, 9], |n| *n);
        assert_eq!(last.next_cursor, None, "no extra row: the last page");
        let forged = PageRequest {
            cursor: Some(crate::cursor::encode("ws_1")),
            limit: 2,
        };
        assert!(matches!(
            forged.window::<i64>(),
            Err(StoreError::InvalidCursor)
        ));
    }
}
