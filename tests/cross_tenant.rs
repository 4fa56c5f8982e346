//! Every route, tried by another tenant (issue 18): tenant B, with its admin token and with
//! its signed-in UI session, asks every operation of `/api/openapi.json` and every UI route
//! for tenant A's objects (keys, deliveries applied and refused, product orgs, target orgs,
//! leads, template versions) and gets 404, never A's data; unsafe methods with B's session
//! but without its CSRF token get 403. The routes are not listed here: the admin API's come
//! from the OpenAPI document the server serves, the UI's from the server's sources, and a
//! path parameter this file cannot fill for A fails the test, so a new route cannot be
//! skipped in silence. B's lists and searches never show A's objects either.

mod common;

use common::probe::routes::{self, Operation, Route};
use common::probe::tenants::{self, admin, call, two_tenants, As, Tenant, MARKER};
use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Operations of the OpenAPI document that no tenant credential opens, and why.
const TENANTLESS_API: [(&str, &str); 7] = [
    ("POST /api/product-orgs/webhook/{apiKey}", "an ingest key is its credential, and a key belongs to one tenant (tests/no_keys_at_rest.rs, tests/webhook_auth.rs)"),
    ("POST /api/signals/webhook/{apiKey}", "an ingest key is its credential, and a key belongs to one tenant"),
    ("POST /v1/batch", "an ingest key (basic auth or writeKey) is its credential"),
    ("POST /v1/{eventType}", "an ingest key (basic auth or writeKey) is its credential"),
    ("GET /healthz", "liveness: no tenant data"),
    ("GET /readyz", "readiness: no tenant data"),
    ("GET /api/openapi.json", "the API's description, the same for everyone"),
];

/// Routes outside the OpenAPI document with nothing of a tenant to try, and why.
const TENANTLESS_UI: [(&str, &str); 7] = [
    (
        "GET /metrics",
        "process-wide counters on a listener of its own, no tenant credential",
    ),
    (
        "GET <Asset::Stylesheet.path()>",
        "the UI's stylesheet, compiled in: the same for everyone",
    ),
    (
        "GET <Asset::Script.path()>",
        "the UI's script, compiled in: the same for everyone",
    ),
    ("GET /login", "the sign-in form: no tenant is known yet"),
    ("POST /login", "signing in: no tenant is known yet"),
    (
        "GET /setup/{token}",
        "the one-time setup link: its random token is the credential, for tenant default only",
    ),
    (
        "POST /setup/{token}",
        "the one-time setup link: its random token is the credential",
    ),
];

/// The admin operations of the document (the others must be explained in TENANTLESS_API).
fn admin_operations(document: &Value) -> Vec<Operation> {
    let all = routes::operations(document);
    for op in all.iter().filter(|op| !op.admin) {
        assert!(
            TENANTLESS_API
                .iter()
                .any(|(r, _)| *r == op.route.to_string()),
            "{} takes no tenant credential: try it across tenants here, or say in \
             TENANTLESS_API why it has nothing of a tenant",
            op.route
        );
    }
    for (listed, _) in TENANTLESS_API {
        assert!(
            all.iter()
                .any(|op| op.route.to_string() == listed && !op.admin),
            "TENANTLESS_API lists {listed}, which the document has not (or no longer without \
             the admin credential): keep the list true"
        );
    }
    let admin: Vec<Operation> = all.into_iter().filter(|op| op.admin).collect();
    assert!(
        admin.len() >= 20,
        "the document's admin operations: {admin:?}"
    );
    admin
}

/// The UI routes the server declares: every route not in the document, less TENANTLESS_UI.
fn ui_routes(document: &Value) -> Vec<Route> {
    let documented: Vec<(String, String)> = routes::operations(document)
        .iter()
        .map(|op| (op.route.method.clone(), op.route.shape()))
        .collect();
    let mut ui = Vec::new();
    for route in routes::declared() {
        if documented.contains(&(route.method.clone(), route.shape())) {
            continue;
        }
        assert!(
            !route.path.starts_with("/api/") && !route.path.starts_with("/v1/"),
            "{route} is served but not in /api/openapi.json: document it (this test tries \
             every documented operation across tenants)"
        );
        if !TENANTLESS_UI.iter().any(|(r, _)| *r == route.to_string()) {
            ui.push(route);
        }
    }
    assert!(
        ui.len() >= 15,
        "the UI routes read from the sources: {ui:?}"
    );
    ui
}

/// The JSON body an operation is tried with: one it would accept for the caller's own
/// objects, so that its 404 for A's objects says the objects were not found.
fn body_of(route: &Route, a: &Tenant) -> Option<Value> {
    let body = match route.to_string().as_str() {
        "POST /api/admin/api-keys" => {
            json!({"name": "b's key", "endpointType": "product-org-updates", "preset": "flat"})
        }
        "PUT /api/admin/api-keys/{keyId}/template" => {
            json!({"template": {"productOrgId": "id", "name": "name"}})
        }
        "POST /api/admin/api-keys/{keyId}/template/test" => {
            json!({"template": {"productOrgId": "id", "name": "name"}})
        }
        "POST /api/admin/api-keys/{keyId}/deliveries/replay" => json!({"outcome": "refused"}),
        "POST /api/admin/payload-templates/preview" => {
            json!({"template": {"productOrgId": "id"}, "payload": {"id": "ws_x"}})
        }
        "PUT /api/admin/target-orgs/{targetOrgId}/firmographics" => json!({"industry": "b's"}),
        "POST /api/admin/product-orgs/{productOrgId}/move" => {
            json!({"targetOrgId": a.target_orgs[1]})
        }
        _ => return None,
    };
    Some(body)
}

/// B's token and B's session (with its CSRF token) get 404 from every admin operation for
/// each of A's objects; unsafe methods with B's session but without the CSRF token get 403.
#[tokio::test]
async fn another_tenant_gets_404_from_every_admin_api_operation() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    let document = routes::document(&app).await;
    let mut tried = 0;
    for op in admin_operations(&document) {
        let route = &op.route;
        let method: Method = route.method.parse().unwrap();
        let body = body_of(route, &a);
        assert!(
            !op.has_body || body.is_some(),
            "{route} takes a body: give one it accepts in body_of"
        );
        let unsafe_method = method != Method::GET;
        let (with_a, _) = routes::paths(route, false, &a, &b);
        for path in with_a {
            let request = format!("{route} as {path} {}", body.clone().unwrap_or_default());
            for how in [As::Token, As::Session] {
                let answer = call(&app, &b, how, method.clone(), &path, body.as_ref(), None).await;
                assert_eq!(
                    answer.status,
                    StatusCode::NOT_FOUND,
                    "{request} {how:?}: {}",
                    answer.text
                );
                tenants::assert_nothing_of(&a, &request, &answer);
                tried += 1;
            }
            if unsafe_method {
                let answer = call(
                    &app,
                    &b,
                    As::SessionWithoutCsrf,
                    method.clone(),
                    &path,
                    body.as_ref(),
                    None,
                )
                .await;
                assert_eq!(
                    answer.status,
                    StatusCode::FORBIDDEN,
                    "{request} without CSRF: {}",
                    answer.text
                );
            }
        }
    }
    assert!(tried >= 50, "only {tried} requests tried");
    tenants::assert_a_unchanged(&app, &a).await;
}

/// B's session gets 404 from every UI route for each of A's objects (and for A's deliveries
/// under B's own keys); forms posted without the session's CSRF token get 403.
#[tokio::test]
async fn another_tenants_session_gets_404_from_every_ui_route() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    let document = routes::document(&app).await;
    let mut tried = 0;
    for route in ui_routes(&document) {
        let method: Method = route.method.parse().unwrap();
        let (with_a, _) = routes::paths(&route, true, &a, &b);
        if with_a.is_empty() && method != Method::GET {
            // Nothing of A in the path (create a key, sign out): only the CSRF check to try.
            let answer = call(
                &app,
                &b,
                As::SessionWithoutCsrf,
                method,
                &route.path,
                None,
                Some(&[]),
            )
            .await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{route} without CSRF: {}",
                answer.text
            );
            continue;
        }
        for path in with_a {
            let mut form = ui_form(&route, &a);
            let request = format!("{route} as {path} {form:?}");
            if method != Method::GET {
                let answer = call(
                    &app,
                    &b,
                    As::SessionWithoutCsrf,
                    method.clone(),
                    &path,
                    None,
                    Some(&form),
                )
                .await;
                assert_eq!(
                    answer.status,
                    StatusCode::FORBIDDEN,
                    "{request} without CSRF: {}",
                    answer.text
                );
                form.push(("csrf".into(), b.csrf.clone()));
            }
            let form = (method != Method::GET).then_some(&form[..]);
            let answer = call(&app, &b, As::Session, method.clone(), &path, None, form).await;
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{request}: {}",
                answer.text
            );
            tenants::assert_nothing_of(&a, &request, &answer);
            tried += 1;
        }
    }
    assert!(tried >= 40, "only {tried} requests tried");
    tenants::assert_a_unchanged(&app, &a).await;
}

/// The fields a UI form is posted with besides its CSRF token: what its page would send
/// for the caller's own objects.
fn ui_form(route: &Route, a: &Tenant) -> Vec<(String, String)> {
    match route.path.as_str() {
        "/settings/product-orgs/{id}/move" => {
            vec![("target_org_id".into(), a.target_orgs[1].to_string())]
        }
        "/settings/api-keys/{id}/template" => vec![("action".into(), "test".into())],
        _ => Vec::new(),
    }
}

/// Every read with nothing of A in it (lists, searches by A's names and ids, filters, A's
/// cursors, B's own objects) shows B none of A's objects, by token and by session.
#[tokio::test]
async fn lists_and_searches_show_another_tenant_nothing() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    let document = routes::document(&app).await;
    let queries = |names: &[String]| -> Vec<String> {
        let mut out = vec![String::new()];
        for (name, values) in [
            (
                "q",
                vec![
                    MARKER.to_owned(),
                    a.product_orgs[0].clone(),
                    a.leads[0].clone(),
                ],
            ),
            ("productOrgId", vec![a.product_orgs[0].clone()]),
            ("linked", vec!["false".to_owned()]),
        ] {
            if names.iter().any(|n| n == name) {
                out.extend(values.iter().map(|v| format!("?{name}={v}")));
            }
        }
        out
    };
    // (path, whether it is the admin API's) of every read of B's.
    let mut reads: Vec<(String, bool)> = Vec::new();
    for op in admin_operations(&document)
        .iter()
        .filter(|op| op.route.method == "GET")
    {
        let (_, own) = routes::paths(&op.route, false, &a, &b);
        let mut variants = queries(&op.query);
        if op.query.iter().any(|q| q == "cursor") {
            variants.extend(tenants::cursor_of(&app, &op.route, &a).await);
        }
        reads.extend(variants.iter().map(|q| (format!("{}{q}", own[0]), true)));
        reads.extend(own[1..].iter().map(|path| (path.clone(), true)));
    }
    let every = ["q", "productOrgId", "linked"].map(str::to_owned);
    for route in ui_routes(&document).iter().filter(|r| r.method == "GET") {
        let (_, own) = routes::paths(route, true, &a, &b);
        reads.extend(
            queries(&every)
                .iter()
                .map(|q| (format!("{}{q}", own[0]), false)),
        );
        reads.extend(own[1..].iter().map(|path| (path.clone(), false)));
    }
    for (path, api) in &reads {
        let ways: &[As] = if *api {
            &[As::Token, As::Session]
        } else {
            &[As::Session]
        };
        for how in ways {
            let answer = call(&app, &b, *how, Method::GET, path, None, None).await;
            // `/` sends a signed-in browser on to its API keys.
            let home = path.split('?').next() == Some("/");
            let shown = answer.status == StatusCode::OK || home;
            assert!(shown, "{path} {how:?}: {} {}", answer.status, answer.text);
            tenants::assert_nothing_of(&a, path, &answer);
        }
    }
    assert!(reads.len() >= 60, "only {} reads tried", reads.len());
}

/// The routes read from the sources are the server's: each documented operation is found
/// there, the UI's multi-line and multi-method routes too; and each is tried above.
#[tokio::test]
async fn every_served_route_is_tried_or_explained() {
    let app = TestApp::spawn().await;
    let document = routes::document(&app).await;
    let declared: Vec<(String, String)> = routes::declared()
        .iter()
        .map(|r| (r.method.clone(), r.shape()))
        .collect();
    for op in routes::operations(&document) {
        assert!(
            declared.contains(&(op.route.method.clone(), op.route.shape())),
            "{} is documented but not found in the server's sources: the route reader \
             (tests/common/probe/routes.rs) misses it",
            op.route
        );
    }
    let ui: Vec<String> = ui_routes(&document).iter().map(Route::to_string).collect();
    for expected in [
        "GET /settings/api-keys/{id}/revoke",
        "POST /settings/api-keys/{id}/revoke",
        "POST /settings/api-keys/{id}/deliveries/{delivery}/replay",
        "POST /logout",
    ] {
        assert!(
            ui.contains(&expected.to_owned()),
            "{expected} not read: {ui:?}"
        );
    }
    admin_operations(&document);
}

/// Ids of A's objects inside B's request bodies find nothing: B's replay of A's deliveries,
/// B's move of its own product org under A's target org (admin API and UI), B's test of a
/// template against recent deliveries (B's alone); and B's updates and signals whose ids
/// are A's ids but for case are neither warned about nor linked to A's.
#[tokio::test]
async fn ids_of_another_tenant_in_a_body_find_nothing() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    let a_only_target = *a
        .target_orgs
        .iter()
        .rfind(|t| !b.target_orgs.contains(t))
        .unwrap();
    let key_path = format!("/api/admin/api-keys/{}", b.product_org_key.id);
    let org_path = format!("/api/admin/product-orgs/{}", b.product_orgs[0]);
    for (method, path, body) in [
        (
            Method::POST,
            format!("{key_path}/deliveries/replay"),
            json!({"deliveryIds": a.deliveries}),
        ),
        (
            Method::POST,
            format!("{org_path}/move"),
            json!({"targetOrgId": a_only_target}),
        ),
    ] {
        for how in [As::Token, As::Session] {
            let answer = call(&app, &b, how, method.clone(), &path, Some(&body), None).await;
            let request = format!("{method} {path} {body}");
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{request} {how:?}: {}",
                answer.text
            );
            tenants::assert_nothing_of(&a, &request, &answer);
        }
    }
    let form = [
        ("target_org_id".to_owned(), a_only_target.to_string()),
        ("csrf".to_owned(), b.csrf.clone()),
    ];
    let path = format!("/settings/product-orgs/{}/move", b.product_orgs[0]);
    let answer = call(
        &app,
        &b,
        As::Session,
        Method::POST,
        &path,
        None,
        Some(&form),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::NOT_FOUND,
        "{path}: {}",
        answer.text
    );
    let (_, org) = admin(&app, &b, Method::GET, &org_path, None).await;
    assert_eq!(
        org["targetOrgId"],
        json!(b.target_orgs[0]),
        "B's org stays: {org}"
    );

    let test = json!({"template": {"productOrgId": "id", "name": "name"}, "limit": 1000});
    let (status, tested) = admin(
        &app,
        &b,
        Method::POST,
        &format!("{key_path}/template/test"),
        Some(&test),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    for result in tested["results"].as_array().unwrap() {
        let id = result["deliveryId"].as_i64().unwrap();
        assert!(
            b.deliveries.contains(&id),
            "B's test ran over delivery {id}: {tested}"
        );
    }

    let (status, answer) = app
        .post(&b.product_org_key.api_key, &json!({"id": "Alpha_Ws_2"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["warnings"],
        Value::Null,
        "no similar product org in B: {answer}"
    );
    let signal = json!({"lid": "bravo_lead_2", "ws": a.product_orgs[2], "event": "x"});
    let (status, answer) = app.post_signal(&b.signal_key.api_key, &signal).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["linked"], false,
        "not linked to A's product org: {answer}"
    );
    assert_eq!(
        answer["unlinkedReason"], "product_org_not_found",
        "{answer}"
    );
    let shown = answer.to_string().replace(&a.product_orgs[2], "");
    assert!(
        !a.secrets_and_ids()
            .iter()
            .any(|v| shown.contains(v.as_str())),
        "{answer}"
    );
}
