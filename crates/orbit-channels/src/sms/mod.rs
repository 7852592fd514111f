//! Text messages: Aliyun SMS, Tencent Cloud SMS, Twilio, and part counting.
//!
//! Each provider module speaks its own protocol and parses its own delivery reports;
//! what they share lives here: reading the recipient's E.164 number and the error a
//! malformed or forged delivery report earns.

pub mod aliyun;
pub mod parts;
pub mod tencent;
pub mod twilio;

use crate::{ConfigError, SendError};

/// Why a delivery report pushed by a provider was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The body is not in the shape the provider documents.
    #[error("malformed delivery report: {0}")]
    Malformed(String),
    /// The provider signs its reports and this signature does not match.
    #[error("delivery report signature does not match")]
    BadSignature,
}

/// The digits of an E.164 number (`+8613800138000` → `8613800138000`).
///
/// # Errors
/// A permanent `recipient` error when the address is not `+` followed by 8 to 15
/// digits: no provider will ever take it as is.
pub(crate) fn e164_digits(address: &str) -> Result<&str, SendError> {
    let digits = address.strip_prefix('+').unwrap_or("");
    let well_formed = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if well_formed {
        Ok(digits)
    } else {
        Err(SendError::permanent(
            "recipient",
            format!("{address} is not an E.164 phone number"),
        ))
    }
}

/// Refuses an empty or blank configuration value.
pub(crate) fn require(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        Err(ConfigError::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

/// Checks a provider base URL from configuration: http or https, a host, and no
/// query or fragment (request paths are appended to it).
pub(crate) fn check_endpoint(field: &str, value: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::new(field, e.to_string()))?;
    let usable = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none();
    if usable {
        Ok(url)
    } else {
        Err(ConfigError::new(
            field,
            "must be an http or https URL without query or fragment",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plus_and_8_to_15_digits_pass_as_e164() {
        assert_eq!(e164_digits("+8613800138000"), Ok("8613800138000"));
        assert_eq!(e164_digits("+14155550100"), Ok("14155550100"));
        for bad in [
            "8613800138000",
            "+86 138 0013 8000",
            "+0123456789",
            "+1234567",
            "+1234567890123456",
            "",
        ] {
            assert!(
                matches!(e164_digits(bad), Err(SendError::Permanent { .. })),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn endpoints_must_be_plain_http_urls() {
        assert!(check_endpoint("endpoint", "https://dysmsapi.aliyuncs.com").is_ok());
        assert!(check_endpoint("endpoint", "http://127.0.0.1:8080/base").is_ok());
        for bad in ["ftp://x.example", "https://x.example/?a=1", "not a url", ""] {
            let error = check_endpoint("endpoint", bad).expect_err(bad);
            assert_eq!(error.field, "endpoint");
        }
    }
}
