//! Masking people's contacts — phone numbers and email addresses — for those who may
//! not see them (`138****8000`, `m***@brand.cn`), wherever they appear in an answer:
//! under a field named for a contact, or as a value that is plainly one.

use serde_json::Value;

/// Field names whose text is a contact, whatever it looks like.
const CONTACT_FIELDS: [&str; 10] = [
    "phone",
    "mobile",
    "tel",
    "telephone",
    "cellphone",
    "phone_number",
    "mobile_phone",
    "email",
    "mail",
    "email_address",
];

/// Masks every contact in a JSON value, in place.
pub fn mask_contacts(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // An identity `{"type": "phone", "value": "…"}` names its kind beside it.
            let typed_contact = map
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(is_contact_field);
            for (key, inner) in map.iter_mut() {
                if is_contact_field(key) || (typed_contact && key == "value") {
                    mask_named(inner);
                } else {
                    mask_contacts(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_contacts),
        Value::String(text) => {
            if let Some(masked) = mask_text(text) {
                *text = masked;
            }
        }
        Value::Number(number) => {
            let digits = number.to_string();
            if looks_like_phone(&digits) {
                *value = Value::String(mask_contact(&digits));
            }
        }
        _ => {}
    }
}

/// Masks a value held under a contact's name, whatever its shape: a text or a number
/// is the contact; in an object (a trait's history `{"value": …, "at": …}`) its
/// `value` is, and the rest is looked at as anything else.
fn mask_named(value: &mut Value) {
    match value {
        // A template's source names contacts without holding one.
        Value::String(text) if text.contains("{{") || text.contains("{%") => {
            if let Some(masked) = mask_text(text) {
                *text = masked;
            }
        }
        Value::String(text) => *text = mask_contact(text),
        Value::Number(number) => *value = Value::String(mask_contact(&number.to_string())),
        Value::Array(items) => items.iter_mut().for_each(mask_named),
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if key == "value" {
                    mask_named(inner);
                } else {
                    mask_contacts(inner);
                }
            }
        }
        _ => {}
    }
}

/// Masks one cell of a CSV export: by its column's name or by its look.
pub fn mask_cell(column: &str, cell: &str) -> String {
    if is_contact_field(column) {
        mask_contact(cell)
    } else {
        mask_text(cell).unwrap_or_else(|| cell.to_owned())
    }
}

/// A text with every contact in it masked — the whole text, or a word of it (`请联系
/// 13900139000`, `mail mei@brand.cn`) — or `None` when it holds none.
pub fn mask_text(text: &str) -> Option<String> {
    if looks_like_email(text) || looks_like_phone(text) {
        return Some(mask_contact(text));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '@');
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(start) = rest.find(word) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !word(c)).unwrap_or(tail.len());
        // A sentence's full stop is not part of an address.
        let token = tail[..end].trim_end_matches('.');
        if looks_like_email(token) || looks_like_phone(token) {
            out.push_str(&mask_contact(token));
            changed = true;
        } else {
            out.push_str(token);
        }
        rest = &tail[token.len()..];
        if token.is_empty() {
            // Only dots: keep them and go on.
            out.push_str(&tail[..end]);
            rest = &tail[end..];
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Whether a field name stands for a contact (`phone`, `user_email`, `mobile_no`…).
pub fn is_contact_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    CONTACT_FIELDS.contains(&name.as_str())
        || name
            .split(['_', '-', '.', ' '])
            .any(|part| matches!(part, "phone" | "mobile" | "email" | "tel" | "cellphone"))
}

/// A contact masked: an email keeps its first character and its domain, anything else
/// its first three and last four digits.
pub fn mask_contact(text: &str) -> String {
    if let Some((local, domain)) = text.rsplit_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if digits < 7 {
        return "*".repeat(text.chars().count().max(3));
    }
    let (keep_front, keep_back) = (3, 4);
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen <= keep_front || seen > digits - keep_back {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// Whether a text is plainly an email address.
pub fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        && text.len() <= 254
}

/// Whether a text is plainly a phone number: an international number (`+86 138…`) or
/// a mainland mobile number (`13800138000`). Other long numbers — order ids — are not.
pub fn looks_like_phone(text: &str) -> bool {
    let trimmed = text.trim();
    let international = trimmed.starts_with('+');
    let body = trimmed.trim_start_matches('+');
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
    {
        return false;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    if international {
        return (8..=15).contains(&digits.len());
    }
    let mainland_mobile = |d: &str| {
        d.len() == 11 && d.starts_with('1') && d.as_bytes().get(1).is_some_and(|b| (b'3'..=b'9').contains(b))
    };
    mainland_mobile(&digits) || digits.strip_prefix("86").is_some_and(mainland_mobile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_keep_their_first_three_and_last_four_digits() {
        assert_eq!(mask_contact("13800138000"), "138****8000");
        assert_eq!(mask_contact("+86 138 0013 8000"), "+86 1** **** 8000");
        assert_eq!(mask_contact("mei@brand.cn"), "m***@brand.cn");
        assert_eq!(mask_contact("12"), "***");
    }

    #[test]
    fn contacts_are_found_by_field_name_identity_type_or_look() {
        let mut profile = json!({
            "id": "01J...",
            "identities": [
                {"type": "phone", "value": "+8613800138000"},
                {"type": "user_id", "value": "u-42"},
                {"type": "email", "value": "MEI@brand.cn"}
            ],
            "traits": {
                "mobile_phone": "138 0013 8000",
                "name": "王美",
                "contact_note": "call her at 13900139000",
                "order_id": "20261207123456",
                "friends": ["zhao@brand.cn", "lei"]
            }
        });
        mask_contacts(&mut profile);
        assert_eq!(profile["identities"][0]["value"], "+861******8000");
        assert_eq!(profile["identities"][1]["value"], "u-42");
        assert_eq!(profile["identities"][2]["value"], "M***@brand.cn");
        assert_eq!(profile["traits"]["mobile_phone"], "138 **** 8000");
        assert_eq!(profile["traits"]["name"], "王美");
        assert_eq!(
            profile["traits"]["order_id"], "20261207123456",
            "an order id is not a phone"
        );
        assert_eq!(profile["traits"]["contact_note"], "call her at 139****9000");
        assert_eq!(profile["traits"]["friends"][0], "z***@brand.cn");
        assert_eq!(profile["traits"]["friends"][1], "lei");
    }

    #[test]
    fn a_contact_is_masked_in_any_shape_under_its_name_but_a_template_source_is_not() {
        let mut export = json!({
            "trait_history": {"work_phone": {"value": "021-6888 1234", "at": "2026-12-07T02:00:00Z"}},
            "properties": {"mobile": 13700137000_u64, "amount": 5990, "count": 13700137000_u64},
            "body": {"phone": "{{ profile.identities.phone }}"}
        });
        mask_contacts(&mut export);
        assert_eq!(export["trait_history"]["work_phone"]["value"], "021-**** 1234");
        assert_eq!(
            export["trait_history"]["work_phone"]["at"],
            "2026-12-07T02:00:00Z"
        );
        assert_eq!(export["properties"]["mobile"], "137****7000");
        assert_eq!(export["properties"]["amount"], 5990);
        assert_eq!(
            export["properties"]["count"], "137****7000",
            "a number that is plainly a mobile"
        );
        assert_eq!(export["body"]["phone"], "{{ profile.identities.phone }}");
    }

    #[test]
    fn csv_cells_are_masked_by_column_or_look() {
        assert_eq!(mask_cell("phone", "13800138000"), "138****8000");
        assert_eq!(mask_cell("note", "13800138000"), "138****8000");
        assert_eq!(mask_cell("profile_id", "01JX"), "01JX");
        assert_eq!(
            mask_cell("备注", "请联系13900139000或 mei@brand.cn."),
            "请联系139****9000或 m***@brand.cn."
        );
    }
}
