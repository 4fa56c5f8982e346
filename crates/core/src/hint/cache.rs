//! "Did you mean" answers kept per payload shape. A CDP sends the same shape over and over,
//! and a template that maps a field those payloads lack asks for the same hints at every one:
//! the walk with its edit distances was the largest single cost of extraction. The shape is
//! what the hint walk sees (every key and index within its limits, and which values are
//! `null`), so two payloads of one shape get the same answers, whatever their values.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use super::{walk, Segment, Visit};
use crate::json::Json;

/// Shapes kept per cache: a key sees a handful; past this many the oldest goes. Each answer is
/// a path within a few edits of a template path, so a cache stays a few kilobytes.
const MAX_SHAPES: usize = 64;

/// A shape's hash and the answers worked out for it.
type Shapes = Vec<(u64, Arc<[Option<String>]>)>;

/// The hints of the payload shapes met so far under one template (the paths it reads are
/// left out of hints, so a cache serves one template: each template holds its own).
pub struct HintCache {
    /// Seeded per process: a sender cannot make two shapes collide on purpose.
    state: foldhash::fast::RandomState,
    shapes: Mutex<Shapes>,
}

impl HintCache {
    /// The answers kept for `wanted` asked of `payload`'s shape, or those `answer` gives, kept.
    pub(super) fn get_or_insert<J: Json>(
        &self,
        payload: &J,
        wanted: &[&str],
        answer: impl FnOnce() -> Vec<Option<String>>,
    ) -> Arc<[Option<String>]> {
        let shape = self.shape(payload, wanted);
        if let Some((_, answers)) = self.lock().iter().find(|(s, _)| *s == shape) {
            return Arc::clone(answers);
        }
        let answers: Arc<[Option<String>]> = answer().into();
        let mut shapes = self.lock();
        // Another request of the same shape may have answered meanwhile.
        if !shapes.iter().any(|(s, _)| *s == shape) {
            if shapes.len() >= MAX_SHAPES {
                shapes.remove(0);
            }
            shapes.push((shape, Arc::clone(&answers)));
        }
        answers
    }

    /// How many shapes are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no shape is kept yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shape<J: Json>(&self, payload: &J, wanted: &[&str]) -> u64 {
        let mut hasher = Shape(self.state.build_hasher());
        wanted.hash(&mut hasher.0);
        walk(payload, 0, &mut 0, &mut hasher);
        hasher.0.finish()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shapes> {
        // The list is whole after any panic (a push or a remove), so a poisoned lock is usable.
        self.shapes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Hashes what the hint walk sees. Parents come before their children with their depth, so
/// the sequence of (depth, segment, null) spells one tree only.
struct Shape<H>(H);

impl<'v, J: Json, H: Hasher> Visit<'v, J> for Shape<H> {
    fn enter(&mut self, segment: Segment<'v>, child: &'v J, depth: usize) {
        self.0.write_usize(depth);
        match segment {
            Segment::Key(key) => {
                self.0.write_u8(0);
                key.hash(&mut self.0);
            }
            Segment::Index(i) => {
                self.0.write_u8(1);
                self.0.write_usize(i);
            }
        }
        self.0.write_u8(u8::from(child.is_null()));
    }

    fn leave(&mut self) {}
}

impl Default for HintCache {
    fn default() -> Self {
        Self {
            state: foldhash::fast::RandomState::default(),
            shapes: Mutex::new(Vec::new()),
        }
    }
}

/// A copy of a template starts with no hints of its own.
impl Clone for HintCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// What a cache holds never makes two templates differ.
impl PartialEq for HintCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for HintCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HintCache")
            .field("shapes", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::hint::NearPaths;

    const WANTED: [&str; 4] = ["groupid", "traits.plan", "traits.seats", "items.0.nme"];

    fn cached(cache: &HintCache, payload: &Value) -> Vec<Option<String>> {
        NearPaths::of(payload)
            .closest_each_cached(&WANTED, cache)
            .to_vec()
    }

    #[test]
    fn payloads_of_one_shape_share_their_hints() {
        let cache = HintCache::default();
        let first = json!({"groupId": "ws_1", "traits": {"plans": "pro", "seat": 3}});
        let second = json!({"groupId": "ws_2", "traits": {"plans": "free", "seat": 9}});
        let expected = vec![
            Some("groupId".to_owned()),
            Some("traits.plans".to_owned()),
            Some("traits.seat".to_owned()),
            None,
        ];
        assert_eq!(cached(&cache, &first), expected);
        assert_eq!(cached(&cache, &second), expected);
        assert_eq!(cache.len(), 1, "one shape, one entry");
        let nulled = json!({"groupId": null, "traits": {"plans": "free", "seat": 9}});
        assert_eq!(cached(&cache, &nulled)[0], None, "a null value is no hint");
        assert_eq!(cache.len(), 2);
    }

    /// Pairs that differ by one detail of their shape, each answered for itself.
    #[test]
    fn shapes_differ_by_depth_by_null_and_by_what_is_asked() {
        let cache = HintCache::default();
        let nested = json!({"traits": {"plans": 1}});
        let flat = json!({"traits": 1, "plans": 1});
        assert_eq!(cached(&cache, &nested)[1].as_deref(), Some("traits.plans"));
        assert_eq!(cached(&cache, &flat)[1], None, "no path near traits.plan");
        let set = json!({"groupId": 1});
        let null = json!({"groupId": null});
        assert_eq!(cached(&cache, &set)[0].as_deref(), Some("groupId"));
        assert_eq!(cached(&cache, &null)[0], None);
        let near = NearPaths::of(&set);
        let asked = near.closest_each_cached(&["nothing.near"], &cache);
        assert_eq!(
            asked.to_vec(),
            vec![None],
            "another question of a known shape"
        );
    }

    #[test]
    fn the_oldest_shape_goes_past_the_limit() {
        let cache = HintCache::default();
        for i in 0..=MAX_SHAPES {
            cached(&cache, &json!({ format!("key{i}"): 1 }));
        }
        assert_eq!(cache.len(), MAX_SHAPES);
    }

    /// Payloads over a few keys, so that shapes repeat and differ by one detail: a key, a depth,
    /// a null, an array's length, an escaped dot.
    fn payload() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![Just(Value::Null), Just(json!(1)), Just(json!("x"))];
        leaf.prop_recursive(4, 24, 4, |inner| {
            let key = prop::sample::select(vec![
                "groupId", "groupid", "traits", "plan", "plans", "seats", "items", "nme", "a.b",
                "0",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key, inner), 0..4).prop_map(|entries| {
                    let map: Map<String, Value> = entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect();
                    Value::Object(map)
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn a_kept_hint_is_the_hint_worked_out_afresh(payloads in prop::collection::vec(payload(), 1..12)) {
            let cache = HintCache::default();
            for payload in payloads.iter().chain(payloads.iter()) {
                let fresh = NearPaths::of(payload).closest_each(&WANTED);
                prop_assert_eq!(cached(&cache, payload), fresh, "{}", payload);
            }
        }
    }
}
