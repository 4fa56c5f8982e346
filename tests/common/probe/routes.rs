//! The service's routes, from both sides: as the server crate declares them (every
//! `.route("…", get(…).post(…))` call, read as text the way tests/code_shape.rs reads sources)
//! and as `/api/openapi.json` documents them. A test that must try every route takes them from
//! here, so a route added later is tried (or makes the test fail) without anyone listing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::Value;

use super::tenants::Tenant;

/// One method on one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// Upper case: `GET`, `POST`, …
    pub method: String,
    /// As written, parameters in braces (`/settings/api-keys/{id}`); a path the code computes
    /// is its expression in angle brackets (`<Asset::Script.path()>`).
    pub path: String,
}

impl Route {
    /// The path with every parameter written `{}`, so the code's `{key_id}` and the
    /// document's `{keyId}` compare equal.
    pub fn shape(&self) -> String {
        shape(&self.path)
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// `path` with every `{parameter}` written `{}`.
pub fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

/// The names of `path`'s parameters, in order.
pub fn parameters(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// Every route the server crate declares, read from its sources.
pub fn declared() -> Vec<Route> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut routes: Vec<Route> = files
        .iter()
        .flat_map(|file| routes_in(&std::fs::read_to_string(file).expect("read a source")))
        .collect();
    routes.sort();
    routes.dedup();
    routes
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("read the server's sources")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The routes of one source file: the path literal after each `.route(` (or the literal of
/// the file's `const` it names), with each routing function (`get(`, `post(`, …) called inside
/// that call's parentheses.
fn routes_in(source: &str) -> Vec<Route> {
    let mut out = Vec::new();
    for (at, _) in source.match_indices(".route(") {
        let call = &source[at + ".route(".len()..];
        let arguments = &call[..closing_paren(call)];
        let first = arguments.split(',').next().unwrap_or_default().trim();
        // A path given by another expression is named by the expression, in angle brackets.
        let path = match arguments.trim_start().strip_prefix('"') {
            Some(literal) => literal.split('"').next().unwrap_or_default().to_owned(),
            None => const_str(source, first).unwrap_or_else(|| format!("<{first}>")),
        };
        for method in ["get", "post", "put", "delete", "patch"] {
            let called = arguments
                .match_indices(&format!("{method}("))
                .any(|(i, _)| {
                    i == 0 || !arguments[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
            if called {
                out.push(Route {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                });
            }
        }
    }
    out
}

/// The literal of `const NAME: &str = "…";` in `source`.
fn const_str(source: &str, name: &str) -> Option<String> {
    let declared = format!("const {name}: &str = \"");
    let (_, rest) = source.split_once(&declared)?;
    rest.split('"').next().map(str::to_owned)
}

/// The index of the `)` that closes a call whose arguments `text` starts with (parentheses
/// inside string literals not counted).
fn closing_paren(text: &str) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string && depth == 0 => return i,
            ')' if !in_string => depth -= 1,
            _ => {}
        }
    }
    panic!("an unclosed .route( call")
}

/// One operation of the OpenAPI document.
#[derive(Debug, Clone)]
pub struct Operation {
    pub route: Route,
    /// Names of its query parameters.
    pub query: Vec<String>,
    /// Whether it takes the admin API's credentials (a tenant's token or UI session).
    pub admin: bool,
    /// Whether it takes a request body.
    pub has_body: bool,
}

/// Every operation of an OpenAPI document.
pub fn operations(document: &Value) -> Vec<Operation> {
    let paths = document["paths"]
        .as_object()
        .expect("an OpenAPI document has paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let in_ = |place: &str| -> Vec<String> {
                operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == place)
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect()
            };
            let admin = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|scheme| scheme.get("adminToken").is_some());
            out.push(Operation {
                route: Route {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                },
                query: in_("query"),
                admin,
                has_body: operation.get("requestBody").is_some(),
            });
        }
    }
    out
}

/// `path` with each `{parameter}` replaced by its value in `values` (URL-encoded); the name
/// of the first parameter `values` has no value for when there is one.
pub fn fill(path: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = path.to_owned();
    for name in parameters(path) {
        let value = values.get(&name).ok_or_else(|| name.clone())?;
        out = out.replacen(&format!("{{{name}}}"), &crate::common::encode(value), 1);
    }
    Ok(out)
}

/// Where `path`'s parameters are looked up: by name in the document, by `collection/{name}`
/// in the UI (whose `{id}` means a key, an org or a lead by where it stands).
fn slots(path: &str, ui: bool) -> Vec<(String, String)> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (n, segment) in segments.iter().enumerate() {
        let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            continue;
        };
        let lookup = if ui && n > 0 {
            format!("{}/{segment}", segments[n - 1])
        } else {
            name.to_owned()
        };
        out.push((lookup, (*segment).to_owned()));
    }
    out
}

/// The paths of `route` with at least one of A's objects in them (A's alone, and A's mixed
/// with B's), and paths with B's own objects: B's first (a key with its own delivery), and
/// each of B's objects where the path names one. A parameter neither tenant has a value for
/// fails the test.
pub fn paths(route: &Route, ui: bool, a: &Tenant, b: &Tenant) -> (Vec<String>, Vec<String>) {
    let (a_values, b_values) = (a.parameters(), b.parameters());
    let mut probes = vec![(route.path.clone(), false)];
    let mut own = route.path.clone();
    let slots = slots(&route.path, ui);
    let mut each_own = Vec::new();
    if let [(lookup, placeholder)] = slots.as_slice() {
        for mine in b_values.get(lookup).into_iter().flatten() {
            let path = route
                .path
                .replacen(placeholder, &crate::common::encode(mine), 1);
            each_own.push(path);
        }
    }
    for (lookup, placeholder) in slots {
        let (Some(theirs), Some(mine)) = (a_values.get(&lookup), b_values.get(&lookup)) else {
            panic!(
                "{route}: no value for the path parameter {lookup}; add tenant A's and B's \
                 objects for it to tests/common/tenants.rs (Tenant::parameters)"
            );
        };
        // Ids numbered per tenant (target orgs) that B also has are B's own, not A's.
        let only_a: Vec<&String> = theirs.iter().filter(|v| !mine.contains(v)).collect();
        assert!(
            !only_a.is_empty(),
            "{route}: A has no {lookup} that B has not"
        );
        let mine = &mine[0];
        let encoded = |v: &str| crate::common::encode(v);
        own = own.replacen(&placeholder, &encoded(mine), 1);
        probes = probes
            .into_iter()
            .flat_map(|(path, has_a)| {
                let mut next = vec![(path.replacen(&placeholder, &encoded(mine), 1), has_a)];
                next.extend(
                    only_a
                        .iter()
                        .map(|v| (path.replacen(&placeholder, &encoded(v), 1), true)),
                );
                next
            })
            .collect();
    }
    let with_a = probes
        .into_iter()
        .filter(|(_, a)| *a)
        .map(|(p, _)| p)
        .collect();
    each_own.retain(|path| *path != own);
    each_own.insert(0, own);
    (with_a, each_own)
}

/// The server's OpenAPI document.
pub async fn document(app: &crate::common::TestApp) -> Value {
    let (status, document) = app
        .send(app.client.get(format!("{}/api/openapi.json", app.base)))
        .await;
    assert_eq!(status, StatusCode::OK);
    document
}
