//! Industry tag libraries (行业标签库): templates of tags, shipped inside the binary as
//! JSON (`tag-libraries/*.json`), that a workspace installs and then edits like any
//! other tag. Rules use the standard events and traits of `docs/tracking-plan.md`.

use orbit_core::tags::{TagLibrary, TagLibraryFile};
use std::sync::OnceLock;

/// The libraries' files, in the order they are listed.
const FILES: [(&str, &str); 5] = [
    ("retail", include_str!("../../tag-libraries/retail.json")),
    ("tea", include_str!("../../tag-libraries/tea.json")),
    ("cosmetics", include_str!("../../tag-libraries/cosmetics.json")),
    ("auto", include_str!("../../tag-libraries/auto.json")),
    ("education", include_str!("../../tag-libraries/education.json")),
];

/// Reads and checks one library file; the error names the file and the field.
pub fn parse_library(file: &str, text: &str) -> Result<TagLibrary, String> {
    let raw: TagLibraryFile = serde_json::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    if raw.id != file {
        return Err(format!("{file}: the library's id is {:?}", raw.id));
    }
    raw.check().map_err(|e| format!("{file}: {e}"))
}

/// Every bundled library.
pub fn libraries() -> &'static [TagLibrary] {
    static LIBRARIES: OnceLock<Vec<TagLibrary>> = OnceLock::new();
    LIBRARIES.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(file, text)| match parse_library(file, text) {
                Ok(library) => Some(library),
                Err(error) => {
                    // `bundled_libraries_are_valid` keeps this from happening.
                    tracing::error!(%error, "a bundled tag library is invalid");
                    None
                }
            })
            .collect()
    })
}

/// One bundled library by id.
pub fn library(id: &str) -> Option<&'static TagLibrary> {
    libraries().iter().find(|l| l.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_core::tags::{TagFamily, TagKind};

    #[test]
    fn bundled_libraries_are_valid() {
        for (file, text) in FILES {
            let library = parse_library(file, text).unwrap_or_else(|e| panic!("{e}"));
            let count = library.tags.len();
            assert!((6..=12).contains(&count), "{file} has {count} tags");
            let kinds: Vec<TagKind> = library.tags.iter().map(|(_, d)| d.source.kind()).collect();
            assert!(kinds.contains(&TagKind::Rfm), "{file} has an RFM tag");
            let lifecycle = library
                .tags
                .iter()
                .find(|(_, d)| d.family == TagFamily::Lifecycle)
                .unwrap_or_else(|| panic!("{file} has a lifecycle tag"));
            assert_eq!(lifecycle.1.source.kind(), TagKind::Rule);
            for (id, definition) in &library.tags {
                assert!(
                    definition
                        .name
                        .chars()
                        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "{file}/{id} has a Chinese name"
                );
                assert!(!definition.description.is_empty(), "{file}/{id} is described");
            }
        }
        assert_eq!(libraries().len(), FILES.len());
        assert!(library("tea").is_some() && library("nope").is_none());
    }
}
