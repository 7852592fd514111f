//! How many billable parts a text message costs.
//!
//! Two rules are in use, and the preview must show the one the provider bills by:
//!
//! - [`CountingRule::Carrier`]: the GSM 03.38 rule carriers apply to a raw text
//!   (Twilio and every provider that sends the text as is). A text made only of GSM-7
//!   characters is packed in 7-bit septets: 160 in one part, 153 per part once split
//!   (the user data header takes the rest). The extension characters
//!   `^ { } \ [ ] ~ | €` and form feed are an escape plus a character, 2 septets, and a
//!   part never ends between the two. One character outside GSM-7 turns the whole
//!   text into UCS-2: 70 UTF-16 units in one part, 67 per part once split; a
//!   character outside the Basic Multilingual Plane (most emoji) is a surrogate pair,
//!   2 units, never split across parts.
//! - [`CountingRule::ChineseProvider`]: Aliyun and Tencent bill domestic messages by
//!   their own count: the signature `【签名】` is part of the text, and every
//!   character counts 1 whatever its script (a Latin letter as much as a Chinese
//!   one): 70 in one part, 67 per part once split.

use serde::{Deserialize, Serialize};

/// Septets in a GSM-7 text sent as one part.
const GSM7_SINGLE: u32 = 160;
/// Septets per part of a split GSM-7 text.
const GSM7_PER_PART: u32 = 153;
/// UTF-16 units (or provider characters) in a text sent as one part.
const UCS2_SINGLE: u32 = 70;
/// UTF-16 units (or provider characters) per part of a split text.
const UCS2_PER_PART: u32 = 67;

/// Which counting a provider bills by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountingRule<'a> {
    /// GSM 03.38 septets or UCS-2 units, as carriers bill a raw text (Twilio).
    Carrier,
    /// Aliyun's and Tencent's domestic rule: `【signature】` plus the text, one per
    /// character.
    ChineseProvider {
        /// The approved signature, without the brackets the provider adds.
        signature: &'a str,
    },
}

/// What the length of a [`PartCount`] is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet; length in septets.
    Gsm7,
    /// UCS-2 (UTF-16 on the air); length in UTF-16 code units.
    Ucs2,
    /// A Chinese provider's own count; length in characters, signature included.
    Characters,
}

/// A text's billable size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartCount {
    /// The encoding the text goes out in, which fixes the unit of `length`.
    pub encoding: Encoding,
    /// The text's length in that encoding's unit.
    pub length: u32,
    /// The parts the provider bills; an empty text still costs one.
    pub parts: u32,
}

/// Counts the parts `text` is billed as under `rule`.
pub fn count_parts(text: &str, rule: CountingRule<'_>) -> PartCount {
    match rule {
        CountingRule::Carrier => {
            let gsm7: Option<Vec<u32>> = text.chars().map(gsm7_septets).collect();
            match gsm7 {
                Some(costs) => pack(Encoding::Gsm7, &costs, GSM7_SINGLE, GSM7_PER_PART),
                None => {
                    let costs: Vec<u32> = text.chars().map(|c| c.len_utf16() as u32).collect();
                    pack(Encoding::Ucs2, &costs, UCS2_SINGLE, UCS2_PER_PART)
                }
            }
        }
        CountingRule::ChineseProvider { signature } => {
            // The brackets 【】 count too.
            let characters = 2 + signature.chars().count() + text.chars().count();
            let length = u32::try_from(characters).unwrap_or(u32::MAX);
            // Every character costs 1, so no pair can be pushed to the next part.
            let parts = if length <= UCS2_SINGLE {
                1
            } else {
                length.div_ceil(UCS2_PER_PART)
            };
            PartCount {
                encoding: Encoding::Characters,
                length,
                parts,
            }
        }
    }
}

/// Fills parts greedily: a character whose cost does not fit in what is left of the
/// current part opens the next one, so an escape pair or a surrogate pair is never
/// split — which is why a split text can need more parts than its length suggests.
fn pack(encoding: Encoding, costs: &[u32], single: u32, per_part: u32) -> PartCount {
    let length: u32 = costs.iter().sum();
    if length <= single {
        return PartCount {
            encoding,
            length,
            parts: 1,
        };
    }
    let mut parts = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > per_part {
            parts += 1;
            used = 0;
        }
        used += cost;
    }
    PartCount {
        encoding,
        length,
        parts,
    }
}

/// The septets a character takes in the GSM 03.38 default alphabet and its
/// extension table, or `None` when it has no GSM-7 form.
fn gsm7_septets(c: char) -> Option<u32> {
    match c {
        '@'
        | '£'
        | '$'
        | '¥'
        | 'è'
        | 'é'
        | 'ù'
        | 'ì'
        | 'ò'
        | 'Ç'
        | '\n'
        | 'Ø'
        | 'ø'
        | '\r'
        | 'Å'
        | 'å'
        | 'Δ'
        | '_'
        | 'Φ'
        | 'Γ'
        | 'Λ'
        | 'Ω'
        | 'Π'
        | 'Ψ'
        | 'Σ'
        | 'Θ'
        | 'Ξ'
        | 'Æ'
        | 'æ'
        | 'ß'
        | 'É'
        | ' '
        | '!'
        | '"'
        | '#'
        | '¤'
        | '%'
        | '&'
        | '\''
        | '('
        | ')'
        | '*'
        | '+'
        | ','
        | '-'
        | '.'
        | '/'
        | '0'..='9'
        | ':'
        | ';'
        | '<'
        | '='
        | '>'
        | '?'
        | '¡'
        | 'A'..='Z'
        | 'Ä'
        | 'Ö'
        | 'Ñ'
        | 'Ü'
        | '§'
        | '¿'
        | 'a'..='z'
        | 'ä'
        | 'ö'
        | 'ñ'
        | 'ü'
        | 'à' => Some(1),
        '\u{0C}' | '^' | '{' | '}' | '\\' | '[' | ']' | '~' | '|' | '€' => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
