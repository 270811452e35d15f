//! `/scim/v2`: the broker as a SCIM 2.0 service provider for identity providers (Okta, Microsoft
//! Entra ID). Authenticated by SCIM tokens only; answers `application/scim+json`, failures in
//! SCIM's error format (RFC 7644 §3.12) with their `scimType`.

use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use daypass_broker_core::domain::scim::resource::select;
use daypass_broker_core::domain::scim::schema::{self, ResourceKind};
use daypass_broker_core::domain::scim::{member, ScimError};
use daypass_broker_core::{ListPage, ListQuery, ScimClient, ServiceError};
use serde_json::{json, Value};
use std::collections::HashMap;

const CONTENT: &str = "application/scim+json";
const BASE: &str = "/scim/v2";

/// A failure, answered in SCIM's format.
pub struct ScimFailure {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
    retry_after: Option<u64>,
}

impl From<ServiceError> for ScimFailure {
    fn from(e: ServiceError) -> Self {
        let scim_type = match &e {
            ServiceError::Scim(s) => s.scim_type,
            ServiceError::Invalid(_) => Some("invalidValue"),
            _ => None,
        };
        let api = ApiError::from(e);
        let (status, detail, retry_after) = api.parts();
        ScimFailure {
            status,
            scim_type,
            detail: detail.to_string(),
            retry_after,
        }
    }
}

impl From<ScimError> for ScimFailure {
    fn from(e: ScimError) -> Self {
        ScimFailure::from(ServiceError::from(e))
    }
}

impl IntoResponse for ScimFailure {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [schema::ERROR], "status": self.status.as_u16().to_string(), "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut response = (self.status, [(CONTENT_TYPE, CONTENT)], body.to_string()).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

type ScimResult = Result<Response, ScimFailure>;

fn answer(status: StatusCode, body: &Value) -> Response {
    (status, [(CONTENT_TYPE, CONTENT)], body.to_string()).into_response()
}

/// The identity provider, by its SCIM bearer token (any other token is refused).
pub struct Scim(ScimClient);

impl FromRequestParts<AppState> for Scim {
    type Rejection = ScimFailure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthenticated = |detail: &str| ScimFailure {
            status: StatusCode::UNAUTHORIZED,
            scim_type: None,
            detail: detail.to_string(),
            retry_after: None,
        };
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated("send a SCIM token: Authorization: Bearer dpscim_… (daypass-broker admin scim-token issue NAME)"))?;
        match state.broker.scim_client(token.trim()).await {
            Ok(client) => Ok(Scim(client)),
            Err(ServiceError::Unauthenticated(_)) => Err(unauthenticated(
                "unknown or expired SCIM token: ask IT for a new one",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

fn parse(body: &Bytes) -> Result<Value, ScimFailure> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not JSON: {e}")).into())
}

/// Where a resource lives, and its members' and groups' references.
fn located(state: &AppState, kind: ResourceKind, mut resource: Value) -> Value {
    let origin = state.broker.origin();
    let at = |endpoint: &str, id: &str| format!("{origin}{BASE}/{endpoint}/{id}");
    if let Some(id) = resource["id"].as_str().map(str::to_string) {
        resource["meta"]["location"] = json!(at(kind.endpoint(), &id));
    }
    let (list, endpoint) = match kind {
        ResourceKind::User => ("groups", "Groups"),
        ResourceKind::Group => ("members", "Users"),
    };
    if let Some(items) = resource.get_mut(list).and_then(Value::as_array_mut) {
        for item in items {
            if let Some(id) = item["value"].as_str().map(str::to_string) {
                item["$ref"] = json!(at(endpoint, &id));
            }
        }
    }
    resource
}

/// `attributes` and `excludedAttributes`, comma-separated.
fn names(params: &HashMap<String, String>, key: &str) -> Vec<String> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn number(params: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ScimFailure> {
    match params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
        None => Ok(None),
        Some((_, v)) => v
            .parse()
            .map(Some)
            .map_err(|_| ScimError::invalid_value(format!("{key} must be a whole number, not {v:?}")).into()),
    }
}

fn one(
    state: &AppState,
    kind: ResourceKind,
    resource: Value,
    params: &HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let resource = located(state, kind, resource);
    let shown = select(
        kind,
        &resource,
        &names(params, "attributes"),
        &names(params, "excludedAttributes"),
    );
    let mut response = answer(status, &shown);
    if status == StatusCode::CREATED {
        if let Some(location) = resource["meta"]["location"]
            .as_str()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            response.headers_mut().insert(LOCATION, location);
        }
    }
    response
}

/// A ListResponse: `resources` is the page that starts at `start_index` of `total`.
fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Response {
    answer(
        StatusCode::OK,
        &json!({
            "schemas": [schema::LIST_RESPONSE], "totalResults": total,
            "startIndex": start_index, "itemsPerPage": resources.len(), "Resources": resources,
        }),
    )
}

fn list(
    state: &AppState,
    kind: ResourceKind,
    page: ListPage,
    attributes: &[String],
    excluded: &[String],
) -> Response {
    let resources: Vec<Value> = page
        .resources
        .into_iter()
        .map(|r| select(kind, &located(state, kind, r), attributes, excluded))
        .collect();
    list_response(page.total, page.start_index, resources)
}

/// The kind of resource an endpoint (`Users`, `Groups`) serves.
fn kind_at(endpoint: &str) -> Result<ResourceKind, ScimFailure> {
    KINDS
        .into_iter()
        .find(|k| k.endpoint() == endpoint)
        .ok_or_else(|| ScimError::not_found("no such SCIM endpoint: see /scim/v2/ResourceTypes").into())
}

async fn list_of(
    State(s): State<AppState>,
    _: Scim,
    Path(endpoint): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ScimResult {
    let kind = kind_at(&endpoint)?;
    let filter = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("filter"))
        .map(|(_, v)| v.as_str());
    let query = ListQuery::new(filter, number(&params, "startIndex")?, number(&params, "count")?)?;
    let page = s.broker.scim_list(kind, &query).await?;
    Ok(list(
        &s,
        kind,
        page,
        &names(&params, "attributes"),
        &names(&params, "excludedAttributes"),
    ))
}

/// A SearchRequest body (`POST …/.search`): the list asked for, and which attributes to return.
struct Search {
    query: ListQuery,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn search_request(body: &Bytes) -> Result<Search, ScimFailure> {
    let request = parse(body)?;
    let text = |key: &str| member(&request, key).and_then(Value::as_str);
    let int = |key: &str| match member(&request, key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            ScimFailure::from(ScimError::invalid_value(format!("{key} must be a whole number")))
        }),
    };
    let strings = |key: &str| -> Vec<String> {
        member(&request, key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    Ok(Search {
        query: ListQuery::new(text("filter"), int("startIndex")?, int("count")?)?,
        attributes: strings("attributes"),
        excluded: strings("excludedAttributes"),
    })
}

async fn search_of(
    State(s): State<AppState>,
    _: Scim,
    Path(endpoint): Path<String>,
    body: Bytes,
) -> ScimResult {
    let kind = kind_at(&endpoint)?;
    let search = search_request(&body)?;
    let page = s.broker.scim_list(kind, &search.query).await?;
    Ok(list(&s, kind, page, &search.attributes, &search.excluded))
}

async fn get_one(
    State(s): State<AppState>,
    _: Scim,
    Path((endpoint, id)): Path<(String, String)>,
    Query(p): Query<HashMap<String, String>>,
) -> ScimResult {
    let kind = kind_at(&endpoint)?;
    let resource = s.broker.scim_get(kind, &id).await?;
    Ok(one(&s, kind, resource, &p, StatusCode::OK))
}

async fn create(
    State(s): State<AppState>,
    Scim(c): Scim,
    Path(endpoint): Path<String>,
    Query(p): Query<HashMap<String, String>>,
    body: Bytes,
) -> ScimResult {
    let kind = kind_at(&endpoint)?;
    let made = s.broker.scim_create(kind, &c, &parse(&body)?).await?;
    Ok(one(&s, kind, made, &p, StatusCode::CREATED))
}

/// PUT replaces the resource; PATCH changes it by operations.
async fn change(
    State(s): State<AppState>,
    Scim(c): Scim,
    method: Method,
    Path((endpoint, id)): Path<(String, String)>,
    Query(p): Query<HashMap<String, String>>,
    body: Bytes,
) -> ScimResult {
    let kind = kind_at(&endpoint)?;
    let body = parse(&body)?;
    let saved = if method == Method::PATCH {
        s.broker.scim_patch(kind, &c, &id, &body).await?
    } else {
        s.broker.scim_replace(kind, &c, &id, &body).await?
    };
    Ok(one(&s, kind, saved, &p, StatusCode::OK))
}

async fn delete(
    State(s): State<AppState>,
    Scim(c): Scim,
    Path((endpoint, id)): Path<(String, String)>,
) -> ScimResult {
    s.broker.scim_delete(kind_at(&endpoint)?, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn service_provider_config(_: Scim) -> Response {
    answer(StatusCode::OK, &schema::service_provider_config())
}

async fn schemas(_: Scim) -> Response {
    let all: Vec<Value> = schema::all().iter().map(|s| s.describe()).collect();
    list_response(all.len(), 1, all)
}

async fn schema_one(_: Scim, Path(id): Path<String>) -> ScimResult {
    let found = schema::all().into_iter().find(|s| s.id.eq_ignore_ascii_case(&id));
    let found = found.ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))?;
    Ok(answer(StatusCode::OK, &found.describe()))
}

const KINDS: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

async fn resource_types(_: Scim) -> Response {
    let all: Vec<Value> = KINDS.iter().map(|k| k.describe()).collect();
    list_response(all.len(), 1, all)
}

async fn resource_type(_: Scim, Path(id): Path<String>) -> ScimResult {
    let found = KINDS.into_iter().find(|k| k.name().eq_ignore_ascii_case(&id));
    let found = found.ok_or_else(|| ScimError::not_found(format!("no resource type {id:?}")))?;
    Ok(answer(StatusCode::OK, &found.describe()))
}

/// `POST /.search`: users and groups that match, in one list (users first).
async fn search_all(State(s): State<AppState>, _: Scim, body: Bytes) -> ScimResult {
    let search = search_request(&body)?;
    let everything = ListQuery {
        start_index: 1,
        count: usize::MAX,
        ..search.query.clone()
    };
    let mut matching = Vec::new();
    for kind in KINDS {
        let page = s.broker.scim_list(kind, &everything).await?;
        matching.extend(
            page.resources
                .into_iter()
                .map(|r| select(kind, &located(&s, kind, r), &search.attributes, &search.excluded)),
        );
    }
    let total = matching.len();
    let start = search.query.start_index;
    let resources = matching
        .into_iter()
        .skip(start - 1)
        .take(search.query.count)
        .collect();
    Ok(list_response(total, start, resources))
}

async fn not_found() -> ScimFailure {
    ScimError::not_found("no such SCIM endpoint: see /scim/v2/ResourceTypes").into()
}

pub fn routes() -> Router<AppState> {
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema_one))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/.search", post(search_all))
        // `Users` and `Groups`.
        .route("/{endpoint}", get(list_of).post(create))
        .route("/{endpoint}/.search", post(search_of))
        .route(
            "/{endpoint}/{id}",
            get(get_one).put(change).patch(change).delete(delete),
        )
        .fallback(not_found);
    Router::new().nest(BASE, scim)
}
