//! "Did you mean": the path of the payload nearest to a template path that found nothing, so an
//! integrator sees `groupid` → `groupId` or `workspaceId` → `workspace_id` at once.

use crate::json::{Json, Members, Node};
use crate::path::escape_segment;

mod cache;

pub use cache::HintCache;

/// How deep and how many paths of a payload are looked at; a hint is a courtesy, never a cost.
const MAX_DEPTH: usize = 8;
const MAX_CANDIDATES: usize = 10_000;
/// Array elements looked at per array: a typo hint does not need the 4,000th item.
const MAX_ARRAY_ITEMS: usize = 3;

/// The existing, non-null path of `payload` closest to `wanted` (as written in the template),
/// if one differs only by case or a small typo.
pub fn closest_path<J: Json>(payload: &J, wanted: &str) -> Option<String> {
    NearPaths::of(payload).closest(wanted)
}

/// The paths of one payload, to find the nearest to a template path that found nothing. The
/// webhook asks this of every mapped path missing from every update, so a question walks the
/// payload with one reused buffer and allocates only for a path near enough to compare: most
/// paths are ruled out by their length alone.
pub struct NearPaths<'a, J> {
    payload: &'a J,
    /// Borrowed, not boxed: a payload whose shape was answered before never asks it, and the
    /// webhook makes one of these for every update missing a mapped path.
    taken: &'a dyn Fn(&str) -> bool,
}

impl<'a, J: Json> NearPaths<'a, J> {
    pub fn of(payload: &'a J) -> Self {
        Self {
            payload,
            taken: &|_| false,
        }
    }

    /// Leaves out the paths `taken` says the template reads for some field: a path mapped to
    /// another field is not a typo of this one.
    pub fn without(self, taken: &'a dyn Fn(&str) -> bool) -> Self {
        Self { taken, ..self }
    }

    /// The path nearest to `wanted`, if one differs only by case or a small typo; the first
    /// met among equally near ones.
    pub fn closest(&self, wanted: &str) -> Option<String> {
        self.closest_each(&[wanted]).pop().flatten()
    }

    /// [`NearPaths::closest_each`], answered from `cache` when a payload of the same shape asked
    /// the same before. `cache` must be used with one `taken` rule only (one per template).
    pub fn closest_each_cached(
        &self,
        wanted: &[&str],
        cache: &HintCache,
    ) -> std::sync::Arc<[Option<String>]> {
        cache.get_or_insert(self.payload, wanted, || self.closest_each(wanted))
    }

    /// [`NearPaths::closest`] of each of `wanted`, in one walk of the payload.
    pub fn closest_each(&self, wanted: &[&str]) -> Vec<Option<String>> {
        struct Wanted<'w> {
            text: &'w str,
            folded: String,
            len: usize,
            budget: usize,
            best: Option<(usize, String)>,
        }
        let mut wanted: Vec<Wanted> = wanted
            .iter()
            .map(|text| {
                let folded = text.to_lowercase();
                Wanted {
                    text,
                    len: folded.chars().count(),
                    budget: (text.chars().count() / 4).clamp(1, 3),
                    folded,
                    best: None,
                }
            })
            .collect();
        let mut consider = |path: &str| {
            let len = path.chars().count();
            // Worked out once per path, and only for a path some wanted one is near in length
            // (the edit distance is at least the difference in length).
            let mut folded: Option<Option<String>> = None;
            for w in wanted.iter_mut() {
                if path == w.text || len.abs_diff(w.len) > w.budget {
                    continue;
                }
                let Some(path_folded) = folded
                    .get_or_insert_with(|| (!(self.taken)(path)).then(|| path.to_lowercase()))
                else {
                    return;
                };
                if bag_distance(path_folded, &w.folded) > w.budget {
                    continue;
                }
                let distance = strsim::levenshtein(path_folded, &w.folded);
                if distance <= w.budget && w.best.as_ref().is_none_or(|(d, _)| distance < *d) {
                    w.best = Some((distance, path.to_owned()));
                }
            }
        };
        each_path(self.payload, &mut consider);
        wanted
            .into_iter()
            .map(|w| w.best.map(|(_, path)| path))
            .collect()
    }
}

/// A lower bound of the edit distance of `a` and `b`, in one pass: how many characters one has
/// that the other lacks (the larger of the two counts). Paths of equal length made of other
/// letters (`traits.plan_name`, `traits.employees`) are ruled out without the quadratic
/// distance; non-ASCII text is not bounded (0).
fn bag_distance(a: &str, b: &str) -> usize {
    if !a.is_ascii() || !b.is_ascii() {
        return 0;
    }
    let mut counts = [0i32; 128];
    for byte in a.bytes() {
        counts[usize::from(byte)] += 1;
    }
    for byte in b.bytes() {
        counts[usize::from(byte)] -= 1;
    }
    let (only_a, only_b) = counts.iter().fold((0, 0), |(pos, neg), &c| {
        if c > 0 {
            (pos + c, neg)
        } else {
            (pos, neg - c)
        }
    });
    only_a.max(only_b) as usize
}

/// One step down a payload: an object's key or an array's index.
#[derive(Clone, Copy)]
enum Segment<'v> {
    Key(&'v str),
    Index(usize),
}

/// What a walk of a payload does at each value it reaches.
trait Visit<'v, J> {
    /// `child` is reached by `segment` from its parent, `depth` steps below the payload.
    fn enter(&mut self, segment: Segment<'v>, child: &'v J, depth: usize);
    /// Every value under the last entered one was visited.
    fn leave(&mut self);
}

/// Visits every value under `value`, parents before their children, within the depth and count
/// limits. The hints and the shape of a payload (the key of [`HintCache`]) both walk through
/// here, so a shape covers exactly what a hint can see.
fn walk<'v, J: Json>(value: &'v J, depth: usize, seen: &mut usize, visit: &mut impl Visit<'v, J>) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut step = |segment: Segment<'v>, child: &'v J, seen: &mut usize| {
        if *seen >= MAX_CANDIDATES {
            return;
        }
        *seen += 1;
        visit.enter(segment, child, depth);
        walk(child, depth + 1, seen, visit);
        visit.leave();
    };
    match value.node() {
        Node::Object(members) => {
            for (key, child) in members.iter() {
                step(Segment::Key(key), child, seen);
            }
        }
        Node::Array(items) => {
            for (i, child) in items.iter().take(MAX_ARRAY_ITEMS).enumerate() {
                step(Segment::Index(i), child, seen);
            }
        }
        _ => {}
    }
}

/// Calls its function with the path of every non-null value, built in one reused buffer.
struct Paths<F> {
    path: String,
    lengths: Vec<usize>,
    visit: F,
}

impl<'v, J: Json, F: FnMut(&str)> Visit<'v, J> for Paths<F> {
    fn enter(&mut self, segment: Segment<'v>, child: &'v J, _: usize) {
        self.lengths.push(self.path.len());
        if !self.path.is_empty() {
            self.path.push('.');
        }
        match segment {
            Segment::Key(key) if key.contains(['.', '\\']) => {
                self.path.push_str(&escape_segment(key))
            }
            Segment::Key(key) => self.path.push_str(key),
            Segment::Index(i) => {
                use std::fmt::Write;
                let _ = write!(self.path, "{i}");
            }
        }
        if !child.is_null() {
            (self.visit)(&self.path);
        }
    }

    fn leave(&mut self) {
        let length = self.lengths.pop().unwrap_or(0);
        self.path.truncate(length);
    }
}

/// Calls `visit` with the path of every non-null value under `payload`, within the limits.
fn each_path<J: Json>(payload: &J, visit: impl FnMut(&str)) {
    let mut paths = Paths {
        path: String::new(),
        lengths: Vec::new(),
        visit,
    };
    walk(payload, 0, &mut 0, &mut paths);
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
    fn the_bag_distance_never_exceeds_the_edit_distance() {
        for (a, b) in [
            ("traits.plan_name", "traits.employees"),
            ("groupid", "groupid"),
            ("workspaceid", "workspace_id"),
            ("abc", "cab"),
            ("", "abc"),
            ("grupid", "groupid"),
        ] {
            assert!(bag_distance(a, b) <= strsim::levenshtein(a, b), "{a} / {b}");
        }
        assert!(bag_distance("traits.plan_name", "traits.employees") > 3);
    }

    /// Arrays are walked too (their first elements): `items.0.nme` finds `items.0.name`.
    #[test]
    fn suggests_paths_inside_arrays() {
        let payload = json!({"items": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            closest_path(&payload, "items.0.nme").as_deref(),
            Some("items.0.name")
        );
    }

    #[test]
    fn a_path_the_template_reads_elsewhere_is_no_suggestion() {
        let payload = json!({"users_count": 3, "user_count": 2});
        let near = NearPaths::of(&payload);
        assert_eq!(near.closest("user_counts").as_deref(), Some("user_count"));
        let near = near.without(&|p| p == "user_count");
        assert_eq!(near.closest("user_counts").as_deref(), Some("users_count"));
    }

    #[test]
    fn ignores_null_values_and_escapes_dots() {
        let payload = json!({"groupid": null, "a.b": 1});
        assert_eq!(closest_path(&payload, "groupId"), None);
        assert_eq!(closest_path(&payload, "A\\.b").as_deref(), Some("a\\.b"));
    }
}
