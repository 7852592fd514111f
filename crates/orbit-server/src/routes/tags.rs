//! Tags: definitions (rule, RFM, imported, manual) and how many profiles hold each
//! value; a profile's tags and values set on one profile by hand; files of imported
//! values; industry tag libraries.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_bytes;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson, ApiQuery};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use orbit_core::tags::TagInput;
use orbit_engine::service::audiences::{
    AssignValues, AssignedValues, ImportFormat, ImportReport, InstallReport, LibraryDetail, LibraryList,
    ProfileTags, TagListing, TagView,
};
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use utoipa::IntoParams;

impl ApiBody for TagInput {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
}
impl ApiBody for AssignValues {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
}

/// `POST /v1/tags`: creates a tag; its values are computed before the answer.
#[utoipa::path(post, path = "/v1/tags", tag = "tags", request_body = TagInput, security(("api_key" = [])), responses((status = 201, description = "The tag with its counts", body = TagView), (status = 400, description = "Bad input; the error names the field (`values[2].condition.window`)"), (status = 409, description = "A tag with this id exists (`already_exists`)")))]
pub async fn create_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(input): ApiJson<TagInput>,
) -> Result<(StatusCode, Json<TagView>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let tag = state
        .engine
        .audiences()
        .create_tag(caller.workspace(), input)
        .await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

/// `GET /v1/tags`: every tag with its counts, and when values were last computed.
#[utoipa::path(get, path = "/v1/tags", tag = "tags", security(("api_key" = [])), responses((status = 200, description = "Every tag with its counts", body = TagListing)))]
pub async fn list_tags(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<TagListing>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.audiences().tags(caller.workspace()).await?))
}

/// `GET /v1/tags/{id}`: one tag with its counts.
#[utoipa::path(get, path = "/v1/tags/{id}", tag = "tags", params(("id" = String, Path, description = "The tag's id")), security(("api_key" = [])), responses((status = 200, description = "The tag with its counts and freshness", body = TagView), (status = 400, description = "Not a tag id (`invalid_id`)"), (status = 404, description = "No such tag")))]
pub async fn get_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<TagView>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.audiences().tag(caller.workspace(), &id).await?))
}

/// `PUT /v1/tags/{id}`: replaces a tag's definition; values are recomputed before the
/// answer. Assigned values are kept while the tag stays imported or manual.
#[utoipa::path(put, path = "/v1/tags/{id}", tag = "tags", params(("id" = String, Path, description = "The tag's id")), request_body = TagInput, security(("api_key" = [])), responses((status = 200, description = "The tag with its counts", body = TagView), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such tag")))]
pub async fn put_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TagInput>,
) -> Result<Json<TagView>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    Ok(Json(
        state
            .engine
            .audiences()
            .replace_tag(caller.workspace(), &id, input)
            .await?,
    ))
}

/// `DELETE /v1/tags/{id}`: deletes a tag no segment or other tag names, with its values.
#[utoipa::path(delete, path = "/v1/tags/{id}", tag = "tags", params(("id" = String, Path, description = "The tag's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 400, description = "Not a tag id (`invalid_id`)"), (status = 404, description = "No such tag"), (status = 409, description = "Segments or tags name it (`in_use`)")))]
pub async fn delete_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    state
        .engine
        .audiences()
        .delete_tag(caller.workspace(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of an import.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: the file holds every value of the tag; profiles it does not name lose
    /// theirs. Default: only the profiles it names change.
    #[serde(default)]
    replace: bool,
    /// `csv` or `jsonl`; default from the content type, else from the first byte.
    #[param(inline)]
    format: Option<ImportFormat>,
}

/// `POST /v1/tags/{id}/import`: sets an imported tag's values from a file.
#[utoipa::path(post, path = "/v1/tags/{id}/import", tag = "tags", params(("id" = String, Path, description = "An imported tag's id"), ImportQuery), request_body(content((String = "text/csv"), (String = "application/x-ndjson")), description = "CSV lines `identity,value` under that header, or JSON lines `{\"identity\": \"phone:13800138000\", \"value\": \"vip\"}`"), security(("api_key" = [])), responses((status = 200, description = "What was applied, and the lines that were not", body = ImportReport), (status = 400, description = "Unreadable file; the error names the field"), (status = 404, description = "No such tag"), (status = 409, description = "The tag is not an imported tag (`not_imported`)"), (status = 413, description = "The file is over the size limit")))]
pub async fn import_values(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let file = read_bytes(&headers, body).await?;
    let format = query.format.or_else(|| format_of(&headers));
    let report = state
        .engine
        .audiences()
        .import_tag_values(caller.workspace(), &id, &file, format, query.replace)
        .await?;
    Ok(Json(report))
}

/// The format a content type names, if it names one.
fn format_of(headers: &HeaderMap) -> Option<ImportFormat> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.contains("csv") {
        Some(ImportFormat::Csv)
    } else if content_type.contains("json") {
        Some(ImportFormat::Jsonl)
    } else {
        None
    }
}

/// `GET /v1/profiles/{id}/tags`: every tag value the profile holds, RFM tags with their
/// scores, as of the last refresh.
#[utoipa::path(get, path = "/v1/profiles/{id}/tags", tag = "tags", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "The profile's tags", body = ProfileTags), (status = 400, description = "Not a profile id (`invalid_id`)"), (status = 404, description = "No such profile")))]
pub async fn list_profile_tags(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ProfileTags>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state.engine.audiences().profile_tags(caller.workspace(), &id)?,
    ))
}

/// `PUT /v1/profiles/{id}/tags/{tag}`: sets a manual or imported tag's values on one
/// profile, replacing the ones it had.
#[utoipa::path(put, path = "/v1/profiles/{id}/tags/{tag}", tag = "tags", params(("id" = String, Path, description = "A profile id"), ("tag" = String, Path, description = "An imported or manual tag's id")), request_body = AssignValues, security(("api_key" = [])), responses((status = 200, description = "The values the profile now holds", body = AssignedValues), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile or tag"), (status = 409, description = "The tag is computed (`computed_tag`)")))]
pub async fn put_profile_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, tag)): Path<(String, String)>,
    ApiJson(request): ApiJson<AssignValues>,
) -> Result<Json<AssignedValues>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let assigned = state
        .engine
        .audiences()
        .assign_tag(caller.workspace(), &id, &tag, request)
        .await?;
    Ok(Json(assigned))
}

/// `DELETE /v1/profiles/{id}/tags/{tag}`: removes a manual or imported tag from one
/// profile.
#[utoipa::path(delete, path = "/v1/profiles/{id}/tags/{tag}", tag = "tags", params(("id" = String, Path, description = "A profile id"), ("tag" = String, Path, description = "An imported or manual tag's id")), security(("api_key" = [])), responses((status = 204, description = "Removed (also when the profile did not hold it)"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile or tag"), (status = 409, description = "The tag is computed (`computed_tag`)")))]
pub async fn delete_profile_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    state
        .engine
        .audiences()
        .unassign_tag(caller.workspace(), &id, &tag)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/tag-libraries`: the bundled industry libraries.
#[utoipa::path(get, path = "/v1/tag-libraries", tag = "tags", security(("api_key" = [])), responses((status = 200, description = "Every library", body = LibraryList)))]
pub async fn list_libraries(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<LibraryList>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.audiences().libraries()))
}

/// `GET /v1/tag-libraries/{id}`: one library with its tags, and which of them the
/// workspace already has.
#[utoipa::path(get, path = "/v1/tag-libraries/{id}", tag = "tags", params(("id" = String, Path, description = "retail, tea, cosmetics, auto or education")), security(("api_key" = [])), responses((status = 200, description = "The library", body = LibraryDetail), (status = 404, description = "No such library")))]
pub async fn get_library(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<LibraryDetail>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.audiences().library(caller.workspace(), &id)?))
}

/// The query of an install.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstallQuery {
    /// `true`: tags whose id exists are overwritten with the library's; default: they
    /// are kept and listed under `skipped`.
    #[serde(default)]
    replace: bool,
}

/// `POST /v1/tag-libraries/{id}/install`: creates the library's tags in the workspace.
#[utoipa::path(post, path = "/v1/tag-libraries/{id}/install", tag = "tags", params(("id" = String, Path, description = "The library's id"), InstallQuery), security(("api_key" = [])), responses((status = 200, description = "Tags installed, replaced and skipped", body = InstallReport), (status = 400, description = "Bad query; the error names the field"), (status = 404, description = "No such library"), (status = 409, description = "A tag would not fit the workspace's tags (`library_conflict`)")))]
pub async fn install_library(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<InstallQuery>,
) -> Result<Json<InstallReport>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let report = state
        .engine
        .audiences()
        .install_library(caller.workspace(), &id, query.replace)
        .await?;
    Ok(Json(report))
}
