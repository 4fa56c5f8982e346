//! Any text as a template path: parsing never panics, and a parsed path resolves on any payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailspark_core::path::Path;

fuzz_target!(|text: &str| {
    if let Ok(path) = Path::parse(text) {
        let payload = serde_json::json!({"a": {"b": [1, {"c": "d"}]}, "x.y": true});
        let _ = path.resolve(&payload);
        assert_eq!(
            Path::parse(path.as_str())
                .map(|p| p.as_str().to_owned())
                .ok(),
            Some(path.as_str().to_owned())
        );
    }
});
