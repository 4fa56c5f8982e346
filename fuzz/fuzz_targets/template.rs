//! Any JSON as a payload template, for both key types: compiling never panics, and a compiled
//! template survives its own JSON form unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailspark_core::template::PayloadTemplate;
use trailspark_core::EndpointType;

fuzz_target!(|bytes: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    for kind in [EndpointType::ProductOrgUpdates, EndpointType::SignalStaging] {
        if let Ok(template) = PayloadTemplate::from_json(kind, &json) {
            let again = PayloadTemplate::from_json(kind, &template.to_json())
                .expect("a compiled template's JSON compiles");
            assert_eq!(again, template);
        }
    }
});
