//! Service-account OAuth2 for FCM: a JWT signed RS256 with the account's private key,
//! exchanged at the token endpoint for a short-lived access token.
//!
//! Protocol: <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>
//! (header `{"alg":"RS256","typ":"JWT"}`, claims `iss`, `scope`, `aud`, `iat`, `exp`
//! at most one hour after `iat`, grant type `urn:ietf:params:oauth:grant-type:jwt-bearer`).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use orbit_core::Clock;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::connector::{SendError, classify_status, transport_error};
use crate::egress::HttpClient;

/// The OAuth2 scope that lets a token send FCM messages.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFETIME: i64 = 3600;

/// A token is replaced this long before it expires, so a send never carries a token
/// that dies in flight.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// A service account's RSA private key, ready to sign assertions.
pub(super) struct ServiceAccountKey {
    key: RsaKeyPair,
    key_id: Option<String>,
    rng: SystemRandom,
}

impl ServiceAccountKey {
    /// Reads the PEM `private_key` of a service account file (PKCS#8, as Google issues
    /// it, or PKCS#1).
    pub(super) fn from_pem(pem: &str, key_id: Option<String>) -> Result<Self, String> {
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("not a PEM private key: {e}"))?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(pkcs8) => RsaKeyPair::from_pkcs8(pkcs8.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(pkcs1) => RsaKeyPair::from_der(pkcs1.secret_pkcs1_der()),
            _ => return Err("not an RSA private key".to_owned()),
        }
        .map_err(|e| format!("not a usable RSA private key: {e}"))?;
        Ok(Self {
            key,
            key_id,
            rng: SystemRandom::new(),
        })
    }

    /// Signs `claims` into a compact JWT (RS256).
    pub(super) fn sign(&self, claims: &Claims<'_>) -> Result<String, String> {
        let header = Header {
            alg: "RS256",
            typ: "JWT",
            kid: self.key_id.as_deref(),
        };
        let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
        let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "the RSA signature failed".to_owned())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// The claim set of a service-account assertion.
#[derive(Debug, Serialize)]
pub(super) struct Claims<'a> {
    pub(super) iss: &'a str,
    pub(super) scope: &'a str,
    pub(super) aud: &'a str,
    pub(super) iat: i64,
    pub(super) exp: i64,
}

impl<'a> Claims<'a> {
    /// The claims for an assertion issued at `now`.
    pub(super) fn issued_at(client_email: &'a str, token_uri: &'a str, now: Timestamp) -> Self {
        let iat = now.as_second();
        Self {
            iss: client_email,
            scope: FCM_SCOPE,
            aud: token_uri,
            iat,
            exp: iat + ASSERTION_LIFETIME,
        }
    }
}

#[derive(Debug, Clone)]
struct CachedToken {
    access_token: String,
    refresh_after: Timestamp,
}

/// Access tokens for one service account: fetched on first use, kept until shortly
/// before they expire, replaced once when FCM rejects one.
pub(super) struct TokenSource {
    pub(super) key: ServiceAccountKey,
    pub(super) client_email: String,
    pub(super) token_uri: String,
    pub(super) http: HttpClient,
    pub(super) clock: Arc<dyn Clock>,
    current: Mutex<Option<CachedToken>>,
}

impl TokenSource {
    /// A source with no token yet.
    pub(super) fn new(
        key: ServiceAccountKey,
        client_email: String,
        token_uri: String,
        http: HttpClient,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            key,
            client_email,
            token_uri,
            http,
            clock,
            current: Mutex::new(None),
        }
    }

    /// A valid access token, fetching one if none is cached or the cached one is about
    /// to expire. Concurrent callers wait for one fetch instead of each making their own.
    pub(super) async fn token(&self) -> Result<String, SendError> {
        let mut current = self.current.lock().await;
        let now = self.clock.now();
        if let Some(cached) = current.as_ref().filter(|c| now < c.refresh_after) {
            return Ok(cached.access_token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.access_token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    /// A replacement for `rejected`, which FCM refused. When another send already
    /// replaced it, that replacement is returned without a second fetch.
    pub(super) async fn refresh_after_rejection(&self, rejected: &str) -> Result<String, SendError> {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref().filter(|c| c.access_token != rejected) {
            return Ok(cached.access_token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.access_token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    async fn fetch(&self) -> Result<CachedToken, SendError> {
        let now = self.clock.now();
        let claims = Claims::issued_at(&self.client_email, &self.token_uri, now);
        let assertion = self
            .key
            .sign(&claims)
            .map_err(|e| SendError::permanent("private_key", e))?;
        let response = self
            .http
            .request(reqwest::Method::POST, &self.token_uri)?
            .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)])
            .send()
            .await
            // No message has left yet, so a lost answer costs nothing but a retry.
            .map_err(|e| transport_error(&e, true))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| transport_error(&e, true))?;
        if !status.is_success() {
            return Err(token_error(status, &body));
        }
        let answer: TokenAnswer = serde_json::from_str(&body)
            .map_err(|e| SendError::retryable("token_answer", format!("unreadable token answer: {e}")))?;
        let lifetime = SignedDuration::from_secs(answer.expires_in.max(0));
        // A token shorter-lived than twice the margin is used for half its life.
        let keep = if lifetime > REFRESH_MARGIN * 2 {
            lifetime - REFRESH_MARGIN
        } else {
            lifetime / 2
        };
        Ok(CachedToken {
            access_token: answer.access_token,
            refresh_after: now.saturating_add(keep).unwrap_or(now),
        })
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct TokenErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Sorts a token endpoint refusal: `invalid_grant`, `invalid_client` and
/// `unauthorized_client` mean the service account or its key is wrong, which no
/// retry mends; overload and server errors pass.
fn token_error(status: reqwest::StatusCode, body: &str) -> SendError {
    match serde_json::from_str::<TokenErrorAnswer>(body) {
        Ok(answer) if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS => {
            SendError::permanent(
                answer.error,
                format!(
                    "the token endpoint refused the service account: {}",
                    answer.error_description
                ),
            )
        }
        _ => classify_status(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = include_str!("../../../tests/fixtures/fcm-test-key.pem");

    // Produced outside this code, with OpenSSL, over the same header and claims:
    //   printf '%s' "$HEADER_B64.$CLAIMS_B64" | openssl dgst -sha256 -sign fcm-test-key.pem
    // RSASSA-PKCS1-v1_5 is deterministic, so the whole token must match byte for byte.
    const OPENSSL_JWT: &str = include_str!("../../../tests/fixtures/fcm-test-jwt.txt");

    #[test]
    fn the_assertion_matches_one_signed_by_openssl_byte_for_byte() {
        let key = ServiceAccountKey::from_pem(TEST_KEY, None).expect("test key");
        let claims = Claims::issued_at(
            "orbit-test@orbit-test.iam.gserviceaccount.com",
            "https://oauth2.googleapis.com/token",
            Timestamp::from_second(1_700_000_000).expect("time"),
        );
        assert_eq!(claims.exp - claims.iat, 3600);
        let jwt = key.sign(&claims).expect("signed");
        assert_eq!(jwt, OPENSSL_JWT.trim());
    }

    #[test]
    fn a_key_id_goes_into_the_header() {
        let key = ServiceAccountKey::from_pem(TEST_KEY, Some("k1".to_owned())).expect("test key");
        let claims = Claims::issued_at("a@b", "https://t", Timestamp::UNIX_EPOCH);
        let jwt = key.sign(&claims).expect("signed");
        let header = jwt.split('.').next().expect("header");
        let header = URL_SAFE_NO_PAD.decode(header).expect("base64url");
        assert_eq!(header, br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
    }

    #[test]
    fn something_that_is_not_an_rsa_key_is_refused() {
        assert!(ServiceAccountKey::from_pem("not a key", None).is_err());
        let truncated = TEST_KEY.replacen("MII", "XII", 1);
        assert!(ServiceAccountKey::from_pem(&truncated, None).is_err());
    }

    #[test]
    fn token_endpoint_refusals_are_sorted() {
        let bad_key = token_error(
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        );
        assert!(
            matches!(&bad_key, SendError::Permanent { code, message } if code == "invalid_grant" && message.contains("Invalid JWT Signature")),
            "{bad_key:?}"
        );
        let busy = token_error(reqwest::StatusCode::SERVICE_UNAVAILABLE, "busy");
        assert!(matches!(busy, SendError::Retryable { .. }), "{busy:?}");
        let throttled = token_error(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":"rate_limit_exceeded"}"#,
        );
        assert!(matches!(throttled, SendError::Retryable { .. }), "{throttled:?}");
    }
}
