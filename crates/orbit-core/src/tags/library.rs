//! Industry tag libraries: templates of tags a brand installs and then edits.

use super::references::check_tag_references;
use super::{Label, TagDefinition, TagError, TagInput};
use crate::TagId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A library as its JSON file writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagLibraryFile {
    /// The library's id (`retail`, `tea`…).
    pub id: String,
    /// Its name.
    pub name: Label,
    /// What it is for.
    pub description: Label,
    /// Its tags, each with an id.
    pub tags: Vec<TagInput>,
}

/// A checked library.
#[derive(Debug, Clone, PartialEq)]
pub struct TagLibrary {
    /// The library's id.
    pub id: String,
    /// Its name.
    pub name: Label,
    /// What it is for.
    pub description: Label,
    /// Its tags, in the file's order.
    pub tags: Vec<(TagId, TagDefinition)>,
}

impl TagLibraryFile {
    /// Checks every tag: each has a unique id and a valid definition, and the tags its
    /// rules name are in the library and do not loop. Errors name `tags[i].…`.
    pub fn check(self) -> Result<TagLibrary, TagError> {
        let mut tags: Vec<(TagId, TagDefinition)> = Vec::with_capacity(self.tags.len());
        for (i, input) in self.tags.into_iter().enumerate() {
            let at = format!("tags[{i}]");
            let (id, definition) = input
                .parse()
                .map_err(|e| TagError::new(format!("{at}.{}", e.path), e.message))?;
            let id = id.ok_or_else(|| TagError::new(format!("{at}.id"), "a library tag needs an id"))?;
            if tags.iter().any(|(seen, _)| *seen == id) {
                return Err(TagError::new(format!("{at}.id"), format!("{id} is listed twice")));
            }
            tags.push((id, definition));
        }
        let by_id: BTreeMap<&str, &TagDefinition> = tags.iter().map(|(id, d)| (id.as_str(), d)).collect();
        for (i, (id, definition)) in tags.iter().enumerate() {
            check_tag_references(id.as_str(), definition, |name| by_id.get(name).copied())
                .map_err(|e| TagError::new(format!("tags[{i}].{}", e.path), e.message))?;
        }
        Ok(TagLibrary {
            id: self.id,
            name: self.name,
            description: self.description,
            tags,
        })
    }
}
