//! A whole listing as a lazy stream of resources, driven by a [`Pager`].

use std::future::Future;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tracing::warn;

use super::Error;
use super::models::{Group, ListResponse, User};
use super::paging::{PageRequest, Pager};

/// A resource with a SCIM id, for deduplication while paging.
pub(crate) trait Resource {
    /// The id as a string.
    fn resource_id(&self) -> &str;
}

impl Resource for User {
    fn resource_id(&self) -> &str {
        self.id.as_str()
    }
}

impl Resource for Group {
    fn resource_id(&self) -> &str {
        self.id.as_str()
    }
}

/// Drives a [`Pager`] with `fetch`, yielding each resource once, lazily, page by page. Logs a
/// warning when `totalResults` drifted; ends with [`Error::EndlessListing`] at the page budget.
pub(crate) fn stream_resources<'a, T, F, Fut>(
    what: &'static str,
    pager: Pager,
    fetch: F,
) -> BoxStream<'a, Result<T, Error>>
where
    T: Resource + Send + 'a,
    F: FnMut(PageRequest) -> Fut + Send + 'a,
    Fut: Future<Output = Result<ListResponse<T>, Error>> + Send + 'a,
{
    futures::stream::try_unfold((pager, fetch), move |(mut pager, mut fetch)| async move {
        let Some(request) = pager.next_request() else {
            if let Some(drift) = pager.drift() {
                warn!(what, %drift, "SCIM listing was not consistent");
            }
            return Ok(None);
        };
        let page = fetch(request).await?;
        let fresh = {
            let ids: Vec<&str> = page.resources.iter().map(Resource::resource_id).collect();
            pager.accept(&ids, page.total_results)
        };
        if let Some(err) = pager.cap_error(what) {
            return Err(err);
        }
        let mut keep = fresh.into_iter().peekable();
        let items: Vec<T> = page
            .resources
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| keep.next_if_eq(&i).map(|_| item))
            .collect();
        Ok(Some((items, (pager, fetch))))
    })
    .map_ok(|items| futures::stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}
