//! Cleaning of contact points on the way in: emails and phone numbers.
//!
//! A value that parses becomes an identity in its normalised form; one that does not is
//! kept raw on the profile as a data-quality flag, never used to link people.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a contact value was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// The email address is not syntactically valid.
    #[error("is not a valid email address")]
    InvalidEmail,
    /// The phone number could not be parsed or is not a valid number.
    #[error("is not a valid phone number")]
    InvalidPhone,
}

/// A syntactically valid email address, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases and validates an address.
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let lowered = raw.trim().to_lowercase();
        let valid =
            email_address::EmailAddress::from_str(&lowered).map_err(|_| ContactError::InvalidEmail)?;
        // The crate accepts dotless domains ("a@localhost"), which are never reachable
        // marketing addresses.
        if !valid.domain().contains('.') || valid.display_part() != "" {
            return Err(ContactError::InvalidEmail);
        }
        Ok(Self(lowered))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid phone number in E.164 form (`+8613800138000`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    /// Parses a number as people type it. Numbers without a country code are read in
    /// `default_region` (Orbit's default is China, so `13800138000` is `+8613800138000`).
    pub fn parse(raw: &str, default_region: phonenumber::country::Id) -> Result<Self, ContactError> {
        if let Some(fast) = Self::chinese_mobile(raw, default_region) {
            return Ok(fast);
        }
        Self::parse_any(raw, default_region)
    }

    /// The common case, without the general parser (which costs tens of microseconds):
    /// a Chinese mobile number, with or without `+86`/`0086`/`86`, spaces or dashes,
    /// that the numbering plan's own mobile pattern accepts. Anything else: `None`.
    fn chinese_mobile(raw: &str, default_region: phonenumber::country::Id) -> Option<Self> {
        let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let national = if let Some(rest) = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
        {
            rest
        } else if compact.len() == 13 && compact.starts_with("861") {
            &compact[2..]
        } else if default_region == phonenumber::country::Id::CN {
            compact.as_str()
        } else {
            return None;
        };
        if national.len() != 11 || !national.starts_with('1') || !national.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mobile = phonenumber::metadata::DATABASE
            .by_id("CN")?
            .descriptors()
            .mobile()?;
        mobile.is_match(national).then(|| Self(format!("+86{national}")))
    }

    fn parse_any(raw: &str, default_region: phonenumber::country::Id) -> Result<Self, ContactError> {
        let trimmed = raw.trim();
        // "0086…" and "86…" with 13 digits are common spellings of Chinese mobiles.
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let candidate = if let Some(rest) = trimmed.strip_prefix("00") {
            format!("+{rest}")
        } else if !trimmed.starts_with('+') && digits.len() == 13 && digits.starts_with("861") {
            format!("+{digits}")
        } else {
            trimmed.to_owned()
        };
        let number =
            phonenumber::parse(Some(default_region), &candidate).map_err(|_| ContactError::InvalidPhone)?;
        if !phonenumber::is_valid(&number) {
            return Err(ContactError::InvalidPhone);
        }
        Ok(Self(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::country::Id::{CN, US};

    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut fast = 0;
        for n in 0..6_000u32 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let digits = format!("1{:010}", rng % 10_000_000_000);
            let spelled = match n % 4 {
                0 => digits.clone(),
                1 => format!("+86 {digits}"),
                2 => format!("0086-{}-{}", &digits[..3], &digits[3..]),
                _ => format!("86{digits}"),
            };
            for region in [CN, US] {
                let quick = Phone::chinese_mobile(&spelled, region);
                fast += usize::from(quick.is_some());
                if let Some(quick) = quick {
                    // Read in China, where the general parser is right about +86 numbers.
                    assert_eq!(
                        Phone::parse_any(&spelled, CN),
                        Ok(quick),
                        "{spelled} in {region:?}"
                    );
                }
            }
        }
        assert!(fast > 1_500, "the fast path takes most mobile numbers: {fast}");
    }

    #[test]
    fn a_plus_86_mobile_keeps_its_leading_one_whatever_the_default_region() {
        // The general parser, with a default region whose national prefix is 1, reads
        // +86 138… as +86 38…; the mobile pattern does not.
        for raw in ["+86 138 0013 8000", "008613800138000", "8613800138000"] {
            assert_eq!(
                Phone::parse(raw, US).map(|p| p.to_string()),
                Ok("+8613800138000".to_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn chinese_mobiles_without_country_code_become_plus_86() {
        for raw in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "008613800138000",
            "8613800138000",
        ] {
            assert_eq!(
                Phone::parse(raw, CN).map(|p| p.0),
                Ok("+8613800138000".to_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn numbers_with_a_country_code_keep_it() {
        assert_eq!(
            Phone::parse("+1 (650) 253-0000", CN).map(|p| p.0),
            Ok("+16502530000".to_owned())
        );
        assert_eq!(
            Phone::parse("(650) 253-0000", US).map(|p| p.0),
            Ok("+16502530000".to_owned())
        );
    }

    #[test]
    fn garbage_phone_numbers_are_refused() {
        for raw in ["", "abc", "12345", "1380013800099999", "+86 000"] {
            assert_eq!(Phone::parse(raw, CN), Err(ContactError::InvalidPhone), "{raw}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Li.Lei@Example.COM ").map(|e| e.0),
            Ok("li.lei@example.com".to_owned())
        );
    }

    #[test]
    fn invalid_emails_are_refused() {
        for raw in [
            "",
            "li.lei",
            "li@",
            "@example.com",
            "li lei@example.com",
            "a@localhost",
            "Li <li@example.com>",
        ] {
            assert_eq!(Email::parse(raw), Err(ContactError::InvalidEmail), "{raw}");
        }
    }
}
