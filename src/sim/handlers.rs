//! The SCIM endpoints the simulator serves, and the table that routes and counts them.
//!
//! [`endpoints`] is the single source of truth: the server builds its router from it and the
//! request counters accept exactly its `"METHOD /template"` keys (anything else is `UNMATCHED`).
//! Adding a write endpoint is one new row plus its handler, which takes the store's write lock
//! through [`Shared::write_store`].
//!
//! Handlers here only see requests that already passed the front door (auth, latency, counting,
//! fault injection: see `server.rs`). They read the store under its lock, serialize a page straight
//! to bytes and return; nothing is awaited while the lock is held, and list handling is O(page)
//! for unfiltered lists (filters scan the workspace once).
//!
//! # Paging (RFC 7644 §3.4.2.4, as Notion does it)
//! `startIndex` is 1-based (missing or < 1 → 1); `count` is clamped to `max_page_size` (missing →
//! `max_page_size`, negative → 0). Past the end the page is empty — unless the
//! `repeat_first_page_past_end` quirk is on, which serves page 1 again (reporting `startIndex`
//! 1). `itemsPerPage` is the number of resources returned, or with `echo_count_in_items_per_page`
//! the effective requested count. Non-numeric `startIndex`/`count` get `400 invalidValue`.

use std::ops::Range;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, patch, post};

use super::faults;
use super::filter::{GroupFilter, UserFilter};
use super::scim_json::{self, GroupJson, UserJson};
use super::server::Shared;
use super::writes;

/// Media type of every simulator response.
pub(crate) const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Path prefix of every SCIM route.
pub(crate) const SCIM_PREFIX: &str = "/scim/v2";

/// One served endpoint: method, template relative to [`SCIM_PREFIX`], and its handler.
pub(crate) struct Endpoint {
    /// HTTP method.
    pub(crate) method: Method,
    /// Path template below the prefix, e.g. `"/Users/{id}"` (axum syntax).
    pub(crate) template: &'static str,
    /// The handler for exactly this method.
    pub(crate) handler: MethodRouter<Arc<Shared>>,
}

/// Counter key of a method and a template below the prefix.
pub(crate) fn endpoint_key(method: &Method, template: &str) -> String {
    format!("{method} {template}")
}

/// Whether `path` (below the prefix) fits `template`: literal segments equal, each `{param}`
/// segment non-empty — the subset of axum's route syntax the endpoint table uses.
pub(crate) fn template_matches(template: &str, path: &str) -> bool {
    let mut want = template.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// Every endpoint the simulator serves. Write endpoints slot in here.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    let endpoint = |method, template, handler| Endpoint {
        method,
        template,
        handler,
    };
    vec![
        endpoint(
            Method::GET,
            "/ServiceProviderConfig",
            get(service_provider_config),
        ),
        endpoint(Method::GET, "/ResourceTypes", get(resource_types)),
        endpoint(Method::GET, "/Users", get(list_users)),
        endpoint(Method::GET, "/Users/{id}", get(get_user)),
        endpoint(Method::GET, "/Groups", get(list_groups)),
        endpoint(Method::GET, "/Groups/{id}", get(get_group)),
        endpoint(Method::POST, "/Users", post(writes::create_user)),
        endpoint(Method::PATCH, "/Users/{id}", patch(writes::patch_user)),
        endpoint(Method::DELETE, "/Users/{id}", delete(writes::delete_user)),
        endpoint(Method::PATCH, "/Groups/{id}", patch(writes::patch_group)),
    ]
}

/// A 2xx/4xx response with a SCIM JSON body.
pub(crate) fn scim_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    response
}

/// A SCIM error envelope response.
pub(crate) fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    scim_response(
        status,
        scim_json::error_body(status.as_u16(), scim_type, detail),
    )
}

/// Fallback for any request no endpoint serves: a 404 envelope naming the request.
/// Under `/admin` the body is an Admin family A error instead of a SCIM envelope.
pub(crate) async fn unmatched(method: Method, uri: Uri) -> Response {
    let message = format!("no simulator route for {method} {}", uri.path());
    if uri.path() == "/admin" || uri.path().starts_with("/admin/") {
        return super::admin::error_response(
            super::admin::Family::A,
            StatusCode::NOT_FOUND,
            &message,
        );
    }
    scim_error(StatusCode::NOT_FOUND, None, &message)
}

/// `GET /ServiceProviderConfig`.
async fn service_provider_config(State(shared): State<Arc<Shared>>) -> Response {
    scim_response(
        StatusCode::OK,
        scim_json::service_provider_config(&shared.base_url, shared.config.max_page_size),
    )
}

/// `GET /ResourceTypes`.
async fn resource_types(State(shared): State<Arc<Shared>>) -> Response {
    scim_response(StatusCode::OK, scim_json::resource_types(&shared.base_url))
}

/// `GET /Users?startIndex&count&filter`.
async fn list_users(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = match ListParams::parse(query.as_deref(), shared.config.max_page_size) {
        Ok(params) => params,
        Err(detail) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"), &detail),
    };
    let filter = match params.filter.as_deref().map(UserFilter::parse).transpose() {
        Ok(Some(f)) if shared.refuses_user_filter(&f) => {
            let detail = format!("filtering on {} is not supported", f.attribute());
            return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &detail);
        }
        Ok(filter) => filter,
        Err(detail) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &detail),
    };
    let unfiltered = filter.is_none();
    let body = {
        let store = shared.read_store();
        let shape = |user| UserJson::new(user, shared.serves_role_of(user));
        match filter {
            None => render_page(store.users(), &params, &shared, shape),
            Some(filter) => {
                let users: Vec<_> = store.users().iter().filter(|u| filter.matches(u)).collect();
                render_page(&users, &params, &shared, |u| shape(u))
            }
        }
    };
    let churn = shared.config.churn_users_per_page;
    if unfiltered && churn > 0 {
        let seed = shared.faults.next_seed(&shared.config);
        let mut store = shared.write_store();
        faults::churn(store.dataset_mut(), churn, seed);
    }
    list_body(&shared, "/Users", &params, body)
}

/// `GET /Users/{id}`.
async fn get_user(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let store = shared.read_store();
    match store.user(&id) {
        Some(user) => scim_response(
            StatusCode::OK,
            scim_json::resource(&UserJson::new(user, shared.serves_role_of(user))),
        ),
        None => scim_error(StatusCode::NOT_FOUND, None, "User not found"),
    }
}

/// `GET /Groups?startIndex&count&filter`.
async fn list_groups(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = match ListParams::parse(query.as_deref(), shared.config.max_page_size) {
        Ok(params) => params,
        Err(detail) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"), &detail),
    };
    let filter = match params.filter.as_deref().map(GroupFilter::parse).transpose() {
        Ok(filter) => filter,
        Err(detail) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &detail),
    };
    let with_members = !shared.config.omit_group_members_in_list;
    let body = {
        let store = shared.read_store();
        let shape = |group| GroupJson::new(group, &store, &shared.base_url, with_members);
        match filter {
            None => render_page(store.groups(), &params, &shared, shape),
            Some(filter) => {
                let groups: Vec<_> = store
                    .groups()
                    .iter()
                    .filter(|g| filter.matches(g))
                    .collect();
                render_page(&groups, &params, &shared, |g| shape(g))
            }
        }
    };
    list_body(&shared, "/Groups", &params, body)
}

/// `GET /Groups/{id}` (always with members).
async fn get_group(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let store = shared.read_store();
    match store.group(&id) {
        Some(group) => scim_response(
            StatusCode::OK,
            scim_json::resource(&GroupJson::new(group, &store, &shared.base_url, true)),
        ),
        None => scim_error(StatusCode::NOT_FOUND, None, "Group not found"),
    }
}

/// Plans the page of `items` that `params` asks for and serializes it as a ListResponse, shaping
/// only the resources on the page.
fn render_page<'a, T, J: serde::Serialize>(
    items: &'a [T],
    params: &ListParams,
    shared: &Shared,
    shape: impl FnMut(&'a T) -> J,
) -> Vec<u8> {
    let page = Page::plan(items.len(), params, shared);
    let mut resources: Vec<J> = items[page.range.clone()].iter().map(shape).collect();
    if shared.config.shuffle_pages {
        faults::shuffle(&mut resources, shared.faults.next_seed(&shared.config));
    }
    page.body(&resources)
}

/// Wraps a list body, truncating it when `malformed_json_at` names this page.
fn list_body(shared: &Shared, resource: &str, params: &ListParams, mut body: Vec<u8>) -> Response {
    if let Some((path, start_index)) = &shared.config.malformed_json_at
        && path == resource
        && usize::try_from(*start_index).is_ok_and(|s| s.max(1) == params.start_index)
    {
        // Half of a JSON object is never valid JSON.
        body.truncate(body.len() / 2);
    }
    scim_response(StatusCode::OK, body)
}

/// Query parameters of a list request, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListParams {
    /// 1-based start index (≥ 1).
    pub(crate) start_index: usize,
    /// Effective page size (≤ the configured maximum).
    pub(crate) count: usize,
    /// Raw filter expression, if given and not blank.
    pub(crate) filter: Option<String>,
}

impl ListParams {
    /// Reads `startIndex`, `count` and `filter` (names ASCII case-insensitive; others ignored).
    /// The error is the detail of a 400 `invalidValue`.
    pub(crate) fn parse(query: Option<&str>, max_page_size: u32) -> Result<Self, String> {
        let max = max_page_size as usize;
        let mut params = ListParams {
            start_index: 1,
            count: max,
            filter: None,
        };
        let number = |name: &str, value: &str| {
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("{name} must be an integer, got {value:?}"))
        };
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if name.eq_ignore_ascii_case("startIndex") {
                params.start_index = number("startIndex", &value)?.max(1) as usize;
            } else if name.eq_ignore_ascii_case("count") {
                params.count = (number("count", &value)?.max(0) as u64).min(max as u64) as usize;
            } else if name.eq_ignore_ascii_case("filter") && !value.trim().is_empty() {
                params.filter = Some(value.into_owned());
            }
        }
        Ok(params)
    }
}

/// Which slice of a result set a list request gets, and what the envelope says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Page {
    /// `totalResults`.
    total: usize,
    /// Positions served.
    range: Range<usize>,
    /// `startIndex` as reported.
    start_index: usize,
    /// `itemsPerPage` as reported.
    items_per_page: usize,
}

impl Page {
    /// Plans the page of `total` results for `params` under the configured quirks.
    fn plan(total: usize, params: &ListParams, shared: &Shared) -> Page {
        let config = &shared.config;
        let past_end = params.start_index > total;
        let start_index = if past_end && total > 0 && config.repeat_first_page_past_end {
            1
        } else {
            params.start_index
        };
        let from = (start_index - 1).min(total);
        let to = from.saturating_add(params.count).min(total);
        let items_per_page = if config.echo_count_in_items_per_page {
            params.count
        } else {
            to - from
        };
        Page {
            total: faults::drifted_total(total, start_index, config.total_results_drift),
            range: from..to,
            start_index,
            items_per_page,
        }
    }

    /// The ListResponse bytes around `resources`.
    fn body<T: serde::Serialize>(&self, resources: &[T]) -> Vec<u8> {
        scim_json::list_response(self.total, self.items_per_page, self.start_index, resources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_defaults_and_clamps() {
        let p = ListParams::parse(None, 100).unwrap();
        assert_eq!((p.start_index, p.count, p.filter), (1, 100, None));
        let p = ListParams::parse(Some("startIndex=0&count=500"), 100).unwrap();
        assert_eq!((p.start_index, p.count), (1, 100));
        let p = ListParams::parse(Some("startindex=-4&COUNT=-1&filter=%20"), 100).unwrap();
        assert_eq!((p.start_index, p.count, p.filter), (1, 0, None));
        let p = ListParams::parse(
            Some("startIndex=101&count=7&filter=userName%20eq%20%22a%22"),
            100,
        )
        .unwrap();
        assert_eq!(p.start_index, 101);
        assert_eq!(p.count, 7);
        assert_eq!(p.filter.as_deref(), Some(r#"userName eq "a""#));
        let err = ListParams::parse(Some("count=ten"), 100).unwrap_err();
        assert!(err.contains("count"), "{err}");
    }

    #[test]
    fn templates_match_like_the_router() {
        assert!(template_matches("/Users", "/Users"));
        assert!(template_matches("/Users/{id}", "/Users/abc"));
        assert!(!template_matches("/Users/{id}", "/Users/"));
        assert!(!template_matches("/Users/{id}", "/Users/a/b"));
        assert!(!template_matches("/Users", "/Users/"));
        assert!(!template_matches("/Users", "/users"));
        assert!(!template_matches("/Users/{id}", "/Groups/abc"));
    }

    #[test]
    fn endpoint_keys_are_unique() {
        let mut keys: Vec<_> = endpoints()
            .iter()
            .map(|e| endpoint_key(&e.method, e.template))
            .collect();
        let before = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), before);
        assert!(keys.contains(&"GET /Users/{id}".to_owned()));
    }
}
