//! A webhook body as bytes, as the handler takes it: parsed as JSON, an object or an array of
//! them, each element extracted through the Segment template, and the answer rendered. No
//! input panics or makes an answer that is not JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use trailspark_core::extract::extract_product_org;
use trailspark_core::template::{PayloadTemplate, Preset};
use trailspark_core::EndpointType;

fuzz_target!(|bytes: &[u8]| {
    let PayloadTemplate::ProductOrg(template) =
        PayloadTemplate::preset(EndpointType::ProductOrgUpdates, Preset::Segment)
    else {
        unreachable!("a product org preset")
    };
    let answer = match serde_json::from_slice::<Value>(bytes) {
        Err(e) => json!({"success": false, "code": "invalid_json", "message": e.to_string()}),
        Ok(Value::Array(items)) if items.len() <= 4_000 => {
            let results: Vec<Value> = items
                .iter()
                .map(|item| match extract_product_org(&template, item) {
                    Ok(update) => json!({"success": true, "productOrgId": update.product_org_id.as_str(),
                                         "patches": update.patches.len(), "messageId": update.message_id}),
                    Err(e) => json!({"success": false, "message": format!("{e:?}")}),
                })
                .collect();
            json!({"results": results})
        }
        Ok(object @ Value::Object(_)) => match extract_product_org(&template, &object) {
            Ok(update) => json!({"success": true, "productOrgId": update.product_org_id.as_str()}),
            Err(e) => json!({"success": false, "message": format!("{e:?}")}),
        },
        Ok(_) => json!({"success": false, "code": "body_not_object"}),
    };
    let text = answer.to_string();
    assert!(serde_json::from_str::<Value>(&text).is_ok());
});
