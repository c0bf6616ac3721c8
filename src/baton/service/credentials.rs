//! ConductorOne client credentials: the client id and the client secret an operator pastes from
//! the ConductorOne console, parsed into what the token exchange needs.
//!
//! - Client id: `<name>@<tenant host>/<suffix>`. The tenant host (e.g. `acme.conductor.one`) is
//!   where the token endpoint and `BatonService` live, and the audience of the client assertion.
//! - Client secret: `<a>:<b>:v1:<JWK>`, the JWK base64url-encoded without padding. The JWK is an
//!   Ed25519 private key (`{"kty":"OKP","crv":"Ed25519","d":…,"x":…}`); `d` is the 32-byte seed,
//!   `x` the public key.
//!
//! Parsing does no I/O. Every failure names the part that is wrong and never repeats the secret
//! (nor any piece of it), because startup errors end up in pod logs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::Deserialize;

/// Why client credentials were refused before anything was sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialError {
    /// The client id is not `<name>@<tenant host>/<suffix>`.
    #[error(
        "invalid client id {id:?}: {reason} (expected <name>@<tenant host>/<suffix>, as shown in \
         the ConductorOne console)"
    )]
    ClientId {
        /// The client id as given (not secret).
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The client secret is malformed; the secret itself is never included.
    #[error(
        "invalid client secret: {reason} (expected <a>:<b>:v1:<key>, exactly as ConductorOne \
         showed it when the credential was created)"
    )]
    ClientSecret {
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A parsed client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId {
    raw: String,
    tenant_host: String,
}

impl ClientId {
    /// Parses `<name>@<tenant host>/<suffix>`.
    pub fn parse(raw: &str) -> Result<ClientId, CredentialError> {
        let raw = raw.trim();
        let bad = |reason| CredentialError::ClientId {
            id: raw.to_owned(),
            reason,
        };
        if raw.is_empty() {
            return Err(bad("it is empty"));
        }
        let (name, rest) = raw.split_once('@').ok_or_else(|| bad("it has no '@'"))?;
        if name.is_empty() {
            return Err(bad("the name before '@' is empty"));
        }
        let (host, suffix) = rest
            .split_once('/')
            .ok_or_else(|| bad("it has no '/' after the tenant host"))?;
        if suffix.is_empty() {
            return Err(bad("the suffix after '/' is empty"));
        }
        if host.is_empty() {
            return Err(bad("the tenant host between '@' and '/' is empty"));
        }
        let host_ok = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':');
        if !host_ok || host.starts_with('.') || host.ends_with('.') {
            return Err(bad("the tenant host is not a valid host name"));
        }
        Ok(ClientId {
            raw: raw.to_owned(),
            tenant_host: host.to_ascii_lowercase(),
        })
    }

    /// The whole client id (the assertion's `iss` and `sub`, and the form's `client_id`).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The tenant host, e.g. `acme.conductor.one` (the assertion's `aud`).
    pub fn tenant_host(&self) -> &str {
        &self.tenant_host
    }
}

/// The signing key inside a client secret. `Debug` shows only the public half.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &URL_SAFE_NO_PAD.encode(self.public_key()))
            .finish()
    }
}

/// The JWK fields we read; anything else in it is ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    crv: Option<String>,
    d: Option<String>,
    x: Option<String>,
}

impl SigningKey {
    /// Parses a client secret `<a>:<b>:v1:<base64url JWK>` into its Ed25519 key.
    pub fn from_client_secret(secret: &str) -> Result<SigningKey, CredentialError> {
        let bad = |reason| CredentialError::ClientSecret { reason };
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(bad("it is empty"));
        }
        let parts: Vec<&str> = secret.split(':').collect();
        if parts.len() != 4 {
            return Err(bad("it does not have four ':'-separated parts"));
        }
        if parts[2] != "v1" {
            return Err(bad("its version (third part) is not v1"));
        }
        // Tolerate padding a copy-paste may have added; the format has none.
        let encoded = parts[3].trim_end_matches('=');
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| bad("its key part is not base64url"))?;
        let jwk: Jwk =
            serde_json::from_slice(&json).map_err(|_| bad("its key part is not a JSON web key"))?;
        if jwk.kty.as_deref() != Some("OKP") || jwk.crv.as_deref() != Some("Ed25519") {
            return Err(bad("its key is not an Ed25519 (OKP) key"));
        }
        let decode = |field: Option<String>, missing, invalid| {
            let field = field.ok_or_else(|| bad(missing))?;
            let bytes = URL_SAFE_NO_PAD
                .decode(field.trim_end_matches('='))
                .map_err(|_| bad(invalid))?;
            if bytes.len() == 32 {
                Ok(bytes)
            } else {
                Err(bad(invalid))
            }
        };
        let d = decode(
            jwk.d,
            "its key has no private part (d)",
            "its key's private part (d) is not 32 base64url bytes",
        )?;
        let x = decode(
            jwk.x,
            "its key has no public part (x)",
            "its key's public part (x) is not 32 base64url bytes",
        )?;
        let pair = Ed25519KeyPair::from_seed_and_public_key(&d, &x)
            .map_err(|_| bad("its key's private and public parts do not belong together"))?;
        Ok(SigningKey { pair })
    }

    /// Signs `message` (EdDSA over Ed25519).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::{SecureRandom, SystemRandom};

    fn secret_for(d: &[u8], x: &[u8]) -> String {
        let jwk = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "d": URL_SAFE_NO_PAD.encode(d), "x": URL_SAFE_NO_PAD.encode(x),
        });
        format!("abc:def:v1:{}", URL_SAFE_NO_PAD.encode(jwk.to_string()))
    }

    fn keypair() -> ([u8; 32], Vec<u8>) {
        let mut seed = [0u8; 32];
        SystemRandom::new().fill(&mut seed).expect("random");
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("seed");
        (seed, pair.public_key().as_ref().to_vec())
    }

    #[test]
    fn client_id_parts() {
        let id = ClientId::parse("connector@Acme.conductor.one/pcc").expect("parses");
        assert_eq!(id.tenant_host(), "acme.conductor.one");
        assert_eq!(id.as_str(), "connector@Acme.conductor.one/pcc");
        for bad in [
            "",
            "no-at-sign",
            "@acme.conductor.one/x",
            "n@acme.conductor.one",
            "n@/x",
            "n@acme.conductor.one/",
            "n@ac me/x",
        ] {
            assert!(
                matches!(ClientId::parse(bad), Err(CredentialError::ClientId { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_valid_secret_signs_verifiably() {
        let (d, x) = keypair();
        let key = SigningKey::from_client_secret(&secret_for(&d, &x)).expect("parses");
        assert_eq!(key.public_key(), x.as_slice());
        let sig = key.sign(b"hello");
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &x)
            .verify(b"hello", &sig)
            .expect("verifies");
        assert!(!format!("{key:?}").contains(&URL_SAFE_NO_PAD.encode(d)));
    }

    #[test]
    fn malformed_secrets_are_named_without_echoing_them() {
        let (d, x) = keypair();
        let (_, other_x) = keypair();
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let cases = [
            ("", "empty"),
            ("a:b:v1", "four"),
            ("a:b:v2:xyz", "version"),
            ("a:b:v1:!!!", "base64url"),
            (&format!("a:b:v1:{}", b64("not json")), "JSON web key"),
            (
                &format!("a:b:v1:{}", b64(r#"{"kty":"RSA","crv":"Ed25519"}"#)),
                "Ed25519",
            ),
            (
                &format!(
                    "a:b:v1:{}",
                    b64(r#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#)
                ),
                "(d)",
            ),
            (&secret_for(&d, &other_x), "belong together"),
            (&secret_for(&d[..16], &x), "32"),
        ];
        for (secret, expected) in cases {
            let err = SigningKey::from_client_secret(secret).expect_err(secret);
            let msg = err.to_string();
            assert!(msg.contains(expected), "{msg} lacks {expected:?}");
            if secret.len() > 8 {
                assert!(!msg.contains(secret.rsplit(':').next().unwrap_or("")));
            }
        }
    }
}
