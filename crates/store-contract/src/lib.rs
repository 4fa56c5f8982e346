//! The `Store` contract: one suite of behaviours, generic over the backend. A backend runs it
//! with [`store_contract_tests!`], giving an expression that opens a fresh, empty store.
//!
//! Each case panics with a message saying which behaviour broke.

mod accounts;
mod admin_tokens;
mod clocks;
mod counts;
mod deliveries;
mod duplicates;
mod health;
mod ingest;
mod leads;
pub mod postgres;
mod reads;
mod retention;
mod search;
mod signal_writes;
mod templates;
mod write_health;

pub use accounts::{api_keys, tenants, users_and_sessions};
pub use admin_tokens::{admin_tokens, admin_tokens_are_revoked_and_used_per_tenant};
pub use clocks::{
    a_newer_unchanged_update_still_outranks_older_ones,
    updates_without_event_time_take_their_arrival,
};
pub use counts::tenant_counts_count_only_the_tenants_rows;
pub use deliveries::{
    delivery_log_filters_and_pages, delivery_log_of_signals_and_replays,
    delivery_log_replays_apply_at_their_original_time, delivery_log_rides_ingest,
    delivery_log_sweep, delivery_log_sweep_leaves_refusals_and_payloads_findable,
};
pub use duplicates::{
    possible_duplicates_fold_space_and_ascii_case, possible_duplicates_made_at_once_are_found,
    unlinked_leads_say_why,
};
pub use health::{
    a_key_with_a_long_log, a_key_with_a_mixed_log, key_tallies_count_the_log_of_one_key,
    tallies_keep_counting_what_the_log_has_swept, tallies_of_requests_sent_at_once_add_up,
    the_last_day_of,
};
pub use ingest::{
    concurrent_first_updates, creates_then_updates, is_new_org_once_in_one_request,
    message_id_dedupe, per_field_last_writer_wins, semantics_hold_inside_batches,
    tenants_stay_apart, webhook_id_replay,
};
pub use leads::{
    evaluation_context, firmographics_import, leads_list, signals_link_leads, target_orgs_and_moves,
};
pub use reads::{history_pages, history_stays_in_its_tenant, list_pages_and_search};
pub use retention::{
    history_is_swept_by_age, history_sweeps_past_one_job, signals_are_swept_by_age,
    signals_sweep_past_one_job,
};
pub use search::{search_is_the_same_narrowed_or_walked, COMMON_ROWS};
pub use signal_writes::{
    a_signal_for_a_mistyped_org_names_the_org_meant, a_signal_sent_twice_is_stored_once,
};
pub use templates::{
    concurrent_template_changes_take_consecutive_versions,
    template_versions_are_kept_per_key_and_tenant,
};
pub use write_health::the_write_probe_commits_and_alone_ends_a_write_failure;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use trailspark_core::credentials::{
    generate_api_key, generate_key_id, hash_credential, shown_prefix,
};
use trailspark_core::template::{PayloadTemplate, Preset};
use trailspark_core::{ApiKeyId, EndpointType, Subdomain};
use trailspark_store::{NewApiKey, Store, Tenant};

/// Generates one `#[tokio::test]` per contract case. `$open` is an async expression that
/// yields `Some((Arc<dyn Store>, guard))`, or `None` when the backend is not available here
/// (the test then returns, having said so); the guard (a temp dir, a database to drop) lives
/// as long as the test.
#[macro_export]
macro_rules! store_contract_tests {
    ($open:expr) => {
        $crate::store_contract_tests!(@cases $open;
            tenants, api_keys, admin_tokens, admin_tokens_are_revoked_and_used_per_tenant,
            creates_then_updates, is_new_org_once_in_one_request,
            per_field_last_writer_wins, message_id_dedupe, webhook_id_replay, tenants_stay_apart,
            concurrent_first_updates, list_pages_and_search, history_pages, signals_link_leads,
            history_is_swept_by_age, history_sweeps_past_one_job, signals_are_swept_by_age,
            signals_sweep_past_one_job,
            a_signal_for_a_mistyped_org_names_the_org_meant, a_signal_sent_twice_is_stored_once,
            evaluation_context, target_orgs_and_moves, firmographics_import, leads_list,
            semantics_hold_inside_batches, users_and_sessions, delivery_log_rides_ingest,
            delivery_log_of_signals_and_replays, delivery_log_filters_and_pages, delivery_log_sweep,
            delivery_log_sweep_leaves_refusals_and_payloads_findable,
            delivery_log_replays_apply_at_their_original_time,
            a_newer_unchanged_update_still_outranks_older_ones,
            updates_without_event_time_take_their_arrival, history_stays_in_its_tenant,
            template_versions_are_kept_per_key_and_tenant,
            concurrent_template_changes_take_consecutive_versions,
            possible_duplicates_fold_space_and_ascii_case,
            possible_duplicates_made_at_once_are_found, unlinked_leads_say_why,
            key_tallies_count_the_log_of_one_key, tallies_keep_counting_what_the_log_has_swept,
            tallies_of_requests_sent_at_once_add_up,
            tenant_counts_count_only_the_tenants_rows, search_is_the_same_narrowed_or_walked,
            the_write_probe_commits_and_alone_ends_a_write_failure);
    };
    (@cases $open:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $open.await else { return };
                $crate::$case(store).await;
            }
        )*
    };
}

/// A fresh tenant with a unique subdomain.
pub async fn tenant(store: &dyn Store, subdomain: &str) -> Tenant {
    let subdomain = Subdomain::parse(subdomain).expect("test subdomain");
    store
        .create_tenant(&subdomain, "Test")
        .await
        .expect("create tenant")
}

/// A key as the server would store it, and the key text.
pub fn new_key(kind: EndpointType) -> (NewApiKey, String) {
    let text = generate_api_key(kind);
    let template = PayloadTemplate::preset(kind, Preset::Segment).to_json();
    let key = NewApiKey {
        id: generate_key_id(),
        name: "contract".into(),
        endpoint_type: kind,
        prefix: shown_prefix(&text),
        key_hash: hash_credential(&text),
        template: template.to_string(),
        expires_at: None,
        secret_hash: None,
        hmac_secret_sealed: None,
        created_by: "contract".into(),
    };
    (key, text)
}

/// A tenant with one product org key, ready for ingest.
pub async fn tenant_with_key(store: &Arc<dyn Store>, subdomain: &str) -> (Tenant, ApiKeyId) {
    let tenant = tenant(store.as_ref(), subdomain).await;
    let (key, _) = new_key(EndpointType::ProductOrgUpdates);
    let record = store
        .create_api_key(tenant.id, key)
        .await
        .expect("create key");
    (tenant, record.id)
}

/// An instant taken once per test run (now, in whole seconds) plus `secs`, for event and
/// receive times. Near the wall clock, not a fixed date: what a store does by its own clock
/// (sweeping messageIds older than a day) must see the cases' rows as the recent rows they are.
pub fn at(secs: i64) -> DateTime<Utc> {
    static BASE: OnceLock<i64> = OnceLock::new();
    let base = *BASE.get_or_init(|| Utc::now().timestamp());
    DateTime::from_timestamp(base + secs, 0).expect("valid time")
}

/// The receive time of the next request: later than every request's before it, as a server's
/// clock is. One fixed receive time would make each update look no newer than the last, so a
/// store that ignored receive times (what decides for updates without eventTimestamp) would
/// pass. Steps of a millisecond from `at(1_000)`: the cases' event times stay far from it.
pub fn arrival() -> DateTime<Utc> {
    static ARRIVALS: AtomicI64 = AtomicI64::new(0);
    at(1_000) + chrono::Duration::milliseconds(ARRIVALS.fetch_add(1, Ordering::Relaxed))
}
