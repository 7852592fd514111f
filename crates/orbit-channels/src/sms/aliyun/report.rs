//! Aliyun's delivery reports (`SmsReport`) in HTTP batch push mode: Aliyun POSTs a
//! JSON array of reports to the URL configured in the console and expects
//! [`RECEIPT_ACK`] back
//! (<https://help.aliyun.com/zh/sms/developer-reference/smsreport-2>).
//! The push carries no signature; the receiving route must be unguessable.

use serde::Deserialize;

use crate::sms::ReceiptError;
use crate::{Receipt, ReceiptStatus};

/// The answer Aliyun expects once a batch is stored; anything else makes it retry.
pub const RECEIPT_ACK: &str = r#"{"code":0,"msg":"接收成功"}"#;

/// One report of the pushed array, as Aliyun documents it.
#[derive(Debug, Deserialize)]
struct SmsReport {
    /// `BizId` returned by `SendSms`.
    biz_id: String,
    /// Whether the handset received the message.
    success: bool,
    /// `DELIVERED`, or the carrier's failure code.
    #[serde(default)]
    err_code: Option<String>,
    /// The failure in words.
    #[serde(default)]
    err_msg: Option<String>,
}

/// Reads a pushed batch of `SmsReport`s; each is matched to its send by `biz_id`
/// (the `out_id` echoing our send id is ignored: `biz_id` is what [`Accepted`]
/// recorded).
///
/// [`Accepted`]: crate::Accepted
///
/// # Errors
/// [`ReceiptError::Malformed`] when the body is not a JSON array of reports.
pub fn parse_receipts(body: &[u8]) -> Result<Vec<Receipt>, ReceiptError> {
    let reports: Vec<SmsReport> =
        serde_json::from_slice(body).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    Ok(reports
        .into_iter()
        .map(|report| {
            let detail = (!report.success).then(|| {
                let code = report.err_code.unwrap_or_default();
                match report.err_msg {
                    Some(words) if !words.is_empty() => format!("{code}: {words}"),
                    _ => code,
                }
            });
            Receipt {
                provider_message_id: report.biz_id,
                status: if report.success {
                    ReceiptStatus::Delivered
                } else {
                    ReceiptStatus::Failed
                },
                detail,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushed_batch_becomes_one_receipt_per_report() {
        let body = r#"[
          {
            "phone_number" : "13811112222",
            "send_time" : "2017-01-01 11:12:13",
            "report_time" : "2017-01-01 11:12:14",
            "success" : true,
            "err_code" : "DELIVERED",
            "err_msg" : "用户接收成功",
            "sms_size" : "1",
            "biz_id" : "932702304080415357^0",
            "out_id" : "send-1"
          },
          {
            "phone_number" : "13833334444",
            "send_time" : "2017-01-01 11:12:13",
            "report_time" : "2017-01-01 11:12:20",
            "success" : false,
            "err_code" : "MK:0001",
            "err_msg" : "用户关机",
            "sms_size" : "2",
            "biz_id" : "932702304080415358^0",
            "out_id" : "send-2"
          }
        ]"#;
        let receipts = parse_receipts(body.as_bytes()).expect("documented shape");
        assert_eq!(
            receipts,
            vec![
                Receipt {
                    provider_message_id: "932702304080415357^0".into(),
                    status: ReceiptStatus::Delivered,
                    detail: None,
                },
                Receipt {
                    provider_message_id: "932702304080415358^0".into(),
                    status: ReceiptStatus::Failed,
                    detail: Some("MK:0001: 用户关机".into()),
                },
            ]
        );
    }

    #[test]
    fn a_body_that_is_not_a_report_array_is_refused() {
        for body in [&b"{}"[..], b"[{\"success\":true}]", b"not json"] {
            assert!(matches!(parse_receipts(body), Err(ReceiptError::Malformed(_))));
        }
    }

    #[test]
    fn the_acknowledgement_is_the_documented_json() {
        let ack: serde_json::Value = serde_json::from_str(RECEIPT_ACK).expect("json");
        assert_eq!(ack["code"], 0);
    }
}
