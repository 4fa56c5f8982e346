//! A webhook body as bytes, as the handler takes it: parsed into the borrowed document the
//! webhooks read (`Doc`) and, beside it, into serde_json's `Value` that the preview and replays
//! read. Both refuse the same bodies with the same message, hold the same JSON, and every
//! element reads the same through the Segment templates of both key types; the answer is JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use trailspark_core::extract::read_product_org;
use trailspark_core::json::{Doc, Json};
use trailspark_core::signal::read_signal;
use trailspark_core::template::{PayloadTemplate, Preset};
use trailspark_core::EndpointType;

fuzz_target!(|bytes: &[u8]| {
    let PayloadTemplate::ProductOrg(product_org) =
        PayloadTemplate::preset(EndpointType::ProductOrgUpdates, Preset::Segment)
    else {
        unreachable!("a product org preset")
    };
    let PayloadTemplate::Signal(signal) =
        PayloadTemplate::preset(EndpointType::SignalStaging, Preset::Segment)
    else {
        unreachable!("a signal preset")
    };
    let (doc, value) = match (Doc::parse(bytes), serde_json::from_slice::<Value>(bytes)) {
        (Ok(doc), Ok(value)) => (doc, value),
        (Err(d), Err(v)) => {
            assert_eq!(d.to_string(), v.to_string());
            return;
        }
        (d, v) => panic!("one parse refused: doc {:?}, value {:?}", d.err(), v.err()),
    };
    assert_eq!(doc.to_value(), value);
    assert_eq!(serde_json::to_string(&doc).unwrap(), value.to_string());
    let items: Vec<(&Doc, &Value)> = match (&doc, &value) {
        (Doc::Array(d), Value::Array(v)) if d.len() <= 4_000 => d.iter().zip(v).collect(),
        _ => vec![(&doc, &value)],
    };
    let results: Vec<Value> = items
        .into_iter()
        .filter(|(d, _)| d.is_object())
        .map(|(d, v)| {
            let reading = read_product_org(&product_org, d);
            assert_eq!(reading, read_product_org(&product_org, v));
            assert_eq!(read_signal(&signal, d), read_signal(&signal, v));
            json!({"productOrgId": reading.product_org_id.map(|id| id.as_str().to_owned()),
                   "patches": reading.patches.len(), "errors": reading.errors.len()})
        })
        .collect();
    let text = json!({"results": results}).to_string();
    assert!(serde_json::from_str::<Value>(&text).is_ok());
});
