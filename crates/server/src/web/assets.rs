//! The web UI's stylesheet and script, compiled in and served as files: the
//! Content-Security-Policy of the pages (see `security_headers`) allows no inline style or
//! script. Pages link them with their content's digest in the URL, so a browser may keep them
//! for a year and still loads a changed file at once.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::app::App;

/// A file the pages load.
#[derive(Clone, Copy)]
pub enum Asset {
    /// Every page's stylesheet.
    Stylesheet,
    /// Every page's script: copy buttons, and the Create a key form that follows its menus.
    Script,
}

impl Asset {
    const fn path(self) -> &'static str {
        match self {
            Self::Stylesheet => "/ui/app.css",
            Self::Script => "/ui/app.js",
        }
    }

    const fn content(self) -> &'static str {
        match self {
            // One file per part of the UI, served as one: a page loads one stylesheet.
            Self::Stylesheet => concat!(
                include_str!("assets/app.css"),
                include_str!("assets/values.css"),
                include_str!("assets/overview.css"),
                include_str!("assets/errors.css"),
                include_str!("assets/orgs.css"),
                include_str!("assets/keys.css"),
            ),
            Self::Script => include_str!("assets/app.js"),
        }
    }

    const fn content_type(self) -> &'static str {
        match self {
            Self::Stylesheet => "text/css; charset=utf-8",
            Self::Script => "text/javascript; charset=utf-8",
        }
    }

    /// The URL pages link: the path, and the content's digest as the query (which the route
    /// ignores: a page of another version, served by another instance, still gets a file).
    pub fn href(self) -> &'static str {
        static HREFS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
        HREFS[self as usize].get_or_init(|| {
            let digest = Sha256::digest(self.content().as_bytes());
            format!("{}?v={}", self.path(), hex::encode(&digest[..8]))
        })
    }

    async fn serve(self) -> impl IntoResponse {
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type()),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            self.content(),
        )
    }
}

/// Routes of the files.
pub fn router() -> Router<App> {
    Router::new()
        .route(Asset::Stylesheet.path(), get(|| Asset::Stylesheet.serve()))
        .route(Asset::Script.path(), get(|| Asset::Script.serve()))
}
