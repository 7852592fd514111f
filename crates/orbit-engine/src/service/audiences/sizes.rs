//! Every segment's size as the engine keeps it, for the dashboard: cheap enough to ask
//! for on every page load, whatever the number of profiles.

use super::Audiences;
use crate::EngineError;
use orbit_core::{SegmentId, WorkspaceId};
use orbit_store::SegmentKind;
use serde::Serialize;
use utoipa::ToSchema;

/// A segment and how many people are in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SegmentSize {
    /// Its id.
    pub id: SegmentId,
    /// Its display name.
    pub name: String,
    /// `dynamic` or `static`.
    #[serde(rename = "type")]
    pub kind: SegmentKind,
    /// How many people are in it.
    pub size: u64,
}

impl Audiences {
    /// Every segment of the workspace with its size, largest first (ties by id).
    ///
    /// A dynamic segment's size is its membership as last announced, which the
    /// membership watcher keeps up with every commit and, for conditions on time,
    /// every minute: counting it is free, where evaluating every condition again would
    /// cost each segment its own pass over the index. A static segment's is its stored
    /// members still live, and a segment without an announced membership yet is
    /// evaluated.
    ///
    /// # Errors
    /// Fails when a segment cannot be evaluated.
    pub async fn kept_sizes(&self, workspace: &WorkspaceId) -> Result<Vec<SegmentSize>, EngineError> {
        let definitions: Vec<(SegmentId, String, SegmentKind)> = self
            .segments
            .read()
            .list(workspace)
            .map(|d| (d.record.id.clone(), d.record.name.clone(), d.record.kind))
            .collect();
        let announced: Vec<Option<u64>> = self.pipeline.with_audience(workspace, |index| {
            definitions
                .iter()
                .map(|(id, _, kind)| match (index, kind) {
                    (None, _) => Some(0),
                    (Some(index), SegmentKind::Dynamic) => {
                        index.announced(id.as_str()).map(|a| a.members.len())
                    }
                    (Some(_), SegmentKind::Static) => None,
                })
                .collect()
        });
        let mut sizes = Vec::with_capacity(definitions.len());
        for ((id, name, kind), kept) in definitions.into_iter().zip(announced) {
            let size = match kept {
                Some(size) => size,
                None => self.size_of(workspace, &id).await?,
            };
            sizes.push(SegmentSize { id, name, kind, size });
        }
        sizes.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.id.cmp(&b.id)));
        Ok(sizes)
    }
}
