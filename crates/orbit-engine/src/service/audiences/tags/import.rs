//! An imported tag's values from a file: CSV with the columns `identity,value`, or
//! JSON lines `{"identity": "phone:13800138000", "value": "vip"}`. Each line names
//! one person by an identity (`TYPE:VALUE`) or a profile id (`profile_id:UUID`); lines
//! that match nobody, or carry a value the tag does not accept, are reported with
//! their line numbers and the rest are applied.

use super::{Audiences, RefreshScope, assignments_for, parse_tag_id};
use crate::EngineError;
use orbit_core::event::clean_identity;
use orbit_core::profile::Profile;
use orbit_core::tags::{TagSource, clean_value};
use orbit_core::{ErrorCode, IdentityKind, Problem, ProfileId, WorkspaceId};
use orbit_store::TagAssignment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Most unmatched lines an answer lists (all are counted).
const MAX_LISTED: usize = 1_000;

/// How an uploaded file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// A header line naming `identity` and `value`, then one line per value.
    Csv,
    /// One JSON object per line: `{"identity", "value"}`.
    Jsonl,
}

/// A line that was not applied, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnmatchedLine {
    /// Its line number in the file, from 1.
    pub line: usize,
    /// The identity it named, as written.
    pub identity: String,
    /// `unreadable_line`, `invalid_identity`, `unknown_profile` or `invalid_value`.
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Lines read (blank lines aside).
    pub lines: usize,
    /// Lines applied.
    pub assigned: usize,
    /// Distinct profiles the applied lines named.
    pub profiles: usize,
    /// Whether the file replaced every value of the tag.
    pub replaced: bool,
    /// How many lines were not applied.
    pub unmatched_count: usize,
    /// The first 1,000 of them, by line.
    pub unmatched: Vec<UnmatchedLine>,
}

/// One line of the file.
struct Line {
    number: usize,
    identity: String,
    value: String,
}

fn invalid_file(field: &str, message: impl Into<String>) -> Problem {
    Problem::at(ErrorCode::InvalidFile, field, message)
}

fn unreadable(line: usize, message: String) -> UnmatchedLine {
    UnmatchedLine {
        line,
        identity: String::new(),
        code: ErrorCode::UnreadableLine,
        message,
    }
}

fn read_csv(bytes: &[u8]) -> Result<(Vec<Line>, Vec<UnmatchedLine>), Problem> {
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
            Err(error) => unmatched.push(unreadable(
                error.position().map_or(0, |p| p.line() as usize),
                error.to_string(),
            )),
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

fn read_jsonl(bytes: &[u8]) -> Result<(Vec<Line>, Vec<UnmatchedLine>), Problem> {
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
            Err(error) => unmatched.push(unreadable(i + 1, error.to_string())),
        }
    }
    Ok((lines, unmatched))
}

impl Audiences {
    /// The profile a line names, or why none.
    fn line_profile(&self, workspace: &WorkspaceId, raw: &str) -> Result<Profile, (ErrorCode, String)> {
        let unknown = || {
            (
                ErrorCode::UnknownProfile,
                "no profile holds this identity".to_owned(),
            )
        };
        let raw = raw.trim();
        let by_id = |id: &str| -> Result<Profile, (ErrorCode, String)> {
            let id = ProfileId::parse(id.trim())
                .map_err(|e| (ErrorCode::InvalidIdentity, format!("profile id {e}")))?;
            self.pipeline.profile(workspace, id).ok_or_else(unknown)
        };
        if ProfileId::parse(raw).is_ok() {
            return by_id(raw);
        }
        let Some((kind, value)) = raw.split_once(':') else {
            return Err((
                ErrorCode::InvalidIdentity,
                "write TYPE:VALUE, e.g. phone:13800138000 or profile_id:UUID".to_owned(),
            ));
        };
        if kind.trim() == "profile_id" {
            return by_id(value);
        }
        let kind =
            IdentityKind::parse(kind.trim()).map_err(|e| (ErrorCode::InvalidIdentity, e.to_string()))?;
        let identity = clean_identity(kind, value.trim(), self.default_region)
            .map_err(|message| (ErrorCode::InvalidIdentity, message))?;
        self.pipeline
            .profile_by_identity(workspace, &identity)
            .ok_or_else(unknown)
    }

    /// Sets an imported tag's values from a file. `format` left out is read from the
    /// file's first byte (`{` for JSON lines). With `replace`, the file holds every
    /// value of the tag and profiles it does not name lose theirs; otherwise only the
    /// profiles it names change.
    ///
    /// # Errors
    /// `not_found`; `not_imported` for a tag of another kind; `invalid_file` for a
    /// file that cannot be read at all.
    pub async fn import_tag_values(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        file: &[u8],
        format: Option<ImportFormat>,
        replace: bool,
    ) -> Result<ImportReport, EngineError> {
        let id = parse_tag_id(id, "id")?;
        let entry = self.stored_tag(workspace, &id)?;
        let source = &entry.record.definition.source;
        if !matches!(source, TagSource::Imported { .. }) {
            return Err(Problem::new(
                ErrorCode::NotImported,
                format!(
                    "tag {id} is {}; only imported tags take files",
                    source.kind().as_str()
                ),
            )
            .into());
        }
        let format = format.unwrap_or_else(|| {
            if file.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                ImportFormat::Jsonl
            } else {
                ImportFormat::Csv
            }
        });
        let (lines, mut unmatched) = match format {
            ImportFormat::Jsonl => read_jsonl(file)?,
            ImportFormat::Csv => read_csv(file)?,
        };
        let total = lines.len() + unmatched.len();
        let mut by_profile: BTreeMap<ProfileId, (Profile, Vec<String>)> = BTreeMap::new();
        let mut applied = 0usize;
        for line in lines {
            let refuse = |code, message| UnmatchedLine {
                line: line.number,
                identity: line.identity.clone(),
                code,
                message,
            };
            let value = match clean_value(&line.value) {
                Ok(value) if source.accepts(&value) => value,
                Ok(value) => {
                    unmatched.push(refuse(
                        ErrorCode::InvalidValue,
                        format!("{value:?} is not one of the tag's values"),
                    ));
                    continue;
                }
                Err(message) => {
                    unmatched.push(refuse(ErrorCode::InvalidValue, message));
                    continue;
                }
            };
            match self.line_profile(workspace, &line.identity) {
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
        if replace {
            let kept: Vec<TagAssignment> = assignments.into_iter().filter(|a| !a.values.is_empty()).collect();
            self.stores.tags.replace_tag_values(workspace, &id, &kept).await?;
            self.tags.write().replace_assigned(workspace, &id, &kept);
            self.refresh_tags(workspace, RefreshScope::Everyone).await?;
        } else {
            self.assign(workspace, &id, &assignments).await?;
        }
        unmatched.sort_by_key(|u| u.line);
        Ok(ImportReport {
            lines: total,
            assigned: applied,
            profiles: by_profile.len(),
            replaced: replace,
            unmatched_count: unmatched.len(),
            unmatched: unmatched.into_iter().take(MAX_LISTED).collect(),
        })
    }
}
