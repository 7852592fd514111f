//! Uploading an imported tag's values: CSV with the columns `identity,value`, or JSON
//! lines `{"identity": "phone:13800138000", "value": "vip"}`. Each line names one
//! person by an identity (`TYPE:VALUE`) or a profile id (`profile_id:UUID`); lines
//! that match nobody, or carry a value the tag does not accept, are reported with
//! their line numbers and the rest are applied.

use super::values::{assign, assignments_for};
use super::{parse_tag_id, stored_tag, write_catalog};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_bytes;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::tag_refresher::{RefreshScope, refresh_tags};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use orbit_core::event::clean_identity;
use orbit_core::profile::Profile;
use orbit_core::tags::{TagSource, clean_value};
use orbit_core::{IdentityKind, ProfileId, WorkspaceId};
use orbit_store::{Scope, TagAssignment};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Most unmatched lines an answer lists (all are counted).
const MAX_LISTED: usize = 1_000;

/// The query of an import.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    /// `true`: the file holds every value of the tag; profiles it does not name lose
    /// theirs. Default: only the profiles it names change.
    #[serde(default)]
    replace: bool,
    /// `csv` or `jsonl`; default from the content type, else from the first byte.
    format: Option<String>,
}

/// One line of the file.
struct Line {
    number: usize,
    identity: String,
    value: String,
}

/// A line that was not applied, and why.
struct Unmatched {
    line: usize,
    identity: String,
    code: &'static str,
    message: String,
}

impl Unmatched {
    fn view(&self) -> Value {
        json!({"line": self.line, "identity": self.identity, "code": self.code, "message": self.message})
    }
}

fn invalid_file(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_file", field, message)
}

fn read_csv(bytes: &[u8]) -> Result<(Vec<Line>, Vec<Unmatched>), ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| invalid_file("header", format!("the header line is unreadable: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(identity_at), Some(value_at)) = (column("identity"), column("value")) else {
        return Err(invalid_file(
            "header",
            "the first line must name the columns identity and value",
        ));
    };
    let (mut lines, mut unmatched) = (Vec::new(), Vec::new());
    for record in reader.records() {
        match record {
            Ok(record) => {
                let number = record.position().map_or(0, |p| p.line() as usize);
                let field = |at: usize| record.get(at).unwrap_or_default().to_owned();
                lines.push(Line {
                    number,
                    identity: field(identity_at),
                    value: field(value_at),
                });
            }
            Err(error) => unmatched.push(Unmatched {
                line: error.position().map_or(0, |p| p.line() as usize),
                identity: String::new(),
                code: "unreadable_line",
                message: error.to_string(),
            }),
        }
    }
    Ok((lines, unmatched))
}

/// One JSON line.
#[derive(Debug, Deserialize)]
struct JsonLine {
    identity: String,
    value: String,
}

fn read_jsonl(bytes: &[u8]) -> Result<(Vec<Line>, Vec<Unmatched>), ApiError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| invalid_file("", format!("the file is not UTF-8: {e}")))?;
    let (mut lines, mut unmatched) = (Vec::new(), Vec::new());
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<JsonLine>(raw) {
            Ok(line) => lines.push(Line {
                number: i + 1,
                identity: line.identity,
                value: line.value,
            }),
            Err(error) => unmatched.push(Unmatched {
                line: i + 1,
                identity: String::new(),
                code: "unreadable_line",
                message: error.to_string(),
            }),
        }
    }
    Ok((lines, unmatched))
}

/// The profile a line names, or why none.
fn find_profile(
    state: &AppState,
    workspace: &WorkspaceId,
    raw: &str,
) -> Result<Profile, (&'static str, String)> {
    let unknown = || ("unknown_profile", "no profile holds this identity".to_owned());
    let raw = raw.trim();
    let by_id = |id: &str| -> Result<Profile, (&'static str, String)> {
        let id = ProfileId::parse(id.trim()).map_err(|e| ("invalid_identity", format!("profile id {e}")))?;
        state.pipeline.profile(workspace, id).ok_or_else(unknown)
    };
    if ProfileId::parse(raw).is_ok() {
        return by_id(raw);
    }
    let Some((kind, value)) = raw.split_once(':') else {
        return Err((
            "invalid_identity",
            "write TYPE:VALUE, e.g. phone:13800138000 or profile_id:UUID".to_owned(),
        ));
    };
    if kind.trim() == "profile_id" {
        return by_id(value);
    }
    let kind = IdentityKind::parse(kind.trim()).map_err(|e| ("invalid_identity", e.to_string()))?;
    let identity = clean_identity(kind, value.trim(), state.settings.default_region)
        .map_err(|message| ("invalid_identity", message))?;
    state
        .pipeline
        .profile_by_identity(workspace, &identity)
        .ok_or_else(unknown)
}

fn wants_jsonl(query: &ImportQuery, headers: &HeaderMap, bytes: &[u8]) -> Result<bool, ApiError> {
    if let Some(format) = query.format.as_deref() {
        return match format {
            "csv" => Ok(false),
            "jsonl" => Ok(true),
            _ => Err(ApiError::bad_request(
                "invalid_query",
                "format",
                "must be csv or jsonl",
            )),
        };
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.contains("csv") {
        return Ok(false);
    }
    if content_type.contains("json") {
        return Ok(true);
    }
    Ok(bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// `POST /v1/tags/{id}/import`: sets an imported tag's values from a file.
#[utoipa::path(post, path = "/v1/tags/{id}/import", tag = "tags", params(("id" = String, Path, description = "An imported tag's id"), ("replace" = Option<bool>, Query, description = "true: profiles the file does not name lose the tag"), ("format" = Option<String>, Query, description = "csv or jsonl (default: from Content-Type)")), request_body(content = String, description = "CSV `identity,value` lines (text/csv) or JSON lines (application/x-ndjson)"), security(("api_key" = [])), responses((status = 200, description = "`{lines, assigned, profiles, unmatched_count, unmatched: [{line, identity, code, message}]}`"), (status = 400, description = "Unreadable file; the error names the field"), (status = 404, description = "Not found"), (status = 409, description = "The tag is not an imported tag")))]
pub async fn import_values(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let workspace = caller.workspace().clone();
    let id = parse_tag_id(&id, "id")?;
    let entry = stored_tag(&state, &workspace, &id)?;
    let source = &entry.record.definition.source;
    if !matches!(source, TagSource::Imported { .. }) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_imported",
            format!(
                "tag {id} is {}; only imported tags take files",
                source.kind().as_str()
            ),
        ));
    }
    let bytes = read_bytes(&headers, body).await?;
    let (lines, mut unmatched) = if wants_jsonl(&query, &headers, &bytes)? {
        read_jsonl(&bytes)?
    } else {
        read_csv(&bytes)?
    };
    let total = lines.len() + unmatched.len();
    let mut by_profile: BTreeMap<ProfileId, (Profile, Vec<String>)> = BTreeMap::new();
    let mut applied = 0usize;
    for line in lines {
        let refuse = |code, message| Unmatched {
            line: line.number,
            identity: line.identity.clone(),
            code,
            message,
        };
        let value = match clean_value(&line.value) {
            Ok(value) if source.accepts(&value) => value,
            Ok(value) => {
                unmatched.push(refuse(
                    "invalid_value",
                    format!("{value:?} is not one of the tag's values"),
                ));
                continue;
            }
            Err(message) => {
                unmatched.push(refuse("invalid_value", message));
                continue;
            }
        };
        match find_profile(&state, &workspace, &line.identity) {
            Ok(profile) => {
                applied += 1;
                by_profile
                    .entry(profile.id)
                    .or_insert_with(|| (profile, Vec::new()))
                    .1
                    .push(value);
            }
            Err((code, message)) => unmatched.push(refuse(code, message)),
        }
    }
    let mut assignments: Vec<TagAssignment> = Vec::new();
    for (profile, mut values) in by_profile.values().cloned() {
        values.sort_unstable();
        values.dedup();
        assignments.extend(assignments_for(&profile, &values));
    }
    if query.replace {
        let kept: Vec<TagAssignment> = assignments.into_iter().filter(|a| !a.values.is_empty()).collect();
        state.tag_store.replace_tag_values(&workspace, &id, &kept).await?;
        write_catalog(&state).replace_assigned(&workspace, &id, &kept);
        refresh_tags(&state, &workspace, RefreshScope::Everyone).await?;
    } else {
        assign(&state, &workspace, &id, &assignments).await?;
    }
    unmatched.sort_by_key(|u| u.line);
    Ok(Json(json!({
        "lines": total,
        "assigned": applied,
        "profiles": by_profile.len(),
        "replaced": query.replace,
        "unmatched_count": unmatched.len(),
        "unmatched": unmatched.iter().take(MAX_LISTED).map(Unmatched::view).collect::<Vec<_>>(),
    })))
}
