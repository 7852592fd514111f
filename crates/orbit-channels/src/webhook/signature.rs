//! The `Orbit-Signature` header: how a receiver knows a webhook came from Orbit and
//! was not altered or replayed.
//!
//! The scheme is Stripe's (<https://docs.stripe.com/webhooks#verify-manually>), so
//! receivers can reuse what they know. The body `{"event":"order_paid","amount":"99.00"}`
//! sent at 2024-11-11T12:00:00Z with the secret `whsec_orbit_test_0123456789` carries:
//!
//! ```text
//! Orbit-Signature: t=1731326400,v1=a86ed6df650eb082df68b04f78eed8e28e10c2273a567659ec07ab3625e32243
//! ```
//!
//! - `t` is the time of sending, in Unix seconds;
//! - `v1` is the lowercase hex HMAC-SHA256, keyed with the webhook's secret, of the
//!   bytes `<t>.<raw body>` — the body exactly as received, before any JSON parsing;
//! - a receiver recomputes `v1`, compares in constant time, and refuses a `t` further
//!   from its clock than a tolerance (five minutes is usual), so a captured request
//!   cannot be replayed later. Several `v1` entries may appear (one per secret while a
//!   secret is being rotated); one match is enough.

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Orbit-Signature";

/// Why a signature header does not vouch for a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<seconds>,v1=<hex>[,v1=<hex>…]`.
    #[error("the signature header is malformed")]
    Malformed,
    /// No `v1` signature matches the body and the secret.
    #[error("no signature matches the body")]
    Mismatch,
    /// The timestamp is further from now than the tolerance.
    #[error("the signature timestamp is outside the tolerance")]
    OutsideTolerance,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Orbit-Signature` header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: Timestamp, body: &[u8]) -> String {
    let t = timestamp.as_second();
    let v1 = hex::encode(mac(secret, t, body).finalize().into_bytes());
    format!("t={t},v1={v1}")
}

/// Checks that `header` signs `body` with `secret`, at a time within `tolerance` of
/// `now` (either way: a timestamp from the future is as suspicious as an old one).
///
/// # Errors
/// [`SignatureError`] says what is wrong; receivers answer 400 or 401 to all of them.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for element in header.split(',') {
        let (key, value) = element.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?);
            }
            "t" => return Err(SignatureError::Malformed),
            "v1" => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            // Other schemes may be added later; a receiver ignores what it does not know.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age = now.as_second().abs_diff(timestamp);
    if age > tolerance.as_secs() {
        return Err(SignatureError::OutsideTolerance);
    }
    let expected = mac(secret, timestamp, body);
    // `verify_slice` compares in constant time.
    if signatures
        .iter()
        .any(|s| expected.clone().verify_slice(s).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_orbit_test_0123456789";
    const BODY: &[u8] = br#"{"event":"order_paid","amount":"99.00"}"#;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("timestamp")
    }

    /// Computed independently with Python's standard library:
    /// `hmac.new(b"whsec_orbit_test_0123456789", b'1731326400.{"event":"order_paid","amount":"99.00"}', hashlib.sha256).hexdigest()`.
    #[test]
    fn the_signature_matches_an_independent_computation() {
        assert_eq!(
            sign(SECRET, at(1_731_326_400), BODY),
            "t=1731326400,v1=a86ed6df650eb082df68b04f78eed8e28e10c2273a567659ec07ab3625e32243"
        );
    }

    #[test]
    fn a_signature_verifies_within_the_tolerance_only() {
        let header = sign(SECRET, at(1_731_326_400), BODY);
        let five_minutes = Duration::from_secs(300);
        assert_eq!(
            verify(SECRET, &header, BODY, at(1_731_326_400), five_minutes),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, &header, BODY, at(1_731_326_700), five_minutes),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, &header, BODY, at(1_731_326_701), five_minutes),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify(SECRET, &header, BODY, at(1_731_326_099), five_minutes),
            Err(SignatureError::OutsideTolerance)
        );
    }

    #[test]
    fn a_tampered_body_a_wrong_secret_or_a_moved_timestamp_do_not_verify() {
        let now = at(1_731_326_400);
        let tolerance = Duration::from_secs(300);
        let header = sign(SECRET, now, BODY);
        let tampered = br#"{"event":"order_paid","amount":"0.01"}"#;
        assert_eq!(
            verify(SECRET, &header, tampered, now, tolerance),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("another secret", &header, BODY, now, tolerance),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace("t=1731326400", "t=1731326401");
        assert_eq!(
            verify(SECRET, &moved, BODY, now, tolerance),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match_and_unknown_schemes_are_ignored() {
        let now = at(1_731_326_400);
        let good = sign(SECRET, now, BODY);
        let v1 = good.split_once(",v1=").expect("v1").1;
        let header = format!("t=1731326400,v0=abc,v1={},v1={v1}", "00".repeat(32));
        assert_eq!(verify(SECRET, &header, BODY, now, Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let now = at(1_731_326_400);
        let tolerance = Duration::from_secs(300);
        for header in [
            "",
            "t=1731326400",
            "v1=00",
            "t=abc,v1=00",
            "t=1731326400,v1=zz",
            "t=1,t=2,v1=00",
            "garbage",
        ] {
            assert_eq!(
                verify(SECRET, header, BODY, now, tolerance),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }
}
