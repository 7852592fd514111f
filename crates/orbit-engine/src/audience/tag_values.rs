//! Computing tag values into the audience index (ADR 0008).
//!
//! # Contract
//! - Tags are computed in dependency order: a rule that names another tag reads the
//!   values this refresh gave it.
//! - A rule tag gives each profile looked at the **first** value whose condition holds,
//!   or none; only the profiles asked for (or everyone) are looked at, since a rule
//!   reads nothing but the profile's own data and tags.
//! - RFM is population-relative, so it is always computed over every live profile; a
//!   profile whose RFM group changes is looked at again by the rules after it.
//! - Imported and manual values are applied from the catalog, their profile ids mapped
//!   to the live profile through `resolve` (merged-away ids to their survivor); ids
//!   that resolve to nobody live are skipped, never given a number.

use super::index::AudienceIndex;
use super::live::AudienceIndexes;
use super::tags::{RefreshReport, RfmProfile, TagCatalog, TagEntry};
use crate::PipelineHandle;
use foldhash::HashMap;
use orbit_core::audience::Evaluation;
use orbit_core::tags::{RfmFacts, RfmSpec, TagSource, score_population};
use orbit_core::{ProfileId, TagId, WorkspaceId};
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: i64 = 86_400_000;

/// Read and write access to one workspace's index, taken separately: a refresh
/// computes each tag's values under shared access and takes exclusive access only to
/// apply the values that changed, so commits are not held back while rules evaluate.
pub trait IndexAccess {
    /// Runs `f` over the index; `None` when it is gone or was rebuilt since the refresh
    /// began (its dense numbers then mean other profiles).
    fn read<R>(&self, f: impl FnOnce(&AudienceIndex) -> R) -> Option<R>;
    /// Runs `f` over the index exclusively; `None` as for [`IndexAccess::read`].
    fn write<R>(&self, f: impl FnOnce(&mut AudienceIndex) -> R) -> Option<R>;
}

/// Exclusive access to an index held by the caller.
struct Held<'a>(std::cell::RefCell<&'a mut AudienceIndex>);

impl IndexAccess for Held<'_> {
    fn read<R>(&self, f: impl FnOnce(&AudienceIndex) -> R) -> Option<R> {
        Some(f(&self.0.borrow()))
    }

    fn write<R>(&self, f: impl FnOnce(&mut AudienceIndex) -> R) -> Option<R> {
        Some(f(&mut self.0.borrow_mut()))
    }
}

/// Access to one workspace's index through the running pipeline's lock, refused once
/// the indexes have been rebuilt (after a failed write) since it was taken.
pub struct ThroughPipeline<'a> {
    pipeline: &'a PipelineHandle,
    workspace: &'a WorkspaceId,
    generation: u64,
}

impl<'a> ThroughPipeline<'a> {
    /// Access to `workspace`'s index as the indexes are now.
    pub fn new(pipeline: &'a PipelineHandle, workspace: &'a WorkspaceId) -> Self {
        let generation = pipeline.with_audiences(AudienceIndexes::generation);
        Self {
            pipeline,
            workspace,
            generation,
        }
    }
}

impl IndexAccess for ThroughPipeline<'_> {
    fn read<R>(&self, f: impl FnOnce(&AudienceIndex) -> R) -> Option<R> {
        self.pipeline.with_audiences(|audiences| {
            (audiences.generation() == self.generation)
                .then(|| audiences.index(self.workspace).map(f))
                .flatten()
        })
    }

    fn write<R>(&self, f: impl FnOnce(&mut AudienceIndex) -> R) -> Option<R> {
        self.pipeline.with_audiences_mut(|audiences| {
            (audiences.generation() == self.generation).then(|| f(audiences.workspace_index(self.workspace)))
        })
    }
}

/// One tag's values that differ from what the index holds, with RFM scores.
struct TagUpdate {
    changed: Vec<(u32, Vec<String>)>,
    rfm: Option<std::collections::HashMap<ProfileId, RfmProfile>>,
}

impl TagCatalog {
    /// Recomputes a workspace's tag values into its index: rule tags for the profiles
    /// in `only` (dense numbers; `None`: everyone), RFM for everyone, assigned values
    /// re-applied. See the module's contract.
    pub fn refresh(
        &self,
        workspace: &WorkspaceId,
        index: &mut AudienceIndex,
        only: Option<&RoaringBitmap>,
        at: &Evaluation,
        resolve: &dyn Fn(ProfileId) -> Option<ProfileId>,
    ) -> RefreshReport {
        let held = Held(std::cell::RefCell::new(index));
        let report = self.refresh_via(workspace, &held, only, at, resolve);
        report.unwrap_or_else(|| unreachable!("a held index is never gone"))
    }

    /// [`Self::refresh`] through separate read and write access (see [`IndexAccess`]);
    /// `None` when the index went away or was rebuilt meanwhile (the next refresh
    /// starts over).
    pub fn refresh_via<A: IndexAccess>(
        &self,
        workspace: &WorkspaceId,
        access: &A,
        only: Option<&RoaringBitmap>,
        at: &Evaluation,
        resolve: &dyn Fn(ProfileId) -> Option<ProfileId>,
    ) -> Option<RefreshReport> {
        let started = std::time::Instant::now();
        let mut dirty = access.read(|index| match only {
            Some(some) => some & index.live(),
            None => index.live().clone(),
        })?;
        let profiles = dirty.len();
        let mut changes = 0u64;
        let mut rfm_scores = std::collections::HashMap::new();
        for entry in self.in_dependency_order(workspace) {
            let tag = entry.record.id.as_str();
            let update = access.read(|index| compute(entry, index, &dirty, only.is_some(), at, resolve))?;
            let changed: Vec<u32> = access.write(|index| {
                update
                    .changed
                    .into_iter()
                    .filter_map(|(n, values)| index.set_tag_values(n, tag, values).then_some(n))
                    .collect()
            })?;
            changes += changed.len() as u64;
            if !matches!(entry.record.definition.source, TagSource::Rule { .. }) {
                // Rules after this tag may read it: they look at these profiles again.
                dirty.extend(changed);
            }
            if let Some(by_profile) = update.rfm {
                rfm_scores.insert(entry.record.id.clone(), by_profile);
            }
        }
        let report = RefreshReport {
            evaluated_at: at.now,
            full: only.is_none(),
            profiles,
            changes,
            took_ms: started.elapsed().as_secs_f64() * 1_000.0,
        };
        let mut computed = self.computed_mut();
        let state = computed.entry(workspace.clone()).or_default();
        state.rfm = rfm_scores;
        state.last = Some(report);
        if only.is_none() {
            state.last_full = Some(at.now);
        }
        Some(report)
    }

    /// Removes a tag's values from every profile of a workspace's index.
    pub fn clear_values(index: &mut AudienceIndex, tag: &TagId) {
        let everyone: Vec<u32> = index.live().iter().collect();
        for n in everyone {
            index.set_tag_values(n, tag.as_str(), Vec::new());
        }
    }

    /// A workspace's tags, each after the tags its rules name (ids break ties; a loop,
    /// which saving refuses, would be cut at the tag first met).
    fn in_dependency_order(&self, workspace: &WorkspaceId) -> Vec<&TagEntry> {
        let all: BTreeMap<&str, &TagEntry> =
            self.list(workspace).map(|e| (e.record.id.as_str(), e)).collect();
        let mut order = Vec::with_capacity(all.len());
        let mut seen = BTreeSet::new();
        fn visit<'a>(
            name: &str,
            all: &BTreeMap<&str, &'a TagEntry>,
            seen: &mut BTreeSet<String>,
            order: &mut Vec<&'a TagEntry>,
        ) {
            let Some(entry) = all.get(name) else { return };
            if !seen.insert(name.to_owned()) {
                return;
            }
            for (_, condition) in entry.record.definition.source.conditions() {
                for (_, reference) in orbit_core::tags::references(condition) {
                    if let orbit_core::tags::Reference::Tag(inner) = reference {
                        visit(inner, all, seen, order);
                    }
                }
            }
            order.push(entry);
        }
        for name in all.keys() {
            visit(name, &all, &mut seen, &mut order);
        }
        order
    }
}

/// One tag's new values where they differ from the index's, read-only.
fn compute(
    entry: &TagEntry,
    index: &AudienceIndex,
    dirty: &RoaringBitmap,
    partial: bool,
    at: &Evaluation,
    resolve: &dyn Fn(ProfileId) -> Option<ProfileId>,
) -> TagUpdate {
    let tag = entry.record.id.as_str();
    let differs = |n: u32, values: &[String]| !index.tag_values_of(n, tag).iter().eq(values.iter());
    let mut changed = Vec::new();
    let mut rfm = None;
    match &entry.record.definition.source {
        TagSource::Rule { values } => {
            let mut remaining = dirty.clone();
            for rule in values {
                let hits = index.members_among(&rule.condition, at, &HashMap::default(), Some(&remaining));
                remaining -= &hits;
                let value = vec![rule.value.clone()];
                changed.extend(
                    hits.iter()
                        .filter(|n| differs(*n, &value))
                        .map(|n| (n, value.clone())),
                );
            }
            changed.extend(
                remaining
                    .iter()
                    .filter(|n| differs(*n, &[]))
                    .map(|n| (n, Vec::new())),
            );
        }
        TagSource::Rfm { rfm: spec } => {
            let computed = rfm_groups(index, spec, at);
            for n in index.live() {
                let values = computed
                    .get(&n)
                    .map(|p| vec![p.score.group.as_str().to_owned()])
                    .unwrap_or_default();
                if differs(n, &values) {
                    changed.push((n, values));
                }
            }
            rfm = Some(
                computed
                    .into_iter()
                    .filter_map(|(n, p)| Some((index.profile(n)?, p)))
                    .collect(),
            );
        }
        TagSource::Imported { .. } | TagSource::Manual { .. } => {
            let desired = assigned_by_number(entry, index, resolve);
            let mut candidates: RoaringBitmap = desired.keys().copied().collect();
            candidates |= if partial { dirty } else { index.live() };
            for n in &candidates {
                let values = desired.get(&n).cloned().unwrap_or_default();
                if differs(n, &values) {
                    changed.push((n, values));
                }
            }
        }
    }
    TagUpdate { changed, rfm }
}

/// Every live buyer's RFM facts and scores, by dense number.
fn rfm_groups(
    index: &AudienceIndex,
    spec: &RfmSpec,
    at: &Evaluation,
) -> std::collections::HashMap<u32, RfmProfile> {
    let now_ms = at.now.as_millisecond();
    let from_ms = now_ms.saturating_sub(i64::from(spec.window_days) * DAY_MS);
    let mut numbers = Vec::new();
    let mut facts = Vec::new();
    for n in index.live() {
        let summary = index.event_summary(n, &spec.order_event, &spec.amount_property, from_ms, now_ms);
        if let (true, Some(last_ms)) = (summary.count > 0, summary.last_ms) {
            numbers.push(n);
            facts.push(RfmFacts {
                recency_days: u32::try_from((now_ms - last_ms) / DAY_MS).unwrap_or(u32::MAX),
                frequency: summary.count,
                monetary: summary.sum,
            });
        }
    }
    let scores = score_population(&facts);
    numbers
        .into_iter()
        .zip(facts.into_iter().zip(scores))
        .map(|(n, (facts, score))| (n, RfmProfile { facts, score }))
        .collect()
}

/// An imported or manual tag's values by the dense number of the live profile each
/// assigned id resolves to (several ids merged into one profile pool their values).
fn assigned_by_number(
    entry: &TagEntry,
    index: &AudienceIndex,
    resolve: &dyn Fn(ProfileId) -> Option<ProfileId>,
) -> std::collections::HashMap<u32, Vec<String>> {
    let mut desired: std::collections::HashMap<u32, Vec<String>> = std::collections::HashMap::new();
    for (profile, values) in &entry.assigned {
        let Some(n) = resolve(*profile).and_then(|live| index.find(live)) else {
            continue;
        };
        let held = desired.entry(n).or_default();
        held.extend(values.iter().cloned());
        held.sort_unstable();
        held.dedup();
    }
    desired
}
