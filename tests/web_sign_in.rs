//! The sign-in form's tenant field (SPEC §1 "Web UI"): prefilled from a Host of the form
//! `{subdomain}.{domain}.{tld}`, never from an IP address or `localhost`; else, on a store
//! with one tenant, with that one.

mod common;

use common::web::get_with_host;
use common::TestApp;
use reqwest::StatusCode;

/// The tenant the sign-in form shows when reached at `host`.
async fn prefilled(app: &TestApp, host: &str) -> String {
    let page = get_with_host(app, "/login", host).await;
    assert_eq!(page.status, StatusCode::OK, "{host}");
    page.form("/login")
        .get("tenant")
        .expect("a tenant field")
        .to_owned()
}

/// Issue 16: opened at `127.0.0.1:8080`, the address `serve` prints, the form said tenant
/// `127`.
#[tokio::test]
async fn only_a_real_subdomain_prefills_the_tenant() {
    let app = TestApp::spawn().await;
    app.cli_json(&["tenant", "create", "acme"]);
    for (host, expected) in [
        ("127.0.0.1:8080", ""),
        ("127.0.0.1", ""),
        ("localhost:8080", ""),
        ("[::1]:8080", ""),
        ("10.1.2.3", ""),
        ("app.localhost:8080", ""),
        ("example.com", ""),
        ("acme.example.com", "acme"),
        ("acme.example.com:8443", "acme"),
        ("Acme.Example.COM", "acme"),
    ] {
        assert_eq!(prefilled(&app, host).await, expected, "Host: {host}");
    }
}

/// A store with one tenant prefills it wherever the form is opened, unless the Host names
/// another.
#[tokio::test]
async fn a_store_with_one_tenant_prefills_it() {
    let app = TestApp::spawn().await;
    for (host, expected) in [
        ("127.0.0.1:8080", "default"),
        ("localhost:8080", "default"),
        ("[::1]:8080", "default"),
        ("acme.example.com", "acme"),
    ] {
        assert_eq!(prefilled(&app, host).await, expected, "Host: {host}");
    }
}
