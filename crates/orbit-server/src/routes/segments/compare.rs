//! Comparing two segments' tag distributions (churned vs paying users: the difference
//! is the growth opportunity).

use super::{evaluation, parse_segment_id, stored};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::tags::{label_of, read_catalog};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use orbit_core::audience::ConditionError;
use orbit_core::tags::TagDefinition;
use orbit_core::{SegmentId, TagId};
use orbit_store::Scope;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// The query of a comparison.
#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
    /// Comma-separated tag ids; default every tag.
    tags: Option<String>,
}

/// Holders of each tag and value among one segment's members.
#[derive(Debug, Default)]
struct Tally {
    size: u64,
    holders: HashMap<String, u64>,
    values: HashMap<(String, String), u64>,
}

fn share(count: u64, size: u64) -> f64 {
    if size == 0 {
        0.0
    } else {
        count as f64 / size as f64
    }
}

fn side(count: u64, size: u64) -> Value {
    json!({"count": count, "share": share(count, size)})
}

fn segment_named(
    state: &AppState,
    caller: &ApiCaller,
    raw: Option<&str>,
    field: &str,
) -> Result<SegmentId, ApiError> {
    let raw =
        raw.ok_or_else(|| ApiError::bad_request("invalid_query", field, "name the segment to compare"))?;
    let id = parse_segment_id(raw).map_err(|e| e.with_field(field))?;
    stored(state, caller.workspace(), &id).map_err(|_| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no segment {id}")).with_field(field)
    })?;
    Ok(id)
}

/// `GET /v1/segments/compare?a=SEG&b=SEG&tags=t1,t2`: for every tag and value, the
/// members of each segment holding it, their shares, the difference in percentage
/// points and the lift; tags that differ most first.
#[utoipa::path(get, path = "/v1/segments/compare", tag = "segments", params(("a" = String, Query, description = "A segment id"), ("b" = String, Query, description = "The segment compared with"), ("tags" = Option<String>, Query, description = "Comma-separated tag ids (default: every tag)")), security(("api_key" = [])), responses((status = 200, description = "`{a: {id, name, size}, b, evaluated_at, tags: [{tag, name, max_difference_pp, a: {count, share}, b, values: [{value, label, a, b, difference_pp, lift}]}]}`"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "A segment does not exist; the error names it")))]
pub async fn compare(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let workspace = caller.workspace().clone();
    let a = segment_named(&state, &caller, query.a.as_deref(), "a")?;
    let b = segment_named(&state, &caller, query.b.as_deref(), "b")?;
    let definitions: BTreeMap<TagId, TagDefinition> = {
        let catalog = read_catalog(&state);
        let all: BTreeMap<TagId, TagDefinition> = catalog
            .list(&workspace)
            .map(|e| (e.record.id.clone(), e.record.definition.clone()))
            .collect();
        match query.tags.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => all,
            Some(list) => {
                let mut chosen = BTreeMap::new();
                for raw in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    let found = TagId::parse(raw)
                        .ok()
                        .and_then(|id| all.get_key_value(&id).map(|(k, v)| (k.clone(), v.clone())));
                    let (id, definition) = found.ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_query",
                            "tags",
                            format!("no tag {raw:?} in this workspace"),
                        )
                    })?;
                    chosen.insert(id, definition);
                }
                chosen
            }
        }
    };
    let at = evaluation(&state, &workspace);
    let evaluated_at = at.now;
    let (pipeline, catalog, ids) = (
        state.pipeline.clone(),
        state.segments.clone(),
        (a.clone(), b.clone()),
    );
    let wanted: Vec<String> = definitions.keys().map(|id| id.as_str().to_owned()).collect();
    let job = move || -> Result<(Tally, Tally), ConditionError> {
        let catalog = catalog.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        pipeline.with_audience(&workspace, |index| {
            let Some(index) = index else {
                return Ok((Tally::default(), Tally::default()));
            };
            let tally = |id: &SegmentId| -> Result<Tally, ConditionError> {
                let members = catalog.segment_members(&workspace, index, id, &at)?;
                let mut t = Tally {
                    size: members.len(),
                    ..Tally::default()
                };
                for n in &members {
                    for (tag, values) in index.tags_of(n).into_iter().flatten() {
                        if !wanted.iter().any(|w| w == tag) {
                            continue;
                        }
                        *t.holders.entry(tag.to_owned()).or_default() += 1;
                        for value in values {
                            *t.values.entry((tag.to_owned(), value.to_owned())).or_default() += 1;
                        }
                    }
                }
                Ok(t)
            };
            Ok((tally(&ids.0)?, tally(&ids.1)?))
        })
    };
    let (ta, tb) = tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::bad_request("invalid_condition", "condition", e.message))?;

    let mut tags: Vec<(f64, Value)> = definitions
        .iter()
        .map(|(id, definition)| {
            let tag = id.as_str();
            let mut values: Vec<&String> = ta
                .values
                .keys()
                .chain(tb.values.keys())
                .filter(|(t, _)| t == tag)
                .map(|(_, v)| v)
                .collect();
            values.sort_unstable();
            values.dedup();
            let mut rows: Vec<(f64, Value)> = values
                .into_iter()
                .map(|value| {
                    let key = (tag.to_owned(), value.clone());
                    let (ca, cb) = (
                        ta.values.get(&key).copied().unwrap_or(0),
                        tb.values.get(&key).copied().unwrap_or(0),
                    );
                    let (sa, sb) = (share(ca, ta.size), share(cb, tb.size));
                    let difference = (sa - sb) * 100.0;
                    let lift = (sb > 0.0).then(|| sa / sb);
                    let row = json!({
                        "value": value,
                        "label": label_of(definition, value),
                        "a": side(ca, ta.size),
                        "b": side(cb, tb.size),
                        "difference_pp": difference,
                        "lift": lift,
                    });
                    (difference.abs(), row)
                })
                .collect();
            rows.sort_by(|x, y| {
                y.0.total_cmp(&x.0)
                    .then_with(|| x.1["value"].as_str().cmp(&y.1["value"].as_str()))
            });
            let max = rows.first().map_or(0.0, |r| r.0);
            let (ha, hb) = (
                ta.holders.get(tag).copied().unwrap_or(0),
                tb.holders.get(tag).copied().unwrap_or(0),
            );
            let view = json!({
                "tag": tag,
                "name": definition.name,
                "kind": definition.source.kind(),
                "max_difference_pp": max,
                "a": side(ha, ta.size),
                "b": side(hb, tb.size),
                "values": rows.into_iter().map(|r| r.1).collect::<Vec<_>>(),
            });
            (max, view)
        })
        .collect();
    // Stable: equal differences keep tag id order.
    tags.sort_by(|x, y| y.0.total_cmp(&x.0));
    let named = |id: &SegmentId, size: u64| -> Result<Value, ApiError> {
        let definition = stored(&state, caller.workspace(), id)?;
        Ok(json!({"id": id, "name": definition.record.name, "size": size}))
    };
    Ok(Json(json!({
        "a": named(&a, ta.size)?,
        "b": named(&b, tb.size)?,
        "evaluated_at": evaluated_at,
        "tags": tags.into_iter().map(|t| t.1).collect::<Vec<_>>(),
    })))
}
