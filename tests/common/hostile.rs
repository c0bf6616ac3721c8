//! A hostile SCIM server for tests: raw HTTP/1.1 over TCP on 127.0.0.1, answering whatever a
//! test's handler says — huge bodies generated lazily chunk by chunk (never allocated whole),
//! lying `Content-Length`s, endless pages, oversize pages, malformed `Resources`, echoed
//! `Authorization` headers, control characters, or no answer at all.
//!
//! Each connection carries one request and is closed after the answer (`Connection: close`), so
//! a client that stops reading simply makes the next write fail and the generator stop.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The token the hostile server is called with in these tests.
pub const TOKEN: &str = "secret_hostile_t0ken_value";

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path without the query, e.g. `/scim/v2/Users`.
    pub path: String,
    /// Query pairs, percent-decoding not applied (tests use plain values).
    pub query: Vec<(String, String)>,
    /// The `Authorization` header, as sent.
    pub authorization: Option<String>,
    /// Every header as sent (names lower-cased), for the Admin API's `Notion-Version`.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A numeric query parameter.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.parse().ok())
    }

    /// `startIndex` (default 1).
    pub fn start_index(&self) -> u64 {
        self.number("startIndex").unwrap_or(1).max(1)
    }

    /// `count` (default 100).
    pub fn count(&self) -> u64 {
        self.number("count").unwrap_or(100)
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a query parameter, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// True when the path ends with `suffix` (`/Users`).
    pub fn is(&self, suffix: &str) -> bool {
        self.path.ends_with(suffix)
    }
}

/// A body produced lazily, one chunk at a time.
pub type Chunks = Box<dyn Iterator<Item = Vec<u8>> + Send>;

/// What to answer.
pub enum Reply {
    /// A status and a small body, with `Content-Length`.
    Body(u16, Vec<(String, String)>, Vec<u8>),
    /// A status and a body generated lazily, sent chunked (no `Content-Length`) unless
    /// `content_length` is given (which may lie).
    Stream {
        /// The status.
        status: u16,
        /// The `Content-Length` to announce, if any.
        content_length: Option<u64>,
        /// The chunks.
        chunks: Chunks,
    },
    /// No answer: the connection stays open and silent.
    Hang,
}

impl Reply {
    /// `200` with a JSON value.
    pub fn json(value: &serde_json::Value) -> Reply {
        Reply::status_json(200, value)
    }

    /// `status` with a JSON value.
    pub fn status_json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::Body(
            status,
            vec![("Content-Type".into(), "application/scim+json".into())],
            serde_json::to_vec(value).expect("encodes"),
        )
    }

    /// `200` with `prefix`, then `n` bytes of `filler`, then `suffix`, streamed in 64 KiB chunks.
    pub fn repeat(prefix: &str, filler: u8, n: u64, suffix: &str) -> Reply {
        const CHUNK: u64 = 64 * 1024;
        let head = std::iter::once(prefix.as_bytes().to_vec());
        let body = (0..n.div_ceil(CHUNK)).map(move |i| {
            let len = CHUNK.min(n - i * CHUNK);
            vec![filler; len as usize]
        });
        let tail = std::iter::once(suffix.as_bytes().to_vec());
        Reply::Stream {
            status: 200,
            content_length: None,
            chunks: Box::new(head.chain(body).chain(tail)),
        }
    }
}

/// The answer to `GET /ServiceProviderConfig`, so a sync gets past validation.
pub fn service_provider_config() -> Reply {
    Reply::json(&serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true }
    }))
}

/// An empty list page.
pub fn empty_list() -> Reply {
    Reply::json(&serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []
    }))
}

/// A running hostile server.
pub struct Hostile {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
    task: JoinHandle<()>,
}

impl Hostile {
    /// Starts a server on 127.0.0.1:0 answering with `handler`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &*handler, &log).await;
                });
            }
        });
        Hostile { addr, seen, task }
    }

    /// The SCIM base URL (`http://127.0.0.1:<port>/scim/v2`).
    pub fn base_url(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }

    /// The Admin API base URL (`http://127.0.0.1:<port>/admin`).
    pub fn admin_base_url(&self) -> String {
        format!("http://{}/admin", self.addr)
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("log").clone()
    }

    /// Requests seen so far whose path ends with `suffix`.
    pub fn count(&self, suffix: &str) -> usize {
        self.requests().iter().filter(|r| r.is(suffix)).count()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head (bounded), answers it, closes.
async fn serve(
    mut stream: TcpStream,
    handler: &(dyn Fn(&Request) -> Reply + Send + Sync),
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let authorization = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone());
    let request = Request {
        method,
        path: path.to_owned(),
        query,
        authorization,
        headers,
    };
    log.lock().expect("log").push(request.clone());

    match handler(&request) {
        Reply::Hang => {
            // Hold the connection, silent, until the client gives up and closes it.
            while stream.read(&mut buf).await? > 0 {}
            return Ok(());
        }
        Reply::Body(status, headers, body) => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            stream.write_all(out.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Reply::Stream {
            status,
            content_length,
            chunks,
        } => {
            let length = match content_length {
                Some(n) => format!("Content-Length: {n}\r\n"),
                None => "Transfer-Encoding: chunked\r\n".to_owned(),
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\n{length}Content-Type: application/scim+json\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            for chunk in chunks {
                if chunk.is_empty() {
                    continue;
                }
                if content_length.is_some() {
                    stream.write_all(&chunk).await?;
                } else {
                    stream
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .await?;
                    stream.write_all(&chunk).await?;
                    stream.write_all(b"\r\n").await?;
                }
            }
            if content_length.is_none() {
                stream.write_all(b"0\r\n\r\n").await?;
            }
        }
    }
    stream.shutdown().await
}

/// Runs the built binary with `args` and `BATON_SCIM_TOKEN` set to [`TOKEN`], killing it after
/// `limit` (a hostile server must not be able to hang the test suite; a kill is a failure).
pub async fn run_binary_within(args: &[&str], limit: Duration) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env("BATON_SCIM_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("binary starts");
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(output) => output.expect("binary runs"),
        Err(_) => panic!("the binary did not finish within {limit:?}"),
    }
}
