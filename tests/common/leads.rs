//! Helpers of the lead tests: a signal key, and a lead's evaluation context.

use reqwest::StatusCode;
use serde_json::Value;

use super::{encode, TestApp};

/// A signal-staging key with the flat preset, in `tenant`.
pub fn signal_key(app: &TestApp, tenant: &str) -> String {
    app.key_for(tenant, &["--type", "signal-staging", "--preset", "flat"])
        .api_key
}

/// The evaluation context of `lead`, as the admin API answers it.
pub async fn context(app: &TestApp, lead: &str) -> (StatusCode, Value) {
    app.admin_get(&format!(
        "/api/admin/leads/{}/evaluation-context",
        encode(lead)
    ))
    .await
}
