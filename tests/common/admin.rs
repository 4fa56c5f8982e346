//! The admin API's writes, with tenant `default`'s token (reads are `TestApp::admin_get`), and the
//! `/metrics` text (from the metrics listener, whose address `serve` prints).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::TestApp;

impl TestApp {
    /// The URL of `/metrics` on the metrics listener of the `serve` started last.
    pub fn metrics_url(&self) -> String {
        let printed = self.printed.lock().expect("printed lock");
        let line = printed
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("trailspark metrics on "));
        line.expect("serve printed no metrics address").to_owned()
    }

    /// The `/metrics` text.
    pub async fn metrics_text(&self) -> String {
        let response = self
            .client
            .get(self.metrics_url())
            .send()
            .await
            .expect("metrics");
        response.text().await.expect("metrics body")
    }

    /// Replaces the extra `serve` arguments of the next [`TestApp::start`].
    pub fn set_args(&mut self, extra: &[&str]) {
        self.extra_args = extra.iter().map(|s| s.to_string()).collect();
    }

    /// Sends `method` to an admin API path with tenant `default`'s token, and `body` as JSON.
    pub async fn admin_send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// Changes a key's template through the admin API (`PUT …/template`).
    pub async fn put_template(&self, key_id: &str, template: &Value) -> (StatusCode, Value) {
        let body = serde_json::json!({ "template": template });
        self.admin_send(
            Method::PUT,
            &format!("/api/admin/api-keys/{key_id}/template"),
            Some(&body),
        )
        .await
    }
}
