//! The tags and segments a condition names, with where it names them.

use crate::audience::Condition;

/// Something a condition depends on besides the profile's own data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference<'a> {
    /// A tag, by id.
    Tag(&'a str),
    /// A segment, by id.
    Segment(&'a str),
}

/// Every tag and segment `condition` names, each with the path of the naming field
/// relative to the condition (`conditions[1].tag`), in the order they appear.
pub fn references(condition: &Condition) -> Vec<(String, Reference<'_>)> {
    let mut found = Vec::new();
    walk(condition, String::new(), &mut found);
    found
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn walk<'a>(condition: &'a Condition, path: String, found: &mut Vec<(String, Reference<'a>)>) {
    match condition {
        Condition::And { conditions } | Condition::Or { conditions } => {
            let list = join(&path, "conditions");
            for (i, c) in conditions.iter().enumerate() {
                walk(c, format!("{list}[{i}]"), found);
            }
        }
        Condition::Not { condition } => walk(condition, join(&path, "condition"), found),
        Condition::Tag { tag, .. } => found.push((join(&path, "tag"), Reference::Tag(tag))),
        Condition::Segment { segment } => found.push((join(&path, "segment"), Reference::Segment(segment))),
        Condition::Trait { .. } | Condition::Event(_) | Condition::Sequence(_) => {}
    }
}

/// How deep tags may name tags that name tags.
pub const MAX_TAG_DEPTH: usize = 16;

/// Checks that every tag a definition's rules name exists (as `lookup` finds it, or is
/// the tag itself) and that, were `definition` the definition of tag `id`, no tag
/// would come to depend on itself. The error names the rule's field
/// (`values[1].condition.conditions[0].tag`).
pub fn check_tag_references<'a>(
    id: &str,
    definition: &'a super::TagDefinition,
    lookup: impl Fn(&str) -> Option<&'a super::TagDefinition>,
) -> Result<(), super::TagError> {
    for (at, condition) in definition.source.conditions() {
        for (path, reference) in references(condition) {
            let Reference::Tag(name) = reference else {
                continue;
            };
            let field = format!("{at}.{path}");
            let mut trail = vec![id.to_owned()];
            descend(id, name, &lookup, &mut trail)
                .map_err(|message| super::TagError::new(&field, message))?;
        }
    }
    Ok(())
}

fn descend<'a>(
    own: &str,
    name: &str,
    lookup: &impl Fn(&str) -> Option<&'a super::TagDefinition>,
    trail: &mut Vec<String>,
) -> Result<(), String> {
    if name == own {
        trail.push(name.to_owned());
        return Err(format!(
            "tag {own:?} would depend on itself ({})",
            trail.join(" → ")
        ));
    }
    if trail.len() > MAX_TAG_DEPTH {
        return Err(format!("tags may name tags at most {MAX_TAG_DEPTH} deep"));
    }
    let named = lookup(name).ok_or_else(|| format!("no tag {name:?} in this workspace"))?;
    trail.push(name.to_owned());
    for (_, condition) in named.source.conditions() {
        for (_, reference) in references(condition) {
            if let Reference::Tag(inner) = reference {
                descend(own, inner, lookup, trail)?;
            }
        }
    }
    trail.pop();
    Ok(())
}
