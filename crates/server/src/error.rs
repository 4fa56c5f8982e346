//! One error type for two audiences: the sender gets a status and the JSON error body of
//! SPEC §3 (`success`, `code`, `error`, `message`, …); the operator gets the cause in the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use trailspark_core::extract::{ExtractError, FieldError};
use trailspark_core::signature::SignatureError;
use trailspark_core::template::TemplateError;
use trailspark_core::update::format_timestamp;
use trailspark_core::EndpointType;
use trailspark_store::StoreError;

/// Everything an HTTP handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid API key")]
    InvalidApiKey,
    #[error("missing API key")]
    MissingCredentials,
    #[error("signed key on the Segment API")]
    SignedKeyOnSegmentApi,
    #[error("API key expired")]
    ApiKeyExpired { at: DateTime<Utc> },
    #[error("wrong API key type")]
    WrongKeyType {
        expected: EndpointType,
        got: EndpointType,
    },
    #[error("missing X-Api-Secret")]
    MissingApiSecret,
    #[error("invalid X-Api-Secret")]
    InvalidApiSecret,
    #[error("invalid signature")]
    Signature(#[from] SignatureError),
    #[error("webhook-id already used")]
    Replayed,
    #[error("unsupported content type")]
    UnsupportedMediaType { got: Option<String> },
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("too many events")]
    TooManyEvents { limit: usize },
    #[error("invalid JSON")]
    InvalidJson(String),
    #[error("invalid body")]
    InvalidBody { code: &'static str, message: String },
    #[error("missing productOrgId")]
    MissingProductOrgId {
        path: String,
        null: bool,
        did_you_mean: Option<String>,
    },
    #[error("missing email or leadId")]
    MissingLead {
        paths: Vec<String>,
        did_you_mean: Option<String>,
    },
    #[error("invalid field values")]
    InvalidFields(Vec<FieldError>),
    #[error("invalid template")]
    InvalidTemplate(#[from] TemplateError),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("store unavailable")]
    Unavailable(String),
    #[error("unauthorized")]
    Unauthorized,
    /// A session on an unsafe admin API method without its CSRF token (`sent: false`) or with
    /// another one.
    #[error("CSRF token required")]
    CsrfToken { sent: bool },
    #[error("not found")]
    NotFound(String),
    #[error("conflict")]
    Conflict(String),
    #[error("bad request")]
    BadRequest { code: &'static str, message: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request timeout")]
    RequestTimeout,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ExtractError> for ApiError {
    fn from(e: ExtractError) -> Self {
        match e {
            ExtractError::MissingProductOrgId {
                path,
                null,
                did_you_mean,
            } => Self::MissingProductOrgId {
                path,
                null,
                did_you_mean,
            },
            ExtractError::MissingLead {
                paths,
                did_you_mean,
            } => Self::MissingLead {
                paths,
                did_you_mean,
            },
            ExtractError::Invalid(errors) => Self::InvalidFields(errors),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(missing) => Self::NotFound(missing.to_string()),
            e @ StoreError::Unavailable { .. } => Self::Unavailable(e.chain()),
            StoreError::Conflict { what, .. } => Self::Conflict(what),
            StoreError::InvalidCursor => Self::BadRequest {
                code: "invalid_cursor",
                message: "The cursor is not one this API returned; pass nextCursor from the previous page as it is.".into(),
            },
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidApiKey
            | Self::MissingCredentials
            | Self::ApiKeyExpired { .. }
            | Self::MissingApiSecret
            | Self::InvalidApiSecret
            | Self::Signature(_)
            | Self::Replayed
            | Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::WrongKeyType { .. } | Self::SignedKeyOnSegmentApi | Self::CsrfToken { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } | Self::TooManyEvents { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::InvalidJson(_)
            | Self::InvalidBody { .. }
            | Self::MissingProductOrgId { .. }
            | Self::MissingLead { .. }
            | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::InvalidFields(_) | Self::InvalidTemplate(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidApiKey => "invalid_api_key",
            Self::MissingCredentials => "missing_api_key",
            Self::SignedKeyOnSegmentApi => "signed_key_not_supported",
            Self::ApiKeyExpired { .. } => "api_key_expired",
            Self::WrongKeyType { .. } => "wrong_key_type",
            Self::MissingApiSecret => "missing_api_secret",
            Self::InvalidApiSecret => "invalid_api_secret",
            Self::Signature(e) => match e {
                SignatureError::Missing => "missing_signature",
                SignatureError::Incomplete(_) | SignatureError::Malformed(_) => {
                    "malformed_signature"
                }
                SignatureError::Stale { .. } => "stale_signature",
                SignatureError::Mismatch { .. } => "invalid_signature",
            },
            Self::Replayed => "webhook_replayed",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TooManyEvents { .. } => "too_many_events",
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidBody { code, .. } | Self::BadRequest { code, .. } => code,
            Self::MissingProductOrgId { .. } => "missing_product_org_id",
            Self::MissingLead { .. } => "missing_lead",
            Self::InvalidFields(_) => "invalid_fields",
            Self::InvalidTemplate(_) => "invalid_template",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "store_unavailable",
            Self::Unauthorized => "unauthorized",
            Self::CsrfToken { sent: false } => "missing_csrf_token",
            Self::CsrfToken { sent: true } => "invalid_csrf_token",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::Internal(_) => "internal_error",
        }
    }

    /// What is wrong and how to fix it, in the sender's terms.
    fn message(&self) -> String {
        match self {
            Self::InvalidApiKey => "No active API key matches the key in the request. Check that the whole key was copied (it is shown only once) and that it was not revoked; create a new key at Settings > API Keys or with `trailspark key create`.".into(),
            Self::MissingCredentials => "Send the API key as the HTTP basic auth username (empty password, or the key's secret) or as `writeKey` in the body; that is what Segment's and RudderStack's SDKs do with their write key.".into(),
            Self::SignedKeyOnSegmentApi => "This key requires signed requests (HMAC), which an SDK cannot send; use a key without an HMAC secret for the /v1 API, or send signed requests to the webhook URL.".into(),
            Self::ApiKeyExpired { at } => format!("This API key expired at {}. Create a new key at Settings > API Keys and update the URL in your CDP.", format_timestamp(at)),
            Self::WrongKeyType { expected, got } => format!("This is a {} key; this endpoint needs a key created with the {} endpoint type. Create one at Settings > API Keys.", got.title(), expected.title()),
            Self::MissingApiSecret => "This API key has a secret: send it in the X-Api-Secret header.".into(),
            Self::InvalidApiSecret => "The X-Api-Secret header does not match this key's secret. Use the secret shown when the key was created.".into(),
            Self::Signature(e) => e.to_string(),
            Self::Replayed => "A request with this webhook-id was already accepted for this key; each Standard Webhooks message id is accepted once.".into(),
            Self::UnsupportedMediaType { got } => format!("Send the body as JSON with the header Content-Type: application/json (got {}).", got.as_deref().unwrap_or("no Content-Type")),
            Self::PayloadTooLarge { limit } => format!("The body is larger than {limit} bytes; send smaller requests (split the batch)."),
            Self::TooManyEvents { limit } => format!("A batch holds at most {limit} events; split it into smaller batches."),
            Self::InvalidJson(why) => format!("The body is not valid JSON: {why}."),
            Self::InvalidBody { message, .. } | Self::BadRequest { message, .. } => message.clone(),
            Self::MissingProductOrgId { path, null: true, .. } => format!("The value at the payload template's productOrgId path `{path}` is null. Every update needs a product org id."),
            Self::MissingProductOrgId { path, did_you_mean: Some(near), .. } => format!("The payload has no value at the payload template's productOrgId path `{path}`; did you mean `{near}`? Paths are case-sensitive: fix the template or the payload."),
            Self::MissingProductOrgId { path, .. } => format!("The payload has no value at the payload template's productOrgId path `{path}`. Check the dot-notation path (e.g. `groupId` for Segment, `workspace_id` for flat payloads); paths are case-sensitive."),
            Self::MissingLead { paths, did_you_mean } => {
                let tried = paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" and ");
                let hint = did_you_mean.as_ref().map(|near| format!(" Did you mean `{near}`?")).unwrap_or_default();
                format!("A signal needs its lead: the payload has no value at the template's leadId/email paths {tried}.{hint} Paths are case-sensitive.")
            }
            Self::InvalidFields(errors) => {
                let list: Vec<String> = errors.iter().map(|e| format!("{} (path `{}`): {}", e.field, e.path, e.message)).collect();
                format!("Nothing was stored because {} field(s) have values of the wrong type: {}.", errors.len(), list.join("; "))
            }
            Self::InvalidTemplate(TemplateError(reasons)) => format!("The template was refused for {} reason(s); nothing was changed: {}.", reasons.len(), reasons.join("; ")),
            Self::RateLimited { retry_after_secs } => format!("Too many requests for this API key; retry after {retry_after_secs} s."),
            Self::Unavailable(_) => "The store is unavailable right now; nothing was stored. Retry the request.".into(),
            Self::Unauthorized => "Send a valid admin token as `Authorization: Bearer <token>` (create one with `trailspark admin-token create --tenant T`), or the session cookie of a signed-in web UI.".into(),
            Self::CsrfToken { sent: false } => "This request is signed in by the web UI's session cookie: a POST, PUT, PATCH or DELETE must also send the session's CSRF token in the X-CSRF-Token header (the `csrf-token` meta tag of every signed-in page). Or send an admin token as `Authorization: Bearer <token>` instead.".into(),
            Self::CsrfToken { sent: true } => "The X-CSRF-Token header is not this session's CSRF token: send the `csrf-token` meta tag of a page of this session (a token from before a sign-in again is stale).".into(),
            Self::NotFound(what) => what.clone(),
            Self::Conflict(what) => format!("Nothing was changed: {what}."),
            Self::MethodNotAllowed => "This endpoint does not take this HTTP method; the Allow header lists the ones it takes.".into(),
            Self::RequestTimeout => "The request took too long to arrive or to be handled; nothing is known to be stored. Retry it.".into(),
            Self::Internal(_) => match crate::http::request_id() {
                id if id.is_empty() => "Something went wrong on the server; the request was not applied. It has been logged.".into(),
                id => format!("Something went wrong on the server; the request was not applied. It has been logged under request id {id}: quote it when you report the problem."),
            },
        }
    }

    /// The JSON error body of this error.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "success": false,
            "code": self.code(),
            "error": self.error_text(),
            "message": self.message(),
        });
        match self {
            Self::MissingProductOrgId {
                path, did_you_mean, ..
            } => {
                body["path"] = json!(path);
                if let Some(near) = did_you_mean {
                    body["didYouMean"] = json!(near);
                }
            }
            Self::MissingLead {
                paths,
                did_you_mean,
            } => {
                body["paths"] = json!(paths);
                if let Some(near) = did_you_mean {
                    body["didYouMean"] = json!(near);
                }
            }
            Self::InvalidFields(errors) => body["fieldErrors"] = json!(errors),
            Self::InvalidTemplate(TemplateError(reasons)) => body["reasons"] = json!(reasons),
            Self::Internal(_) => {
                let id = crate::http::request_id();
                if !id.is_empty() {
                    body["requestId"] = json!(id);
                }
            }
            _ => {}
        }
        body
    }

    /// The short text of the body. An internal error's own text is the cause (a driver's or
    /// a parser's message, naming tables, columns and values), which is for the log only.
    fn error_text(&self) -> String {
        match self {
            Self::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(e) => {
                let (request_id, route) = crate::http::log_context();
                tracing::error!(request_id, route, error = ?e, "internal error");
            }
            Self::Unavailable(why) => {
                let (request_id, route) = crate::http::log_context();
                tracing::warn!(request_id, route, %why, "store unavailable");
            }
            _ => {}
        }
        let mut response = (status, Json(self.body())).into_response();
        if matches!(self, Self::PayloadTooLarge { .. }) {
            // The rest of the body was never read, so the connection cannot carry another
            // request; say so, or the client reuses it and its next request fails.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use trailspark_core::{ProductOrgId, TargetOrgId};
    use trailspark_store::Missing;

    use super::*;

    /// Each store error answers its own status, and handlers need not re-match any of them:
    /// a missing thing is named, a conflict is 409, an unavailable store 503, and anything else
    /// a 500 whose log keeps the whole cause chain.
    #[test]
    fn store_errors_answer_their_status_and_keep_their_cause() {
        let missing = ApiError::from(StoreError::from(Missing::ProductOrg(
            ProductOrgId::parse("ws_1").unwrap(),
        )));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            missing.body()["message"],
            "This tenant has no product org with id \"ws_1\"."
        );
        let target = ApiError::from(StoreError::from(Missing::TargetOrg(TargetOrgId(9))));
        assert_eq!(target.body()["message"], "This tenant has no target org 9.");

        let conflict = ApiError::from(StoreError::conflict("the subdomain acme is taken"));
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert_eq!(conflict.code(), "conflict");
        assert!(conflict.body()["message"]
            .as_str()
            .unwrap()
            .contains("the subdomain acme is taken"));

        let io = std::io::Error::other("the disk refused the sync");
        let away = ApiError::from(StoreError::unavailable("cannot flush").caused_by(io));
        assert_eq!(away.status(), StatusCode::SERVICE_UNAVAILABLE);
        let ApiError::Unavailable(why) = &away else {
            panic!("{away:?}")
        };
        assert!(why.contains("the disk refused the sync"), "{why}");

        let corrupt = std::io::Error::other("expected value at line 1");
        let other = ApiError::from(StoreError::other("corrupt JSON").caused_by(corrupt));
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let ApiError::Internal(e) = &other else {
            panic!("{other:?}")
        };
        assert!(
            format!("{e:#}").contains("expected value at line 1"),
            "the logged error keeps its cause: {e:#}"
        );
        let cursor = ApiError::from(StoreError::InvalidCursor);
        assert_eq!(cursor.status(), StatusCode::BAD_REQUEST);
    }

    /// A 500's body is read by whoever sent the request: it says that something failed and
    /// under which request id, never what (the cause goes to the log).
    #[test]
    fn an_internal_errors_body_holds_no_cause_text() {
        let cause = "recursion limit exceeded at line 1 column 4096 in table org_history";
        let errors = [
            ApiError::Internal(anyhow::anyhow!("{cause}")),
            ApiError::Internal(anyhow::anyhow!("{cause}").context("reading the history")),
            ApiError::from(
                StoreError::other("corrupt JSON").caused_by(std::io::Error::other(cause)),
            ),
        ];
        for error in errors {
            assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let body = error.body().to_string();
            for leak in [
                "recursion",
                "org_history",
                "reading the history",
                "corrupt JSON",
            ] {
                assert!(!body.contains(leak), "{leak:?} is in the body: {body}");
            }
            assert_eq!(error.body()["code"], "internal_error");
        }
    }
}
