//! TencentCloud API signature v3, `TC3-HMAC-SHA256`, for a JSON POST to `/` with
//! `content-type` and `host` as the signed headers.
//!
//! ```text
//! CanonicalRequest = "POST\n/\n\n" + "content-type:" + ct + "\nhost:" + host + "\n\n"
//!                    + "content-type;host\n" + hex(sha256(payload))
//! StringToSign     = "TC3-HMAC-SHA256\n" + timestamp + "\n" + date/service/tc3_request
//!                    + "\n" + hex(sha256(CanonicalRequest))
//! SecretSigning    = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request")
//! Signature        = hex(HMAC(SecretSigning, StringToSign))
//! ```
//!
//! `date` is the UTC date of the timestamp: a local date breaks every request sent
//! between midnight UTC and local midnight.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// The algorithm named in the `Authorization` header and the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The headers covered by the signature, in canonical order.
pub const SIGNED_HEADERS: &str = "content-type;host";

/// What one request signature depends on.
#[derive(Debug, Clone, Copy)]
pub struct Tc3Request<'a> {
    /// The API key's id, named in the credential.
    pub secret_id: &'a str,
    /// The API key's secret.
    pub secret_key: &'a str,
    /// The product, as in the endpoint's first label (`sms`, `cvm`).
    pub service: &'a str,
    /// The `Host` header exactly as sent (with the port when it is not the default).
    pub host: &'a str,
    /// The `Content-Type` header exactly as sent.
    pub content_type: &'a str,
    /// The request body exactly as sent.
    pub payload: &'a str,
    /// The instant sent as `X-TC-Timestamp`.
    pub timestamp: Timestamp,
}

impl Tc3Request<'_> {
    /// The canonical request string.
    pub fn canonical_request(&self) -> String {
        format!(
            "POST\n/\n\ncontent-type:{}\nhost:{}\n\n{SIGNED_HEADERS}\n{}",
            self.content_type.trim().to_ascii_lowercase(),
            self.host.trim().to_ascii_lowercase(),
            hex::encode(Sha256::digest(self.payload.as_bytes()))
        )
    }

    /// The credential scope: `date/service/tc3_request`.
    pub fn credential_scope(&self) -> String {
        format!("{}/{}/tc3_request", self.date(), self.service)
    }

    /// The string to sign.
    pub fn string_to_sign(&self) -> String {
        format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            self.timestamp.as_second(),
            self.credential_scope(),
            hex::encode(Sha256::digest(self.canonical_request().as_bytes()))
        )
    }

    /// The hex signature.
    pub fn signature(&self) -> String {
        let secret_date = hmac_sha256(
            format!("TC3{}", self.secret_key).as_bytes(),
            self.date().as_bytes(),
        );
        let secret_service = hmac_sha256(&secret_date, self.service.as_bytes());
        let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
        hex::encode(hmac_sha256(&secret_signing, self.string_to_sign().as_bytes()))
    }

    /// The `Authorization` header's value.
    pub fn authorization(&self) -> String {
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={SIGNED_HEADERS}, Signature={}",
            self.secret_id,
            self.credential_scope(),
            self.signature()
        )
    }

    fn date(&self) -> String {
        self.timestamp.strftime("%Y-%m-%d").to_string()
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the TencentCloud API signature v3 documentation,
    /// repeated in every product's API reference
    /// (<https://cloud.tencent.com/document/product/215/36792>): CVM
    /// `DescribeInstances` in ap-guangzhou at 1551113065, key
    /// `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`.
    fn example() -> Tc3Request<'static> {
        Tc3Request {
            secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            service: "cvm",
            host: "cvm.tencentcloudapi.com",
            content_type: "application/json; charset=utf-8",
            payload: r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#,
            timestamp: Timestamp::from_second(1_551_113_065).expect("in range"),
        }
    }

    #[test]
    fn the_documented_example_is_reproduced_byte_for_byte() {
        let request = example();
        assert_eq!(
            hex::encode(Sha256::digest(request.payload.as_bytes())),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            request.canonical_request(),
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\n\
             host:cvm.tencentcloudapi.com\n\ncontent-type;host\n\
             35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            request.string_to_sign(),
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
             5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            request.signature(),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        assert_eq!(
            request.authorization(),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/\
             tc3_request, SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn the_date_is_the_utc_date_of_the_timestamp() {
        // 00:44:25 on the 26th in UTC+8 is still the 25th in UTC.
        assert_eq!(example().credential_scope(), "2019-02-25/cvm/tc3_request");
        let next_day = Tc3Request {
            timestamp: Timestamp::from_second(1_551_139_200).expect("in range"),
            ..example()
        };
        assert_eq!(next_day.credential_scope(), "2019-02-26/cvm/tc3_request");
    }

    #[test]
    fn any_change_to_the_signed_parts_changes_the_signature() {
        let base = example().signature();
        let body = Tc3Request {
            payload: r#"{"Limit": 2}"#,
            ..example()
        };
        let host = Tc3Request {
            host: "sms.tencentcloudapi.com",
            ..example()
        };
        let key = Tc3Request {
            secret_key: "another",
            ..example()
        };
        for changed in [body, host, key] {
            assert_ne!(changed.signature(), base);
        }
    }
}
