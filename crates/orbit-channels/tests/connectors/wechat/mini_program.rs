//! Mini-program subscription messages.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use orbit_channels::wechat::mini_program::{Lang, MiniProgramConfig, MiniProgramConnector, MiniProgramState};
use orbit_channels::wechat::token::AccessTokens;
use orbit_channels::{Connector, Content, MiniProgramContent, OutboundMessage, Recipient, SendError};
use orbit_core::ManualClock;
use serde_json::json;

use super::{APP_ID, APP_SECRET, Answer, SUBSCRIBE_SEND, Wechat, http, serve, start};

fn subscription(send_id: &str) -> OutboundMessage {
    OutboundMessage {
        send_id: send_id.to_owned(),
        recipient: Recipient {
            profile_id: "p-1".to_owned(),
            address: "o7esq5OI1Uej6Xixw1lA2H7XDVbc".to_owned(),
        },
        content: Content::MiniProgram(MiniProgramContent {
            template_id: "AmSo7rRmDglDgkESd-9MK51ceRItrfW11Y4d0zNbNu8".to_owned(),
            page: Some("pages/order/detail?id=1".to_owned()),
            data: BTreeMap::from([
                ("thing1".to_owned(), "试驾预约成功".to_owned()),
                ("time2".to_owned(), "2024年5月2日 10:00".to_owned()),
            ]),
        }),
    }
}

async fn connector(wechat: Wechat, timeout: Duration) -> (Arc<Wechat>, MiniProgramConnector) {
    let (wechat, endpoint) = serve(wechat).await;
    let config = MiniProgramConfig {
        app_id: APP_ID.to_owned(),
        app_secret: APP_SECRET.into(),
        server_token: None,
        miniprogram_state: MiniProgramState::Trial,
        lang: Lang::ZhCn,
        endpoint,
    };
    let connector = MiniProgramConnector::new(config, http(timeout))
        .expect("connector")
        .with_tokens(AccessTokens::new())
        .with_clock(Arc::new(ManualClock::new(start())));
    (wechat, connector)
}

#[tokio::test]
async fn sends_a_subscription_message_for_the_configured_version() {
    let server = Wechat::new();
    server.expect_body(
        SUBSCRIBE_SEND,
        json!({
            "touser": "o7esq5OI1Uej6Xixw1lA2H7XDVbc",
            "template_id": "AmSo7rRmDglDgkESd-9MK51ceRItrfW11Y4d0zNbNu8",
            "page": "pages/order/detail?id=1",
            "data": {"thing1": {"value": "试驾预约成功"}, "time2": {"value": "2024年5月2日 10:00"}},
            "miniprogram_state": "trial",
            "lang": "zh_CN"
        }),
    );
    let (wechat, connector) = connector(server, Duration::from_secs(5)).await;
    assert_eq!(connector.provider(), "wechat_mini_program");

    let accepted = connector.send(&subscription("s-1")).await.expect("accepted");
    assert_eq!(accepted.provider_message_id.as_deref(), Some("200228332"));
    wechat.set_answer(Answer::Accept(None));
    let accepted = connector.send(&subscription("s-2")).await.expect("accepted");
    assert_eq!(accepted.provider_message_id, None);
    wechat.assert_no_problems();
}

#[tokio::test]
async fn an_invalidated_token_is_refreshed_once_for_subscription_messages_too() {
    let (wechat, connector) = connector(
        Wechat::new().refusing_the_first_token(false),
        Duration::from_secs(5),
    )
    .await;
    connector.send(&subscription("s-1")).await.expect("accepted");
    assert_eq!(wechat.token_requests.load(Ordering::SeqCst), 2);
    assert_eq!(wechat.tokens_used(), ["ACCESS_TOKEN_2"]);
}

#[tokio::test]
async fn subscription_errcodes_become_the_right_outcomes() {
    let (wechat, connector) = connector(Wechat::new(), Duration::from_secs(5)).await;
    let message = subscription("s-1");

    wechat.set_answer(Answer::Errcode(
        43101,
        "user refuse to accept the msg rid: 663dc174",
    ));
    let error = connector.send(&message).await.expect_err("refused");
    assert!(
        matches!(&error, SendError::Permanent { code, message } if code == "not_subscribed" && message.contains("43101")),
        "{error:?}"
    );
    for (errcode, errmsg) in [
        (47003, "argument invalid! data.thing1.value is emtpy"),
        (40003, "invalid openid"),
    ] {
        wechat.set_answer(Answer::Errcode(errcode, errmsg));
        let error = connector.send(&message).await.expect_err("refused");
        assert!(
            matches!(&error, SendError::Permanent { code, .. } if *code == errcode.to_string()),
            "{errcode}: {error:?}"
        );
    }
    wechat.set_answer(Answer::Errcode(45011, "api minute-quota reach limit"));
    assert!(matches!(
        connector.send(&message).await.expect_err("throttled"),
        SendError::Retryable {
            retry_after_ms: Some(60_000),
            ..
        }
    ));
    wechat.set_answer(Answer::Status(503));
    assert!(matches!(
        connector.send(&message).await.expect_err("unavailable"),
        SendError::Retryable { .. }
    ));
}

#[tokio::test]
async fn a_lost_answer_is_ambiguous_because_the_api_takes_no_idempotency_key() {
    let server = Wechat::new();
    server.set_answer(Answer::Stall);
    let (_wechat, connector) = connector(server, Duration::from_millis(500)).await;
    let error = connector.send(&subscription("s-1")).await.expect_err("no answer");
    assert!(matches!(error, SendError::Ambiguous { .. }), "{error:?}");
}
