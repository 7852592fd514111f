//! Segments: named audiences, dynamic (kept live from a condition) or static (a
//! snapshot or an upload); sizes, samples, member exports, size history, comparison,
//! previews of unsaved conditions, and one person's segments.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson, ApiQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use orbit_core::ErrorCode;
use orbit_engine::service::audiences::{
    Comparison, MemberPage, MemberRow, Preview, PreviewRequest, ProfileSegments, SavedSegment, SegmentDraft,
    SegmentList, SegmentView, SizeHistory,
};
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

impl ApiBody for SegmentDraft {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
}
impl ApiBody for PreviewRequest {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesRead];
}

/// `POST /v1/segments`: creates a segment.
#[utoipa::path(post, path = "/v1/segments", tag = "segments", request_body = SegmentDraft, security(("api_key" = [])), responses((status = 201, description = "The segment with its size", body = SavedSegment), (status = 400, description = "Bad input; the error names the field"), (status = 409, description = "A segment with this id exists (`already_exists`)")))]
pub async fn create_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(draft): ApiJson<SegmentDraft>,
) -> Result<(StatusCode, Json<SavedSegment>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let saved = state
        .engine
        .audiences()
        .create_segment(caller.workspace(), draft)
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `GET /v1/segments`: every segment with its size.
#[utoipa::path(get, path = "/v1/segments", tag = "segments", security(("api_key" = [])), responses((status = 200, description = "Every segment, by id, with its size", body = SegmentList)))]
pub async fn list_segments(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<SegmentList>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.audiences().segments(caller.workspace()).await?))
}

/// `GET /v1/segments/{id}`: one segment with its size.
#[utoipa::path(get, path = "/v1/segments/{id}", tag = "segments", params(("id" = String, Path, description = "The segment's id")), security(("api_key" = [])), responses((status = 200, description = "The segment with its size", body = SegmentView), (status = 400, description = "Not a segment id (`invalid_id`)"), (status = 404, description = "No such segment")))]
pub async fn get_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<SegmentView>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state.engine.audiences().segment(caller.workspace(), &id).await?,
    ))
}

/// `PUT /v1/segments/{id}`: replaces a segment's definition (a static segment's
/// members are taken again from `members` or its condition).
#[utoipa::path(put, path = "/v1/segments/{id}", tag = "segments", params(("id" = String, Path, description = "The segment's id")), request_body = SegmentDraft, security(("api_key" = [])), responses((status = 200, description = "The segment with its size", body = SavedSegment), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such segment")))]
pub async fn put_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<SegmentDraft>,
) -> Result<Json<SavedSegment>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let saved = state
        .engine
        .audiences()
        .replace_segment(caller.workspace(), &id, draft)
        .await?;
    Ok(Json(saved))
}

/// `DELETE /v1/segments/{id}`: deletes a segment no other segment names.
#[utoipa::path(delete, path = "/v1/segments/{id}", tag = "segments", params(("id" = String, Path, description = "The segment's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 400, description = "Not a segment id (`invalid_id`)"), (status = 404, description = "No such segment"), (status = 409, description = "Other segments name it (`in_use`)")))]
pub async fn delete_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    state
        .engine
        .audiences()
        .delete_segment(caller.workspace(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/segments/preview`: the size and a sample of an unsaved condition.
#[utoipa::path(post, path = "/v1/segments/preview", tag = "segments", request_body = PreviewRequest, security(("api_key" = [])), responses((status = 200, description = "Its size now and a sample", body = Preview), (status = 400, description = "Bad input; the error names the field")))]
pub async fn preview(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state
            .engine
            .audiences()
            .preview(caller.workspace(), request)
            .await?,
    ))
}

/// How a member listing is answered.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembersFormat {
    /// A JSON page (`limit`, `after`).
    #[default]
    Json,
    /// Every member as CSV: `profile_id,user_id,email,phone`.
    Csv,
    /// Every member as JSON lines.
    Jsonl,
}

/// The query of a member listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// `json` (default, paged), `csv` or `jsonl` (everything).
    #[serde(default)]
    #[param(inline)]
    format: MembersFormat,
    /// Page size, 1–10,000 (default 1,000; json only).
    limit: Option<usize>,
    /// The last profile id of the previous page (its `next`).
    after: Option<String>,
}

/// `GET /v1/segments/{id}/members`: members in profile id order, as a JSON page or a
/// whole export.
#[utoipa::path(get, path = "/v1/segments/{id}/members", tag = "segments", params(("id" = String, Path, description = "The segment's id"), MembersQuery), security(("api_key" = [])), responses((status = 200, description = "A page of members (json), or every member as a file", content((MemberPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such segment")))]
pub async fn members(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MembersQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let audiences = state.engine.audiences();
    let workspace = caller.workspace();
    Ok(match query.format {
        MembersFormat::Json => {
            let page = audiences
                .member_page(workspace, &id, query.after.as_deref(), query.limit)
                .await?;
            Json(page).into_response()
        }
        MembersFormat::Csv => {
            let rows = audiences.member_rows(workspace, &id).await?;
            export(csv(&rows), "text/csv; charset=utf-8", &format!("{id}.csv"))
        }
        MembersFormat::Jsonl => {
            let rows = audiences.member_rows(workspace, &id).await?;
            export(jsonl(&rows), "application/x-ndjson", &format!("{id}.jsonl"))
        }
    })
}

pub(crate) fn export(body: String, content_type: &str, file: &str) -> Response {
    let disposition = format!("attachment; filename=\"{file}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

fn csv(rows: &[MemberRow]) -> String {
    // The csv crate quotes whatever needs it (commas, quotes, line breaks of any kind).
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = writer.write_record(["profile_id", "user_id", "email", "phone"]);
    for row in rows {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let _ = writer.write_record([
            row.profile_id.to_string(),
            text(&row.user_id),
            text(&row.email),
            text(&row.phone),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn jsonl(rows: &[MemberRow]) -> String {
    let mut out = String::new();
    for row in rows {
        out.push_str(&serde_json::to_string(row).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The query of a size history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// RFC 3339; default 30 days ago.
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
}

/// `GET /v1/segments/{id}/history`: sizes recorded over time, oldest first.
#[utoipa::path(get, path = "/v1/segments/{id}/history", tag = "segments", params(("id" = String, Path, description = "The segment's id"), HistoryQuery), security(("api_key" = [])), responses((status = 200, description = "The recorded sizes", body = SizeHistory), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such segment")))]
pub async fn history(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<SizeHistory>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let since = query
        .since
        .as_deref()
        .map(|raw| {
            raw.parse::<Timestamp>()
                .map_err(|_| ApiError::at(ErrorCode::InvalidTimestamp, "since", "must be an RFC 3339 time"))
        })
        .transpose()?;
    let history = state
        .engine
        .audiences()
        .size_history(caller.workspace(), &id, since)
        .await?;
    Ok(Json(history))
}

/// The query of a comparison.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// A segment id.
    a: Option<String>,
    /// The segment it is compared with.
    b: Option<String>,
    /// Comma-separated tag ids (default: every tag).
    tags: Option<String>,
}

/// `GET /v1/segments/compare?a=SEG&b=SEG&tags=t1,t2`: for every tag and value, the
/// members of each segment holding it, their shares, the difference in percentage
/// points and the lift; tags that differ most first.
#[utoipa::path(get, path = "/v1/segments/compare", tag = "segments", params(CompareQuery), security(("api_key" = [])), responses((status = 200, description = "Both segments' tag distributions side by side", body = Comparison), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "A segment does not exist; the error names it")))]
pub async fn compare(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> Result<Json<Comparison>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let comparison = state
        .engine
        .audiences()
        .compare(
            caller.workspace(),
            query.a.as_deref(),
            query.b.as_deref(),
            query.tags.as_deref(),
        )
        .await?;
    Ok(Json(comparison))
}

/// `GET /v1/profiles/{id}/segments`: every segment of the workspace the profile is a
/// member of now, dynamic and static.
#[utoipa::path(get, path = "/v1/profiles/{id}/segments", tag = "segments", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "The profile's segments", body = ProfileSegments), (status = 400, description = "Not a profile id (`invalid_id`)"), (status = 404, description = "No such profile")))]
pub async fn profile_segments(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ProfileSegments>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state
            .engine
            .audiences()
            .segments_of(caller.workspace(), &id)
            .await?,
    ))
}
