//! The web UI as a browser without JavaScript uses it: a user and a session, pages fetched with
//! its cookie, and a page's form posted as a browser posts it (every field as drawn, changed
//! where the user changed it, plus the name and value of the button pressed).

use std::io::Write;
use std::process::Stdio;

use reqwest::header::{COOKIE, HOST, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use super::{TestApp, BIN};

/// The password of the users these helpers create.
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates a web UI user with [`PASSWORD`], as `user create --password-stdin` does.
pub fn create_user(app: &TestApp, tenant: &str, email: &str) {
    let mut child = std::process::Command::new(BIN)
        .args(["user", "create", "--tenant", tenant, "--email", email])
        .arg("--password-stdin")
        .env("TRAILSPARK_DATABASE_URL", &app.database)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(PASSWORD.as_bytes()).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success(), "user create {email}");
}

/// A client that does not follow redirects, so tests see them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// A page as the server answered it.
pub struct Page {
    pub status: StatusCode,
    pub html: String,
}

/// GETs `path` with `Host: host` (the page is read whatever its status).
pub async fn get_with_host(app: &TestApp, path: &str, host: &str) -> Page {
    let response = client()
        .get(format!("{}{path}", app.base))
        .header(HOST, host)
        .send()
        .await
        .unwrap();
    let status = response.status();
    Page {
        status,
        html: response.text().await.unwrap(),
    }
}

/// A signed-in browser.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: String,
}

impl Browser {
    /// Creates `ana@example.com` in tenant `default` and signs her in.
    pub async fn new_user(app: &TestApp) -> Self {
        create_user(app, "default", "ana@example.com");
        Self::sign_in(app, "default", "ana@example.com").await
    }

    /// Signs in through the sign-in form.
    pub async fn sign_in(app: &TestApp, tenant: &str, email: &str) -> Self {
        let client = client();
        let response = client
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap();
        let login = set_cookie(&response, "ts_login").expect("the sign-in form's cookie");
        let page = Page {
            status: response.status(),
            html: response.text().await.unwrap(),
        };
        let mut form = page.form("/login");
        form.set("tenant", tenant);
        form.set("email", email);
        form.set("password", PASSWORD);
        let response = client
            .post(format!("{}/login", app.base))
            .header(COOKIE, format!("ts_login={login}"))
            .form(&form.fields)
            .send()
            .await
            .unwrap();
        let session = set_cookie(&response, "ts_session").expect("signed in");
        Self {
            base: app.base.clone(),
            client,
            cookie: format!("ts_session={session}"),
        }
    }

    /// The `Cookie` header value that carries this browser's session (`ts_session=…`).
    pub fn session_cookie(&self) -> &str {
        &self.cookie
    }

    /// GETs a page.
    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        Page {
            status,
            html: response.text().await.unwrap(),
        }
    }

    /// Posts `form` as a browser does when the button `name`=`value` is pressed.
    pub async fn press(&self, form: &Form, name: &str, value: &str) -> Page {
        let mut fields = form.fields.clone();
        fields.push((name.to_owned(), value.to_owned()));
        let response = self
            .client
            .post(format!("{}{}", self.base, form.action))
            .header(COOKIE, &self.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = response.status();
        Page {
            status,
            html: response.text().await.unwrap(),
        }
    }
}

/// The whole `Set-Cookie` value (value and flags) that sets cookie `name`.
pub fn set_cookie_header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value of the cookie `name` a response sets.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    let header = set_cookie_header(response, name)?;
    Some(header.split(';').next()?[name.len() + 1..].to_owned())
}

/// A form's fields as a browser would send them, and where it posts them.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// Sets a field as the user would (a select's option, an input's text).
    pub fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.to_owned(),
            None => panic!("the form has no field {name}: {:?}", self.fields),
        }
    }

    /// Ticks a checkbox (absent from the form until ticked).
    pub fn tick(&mut self, name: &str) {
        self.fields.push((name.to_owned(), "on".to_owned()));
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Page {
    /// The form whose `id` or `action` is `which`, as a browser would post it before any
    /// button is pressed.
    pub fn form(&self, which: &str) -> Form {
        let mut rest = self.html.as_str();
        while let Some(start) = rest.find("<form") {
            let (attrs, after) = tag(&rest[start + 1..]);
            let end = after.find("</form>").expect("a closed form");
            let action = attr(&attrs, "action").unwrap_or_default();
            let action = action.split('#').next().unwrap().to_owned();
            if attr(&attrs, "id").as_deref() == Some(which) || action == which {
                return Form {
                    action,
                    fields: fields(&after[..end]),
                };
            }
            rest = &after[end..];
        }
        panic!("no form {which} in the page:\n{}", self.html)
    }

    /// The `content` of the `<meta name="…">` tag (the session's `csrf-token`, say).
    pub fn meta(&self, name: &str) -> Option<String> {
        let mut rest = self.html.as_str();
        while let Some(start) = rest.find("<meta") {
            let (attrs, after) = tag(&rest[start + 1..]);
            if attr(&attrs, "name").as_deref() == Some(name) {
                return attr(&attrs, "content");
            }
            rest = after;
        }
        None
    }

    /// The value of the input with `id`.
    pub fn input(&self, id: &str) -> Option<String> {
        let mut rest = self.html.as_str();
        while let Some(start) = rest.find("<input") {
            let (attrs, after) = tag(&rest[start + 1..]);
            if attr(&attrs, "id").as_deref() == Some(id) {
                return attr(&attrs, "value");
            }
            rest = after;
        }
        None
    }

    /// The text inside the element with `id` (tags removed, entities decoded).
    pub fn text_of(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let at = self.html.find(&marker)?;
        let open = self.html[..at].rfind('<')?;
        let name: String = self.html[open + 1..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let body = &self.html[at..];
        let body = &body[body.find('>')? + 1..];
        let end = body.find(&format!("</{name}>"))?;
        Some(text(&body[..end]))
    }

    /// The page's text: tags removed, entities decoded.
    pub fn text(&self) -> String {
        text(&self.html)
    }
}

/// The text of some HTML: tags, styles and scripts removed, entities decoded.
pub fn text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let end = match ["style", "script"]
            .iter()
            .find(|hidden| rest.starts_with(&format!("<{hidden}")))
        {
            Some(hidden) => rest
                .find(&format!("</{hidden}>"))
                .map(|i| i + hidden.len() + 3),
            None => rest.find('>').map(|i| i + 1),
        };
        rest = &rest[end.unwrap_or(rest.len())..];
    }
    out.push_str(rest);
    unescape(&out)
}

/// Decodes the entities maud writes.
pub fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attributes of the tag `text` starts with (after its `<`), and what follows the tag.
fn tag(text: &str) -> (Vec<(String, Option<String>)>, &str) {
    let mut attrs = Vec::new();
    let mut rest = text.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('>').or_else(|| rest.strip_prefix("/>")) {
            return (attrs, after);
        }
        let name_end = rest
            .find(|c: char| c == '=' || c == '>' || c == '/' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_owned();
        rest = &rest[name_end..];
        if let Some(value) = rest.strip_prefix("=\"") {
            let end = value.find('"').expect("a closed attribute");
            attrs.push((name, Some(unescape(&value[..end]))));
            rest = &value[end + 1..];
        } else if name.is_empty() {
            // Not an attribute (a stray `/` or `=`): step over it.
            rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
        } else {
            attrs.push((name, None));
        }
    }
}

fn attr(attrs: &[(String, Option<String>)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone().unwrap_or_default())
}

/// The fields of a form's inside, in document order, as a browser sends them.
fn fields(mut html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(open) = html.find('<') {
        html = &html[open + 1..];
        if html.starts_with(['/', '!']) {
            continue;
        }
        let element: String = html
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let (attrs, after) = tag(html);
        html = after;
        let Some(name) = attr(&attrs, "name") else {
            continue;
        };
        match element.as_str() {
            "input" => {
                let kind = attr(&attrs, "type").unwrap_or_else(|| "text".into());
                let value = attr(&attrs, "value");
                match kind.as_str() {
                    "submit" | "button" => {}
                    "checkbox" | "radio" if attr(&attrs, "checked").is_none() => {}
                    "checkbox" | "radio" => out.push((name, value.unwrap_or("on".into()))),
                    _ => out.push((name, value.unwrap_or_default())),
                }
            }
            "textarea" => {
                let end = html.find("</textarea>").expect("a closed textarea");
                out.push((name, unescape(&html[..end])));
            }
            "select" => {
                let end = html.find("</select>").expect("a closed select");
                let mut options = &html[..end];
                let (mut first, mut chosen) = (None, None);
                while let Some(at) = options.find("<option") {
                    let (attrs, after) = tag(&options[at + 1..]);
                    let label = &after[..after.find("</option>").unwrap_or(after.len())];
                    let value = attr(&attrs, "value").unwrap_or_else(|| text(label));
                    first.get_or_insert(value.clone());
                    if attr(&attrs, "selected").is_some() {
                        chosen = Some(value);
                    }
                    options = after;
                }
                out.push((name, chosen.or(first).unwrap_or_default()));
            }
            _ => {}
        }
    }
    out
}

/// The setup link `serve` printed on a store without users.
pub fn setup_link(app: &TestApp) -> String {
    let line = app
        .printed_line("/setup/")
        .expect("serve prints a setup link on a store without users");
    line.split_whitespace()
        .find(|w| w.contains("/setup/"))
        .expect("a URL in the line")
        .to_owned()
}
