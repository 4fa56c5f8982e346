//! Any JSON payload through every preset of both key types: extraction and value coercion
//! never panic, and whatever they accept has a product org id or a lead.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailspark_core::extract::extract_product_org;
use trailspark_core::signal::extract_signal;
use trailspark_core::template::{PayloadTemplate, Preset};
use trailspark_core::EndpointType;

fuzz_target!(|bytes: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    for preset in [
        Preset::Segment,
        Preset::Rudderstack,
        Preset::Hightouch,
        Preset::Flat,
    ] {
        if let PayloadTemplate::ProductOrg(t) =
            PayloadTemplate::preset(EndpointType::ProductOrgUpdates, preset)
        {
            if let Ok(update) = extract_product_org(&t, &payload) {
                assert!(!update.product_org_id.as_str().is_empty());
            }
        }
        if let PayloadTemplate::Signal(t) =
            PayloadTemplate::preset(EndpointType::SignalStaging, preset)
        {
            let _ = extract_signal(&t, &payload).map(|s| s.lead_id);
        }
    }
});
