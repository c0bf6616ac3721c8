//! Access tokens for ConductorOne: a client-credentials grant whose client assertion is a JWT
//! signed with the Ed25519 key from the client secret (RFC 7523), cached and refreshed early.
//!
//! # The exchange
//!
//! `POST https://<api host>/auth/v1/token` with the form `grant_type=client_credentials`,
//! `client_id`, `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//! and `client_assertion`. The assertion's header is `{"alg":"EdDSA","typ":"JWT"}`; its claims
//! are `iss` = `sub` = the client id, `aud` = the tenant host (even when `BATON_C1_API_HOST`
//! points the request elsewhere), `iat` = `nbf` = now, `exp` = now + 2 minutes, and a random
//! `nonce` and `jti` so that no two assertions are alike. The answer is
//! `{access_token, token_type, expires_in}`.
//!
//! # Caching
//!
//! [`TokenSource::get`] hands out the cached token until 80% of its lifetime has passed (at most
//! a minute before it expires), then fetches a new one; the cache lock makes concurrent callers
//! share one fetch. It never retries by itself: each caller already retries its own RPC with
//! backoff, and a failure says whether it is worth retrying ([`TokenError::is_transient`]).
//!
//! Tokens and assertions never appear in logs or errors.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::{debug, instrument};

use super::credentials::{ClientId, SigningKey};
use crate::http_body::{self, Body};

/// How long a client assertion is valid: just long enough for one exchange, clock skew aside.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(120);
/// Lifetime assumed when the token endpoint does not say (`expires_in` absent or 0).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// The longest body excerpt kept in an error, so a misbehaving proxy cannot flood the logs.
const MAX_DETAIL_CHARS: usize = 300;
/// Most bytes read of a token endpoint's answer (a token response is a few hundred).
const MAX_TOKEN_BODY: u64 = 1024 * 1024;

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The endpoint could not be reached, timed out, or answered 5xx/429: try again later.
    #[error("cannot reach the ConductorOne token endpoint {url}: {detail}")]
    Unavailable {
        /// The token endpoint.
        url: String,
        /// What went wrong (status or transport error).
        detail: String,
    },
    /// The endpoint refused the credentials (4xx): retrying will not help until they change.
    #[error(
        "ConductorOne refused the client credentials (HTTP {status} from {url}): {detail}; check \
         --client-id and --client-secret, or create a new credential in the ConductorOne console"
    )]
    Rejected {
        /// The token endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The endpoint's own words (an OAuth error body), shortened.
        detail: String,
    },
    /// The endpoint answered 2xx with something that is not a token.
    #[error("the ConductorOne token endpoint {url} answered with an unusable token: {detail}")]
    Malformed {
        /// The token endpoint.
        url: String,
        /// What is wrong with the answer.
        detail: String,
    },
}

impl TokenError {
    /// True when the same request may succeed later (network trouble, 5xx, 429, odd answers).
    pub fn is_transient(&self) -> bool {
        !matches!(self, TokenError::Rejected { .. })
    }
}

/// A cached access token.
struct Cached {
    /// The bearer token; never logged.
    value: String,
    /// When to fetch a new one.
    refresh_at: Instant,
}

/// Hands out access tokens, fetching and refreshing them as needed.
pub struct TokenSource {
    /// Shared HTTP client (rustls, platform roots plus the optional extra CA).
    http: reqwest::Client,
    /// `https://<api host>/auth/v1/token`.
    url: String,
    /// Who we are (`iss`, `sub`, `client_id`) and the audience (`aud`).
    client_id: ClientId,
    /// Signs the assertions.
    key: SigningKey,
    /// The current token; the lock also makes concurrent refreshes wait for one fetch.
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenSource {
    /// A token source posting to `url` with `http`.
    pub fn new(http: reqwest::Client, url: String, client_id: ClientId, key: SigningKey) -> Self {
        TokenSource {
            http,
            url,
            client_id,
            key,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one, or a fresh one when it is due for refresh.
    pub async fn get(&self) -> Result<String, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.value.clone());
        }
        let (value, lifetime) = self.fetch().await?;
        *cached = Some(Cached {
            value: value.clone(),
            refresh_at: Instant::now() + refresh_after(lifetime),
        });
        Ok(value)
    }

    /// Forgets the cached token (ConductorOne answered `Unauthenticated` with it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// One token request.
    #[instrument(skip(self), fields(url = %self.url))]
    async fn fetch(&self) -> Result<(String, Duration), TokenError> {
        let assertion = self.assertion();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", self.client_id.as_str())
            .append_pair(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .append_pair("client_assertion", &assertion)
            .finish();
        let unavailable = |detail: String| TokenError::Unavailable {
            url: self.url.clone(),
            detail,
        };
        let response = self
            .http
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| unavailable(super::error_chain(&e)))?;
        let status = response.status();
        // A token answer is a few hundred bytes; an error page needs only its start. Neither
        // may make the daemon buffer whatever a broken endpoint streams.
        let body = if status.is_success() {
            http_body::read_capped(response, MAX_TOKEN_BODY).await
        } else {
            http_body::read_prefix(response, MAX_TOKEN_BODY).await
        }
        .map_err(|e| unavailable(format!("reading the answer: {}", super::error_chain(&e))))?;
        let body = match body {
            Body::Whole(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Body::TooLarge { declared } => {
                return Err(TokenError::Malformed {
                    url: self.url.clone(),
                    detail: match declared {
                        Some(n) => format!(
                            "the answer announces {n} bytes, over the {MAX_TOKEN_BODY}-byte limit"
                        ),
                        None => format!("the answer is over the {MAX_TOKEN_BODY}-byte limit"),
                    },
                });
            }
        };
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(unavailable(format!("HTTP {status}: {}", excerpt(&body))));
        }
        if !status.is_success() {
            return Err(TokenError::Rejected {
                url: self.url.clone(),
                status: status.as_u16(),
                detail: excerpt(&body),
            });
        }
        let malformed = |detail: String| TokenError::Malformed {
            url: self.url.clone(),
            detail,
        };
        let token: TokenResponse = serde_json::from_str(&body)
            .map_err(|e| malformed(format!("not a token response ({e})")))?;
        if token.access_token.is_empty() {
            return Err(malformed("the access token is empty".into()));
        }
        if let Some(kind) = token.token_type.as_deref()
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(malformed(format!("token type {kind:?} is not Bearer")));
        }
        let lifetime = match token.expires_in {
            Some(0) | None => DEFAULT_TOKEN_LIFETIME,
            Some(secs) => Duration::from_secs(secs),
        };
        debug!(expires_in = lifetime.as_secs(), "access token obtained");
        Ok((token.access_token, lifetime))
    }

    /// A freshly signed client assertion.
    fn assertion(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let nonce: [u8; 16] = rand::rng().random();
        let jti: [u8; 16] = rand::rng().random();
        let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT" });
        let claims = serde_json::json!({
            "iss": self.client_id.as_str(),
            "sub": self.client_id.as_str(),
            "aud": self.client_id.tenant_host(),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
            "nonce": URL_SAFE_NO_PAD.encode(nonce),
            "jti": URL_SAFE_NO_PAD.encode(jti),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// How long a token of `lifetime` is used before a new one is fetched: 80% of its life, but
/// never closer than a minute to expiry when the life is long enough to allow that.
fn refresh_after(lifetime: Duration) -> Duration {
    let eighty = lifetime.mul_f64(0.8);
    if lifetime > Duration::from_secs(120) {
        eighty.min(lifetime - Duration::from_secs(60))
    } else {
        eighty
    }
}

/// The start of a response body, on one line, with control characters escaped.
fn excerpt(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty body)".into();
    }
    let mut out: String = one_line.chars().take(MAX_DETAIL_CHARS).collect();
    if one_line.chars().count() > MAX_DETAIL_CHARS {
        out.push('…');
    }
    // Whitespace is folded above; any other control character (ESC, BEL, …) a server sent
    // must not reach the terminal that shows the error.
    crate::text::escape_controls(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ED25519, KeyPair as _, UnparsedPublicKey};

    fn source() -> (TokenSource, Vec<u8>) {
        let seed = [7u8; 32];
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).expect("seed");
        let x = pair.public_key().as_ref().to_vec();
        let jwk = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "d": URL_SAFE_NO_PAD.encode(seed), "x": URL_SAFE_NO_PAD.encode(&x),
        });
        let secret = format!("a:b:v1:{}", URL_SAFE_NO_PAD.encode(jwk.to_string()));
        let key = SigningKey::from_client_secret(&secret).expect("key");
        let id = ClientId::parse("svc@tenant.example.com/pcc").expect("id");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        (
            TokenSource::new(http, "https://127.0.0.1:9/auth/v1/token".into(), id, key),
            x,
        )
    }

    /// Serves one HTTP answer whose head is `head` followed by `body_bytes` bytes of `x`, on
    /// plain http (so the test needs no TLS), and returns the token URL.
    async fn raw_server(head: &'static str, body_bytes: usize) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request).await;
            let _ = conn.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < body_bytes {
                if conn.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += chunk.len();
            }
        });
        format!("http://{addr}/auth/v1/token")
    }

    fn source_at(url: String) -> TokenSource {
        let (source, _) = source();
        TokenSource::new(reqwest::Client::new(), url, source.client_id, source.key)
    }

    #[tokio::test]
    async fn an_endless_token_answer_is_refused_unread() {
        // 200 MB streamed without Content-Length: reading stops at the cap.
        let url = raw_server(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",
            200 << 20,
        )
        .await;
        let err = source_at(url).get().await.expect_err("over the cap");
        let shown = err.to_string();
        assert!(shown.contains("over the 1048576-byte limit"), "{shown}");
        assert!(shown.len() < 400, "one short line: {} bytes", shown.len());

        // A declared 5 GB answer is refused before reading.
        let url = raw_server("HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n", 0).await;
        let shown = source_at(url)
            .get()
            .await
            .expect_err("declared")
            .to_string();
        assert!(shown.contains("announces 5000000000 bytes"), "{shown}");
    }

    #[tokio::test]
    async fn an_endless_error_page_is_read_only_at_its_start() {
        // An endless body: reading it whole would never end, so the guard only trips when the
        // client reads past the prefix.
        let url = raw_server("HTTP/1.1 401 Unauthorized\r\n\r\n", usize::MAX).await;
        let answer = tokio::time::timeout(Duration::from_secs(120), source_at(url).get()).await;
        let shown = answer
            .expect("the client stops reading after the prefix")
            .expect_err("rejected")
            .to_string();
        assert!(shown.contains("401"), "{shown}");
        assert!(shown.len() < 600, "one short line: {} bytes", shown.len());
    }

    #[test]
    fn the_assertion_is_a_verifiable_eddsa_jwt() {
        let (source, x) = source();
        let jwt = source.assertion();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header, serde_json::json!({"alg": "EdDSA", "typ": "JWT"}));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["iss"], "svc@tenant.example.com/pcc");
        assert_eq!(claims["sub"], claims["iss"]);
        assert_eq!(claims["aud"], "tenant.example.com");
        let (iat, exp) = (
            claims["iat"].as_u64().expect("iat"),
            claims["exp"].as_u64().expect("exp"),
        );
        assert_eq!(claims["nbf"].as_u64(), Some(iat));
        assert_eq!(exp - iat, 120);
        assert!(claims["nonce"].as_str().is_some_and(|n| !n.is_empty()));
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        UnparsedPublicKey::new(&ED25519, &x)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("signature verifies");
        assert_ne!(source.assertion(), jwt, "every assertion has its own nonce");
    }

    #[test]
    fn tokens_are_refreshed_early() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(2880)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(200)),
            Duration::from_secs(140)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(100)),
            Duration::from_secs(80)
        );
    }

    #[test]
    fn excerpts_are_short_and_single_line() {
        assert_eq!(excerpt(""), "(empty body)");
        assert_eq!(excerpt("a\n  b"), "a b");
        assert_eq!(excerpt(&"x".repeat(1000)).chars().count(), 301);
        assert_eq!(excerpt("a\x1b]0;t\x07b"), "a\\x1b]0;t\\x07b");
    }
}
