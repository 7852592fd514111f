//! Tencent Cloud SMS status callbacks (短信下发状态通知): Tencent POSTs a JSON array of
//! reports to the callback URL configured for the SMS application and expects
//! [`RECEIPT_ACK`] back (<https://www.tencentcloud.com/zh/document/api/382/43547>).
//! The callback carries no signature; the receiving route must be unguessable.

use serde::Deserialize;

use crate::sms::ReceiptError;
use crate::{Receipt, ReceiptStatus};

/// The answer Tencent expects once a batch is stored.
pub const RECEIPT_ACK: &str = r#"{"result":0,"errmsg":"OK"}"#;

/// One report of the pushed array, as Tencent documents it.
#[derive(Debug, Deserialize)]
struct StatusReport {
    /// The `SerialNo` `SendSms` returned.
    sid: String,
    /// `SUCCESS` or `FAIL`.
    report_status: String,
    /// The carrier's status code (`DELIVRD` on success).
    #[serde(default)]
    errmsg: Option<String>,
    /// The status in words.
    #[serde(default)]
    description: Option<String>,
}

/// Reads a pushed batch of status reports; each is matched to its send by `sid`.
///
/// # Errors
/// [`ReceiptError::Malformed`] when the body is not a JSON array of reports or a
/// report's status is neither `SUCCESS` nor `FAIL`.
pub fn parse_receipts(body: &[u8]) -> Result<Vec<Receipt>, ReceiptError> {
    let reports: Vec<StatusReport> =
        serde_json::from_slice(body).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    reports
        .into_iter()
        .map(|report| {
            let (status, detail) = match report.report_status.as_str() {
                "SUCCESS" => (ReceiptStatus::Delivered, None),
                "FAIL" => {
                    let code = report.errmsg.unwrap_or_default();
                    let detail = match report.description {
                        Some(words) if !words.is_empty() => format!("{code}: {words}"),
                        _ => code,
                    };
                    (ReceiptStatus::Failed, Some(detail))
                }
                other => {
                    return Err(ReceiptError::Malformed(format!(
                        "report_status {other} is neither SUCCESS nor FAIL"
                    )));
                }
            };
            Ok(Receipt {
                provider_message_id: report.sid,
                status,
                detail,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_batch_becomes_one_receipt_per_report() {
        let body = r#"[
          {"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86",
           "mobile": "13xxxxxxxxx", "report_status": "SUCCESS", "errmsg": "DELIVRD",
           "description": "用户短信送达成功", "sid": "3310:1128316313617159424124441"},
          {"user_receive_time": "2015-10-17 08:03:09", "nationcode": "86",
           "mobile": "13xxxxxxxxx", "report_status": "FAIL", "errmsg": "MK:0005",
           "description": "用户短信接收失败", "sid": "3310:1128316313617159424124442"}
        ]"#;
        assert_eq!(
            parse_receipts(body.as_bytes()).expect("documented shape"),
            vec![
                Receipt {
                    provider_message_id: "3310:1128316313617159424124441".into(),
                    status: ReceiptStatus::Delivered,
                    detail: None,
                },
                Receipt {
                    provider_message_id: "3310:1128316313617159424124442".into(),
                    status: ReceiptStatus::Failed,
                    detail: Some("MK:0005: 用户短信接收失败".into()),
                },
            ]
        );
    }

    #[test]
    fn an_unknown_status_or_shape_is_refused() {
        let unknown = br#"[{"report_status": "PENDING", "sid": "1"}]"#;
        assert!(matches!(parse_receipts(unknown), Err(ReceiptError::Malformed(_))));
        assert!(matches!(
            parse_receipts(br#"{"sid": "1"}"#),
            Err(ReceiptError::Malformed(_))
        ));
    }
}
