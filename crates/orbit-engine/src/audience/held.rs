//! What the index holds on one profile besides its timeline, in compact form: tag
//! values as interned pairs and traits under interned names. A profile's trait
//! document and tags as maps of owned strings took more memory than its events.

use super::timeline::Interner;
use serde_json::{Map, Value};

/// A profile's tag values: (tag, value) pairs, interned, each tag's values together
/// and in the order they were set.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HeldTags(Box<[(u32, u32)]>);

impl HeldTags {
    /// The values held for `tag`.
    pub fn values(&self, tag: u32) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().filter(move |(t, _)| *t == tag).map(|(_, v)| *v)
    }

    /// Whether `tag` is held with exactly `values`, in this order.
    pub fn holds_exactly(&self, tag: u32, values: &[u32]) -> bool {
        self.values(tag).eq(values.iter().copied())
    }

    /// Replaces `tag`'s values (empty: the tag is removed).
    pub fn replace(&mut self, tag: u32, values: &[u32]) {
        let kept = self.0.iter().copied().filter(|(t, _)| *t != tag);
        self.0 = kept.chain(values.iter().map(|v| (tag, *v))).collect();
    }

    /// Every pair, grouped by tag.
    pub fn pairs(&self) -> &[(u32, u32)] {
        &self.0
    }
}

/// A profile's traits: top-level names interned, sorted by number, values as JSON.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HeldTraits(Box<[(u32, Value)]>);

impl HeldTraits {
    /// The traits of a document, naming each with `names`.
    pub fn new(traits: Map<String, Value>, names: &mut Interner) -> Self {
        let mut held: Vec<(u32, Value)> = traits
            .into_iter()
            .map(|(name, value)| (names.intern(&name), value))
            .collect();
        held.sort_unstable_by_key(|(name, _)| *name);
        Self(held.into_boxed_slice())
    }

    /// The value of a top-level trait.
    pub fn get(&self, name: u32) -> Option<&Value> {
        self.0
            .binary_search_by_key(&name, |(n, _)| *n)
            .ok()
            .map(|at| &self.0[at].1)
    }

    /// The value at a trait path (`address.city`), as [`orbit_core::audience::values::lookup`]
    /// reads a document.
    pub fn lookup(&self, path: &str, names: &Interner) -> Option<&Value> {
        use orbit_core::audience::values::descend;
        match path.split_once('.') {
            Some((first, rest)) => descend(self.get(names.find(first)?)?, rest).filter(|_| !rest.is_empty()),
            None => descend(self.get(names.find(path)?)?, ""),
        }
    }

    /// Every trait, by name number.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Value)> {
        self.0.iter().map(|(n, v)| (*n, v))
    }

    /// The traits as a document again.
    pub fn to_document(&self, names: &Interner) -> Map<String, Value> {
        self.iter()
            .filter_map(|(n, v)| Some((names.text(n)?.to_owned(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_keep_each_tag_s_values_in_order() {
        let mut tags = HeldTags::default();
        tags.replace(1, &[7, 5]);
        tags.replace(2, &[9]);
        tags.replace(1, &[5, 6]);
        assert_eq!(tags.values(1).collect::<Vec<_>>(), vec![5, 6]);
        assert!(tags.holds_exactly(2, &[9]) && !tags.holds_exactly(2, &[]));
        tags.replace(2, &[]);
        assert_eq!(tags.values(2).count(), 0);
        assert_eq!(tags.pairs(), &[(1, 5), (1, 6)]);
    }

    #[test]
    fn traits_read_back_as_the_document_they_came_from() {
        let mut names = Interner::default();
        names.intern("unrelated");
        let document = json!({"city": "重庆", "age": 41, "address": {"zip": "400000"}, "tags": ["a"]});
        let held = HeldTraits::new(document.as_object().cloned().expect("an object"), &mut names);
        assert_eq!(held.lookup("city", &names), Some(&json!("重庆")));
        assert_eq!(held.lookup("address.zip", &names), Some(&json!("400000")));
        assert_eq!(held.lookup("tags.0", &names), Some(&json!("a")));
        assert_eq!(held.lookup("missing", &names), None);
        assert_eq!(held.lookup("address.street", &names), None);
        assert_eq!(Value::Object(held.to_document(&names)), document);
    }
}
