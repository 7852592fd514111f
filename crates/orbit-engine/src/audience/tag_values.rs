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
use super::tags::{RefreshReport, RfmProfile, TagCatalog, TagEntry};
use foldhash::HashMap;
use orbit_core::audience::Evaluation;
use orbit_core::tags::{RfmFacts, RfmSpec, TagSource, score_population};
use orbit_core::{ProfileId, TagId, WorkspaceId};
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: i64 = 86_400_000;

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
        let started = std::time::Instant::now();
        let mut dirty = match only {
            Some(some) => some & index.live(),
            None => index.live().clone(),
        };
        let profiles = dirty.len();
        let mut changes = 0u64;
        let mut rfm_scores = std::collections::HashMap::new();
        let tags: Vec<&TagEntry> = self.in_dependency_order(workspace);
        for entry in tags {
            let tag = entry.record.id.as_str();
            match &entry.record.definition.source {
                TagSource::Rule { values } => {
                    let mut remaining = dirty.clone();
                    for rule in values {
                        let hits =
                            index.members_among(&rule.condition, at, &HashMap::default(), Some(&remaining));
                        remaining -= &hits;
                        for n in &hits {
                            changes += u64::from(index.set_tag_values(n, tag, vec![rule.value.clone()]));
                        }
                    }
                    for n in &remaining {
                        changes += u64::from(index.set_tag_values(n, tag, Vec::new()));
                    }
                }
                TagSource::Rfm { rfm } => {
                    let computed = rfm_groups(index, rfm, at);
                    let everyone: Vec<u32> = index.live().iter().collect();
                    for n in everyone {
                        let values = computed
                            .get(&n)
                            .map(|p| vec![p.score.group.as_str().to_owned()])
                            .unwrap_or_default();
                        if index.set_tag_values(n, tag, values) {
                            changes += 1;
                            dirty.insert(n);
                        }
                    }
                    let by_profile = computed
                        .into_iter()
                        .filter_map(|(n, p)| Some((index.profile(n)?, p)))
                        .collect();
                    rfm_scores.insert(entry.record.id.clone(), by_profile);
                }
                TagSource::Imported { .. } | TagSource::Manual { .. } => {
                    let desired = assigned_by_number(entry, index, resolve);
                    let mut candidates: RoaringBitmap = desired.keys().copied().collect();
                    candidates |= match only {
                        Some(_) => &dirty,
                        None => index.live(),
                    };
                    for n in &candidates {
                        let values = desired.get(&n).cloned().unwrap_or_default();
                        if index.set_tag_values(n, tag, values) {
                            changes += 1;
                            dirty.insert(n);
                        }
                    }
                }
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
        report
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
