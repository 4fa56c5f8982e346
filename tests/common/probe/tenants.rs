//! Two tenants on one server, each with one of everything (keys, deliveries applied and
//! refused, product orgs, target orgs with firmographics, leads, template versions), for tests
//! in which one tenant tries the other's objects. Tenant A is `default`; every value of A that
//! a person could recognise carries [`MARKER`], so an answer to B that shows any of A's data
//! shows the marker or one of A's ids.

use std::collections::BTreeMap;

use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::web::{create_user, Browser};
use crate::common::{encode, Key, TestApp};

/// In every name, value, email and template path of tenant A (never in an id, which an
/// error message may echo back to whoever asked for it).
pub const MARKER: &str = "zq7alpha";

/// One tenant's credentials and objects.
pub struct Tenant {
    pub subdomain: String,
    /// An admin API token.
    pub token: String,
    /// The `Cookie` header of a signed-in UI session.
    pub cookie: String,
    /// That session's CSRF token.
    pub csrf: String,
    pub product_org_key: Key,
    pub signal_key: Key,
    /// Every product org id, the first one with firmographics on its target org.
    pub product_orgs: Vec<String>,
    pub target_orgs: Vec<i64>,
    pub leads: Vec<String>,
    /// Delivery ids of both keys: applied ones and refused ones (400 and 422).
    pub deliveries: Vec<i64>,
}

impl Tenant {
    /// The values that fill each path parameter for this tenant's objects, by the
    /// parameter's name in the OpenAPI document and, for the UI, by `collection/{name}`.
    pub fn parameters(&self) -> BTreeMap<String, Vec<String>> {
        let keys = vec![self.product_org_key.id.clone(), self.signal_key.id.clone()];
        let targets: Vec<String> = self.target_orgs.iter().map(i64::to_string).collect();
        let deliveries: Vec<String> = self.deliveries.iter().map(i64::to_string).collect();
        let mut map = BTreeMap::new();
        for (names, values) in [
            (&["keyId", "api-keys/{id}"][..], &keys),
            (&["deliveryId", "deliveries/{delivery}"], &deliveries),
            (&["productOrgId", "product-orgs/{id}"], &self.product_orgs),
            (&["targetOrgId", "orgs/{id}"], &targets),
            (&["leadId", "leads/{id}"], &self.leads),
        ] {
            for name in names {
                map.insert((*name).to_owned(), values.clone());
            }
        }
        map
    }

    /// This tenant's ids that must never reach another tenant (besides [`MARKER`]): its key
    /// ids and API keys, product org ids and lead ids.
    pub fn secrets_and_ids(&self) -> Vec<String> {
        let mut out = vec![
            self.product_org_key.id.clone(),
            self.product_org_key.api_key.clone(),
            self.signal_key.id.clone(),
            self.signal_key.api_key.clone(),
        ];
        out.extend(self.product_orgs.iter().cloned());
        out.extend(self.leads.iter().cloned());
        out
    }
}

/// Tenant A (`default`, its values marked) and tenant B (`bravo`), on `app`. B has fewer
/// target orgs than A, so that some of A's target org ids (numbered per tenant) are ids B
/// does not have; B's product org `ALPHA_WS_1` is A's `alpha_ws_1` but for case, and B's
/// second lead names a product org B has not, `Alpha_Ws_3`, to tempt any lookup of similar
/// ids across tenants.
pub async fn two_tenants(app: &TestApp) -> (Tenant, Tenant) {
    let a = tenant(
        app,
        "default",
        &format!("{MARKER}-"),
        &["alpha_ws_1", "alpha_ws_2", "alpha_ws_3", "alpha_ws_4"],
        &[
            ("alpha_lead_1", "alpha_ws_1"),
            ("alpha_lead_2", "nowhere_ws"),
        ],
    )
    .await;
    let b = tenant(
        app,
        "bravo",
        "",
        &["bravo_ws_1", "ALPHA_WS_1"],
        &[
            ("bravo_lead_1", "bravo_ws_1"),
            ("bravo_lead_2", "Alpha_Ws_3"),
        ],
    )
    .await;
    (a, b)
}

/// A tenant with its product orgs `orgs` and its `leads`, each with the product org its
/// signal names.
async fn tenant(
    app: &TestApp,
    subdomain: &str,
    mark: &str,
    orgs: &[&str],
    leads: &[(&str, &str)],
) -> Tenant {
    if subdomain != "default" {
        app.cli_json(&["tenant", "create", subdomain]);
    }
    let token = app.cli_json(&["admin-token", "create", "--tenant", subdomain])["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let email = format!("{mark}user@{subdomain}.example");
    create_user(app, subdomain, &email);
    let browser = Browser::sign_in(app, subdomain, &email).await;
    let csrf = browser.get("/settings/api-keys").await.meta("csrf-token");
    let template = json!({"productOrgId": "id", "name": "name",
        "customFields": {format!("{mark}note"): "note"}});
    let path = app.write_file(&format!("{subdomain}-template.json"), &template.to_string());
    let name = format!("{mark}key");
    let product_org_key = app.key_for(
        subdomain,
        &[
            "--type",
            "product-org-updates",
            "--name",
            &name,
            "--template",
            path.to_str().unwrap(),
        ],
    );
    let signal_template = json!({"leadId": "lid", "email": "email", "productOrgId": "ws",
        "signal": "event"});
    let path = app.write_file(
        &format!("{subdomain}-signals.json"),
        &signal_template.to_string(),
    );
    let signal_key = app.key_for(
        subdomain,
        &[
            "--type",
            "signal-staging",
            "--name",
            &name,
            "--template",
            path.to_str().unwrap(),
        ],
    );
    let mut t = Tenant {
        subdomain: subdomain.to_owned(),
        token,
        cookie: browser.session_cookie().to_owned(),
        csrf: csrf.expect("a signed-in page's CSRF token"),
        product_org_key,
        signal_key,
        product_orgs: orgs.iter().map(|s| s.to_string()).collect(),
        target_orgs: Vec::new(),
        leads: leads.iter().map(|(lead, _)| lead.to_string()).collect(),
        deliveries: Vec::new(),
    };
    fill(app, &mut t, mark, leads).await;
    t
}

/// Sends the tenant's updates, signals, a refused update of each kind, a second template
/// version and firmographics; then reads back the ids the server gave them.
async fn fill(app: &TestApp, t: &mut Tenant, mark: &str, leads: &[(&str, &str)]) {
    let key = t.product_org_key.api_key.clone();
    for (n, id) in t.product_orgs.iter().enumerate() {
        let update =
            json!({"id": id, "name": format!("{mark}org {n}"), "note": format!("{mark}note")});
        let (status, body) = app.post(&key, &update).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", t.subdomain);
    }
    let missing_id = json!({"name": format!("{mark}no id")});
    let (status, _) = app.post(&key, &missing_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let wrong_type = json!({"id": t.product_orgs[0], "name": {format!("{mark}object"): 1}});
    let (status, _) = app.post(&key, &wrong_type).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (n, (lead, org)) in leads.iter().enumerate() {
        let email = format!("{mark}lead{n}@{}.example", t.subdomain);
        let signal = json!({"lid": lead, "email": email, "ws": org,
            "event": format!("{mark}signed_up")});
        let (status, body) = app.post_signal(&t.signal_key.api_key, &signal).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let no_lead = json!({"ws": t.product_orgs[0], "event": format!("{mark}anonymous")});
    let (status, _) = app.post_signal(&t.signal_key.api_key, &no_lead).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let v2 = json!({"template": {"productOrgId": "id", "name": "name",
        "customFields": {format!("{mark}note_v2"): "note"}}});
    let path = format!("/api/admin/api-keys/{}/template", t.product_org_key.id);
    let (status, body) = admin(app, t, Method::PUT, &path, Some(&v2)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for key in [&t.product_org_key.id, &t.signal_key.id] {
        let path = format!("/api/admin/api-keys/{key}/deliveries");
        let (_, log) = admin(app, t, Method::GET, &path, None).await;
        let items = log["items"].as_array().expect("a delivery log");
        t.deliveries
            .extend(items.iter().filter_map(|d| d["deliveryId"].as_i64()));
    }
    for id in t.product_orgs.clone() {
        let path = format!("/api/admin/product-orgs/{}", encode(&id));
        let (status, org) = admin(app, t, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{org}");
        t.target_orgs
            .push(org["targetOrgId"].as_i64().expect("targetOrgId"));
    }
    let firmographics = json!({"industry": format!("{mark}industry")});
    let path = format!("/api/admin/target-orgs/{}/firmographics", t.target_orgs[0]);
    let (status, body) = admin(app, t, Method::PUT, &path, Some(&firmographics)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Calls the admin API with the tenant's token.
pub async fn admin(
    app: &TestApp,
    t: &Tenant,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(&t.token);
    if let Some(body) = body {
        request = request.json(body);
    }
    app.send(request).await
}

/// How a request presents tenant B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    /// `Authorization: Bearer` with the tenant's admin token.
    Token,
    /// The UI session's cookie and its CSRF token (in `X-CSRF-Token`; a form's `csrf`
    /// field is the caller's to add).
    Session,
    /// The UI session's cookie alone.
    SessionWithoutCsrf,
}

/// What a request was answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub text: String,
}

/// Sends `method path` as tenant `t` presented `how`, with a JSON body or form fields.
pub async fn call(
    app: &TestApp,
    t: &Tenant,
    how: As,
    method: Method,
    path: &str,
    json: Option<&Value>,
    form: Option<&[(String, String)]>,
) -> Answer {
    let mut request = crate::common::web::client().request(method, format!("{}{path}", app.base));
    request = match how {
        As::Token => request.bearer_auth(&t.token),
        As::Session => request
            .header(COOKIE, &t.cookie)
            .header("X-CSRF-Token", &t.csrf),
        As::SessionWithoutCsrf => request.header(COOKIE, &t.cookie),
    };
    if let Some(json) = json {
        request = request.json(json);
    }
    if let Some(form) = form {
        request = request.form(form);
    }
    let response = request.send().await.expect("request");
    Answer {
        status: response.status(),
        text: response.text().await.expect("body"),
    }
}

/// Fails when `answer` shows any of A's values that the request did not itself carry.
pub fn assert_nothing_of(a: &Tenant, request: &str, answer: &Answer) {
    let mut forbidden = a.secrets_and_ids();
    forbidden.push(MARKER.to_owned());
    for value in forbidden {
        assert!(
            request.contains(&value) || !answer.text.contains(&value),
            "{request}: the answer to tenant B shows A's {value:?} ({}): {}",
            answer.status,
            answer.text
        );
    }
}

/// What A has after B tried everything: its keys active, its template at version 2, its
/// product orgs under their target orgs, its firmographics, no delivery replayed.
pub async fn assert_a_unchanged(app: &TestApp, a: &Tenant) {
    for key in [&a.product_org_key, &a.signal_key] {
        let (_, shown) = admin(
            app,
            a,
            Method::GET,
            &format!("/api/admin/api-keys/{}", key.id),
            None,
        )
        .await;
        assert_eq!(shown["revokedAt"], Value::Null, "A's key revoked: {shown}");
        let (status, _) = app.post_signal(&key.api_key, &json!({})).await;
        assert_ne!(status, StatusCode::UNAUTHORIZED, "A's key works");
    }
    let path = format!("/api/admin/api-keys/{}", a.product_org_key.id);
    let (_, shown) = admin(app, a, Method::GET, &path, None).await;
    assert_eq!(shown["templateVersion"], 2, "A's template: {shown}");
    for (id, target) in a.product_orgs.iter().zip(&a.target_orgs) {
        let (_, org) = admin(
            app,
            a,
            Method::GET,
            &format!("/api/admin/product-orgs/{id}"),
            None,
        )
        .await;
        assert_eq!(
            org["targetOrgId"],
            json!(target),
            "A's product org moved: {org}"
        );
    }
    let path = format!("/api/admin/target-orgs/{}", a.target_orgs[0]);
    let (_, target) = admin(app, a, Method::GET, &path, None).await;
    assert!(
        target.to_string().contains(&format!("{MARKER}-industry")),
        "A's firmographics: {target}"
    );
    let mut count = 0;
    for key in [&a.product_org_key.id, &a.signal_key.id] {
        let (_, log) = admin(
            app,
            a,
            Method::GET,
            &format!("/api/admin/api-keys/{key}/deliveries"),
            None,
        )
        .await;
        count += log["items"].as_array().map_or(0, Vec::len);
    }
    // The one more: assert_a_unchanged's own signal to the signal key, refused.
    assert_eq!(
        count,
        a.deliveries.len() + 2,
        "A's delivery log grew: nothing replayed"
    );
}

/// `?cursor=` with a cursor A was given for the same list (of A's first object), for B's
/// own object: none when A's list has a single page.
pub async fn cursor_of(app: &TestApp, route: &super::routes::Route, a: &Tenant) -> Option<String> {
    let path = super::routes::fill(&route.path, &first_of(a)).expect("A's values") + "?limit=1";
    let (status, page) = admin(app, a, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "A's {path}: {page}");
    let cursor = page["nextCursor"].as_str()?;
    Some(format!("?cursor={}", encode(cursor)))
}

fn first_of(t: &Tenant) -> BTreeMap<String, String> {
    t.parameters()
        .into_iter()
        .map(|(name, values)| (name, values[0].clone()))
        .collect()
}
