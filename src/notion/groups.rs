//! `/Groups`: list (one page, or a stream of all), get, and the provisioning writes.
//!
//! Group pages normally carry `members`, which is all a sync needs; when a page omits the field
//! ([`Group::members`] is `None`), fall back to [`Groups::get`] for that group only. Membership
//! changes go through PatchOp `add`/`remove` ([`PatchOp::add_members`],
//! [`PatchOp::remove_member`]) — never by replacing the whole member list.

use futures::stream::BoxStream;
use serde::Serialize;

use super::Error;
use super::client::{Call, Client, Endpoint, stream_resources};
use super::models::{Group, GroupId, ListResponse, NewGroup, PageShape};
use super::paging::{MAX_PAGE_SIZE, Pager};
use super::patch::PatchOp;

/// Operations on `/Groups`; from [`Client::groups`].
#[derive(Debug, Clone, Copy)]
pub struct Groups<'a> {
    client: &'a Client,
}

impl<'a> Groups<'a> {
    /// Handler borrowing `client`.
    pub(crate) fn new(client: &'a Client) -> Self {
        Groups { client }
    }

    /// `GET /Groups`: a list request to configure and [`send`](ListGroups::send).
    pub fn list(&self) -> ListGroups<'a> {
        ListGroups {
            client: self.client,
            start_index: None,
            count: None,
            filter: None,
        }
    }

    /// `GET /Groups/{id}`: one group with its members. A group that is gone is
    /// [`Error::Scim`] with status 404 ([`Error::is_not_found`]).
    pub async fn get(&self, id: &GroupId) -> Result<Group, Error> {
        let call = Call::new(Endpoint::GetGroup, ["Groups", id.as_str()]);
        self.client.fetch_json(&call).await
    }

    /// `POST /Groups`: creates a group.
    pub async fn create(&self, group: &NewGroup) -> Result<Group, Error> {
        let call = Call::new(Endpoint::CreateGroup, ["Groups"]).with_json(group)?;
        self.client.fetch_json(&call).await
    }

    /// `PATCH /Groups/{id}` with an RFC 7644 PatchOp. Returns the updated group, or `None` when
    /// the server answers 204 without a body.
    pub async fn patch(&self, id: &GroupId, op: &PatchOp) -> Result<Option<Group>, Error> {
        let call = Call::new(Endpoint::PatchGroup, ["Groups", id.as_str()]).with_json(op)?;
        self.client.fetch_optional_json(&call).await
    }

    /// `DELETE /Groups/{id}`. Notion refuses when it would leave a page without a full-access
    /// member; a 404 (already gone) is returned as an error for the caller to judge.
    pub async fn delete(&self, id: &GroupId) -> Result<(), Error> {
        let call = Call::new(Endpoint::DeleteGroup, ["Groups", id.as_str()]);
        self.client.execute(&call).await.map(|_| ())
    }
}

/// A `GET /Groups` request. Serializes to its own query string.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListGroups<'a> {
    #[serde(skip)]
    client: &'a Client,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
}

impl<'a> ListGroups<'a> {
    /// `startIndex`, 1-based.
    pub fn start_index(mut self, start_index: u32) -> Self {
        self.start_index = Some(start_index);
        self
    }

    /// `count`: page size (Notion caps it at 100).
    pub fn count(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }

    /// `filter`, e.g. `displayName eq "Engineering"` (see [`filter_eq`](super::users::filter_eq)).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Fetches this one page. A page holding more than the `count` asked for (100 when unset:
    /// Notion's cap), or without a usable `Resources` array where `totalResults` says some are
    /// due, is an [`Error::Decode`].
    pub async fn send(self) -> Result<ListResponse<Group>, Error> {
        let call = Call::new(Endpoint::ListGroups, ["Groups"]).with_query(&self);
        let shape = PageShape {
            max_items: self.count.unwrap_or(MAX_PAGE_SIZE) as usize,
            start_index: u64::from(self.start_index.unwrap_or(1).max(1)),
        };
        self.client.fetch_page(&call, shape).await
    }

    /// Every matching group, each once, fetched lazily page by page with a [`Pager`] starting at
    /// this request's `startIndex` (default 1) with its `count` (default 100).
    pub fn into_stream(self) -> BoxStream<'a, Result<Group, Error>> {
        let pager = Pager::resume(
            self.start_index.unwrap_or(1),
            self.count.unwrap_or(MAX_PAGE_SIZE),
        );
        stream_resources("groups", pager, move |page| {
            self.clone()
                .start_index(page.start_index)
                .count(page.count)
                .send()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notion::ClientConfig;
    use crate::notion::base_url::encode_query;
    use crate::notion::request::query_pairs;
    use crate::notion::users::filter_eq;
    use crate::secret::Secret;
    use serde_json::json;

    #[test]
    fn builder_is_the_query_string() {
        let client = Client::new(ClientConfig::new(
            "https://www.notion.so/scim/v2",
            Secret::new("t"),
        ))
        .unwrap();
        let list = client
            .groups()
            .list()
            .start_index(1)
            .count(100)
            .filter(filter_eq("displayName", "R&D"));
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!({ "startIndex": 1, "count": 100, "filter": "displayName eq \"R&D\"" })
        );
        assert_eq!(
            encode_query(&query_pairs(&list)),
            "startIndex=1&count=100&filter=displayName%20eq%20%22R%26D%22"
        );
        assert_eq!(encode_query(&query_pairs(&client.groups().list())), "");
    }
}
