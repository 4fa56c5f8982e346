//! Request signatures for keys with an HMAC secret (SPEC §3). Three schemes are accepted:
//! Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`),
//! GitHub style (`X-Signature: sha256=<hex>`) and what Segment's Webhooks (Actions)
//! destination sends (`X-Signature: <hex HMAC-SHA1>`). Comparisons are constant-time
//! (`Mac::verify_slice`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// How far a Standard Webhooks timestamp may be from now, either way.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

/// The signature headers of a request, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    pub webhook_id: Option<&'a str>,
    pub webhook_timestamp: Option<&'a str>,
    pub webhook_signature: Option<&'a str>,
    pub x_signature: Option<&'a str>,
}

/// Which scheme verified a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Standard Webhooks; its `webhook-id` must not be accepted twice.
    StandardWebhooks { webhook_id: String },
    /// `X-Signature: sha256=<hex>`.
    HexSha256,
    /// `X-Signature: <hex SHA-1>` (Segment Webhooks Actions).
    HexSha1,
}

/// Why a signature was refused; the message says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("this API key has an HMAC secret, but the request is not signed: send the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature, or X-Signature")]
    Missing,
    #[error("the Standard Webhooks signature needs all three headers webhook-id, webhook-timestamp and webhook-signature; missing: {0}")]
    Incomplete(&'static str),
    #[error("{0}")]
    Malformed(String),
    #[error("webhook-timestamp is {skew_secs} s away from the server's clock; at most 300 s are allowed (check the sender's clock, or a replay)")]
    Stale { skew_secs: i64 },
    #[error("the {scheme} signature does not match the body: check that the HMAC secret is the one issued with this key and that the body is sent unchanged")]
    Mismatch { scheme: &'static str },
}

/// Verifies `body` against the signature headers with the key's HMAC secret (as issued,
/// `whsec_…`).
pub fn verify(
    headers: &SignatureHeaders<'_>,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Verified, SignatureError> {
    let standard = headers.webhook_signature.is_some()
        || headers.webhook_id.is_some()
        || headers.webhook_timestamp.is_some();
    if standard {
        return verify_standard(headers, body, secret, now);
    }
    let Some(sig) = headers.x_signature.map(str::trim) else {
        return Err(SignatureError::Missing);
    };
    // The X-Signature forms use the whole secret string as the key: that is what a user
    // pastes into Segment's "shared secret" field.
    if let Some(hex_sig) = sig.strip_prefix("sha256=") {
        let expected = decode_hex(hex_sig, "X-Signature sha256=")?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        mac.verify_slice(&expected)
            .map(|()| Verified::HexSha256)
            .map_err(|_| SignatureError::Mismatch {
                scheme: "X-Signature sha256",
            })
    } else {
        let expected = decode_hex(sig, "X-Signature")?;
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        mac.verify_slice(&expected)
            .map(|()| Verified::HexSha1)
            .map_err(|_| SignatureError::Mismatch {
                scheme: "X-Signature (HMAC-SHA1)",
            })
    }
}

fn decode_hex(text: &str, header: &str) -> Result<Vec<u8>, SignatureError> {
    hex::decode(text).map_err(|_| {
        SignatureError::Malformed(format!("{header} must be a hex digest of the body"))
    })
}

fn verify_standard(
    headers: &SignatureHeaders<'_>,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Verified, SignatureError> {
    let id = headers
        .webhook_id
        .ok_or(SignatureError::Incomplete("webhook-id"))?;
    let ts = headers
        .webhook_timestamp
        .ok_or(SignatureError::Incomplete("webhook-timestamp"))?;
    let sigs = headers
        .webhook_signature
        .ok_or(SignatureError::Incomplete("webhook-signature"))?;
    let ts_secs: i64 = ts.trim().parse().map_err(|_| {
        SignatureError::Malformed("webhook-timestamp must be whole seconds since the epoch".into())
    })?;
    let skew = now.timestamp() - ts_secs;
    if skew.abs() > TIMESTAMP_TOLERANCE_SECS {
        return Err(SignatureError::Stale { skew_secs: skew });
    }
    // Standard Webhooks keys are the base64 part after `whsec_`, as the reference libraries do.
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| {
            SignatureError::Malformed("the key's HMAC secret is not whsec_<base64>".into())
        })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = sigs.split_whitespace().any(|entry| {
        let Some(("v1", b64)) = entry.split_once(',') else {
            return false;
        };
        STANDARD
            .decode(b64)
            .is_ok_and(|sig| mac.clone().verify_slice(&sig).is_ok())
    });
    if matches {
        Ok(Verified::StandardWebhooks {
            webhook_id: id.to_owned(),
        })
    } else {
        Err(SignatureError::Mismatch {
            scheme: "Standard Webhooks",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn standard_sig(id: &str, ts: &str, body: &[u8]) -> String {
        let key = STANDARD.decode(&SECRET[6..]).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn standard_webhooks_accepts_any_listed_v1_signature() {
        let body = br#"{"a":1}"#;
        let sig = format!("v1,bm90IGl0 {}", standard_sig("msg_1", "1700000000", body));
        let h = SignatureHeaders {
            webhook_id: Some("msg_1"),
            webhook_timestamp: Some("1700000000"),
            webhook_signature: Some(&sig),
            x_signature: None,
        };
        assert_eq!(
            verify(&h, body, SECRET, now()),
            Ok(Verified::StandardWebhooks {
                webhook_id: "msg_1".into()
            })
        );
        assert_eq!(
            verify(&h, br#"{"a":2}"#, SECRET, now()),
            Err(SignatureError::Mismatch {
                scheme: "Standard Webhooks"
            })
        );
    }

    #[test]
    fn standard_webhooks_refuses_stale_timestamps() {
        let body = b"{}";
        let sig = standard_sig("m", "1699999000", body);
        let h = SignatureHeaders {
            webhook_id: Some("m"),
            webhook_timestamp: Some("1699999000"),
            webhook_signature: Some(&sig),
            x_signature: None,
        };
        assert_eq!(
            verify(&h, body, SECRET, now()),
            Err(SignatureError::Stale { skew_secs: 1000 })
        );
    }

    /// Five minutes either way are accepted, a second more either way is not: a timestamp
    /// ahead of the server's clock is as suspect as one behind it.
    #[test]
    fn standard_webhooks_window_is_five_minutes_both_ways() {
        let body = b"{}";
        let verify_at = |offset: i64| {
            let ts = (now().timestamp() + offset).to_string();
            let sig = standard_sig("m", &ts, body);
            let h = SignatureHeaders {
                webhook_id: Some("m"),
                webhook_timestamp: Some(&ts),
                webhook_signature: Some(&sig),
                x_signature: None,
            };
            verify(&h, body, SECRET, now())
        };
        for offset in [-300, 300] {
            assert!(
                verify_at(offset).is_ok(),
                "a timestamp {offset} s from now is within the window: {:?}",
                verify_at(offset)
            );
        }
        assert_eq!(
            verify_at(-301),
            Err(SignatureError::Stale { skew_secs: 301 }),
            "301 s in the past"
        );
        assert_eq!(
            verify_at(301),
            Err(SignatureError::Stale { skew_secs: -301 }),
            "301 s in the future"
        );
    }

    #[test]
    fn x_signature_forms_use_the_whole_secret() {
        let body = b"{}";
        let mut sha256 = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        sha256.update(body);
        let s256 = format!("sha256={}", hex::encode(sha256.finalize().into_bytes()));
        let mut sha1 = Hmac::<Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
        sha1.update(body);
        let s1 = hex::encode(sha1.finalize().into_bytes());
        let with = |s: &str| {
            verify(
                &SignatureHeaders {
                    x_signature: Some(s),
                    ..Default::default()
                },
                body,
                SECRET,
                now(),
            )
        };
        assert_eq!(with(&s256), Ok(Verified::HexSha256));
        assert_eq!(with(&s1), Ok(Verified::HexSha1));
        assert!(matches!(
            with("sha256=00"),
            Err(SignatureError::Mismatch { .. })
        ));
        assert!(matches!(with("zz"), Err(SignatureError::Malformed(_))));
        assert_eq!(
            verify(&SignatureHeaders::default(), body, SECRET, now()),
            Err(SignatureError::Missing)
        );
    }
}
