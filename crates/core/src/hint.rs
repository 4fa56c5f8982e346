//! "Did you mean": the path of the payload nearest to a template path that found nothing, so an
//! integrator sees `groupid` → `groupId` or `workspaceId` → `workspace_id` at once.

use serde_json::Value;

use crate::path::escape_segment;

/// How deep and how many paths of a payload are looked at; a hint is a courtesy, never a cost.
const MAX_DEPTH: usize = 8;
const MAX_CANDIDATES: usize = 10_000;
/// Array elements looked at per array: a typo hint does not need the 4,000th item.
const MAX_ARRAY_ITEMS: usize = 3;

/// The existing, non-null path of `payload` closest to `wanted` (as written in the template),
/// if one differs only by case or a small typo.
pub fn closest_path(payload: &Value, wanted: &str) -> Option<String> {
    let wanted_folded = wanted.to_lowercase();
    let budget = (wanted.chars().count() / 4).clamp(1, 3);
    let mut candidates = Vec::new();
    collect(payload, String::new(), 0, &mut candidates);
    candidates
        .into_iter()
        .filter(|path| path != wanted)
        .filter_map(|path| {
            let distance = strsim::levenshtein(&path.to_lowercase(), &wanted_folded);
            (distance <= budget).then_some((distance, path))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, path)| path)
}

fn collect(value: &Value, prefix: String, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH || out.len() >= MAX_CANDIDATES {
        return;
    }
    let join = |segment: String| {
        if prefix.is_empty() {
            segment
        } else {
            format!("{prefix}.{segment}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = join(escape_segment(key));
                if !child.is_null() {
                    out.push(path.clone());
                }
                collect(child, path, depth + 1, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().take(MAX_ARRAY_ITEMS).enumerate() {
                let path = join(i.to_string());
                if !child.is_null() {
                    out.push(path.clone());
                }
                collect(child, path, depth + 1, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn suggests_case_and_typo_neighbours() {
        let payload =
            json!({"groupId": "ws_1", "traits": {"plan_name": "Pro"}, "workspace_id": "w"});
        assert_eq!(
            closest_path(&payload, "groupid").as_deref(),
            Some("groupId")
        );
        assert_eq!(
            closest_path(&payload, "GroupID").as_deref(),
            Some("groupId")
        );
        assert_eq!(
            closest_path(&payload, "workspaceId").as_deref(),
            Some("workspace_id")
        );
        assert_eq!(
            closest_path(&payload, "traits.planname").as_deref(),
            Some("traits.plan_name")
        );
        assert_eq!(closest_path(&payload, "tenant.id"), None, "nothing near");
    }

    /// Short paths are where a one-letter slip is most common (`ids` for `id`): every path
    /// gets a budget of at least one edit.
    #[test]
    fn suggests_one_letter_typos_in_short_paths() {
        for (wanted, present) in [
            ("ids", "id"),
            ("org", "orgs"),
            ("nme", "name"),
            ("tier", "tiers"),
            ("grupId", "groupId"),
        ] {
            let payload = json!({present: "x", "traits": {"employees": 3}});
            assert_eq!(
                closest_path(&payload, wanted).as_deref(),
                Some(present),
                "{wanted:?} is one letter from {present:?}"
            );
        }
    }

    #[test]
    fn ignores_null_values_and_escapes_dots() {
        let payload = json!({"groupid": null, "a.b": 1});
        assert_eq!(closest_path(&payload, "groupId"), None);
        assert_eq!(closest_path(&payload, "A\\.b").as_deref(), Some("a\\.b"));
    }
}
