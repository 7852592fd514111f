//! Official account template messages, and the access-token cache they share.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::SignedDuration;
use orbit_channels::wechat::mini_program::{MiniProgramConfig, MiniProgramConnector};
use orbit_channels::wechat::official_account::{OfficialAccountConfig, OfficialAccountConnector};
use orbit_channels::wechat::server_push::{ServerQuery, server_signature};
use orbit_channels::wechat::token::AccessTokens;
use orbit_channels::{
    Connector, Content, MiniProgramContent, OutboundMessage, ReceiptStatus, Recipient, SendError,
    WechatTemplateContent,
};
use orbit_core::ManualClock;
use serde_json::json;

use super::{APP_ID, APP_SECRET, Answer, TEMPLATE_SEND, Wechat, http, serve, start};

fn template(send_id: &str) -> OutboundMessage {
    OutboundMessage {
        send_id: send_id.to_owned(),
        recipient: Recipient {
            profile_id: "p-1".to_owned(),
            address: "oia2TjuEGTNoeX76QEjQNrcURxG8".to_owned(),
        },
        content: Content::WechatTemplate(WechatTemplateContent {
            template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY".to_owned(),
            data: BTreeMap::from([
                ("keyword1".to_owned(), "巧克力".to_owned()),
                ("keyword2".to_owned(), "39.8元".to_owned()),
            ]),
            url: Some("https://shop.example.com/orders/1".to_owned()),
            mini_program: Some(("wxaabbccddeeff0011".to_owned(), "index?order=1".to_owned())),
        }),
    }
}

fn expected_body(send_id: &str) -> serde_json::Value {
    json!({
        "touser": "oia2TjuEGTNoeX76QEjQNrcURxG8",
        "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
        "url": "https://shop.example.com/orders/1",
        "miniprogram": {"appid": "wxaabbccddeeff0011", "pagepath": "index?order=1"},
        "data": {"keyword1": {"value": "巧克力"}, "keyword2": {"value": "39.8元"}},
        "client_msg_id": send_id
    })
}

fn config(endpoint: &str) -> OfficialAccountConfig {
    OfficialAccountConfig {
        app_id: APP_ID.to_owned(),
        app_secret: APP_SECRET.into(),
        server_token: Some("orbitToken".into()),
        endpoint: endpoint.to_owned(),
    }
}

async fn connector(
    wechat: Wechat,
    timeout: Duration,
) -> (Arc<Wechat>, OfficialAccountConnector, ManualClock) {
    let (wechat, endpoint) = serve(wechat).await;
    let clock = ManualClock::new(start());
    let connector = OfficialAccountConnector::new(config(&endpoint), http(timeout))
        .expect("connector")
        .with_tokens(AccessTokens::new())
        .with_clock(Arc::new(clock.clone()));
    (wechat, connector, clock)
}

#[tokio::test]
async fn sends_a_template_message_with_send_id_as_client_msg_id() {
    let server = Wechat::new();
    server.expect_body(TEMPLATE_SEND, expected_body("s-1"));
    let (wechat, connector, clock) = connector(server, Duration::from_secs(5)).await;
    assert_eq!(connector.provider(), "wechat_official_account");

    let accepted = connector.send(&template("s-1")).await.expect("accepted");
    assert_eq!(accepted.provider_message_id.as_deref(), Some("200228332"));
    clock.advance(SignedDuration::from_secs(7000));
    connector.send(&template("s-1")).await.expect("accepted");
    assert_eq!(
        wechat.token_requests.load(Ordering::SeqCst),
        1,
        "the token is cached"
    );

    // A minute before expiry the cache asks again; normal mode gives the same token.
    clock.advance(SignedDuration::from_secs(200));
    connector.send(&template("s-1")).await.expect("accepted");
    assert_eq!(wechat.token_requests.load(Ordering::SeqCst), 2);
    assert_eq!(wechat.accepted.lock().expect("lock").len(), 3);
    wechat.assert_no_problems();
}

#[tokio::test]
async fn an_invalidated_token_is_refreshed_once_and_the_send_retried() {
    let (wechat, connector, _) = connector(
        Wechat::new().refusing_the_first_token(false),
        Duration::from_secs(5),
    )
    .await;
    connector.send(&template("s-1")).await.expect("accepted");
    assert_eq!(wechat.token_requests.load(Ordering::SeqCst), 2);
    assert_eq!(wechat.forced_refreshes.load(Ordering::SeqCst), 0);
    assert_eq!(wechat.tokens_used(), ["ACCESS_TOKEN_2"]);
    wechat.assert_no_problems();
}

#[tokio::test]
async fn concurrent_sends_refused_together_share_one_refresh() {
    let mut server = Wechat::new().refusing_the_first_token(false);
    server.hold_refused = Some(Arc::new(tokio::sync::Barrier::new(2)));
    let (wechat, connector, _) = connector(server, Duration::from_secs(10)).await;
    let (first, second) = (template("s-1"), template("s-2"));
    let (a, b) = tokio::join!(connector.send(&first), connector.send(&second));
    a.expect("first accepted");
    b.expect("second accepted");
    assert_eq!(
        wechat.token_requests.load(Ordering::SeqCst),
        2,
        "one fetch, one refresh"
    );
    assert_eq!(wechat.tokens_used(), ["ACCESS_TOKEN_2", "ACCESS_TOKEN_2"]);
    wechat.assert_no_problems();
}

#[tokio::test]
async fn a_refused_token_handed_back_by_normal_mode_is_force_refreshed() {
    let (wechat, connector, _) = connector(
        Wechat::new().refusing_the_first_token(true),
        Duration::from_secs(5),
    )
    .await;
    connector.send(&template("s-1")).await.expect("accepted");
    assert_eq!(wechat.forced_refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(wechat.tokens_used(), ["ACCESS_TOKEN_2"]);
    wechat.assert_no_problems();
}

#[tokio::test]
async fn both_wechat_connectors_of_one_account_share_its_token() {
    let (wechat, endpoint) = serve(Wechat::new()).await;
    let registry = AccessTokens::new();
    let clock = Arc::new(ManualClock::new(start()));
    let official = OfficialAccountConnector::new(config(&endpoint), http(Duration::from_secs(5)))
        .expect("connector")
        .with_tokens(registry.clone())
        .with_clock(clock.clone());
    let mini = MiniProgramConnector::new(
        serde_json::from_value::<MiniProgramConfig>(json!({
            "app_id": APP_ID, "app_secret": APP_SECRET, "endpoint": endpoint
        }))
        .expect("config"),
        http(Duration::from_secs(5)),
    )
    .expect("connector")
    .with_tokens(registry)
    .with_clock(clock);
    official.send(&template("s-1")).await.expect("accepted");
    let subscription = OutboundMessage {
        send_id: "s-2".to_owned(),
        recipient: Recipient {
            profile_id: "p-1".to_owned(),
            address: "oia2TjuEGTNoeX76QEjQNrcURxG8".to_owned(),
        },
        content: Content::MiniProgram(MiniProgramContent {
            template_id: "tmpl".to_owned(),
            page: None,
            data: BTreeMap::new(),
        }),
    };
    mini.send(&subscription).await.expect("accepted");
    assert_eq!(wechat.token_requests.load(Ordering::SeqCst), 1);
    wechat.assert_no_problems();
}

#[tokio::test]
async fn template_errcodes_become_the_right_outcomes() {
    let (wechat, connector, _) = connector(Wechat::new(), Duration::from_secs(5)).await;
    let message = template("s-1");
    for (errcode, errmsg) in [
        (43004, "require subscribe rid: 6638e5a1"),
        (40003, "invalid openid rid: 6638e5a1"),
        (40037, "invalid template_id rid: 6638e5a1"),
    ] {
        wechat.set_answer(Answer::Errcode(errcode, errmsg));
        let error = connector.send(&message).await.expect_err("refused");
        assert!(
            matches!(&error, SendError::Permanent { code, message } if *code == errcode.to_string() && message.contains(errmsg)),
            "{errcode}: {error:?}"
        );
    }

    wechat.set_answer(Answer::Errcode(-1, "system error"));
    assert!(matches!(
        connector.send(&message).await.expect_err("busy"),
        SendError::Retryable { code, retry_after_ms: None, .. } if code == "-1"
    ));

    // 20:00 in Beijing: the daily quota comes back in four hours.
    wechat.set_answer(Answer::Errcode(45009, "reach max api daily quota limit"));
    assert_eq!(
        connector.send(&message).await.expect_err("quota"),
        SendError::Retryable {
            code: "45009".to_owned(),
            message: "reach max api daily quota limit".to_owned(),
            retry_after_ms: Some(4 * 3600 * 1000),
        }
    );

    wechat.set_answer(Answer::Status(502));
    assert!(matches!(
        connector.send(&message).await.expect_err("gateway"),
        SendError::Retryable { code, .. } if code == "502"
    ));
    wechat.assert_no_problems();
}

#[tokio::test]
async fn a_lost_answer_is_retryable_because_client_msg_id_guards_the_repeat() {
    let server = Wechat::new();
    server.set_answer(Answer::Stall);
    let (_wechat, connector, _) = connector(server, Duration::from_millis(500)).await;
    let error = connector.send(&template("s-1")).await.expect_err("no answer");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
}

#[tokio::test]
async fn token_endpoint_refusals_say_what_to_fix_and_send_nothing() {
    for (errcode, errmsg, needle) in [
        (40013, "invalid appid", "app_id"),
        (40125, "invalid appsecret", "app_secret"),
        (40164, "invalid ip 1.2.3.4, not in whitelist", "whitelist"),
    ] {
        let server = Wechat::new();
        *server.token_errcode.lock().expect("lock") = Some((errcode, errmsg));
        let (wechat, connector, _) = connector(server, Duration::from_secs(5)).await;
        let error = connector.send(&template("s-1")).await.expect_err("no token");
        assert!(
            matches!(&error, SendError::Permanent { code, message } if *code == errcode.to_string() && message.contains(needle) && message.contains(errmsg)),
            "{errcode}: {error:?}"
        );
        assert!(wechat.accepted.lock().expect("lock").is_empty());
    }
    let busy = Wechat::new();
    *busy.token_errcode.lock().expect("lock") = Some((-1, "system error"));
    let (_wechat, connector, _) = connector(busy, Duration::from_secs(5)).await;
    assert!(matches!(
        connector.send(&template("s-1")).await.expect_err("busy"),
        SendError::Retryable { .. }
    ));
}

#[tokio::test]
async fn delivery_events_are_read_with_the_configured_server_token() {
    let (_wechat, connector, _) = connector(Wechat::new(), Duration::from_secs(5)).await;
    let body = "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>\
        <FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>\
        <CreateTime>1395658984</CreateTime><MsgType><![CDATA[event]]></MsgType>\
        <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200228332</MsgID>\
        <Status><![CDATA[failed:user block]]></Status></xml>";
    let query = ServerQuery {
        signature: server_signature("orbitToken", "1395658984", "1320562132"),
        timestamp: "1395658984".to_owned(),
        nonce: "1320562132".to_owned(),
    };
    let receipts = connector.parse_receipts(&query, body).expect("receipts");
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].provider_message_id, "200228332");
    assert_eq!(receipts[0].status, ReceiptStatus::Failed);
    assert_eq!(receipts[0].detail.as_deref(), Some("failed:user block"));
    let forged = ServerQuery {
        signature: server_signature("guess", "1395658984", "1320562132"),
        ..query
    };
    assert!(connector.parse_receipts(&forged, body).is_err());
}
