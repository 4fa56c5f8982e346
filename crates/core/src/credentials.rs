//! API keys, secrets and admin tokens: how they are made, how they are stored (hashed, or
//! sealed for the one secret that must be read back), and how they are compared.
//!
//! Every credential is ≥ 128 random bits. Only SHA-256 hashes of keys, `X-Api-Secret` values
//! and admin tokens are stored; SHA-256 (not a slow password hash) is right here because the
//! inputs are random, not chosen by people. An HMAC secret cannot be hashed (verifying a
//! signature needs it), so it is sealed with a key derived from the API key itself: the
//! store alone cannot reveal it, and no server-wide master key has to be shared between the
//! CLI and every instance.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::{AdminTokenId, ApiKeyId, EndpointType};

/// How many characters of a key are kept to recognise it in lists.
const SHOWN_PREFIX_LEN: usize = 12;

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The typed prefix of keys of an endpoint type, so a key says what it is for.
pub fn key_type_prefix(kind: EndpointType) -> &'static str {
    match kind {
        EndpointType::ProductOrgUpdates => "tsk_po_",
        EndpointType::SignalStaging => "tsk_sig_",
    }
}

/// A new API key of 192 random bits, e.g. `tsk_po_…`.
pub fn generate_api_key(kind: EndpointType) -> String {
    format!("{}{}", key_type_prefix(kind), random_token(24))
}

/// A new public key id, e.g. `key_…` (not secret: shown in lists and logs).
pub fn generate_key_id() -> ApiKeyId {
    ApiKeyId(format!("key_{}", hex::encode(random_bytes::<8>())))
}

/// A new `X-Api-Secret` value.
pub fn generate_api_secret() -> String {
    format!("tss_{}", random_token(24))
}

/// A new HMAC secret in Standard Webhooks form: `whsec_` + base64 of 32 random bytes.
pub fn generate_hmac_secret() -> String {
    format!("whsec_{}", STANDARD.encode(random_bytes::<32>()))
}

/// A new admin API bearer token.
pub fn generate_admin_token() -> String {
    format!("tsa_{}", random_token(32))
}

/// A new public admin token id, e.g. `adm_…` (not secret: shown in lists).
pub fn generate_admin_token_id() -> AdminTokenId {
    AdminTokenId(format!("adm_{}", hex::encode(random_bytes::<8>())))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::thread_rng().fill_bytes(&mut buf);
    buf
}

/// The SHA-256 of a credential: what the store keeps and looks keys up by.
pub fn hash_credential(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The first characters of a key, safe to show in lists.
pub fn shown_prefix(key: &str) -> String {
    key.chars().take(SHOWN_PREFIX_LEN).collect()
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Checks a presented secret against the stored hash, in constant time.
pub fn secret_matches(presented: &str, stored_hash: &[u8; 32]) -> bool {
    constant_time_eq(&hash_credential(presented), stored_hash)
}

fn sealing_key(api_key: &str) -> Key {
    let hk = Hkdf::<Sha256>::new(Some(b"trailspark/hmac-secret/v1"), api_key.as_bytes());
    let mut okm = [0u8; 32];
    hk.expand(b"seal", &mut okm)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm.into()
}

/// Seals an HMAC secret with a key derived from the API key: `nonce ‖ ciphertext`.
pub fn seal_hmac_secret(api_key: &str, hmac_secret: &str) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(&sealing_key(api_key));
    let nonce_bytes = random_bytes::<12>();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce_bytes), hmac_secret.as_bytes())
        .expect("sealing a short secret in memory cannot fail");
    [nonce_bytes.as_slice(), &sealed].concat()
}

/// Opens a sealed HMAC secret; `None` if it was not sealed with this API key.
pub fn open_hmac_secret(api_key: &str, sealed: &[u8]) -> Option<String> {
    if sealed.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(12);
    let cipher = ChaCha20Poly1305::new(&sealing_key(api_key));
    let plain = cipher.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_typed_and_random() {
        let a = generate_api_key(EndpointType::ProductOrgUpdates);
        let b = generate_api_key(EndpointType::ProductOrgUpdates);
        assert!(a.starts_with("tsk_po_"));
        assert!(generate_api_key(EndpointType::SignalStaging).starts_with("tsk_sig_"));
        assert_ne!(a, b);
        // 24 random bytes = 32 base64url characters after the prefix.
        assert_eq!(a.len(), "tsk_po_".len() + 32);
    }

    #[test]
    fn hmac_secret_is_standard_webhooks_form() {
        let s = generate_hmac_secret();
        let raw = STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn sealed_secret_opens_only_with_its_key() {
        let sealed = seal_hmac_secret("tsk_po_one", "whsec_abc");
        assert_eq!(
            open_hmac_secret("tsk_po_one", &sealed).as_deref(),
            Some("whsec_abc")
        );
        assert_eq!(open_hmac_secret("tsk_po_two", &sealed), None);
        assert!(!sealed.windows(9).any(|w| w == b"whsec_abc"));
    }

    #[test]
    fn secrets_compare_by_hash() {
        let h = hash_credential("tss_x");
        assert!(secret_matches("tss_x", &h));
        assert!(!secret_matches("tss_y", &h));
    }
}

/// Shortest web UI password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// An argon2id PHC string (random salt, the crate's default cost) for a web UI password.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with a generated salt")
        .to_string()
}

/// Whether `password` is the one `phc` (from [`hash_password`]) was made from; constant time.
pub fn password_matches(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(password_matches("correct horse battery", &phc));
        assert!(!password_matches("correct horse batterY", &phc));
        assert!(!password_matches("anything", "not a phc string"));
        assert_ne!(hash_password("same"), hash_password("same"), "salted");
    }
}
