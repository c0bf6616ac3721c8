//! `/Users`: list (one page, or a stream of all), get, and the provisioning writes.
//!
//! [`ListUsers`] is an octocrab-style builder: optional parameters are `Option` fields, setters
//! return `self`, and `send()` ends the chain. It derives `Serialize` with
//! `skip_serializing_if`, so the builder itself *is* the query string (`startIndex`, `count`,
//! `filter`); a unit test pins that down.
//!
//! Filters Notion documents on `/Users` are `email`, `given_name` and `family_name`
//! (`email eq "ada@example.com"`); identity providers also use `userName eq`. Build them with
//! [`filter_eq`], which quotes and escapes the value.

use futures::stream::BoxStream;
use serde::Serialize;

use super::Error;
use super::client::{Call, Client, Endpoint, stream_resources};
use super::models::{ListResponse, NewUser, PageShape, User, UserId};
use super::paging::{MAX_PAGE_SIZE, Pager};
use super::patch::PatchOp;

/// Operations on `/Users`; from [`Client::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    client: &'a Client,
}

impl<'a> Users<'a> {
    /// Handler borrowing `client`.
    pub(crate) fn new(client: &'a Client) -> Self {
        Users { client }
    }

    /// `GET /Users`: a list request to configure and [`send`](ListUsers::send).
    pub fn list(&self) -> ListUsers<'a> {
        ListUsers {
            client: self.client,
            start_index: None,
            count: None,
            filter: None,
        }
    }

    /// `GET /Users/{id}`: one user. A user that is gone is [`Error::Scim`] with status 404
    /// ([`Error::is_not_found`]).
    pub async fn get(&self, id: &UserId) -> Result<User, Error> {
        let call = Call::new(Endpoint::GetUser, ["Users", id.as_str()]);
        self.client.fetch_json(&call).await
    }

    /// `POST /Users`: adds a member to the workspace (an existing Notion account with that email
    /// is added rather than created). Someone already in the workspace may come back as 409
    /// `uniqueness` or as the existing record; callers decide what that means.
    pub async fn create(&self, user: &NewUser) -> Result<User, Error> {
        let call = Call::new(Endpoint::CreateUser, ["Users"]).with_json(user)?;
        self.client.fetch_json(&call).await
    }

    /// `PATCH /Users/{id}` with an RFC 7644 PatchOp. Returns the updated user, or `None` when the
    /// server answers 204 without a body.
    pub async fn patch(&self, id: &UserId, op: &PatchOp) -> Result<Option<User>, Error> {
        let call = Call::new(Endpoint::PatchUser, ["Users", id.as_str()]).with_json(op)?;
        self.client.fetch_optional_json(&call).await
    }

    /// `DELETE /Users/{id}`: removes the member from the workspace (the Notion account survives).
    /// A 404 (already gone) is returned as an error for the caller to treat as success if it
    /// wishes.
    pub async fn delete(&self, id: &UserId) -> Result<(), Error> {
        let call = Call::new(Endpoint::DeleteUser, ["Users", id.as_str()]);
        self.client.execute(&call).await.map(|_| ())
    }
}

/// A `GET /Users` request. Serializes to its own query string.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListUsers<'a> {
    #[serde(skip)]
    client: &'a Client,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
}

impl<'a> ListUsers<'a> {
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

    /// `filter`, e.g. `email eq "ada@example.com"` (see [`filter_eq`]).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Fetches this one page. A page holding more than the `count` asked for (100 when unset:
    /// Notion's cap), or without a usable `Resources` array where `totalResults` says some are
    /// due, is an [`Error::Decode`].
    pub async fn send(self) -> Result<ListResponse<User>, Error> {
        let call = Call::new(Endpoint::ListUsers, ["Users"]).with_query(&self);
        let shape = PageShape {
            max_items: self.count.unwrap_or(MAX_PAGE_SIZE) as usize,
            start_index: u64::from(self.start_index.unwrap_or(1).max(1)),
        };
        self.client.fetch_page(&call, shape).await
    }

    /// Every matching user, each once, fetched lazily page by page with a [`Pager`] starting at
    /// this request's `startIndex` (default 1) with its `count` (default 100).
    pub fn into_stream(self) -> BoxStream<'a, Result<User, Error>> {
        let pager = Pager::resume(
            self.start_index.unwrap_or(1),
            self.count.unwrap_or(MAX_PAGE_SIZE),
        );
        stream_resources("users", pager, move |page| {
            self.clone()
                .start_index(page.start_index)
                .count(page.count)
                .send()
        })
    }
}

/// A SCIM `eq` filter: `attribute eq "value"`, with the value quoted and escaped as a JSON string
/// (RFC 7644 §3.4.2.2), e.g. `filter_eq("userName", "ada@example.com")`.
pub fn filter_eq(attribute: &str, value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    format!("{attribute} eq {quoted}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notion::ClientConfig;
    use crate::notion::base_url::encode_query;
    use crate::notion::request::query_pairs;
    use crate::secret::Secret;
    use serde_json::json;

    fn client() -> Client {
        Client::new(ClientConfig::new(
            "http://127.0.0.1:1/scim/v2",
            Secret::new("t"),
        ))
        .unwrap()
    }

    #[test]
    fn builder_is_the_query_string() {
        let client = client();
        let empty = client.users().list();
        assert_eq!(serde_json::to_value(&empty).unwrap(), json!({}));
        assert_eq!(encode_query(&query_pairs(&empty)), "");

        let list = client
            .users()
            .list()
            .filter(filter_eq("userName", "ada lovelace@example.com"))
            .count(100)
            .start_index(101);
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!({
                "startIndex": 101,
                "count": 100,
                "filter": "userName eq \"ada lovelace@example.com\""
            })
        );
        assert_eq!(
            encode_query(&query_pairs(&list)),
            "startIndex=101&count=100&filter=userName%20eq%20%22ada%20lovelace%40example.com%22"
        );
        let only_count = client.users().list().count(5);
        assert_eq!(encode_query(&query_pairs(&only_count)), "count=5");
    }

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(filter_eq("email", "a@b.c"), r#"email eq "a@b.c""#);
        assert_eq!(
            filter_eq("userName", r#"we"ird\name"#),
            r#"userName eq "we\"ird\\name""#
        );
    }
}
