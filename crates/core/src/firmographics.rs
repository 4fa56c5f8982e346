//! Firmographics: the CRM fields of a target org (domain, industry, employee count, revenue,
//! country, … any keys), as one JSON object with bounded size.

use serde_json::{Map, Value};

/// Most fields one target org may hold.
pub const MAX_FIELDS: usize = 100;
/// Largest firmographics object, serialised.
pub const MAX_BYTES: usize = 64 * 1024;

/// Checks that `value` is firmographics: a JSON object of at most [`MAX_FIELDS`] non-empty
/// keys and [`MAX_BYTES`] bytes.
pub fn parse(value: Value) -> Result<Map<String, Value>, String> {
    let Value::Object(fields) = value else {
        return Err(format!(
            "firmographics must be a JSON object of CRM fields, got {}",
            crate::value::describe(&value)
        ));
    };
    if fields.len() > MAX_FIELDS {
        return Err(format!(
            "{} fields; at most {MAX_FIELDS} are allowed",
            fields.len()
        ));
    }
    if fields.keys().any(|k| k.trim().is_empty()) {
        return Err("a field name is empty".into());
    }
    crate::value::json(&Value::Object(fields.clone())).map_err(|why| format!("a value {why}"))?;
    let size = serde_json::to_vec(&fields).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_BYTES {
        return Err(format!("{size} bytes; at most {MAX_BYTES} are allowed"));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn objects_within_bounds_only() {
        assert!(parse(json!({"domain": "acme.com", "employees": 500})).is_ok());
        assert!(parse(json!([1])).is_err());
        assert!(parse(json!({"": 1})).is_err());
        let many: Map<String, Value> = (0..=MAX_FIELDS)
            .map(|i| (i.to_string(), json!(i)))
            .collect();
        assert!(parse(Value::Object(many)).is_err());
        assert!(parse(json!({"notes": "x".repeat(MAX_BYTES)})).is_err());
    }
}
