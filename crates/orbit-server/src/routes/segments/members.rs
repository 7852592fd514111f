//! Members of a segment: JSON pages, CSV and JSONL exports.

use super::{Want, evaluate, parse_segment_id, stored};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use orbit_core::{IdentityKind, ProfileId, WorkspaceId};
use orbit_store::Scope;
use serde::Deserialize;
use serde_json::{Value, json};

/// Most members one page of `members` holds.
const MAX_PAGE: usize = 10_000;

/// The query of a member listing.
#[derive(Debug, Deserialize)]
pub struct MembersQuery {
    format: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

/// `GET /v1/segments/{id}/members`: members in profile id order, as a JSON page
/// (`limit`, `after`) or a whole export (`format=csv|jsonl`).
#[utoipa::path(get, path = "/v1/segments/{id}/members", tag = "segments", params(("id" = String, Path, description = "The segment's id"), ("format" = Option<String>, Query, description = "json (default, paged), csv or jsonl (everything)"), ("limit" = Option<usize>, Query, description = "Page size, at most 10000 (json)"), ("after" = Option<String>, Query, description = "The last profile id of the previous page")), security(("api_key" = [])), responses((status = 200, description = "A page `{members, next}` or an export"), (status = 404, description = "Not found")))]
pub async fn members(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MembersQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let id = parse_segment_id(&id)?;
    stored(&state, caller.workspace(), &id)?;
    let format = query.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv" | "jsonl") {
        return Err(ApiError::bad_request(
            "invalid_request",
            "format",
            "must be json, csv or jsonl",
        ));
    }
    let after = query
        .after
        .as_deref()
        .map(|raw| {
            ProfileId::parse(raw)
                .map_err(|e| ApiError::bad_request("invalid_request", "after", format!("profile id {e}")))
        })
        .transpose()?;
    let answer = evaluate(&state, caller.workspace(), Err(id.clone()), Want::All).await?;
    let rows = answer
        .members
        .iter()
        .map(|p| member_row(&state, caller.workspace(), *p));
    match format {
        "csv" => {
            let mut out = String::from("profile_id,user_id,email,phone\n");
            for row in rows {
                out.push_str(&row.csv());
            }
            Ok(export(out, "text/csv; charset=utf-8", &format!("{id}.csv")))
        }
        "jsonl" => {
            let mut out = String::new();
            for row in rows {
                out.push_str(&row.json().to_string());
                out.push('\n');
            }
            Ok(export(out, "application/x-ndjson", &format!("{id}.jsonl")))
        }
        _ => {
            let limit = query.limit.unwrap_or(1_000).clamp(1, MAX_PAGE);
            let start = after.map_or(0, |a| answer.members.partition_point(|p| *p <= a));
            let page: Vec<ProfileId> = answer.members.iter().skip(start).take(limit).copied().collect();
            let next = (start + page.len() < answer.members.len())
                .then(|| page.last().map(ToString::to_string))
                .flatten();
            let members: Vec<Value> = page
                .iter()
                .map(|p| member_row(&state, caller.workspace(), *p).json())
                .collect();
            Ok(Json(json!({"size": answer.size, "members": members, "next": next})).into_response())
        }
    }
}

pub(crate) fn export(body: String, content_type: &str, file: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// One member with the identities marketers match on.
struct MemberRow {
    id: ProfileId,
    user_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

impl MemberRow {
    fn json(&self) -> Value {
        json!({"profile_id": self.id, "user_id": self.user_id, "email": self.email, "phone": self.phone})
    }

    fn csv(&self) -> String {
        let field = |v: &Option<String>| {
            let v = v.as_deref().unwrap_or("");
            if v.contains([',', '"', '\n']) {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.to_owned()
            }
        };
        format!(
            "{},{},{},{}\n",
            self.id,
            field(&self.user_id),
            field(&self.email),
            field(&self.phone)
        )
    }
}

fn member_row(state: &AppState, workspace: &WorkspaceId, id: ProfileId) -> MemberRow {
    let profile = state.pipeline.profile(workspace, id);
    let first = |kind: &IdentityKind| {
        profile.as_ref().and_then(|p| {
            p.identities
                .iter()
                .find(|i| &i.kind == kind)
                .map(|i| i.value.clone())
        })
    };
    MemberRow {
        id,
        user_id: first(&IdentityKind::UserId),
        email: first(&IdentityKind::Email),
        phone: first(&IdentityKind::Phone),
    }
}
