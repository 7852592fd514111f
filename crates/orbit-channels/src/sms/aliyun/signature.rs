//! Aliyun's RPC signature, version 1.0 (`SignatureMethod=HMAC-SHA1`), the scheme
//! the dysmsapi 2017-05-25 documentation describes for `SendSms`.
//!
//! ```text
//! CanonicalizedQueryString = sorted `percentEncode(name)=percentEncode(value)` joined by `&`
//! StringToSign = METHOD + "&" + percentEncode("/") + "&" + percentEncode(CanonicalizedQueryString)
//! Signature    = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
//! ```
//!
//! `percentEncode` is RFC 3986 over UTF-8: only `A-Z a-z 0-9 - _ . ~` stay as they
//! are, a space is `%20` (never `+`), and `*` is `%2A`.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;

/// Everything but RFC 3986's unreserved characters.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Aliyun's `percentEncode`: RFC 3986 percent-encoding of the UTF-8 bytes.
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

/// The canonicalized query string: every parameter but `Signature`, encoded and
/// sorted by name.
pub fn canonicalized_query(params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string to sign for a request sent with `method` (`GET` or `POST`).
pub fn string_to_sign(method: &str, canonicalized_query: &str) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(canonicalized_query)
    )
}

/// The `Signature` parameter's value, before it is itself percent-encoded.
pub fn sign(access_key_secret: &str, string_to_sign: &str) -> String {
    // The key is the secret followed by '&' (the empty token secret of the scheme).
    let key = format!("{access_key_secret}&");
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Aliyun's SMS signature documentation
    /// (<https://help.aliyun.com/document_detail/101343.html>, also
    /// <https://www.alibabacloud.com/help/en/sms/signature-method>): a GET `SendSms`
    /// request signed with AccessKey `testId` / `testSecret`.
    const EXAMPLE: [(&str, &str); 14] = [
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
        ("AccessKeyId", "testId"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2017-07-12T02:42:19Z"),
        ("Format", "XML"),
        ("Action", "SendSms"),
        ("Version", "2017-05-25"),
        ("RegionId", "cn-hangzhou"),
        ("PhoneNumbers", "15300000001"),
        ("SignName", "阿里云短信测试专用"),
        ("TemplateParam", "{\"customer\":\"test\"}"),
        ("TemplateCode", "SMS_71390007"),
        ("OutId", "123"),
    ];

    #[test]
    fn the_documented_example_is_reproduced_byte_for_byte() {
        let canonical = canonicalized_query(&EXAMPLE);
        assert_eq!(
            canonical,
            "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001\
             &RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5\
             %8B%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-\
             0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007\
             &TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z\
             &Version=2017-05-25"
        );
        let to_sign = string_to_sign("GET", &canonical);
        assert_eq!(
            to_sign,
            "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123\
             %26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598\
             %25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B\
             %25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1\
             %26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0\
             %26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A\
             %2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D\
             2017-05-25"
        );
        let signature = sign("testSecret", &to_sign);
        assert_eq!(signature, "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
        assert_eq!(percent_encode(&signature), "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D");
    }

    #[test]
    fn percent_encoding_is_rfc3986_not_form_encoding() {
        assert_eq!(percent_encode("a b*c~d+e"), "a%20b%2Ac~d%2Be");
        assert_eq!(percent_encode("-_.~AZaz09"), "-_.~AZaz09");
        assert_eq!(percent_encode("€"), "%E2%82%AC");
    }

    #[test]
    fn a_post_signs_differently_from_a_get() {
        let canonical = canonicalized_query(&EXAMPLE);
        let post = string_to_sign("POST", &canonical);
        assert!(post.starts_with("POST&%2F&AccessKeyId%3DtestId"));
        assert_ne!(sign("testSecret", &post), "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
    }
}
