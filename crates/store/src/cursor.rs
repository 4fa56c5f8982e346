//! Page cursors: the sort key of the last item shown, opaque to clients (base64url), the same
//! for every backend so that a cursor means the same thing whichever store answers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::StoreError;

/// Wraps the last item's sort key as a cursor.
pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The sort key inside a cursor; [`StoreError::InvalidCursor`] for anything not from `encode`.
pub fn decode(cursor: &str) -> Result<String, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    String::from_utf8(bytes).map_err(|_| StoreError::InvalidCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        assert_eq!(decode(&encode("ws_abc/1 é")).unwrap(), "ws_abc/1 é");
        assert!(matches!(
            decode("not base64!"),
            Err(StoreError::InvalidCursor)
        ));
    }
}
