//! The SMTP connector against a real SMTP server on loopback: plain relay, STARTTLS
//! and implicit TLS with a CA made for the test, AUTH, every outcome class, and the
//! egress guard.

use std::sync::Arc;
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders as _};
use orbit_channels::email::{SmtpConfig, SmtpConnector, SmtpSecurity, message_id};
use orbit_channels::{
    Connector, Content, EgressPolicy, EmailContent, OutboundMessage, Recipient, SendError, SmsContent,
};
use orbit_core::ManualClock;
use orbit_test_support::smtp::{Fault, Security, SmtpServer, Stage, TestCa};

const FROM: &str = "news@mail.example.cn";

fn loopback() -> EgressPolicy {
    EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")])
}

fn config(server: &SmtpServer, security: SmtpSecurity) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: Some(server.addr.port()),
        security,
        username: None,
        password: None,
        from_address: FROM.to_owned(),
        from_name: Some("橙子商城".to_owned()),
        reply_to: Some("客服中心 <help@example.cn>".to_owned()),
        timeout_ms: 5_000,
        extra_root_certificate: None,
        hello_name: Some("orbit.example.cn".to_owned()),
    }
}

fn connector(config: SmtpConfig, policy: EgressPolicy) -> SmtpConnector {
    let http = policy.client(Duration::from_secs(5)).expect("http client");
    SmtpConnector::new(config, http).expect("valid config")
}

fn email(send_id: &str, html: Option<&str>) -> OutboundMessage {
    OutboundMessage {
        send_id: send_id.to_owned(),
        recipient: Recipient {
            profile_id: "p-1".to_owned(),
            address: "li.lei@example.com".to_owned(),
        },
        content: Content::Email(EmailContent {
            subject: "双十一专享：全场五折，今晚八点开始".to_owned(),
            html: html.map(str::to_owned),
            text: "您好，李雷：\n.这一行以点开头\n活动今晚开始。".to_owned(),
            unsubscribe_url: Some("https://e.example.cn/unsubscribe/abc123?c=42".to_owned()),
        }),
    }
}

fn code_of(error: &SendError) -> &str {
    match error {
        SendError::Retryable { code, .. } | SendError::Permanent { code, .. } => code,
        SendError::Ambiguous { .. } => "ambiguous",
    }
}

/// A STARTTLS server with an account, and a connector that trusts its CA.
async fn authenticating(password: &str, mechanisms: &'static str) -> (SmtpServer, SmtpConnector) {
    let ca = TestCa::generate();
    let server = SmtpServer::builder()
        .security(Security::StartTls(Arc::clone(&ca)))
        .account("news@mail.example.cn", "正确的密码")
        .mechanisms(mechanisms)
        .start()
        .await;
    let smtp = connector(
        SmtpConfig {
            username: Some("news@mail.example.cn".to_owned()),
            password: Some(password.into()),
            extra_root_certificate: Some(ca.ca_pem.clone()),
            ..config(&server, SmtpSecurity::Starttls)
        },
        loopback(),
    );
    (server, smtp)
}

#[tokio::test]
async fn a_plain_relay_receives_both_parts_the_chinese_subject_and_the_unsubscribe_headers() {
    let server = SmtpServer::builder().start().await;
    let clock = ManualClock::new("2025-11-11T12:00:00Z".parse().expect("timestamp"));
    let smtp = connector(config(&server, SmtpSecurity::None), loopback()).with_clock(Arc::new(clock));
    assert_eq!(smtp.provider(), "smtp");

    let accepted = smtp
        .send(&email(
            "0192f1c2-7d3e-7a10-9c4b-1f2e3d4c5b6a",
            Some("<p>您好，<b>李雷</b></p>"),
        ))
        .await
        .expect("accepted");
    let expected_id = "orbit.0192f1c2-7d3e-7a10-9c4b-1f2e3d4c5b6a@mail.example.cn";
    assert_eq!(accepted.provider_message_id.as_deref(), Some(expected_id));

    let received = server.messages();
    assert_eq!(received.len(), 1);
    let received = &received[0];
    assert_eq!(received.mail_from, FROM);
    assert_eq!(received.rcpt_to, ["li.lei@example.com"]);
    assert!(!received.tls);
    // Bodies are 7-bit on the wire, so no BODY=8BITMIME is needed.
    assert!(received.data.is_ascii());
    assert_eq!(received.mail_parameters, "");

    let parsed = MessageParser::default()
        .parse(&received.data)
        .expect("parsable message");
    assert_eq!(parsed.subject(), Some("双十一专享：全场五折，今晚八点开始"));
    let from = parsed.from().and_then(|a| a.first()).expect("from");
    assert_eq!(from.name(), Some("橙子商城"));
    assert_eq!(from.address(), Some(FROM));
    let reply_to = parsed.reply_to().and_then(|a| a.first()).expect("reply-to");
    assert_eq!(reply_to.name(), Some("客服中心"));
    assert_eq!(reply_to.address(), Some("help@example.cn"));
    let content_type = parsed.content_type().expect("content type");
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("multipart", Some("alternative"))
    );
    assert_eq!(parsed.text_body_count(), 1);
    assert_eq!(parsed.html_body_count(), 1);
    // The dot-stuffed line came back whole.
    assert_eq!(
        parsed
            .body_text(0)
            .as_deref()
            .map(|t| t.replace("\r\n", "\n"))
            .as_deref(),
        Some("您好，李雷：\n.这一行以点开头\n活动今晚开始。")
    );
    assert_eq!(parsed.body_html(0).as_deref(), Some("<p>您好，<b>李雷</b></p>"));
    assert_eq!(parsed.message_id(), Some(expected_id));
    assert_eq!(
        parsed.header_raw("List-Unsubscribe").map(str::trim),
        Some("<https://e.example.cn/unsubscribe/abc123?c=42>")
    );
    assert_eq!(
        parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(
        parsed.header_raw("X-Orbit-Send-Id").map(str::trim),
        Some("0192f1c2-7d3e-7a10-9c4b-1f2e3d4c5b6a")
    );
    assert_eq!(
        parsed.date().map(|d| d.to_timestamp()),
        Some(1_762_862_400),
        "the date comes from the injected clock"
    );
}

#[tokio::test]
async fn text_only_content_is_sent_as_one_plain_part() {
    let server = SmtpServer::builder().start().await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    smtp.send(&email("s-text", None)).await.expect("accepted");
    let received = server.messages();
    let parsed = MessageParser::default()
        .parse(&received[0].data)
        .expect("parsable message");
    let content_type = parsed.content_type().expect("content type");
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("text", Some("plain"))
    );
    assert_eq!(parsed.parts.len(), 1);
}

#[tokio::test]
async fn a_resend_carries_the_same_message_id_over_the_same_pooled_connection() {
    let server = SmtpServer::builder().start().await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let first = smtp.send(&email("s-again", None)).await.expect("first");
    let second = smtp.send(&email("s-again", None)).await.expect("second");
    assert_eq!(first.provider_message_id, second.provider_message_id);
    assert_eq!(
        first.provider_message_id.as_deref(),
        Some(message_id("s-again", &FROM.parse().expect("address")).as_str())
    );
    let ids: Vec<String> = server
        .messages()
        .iter()
        .map(|m| {
            let parsed = MessageParser::default().parse(&m.data).expect("message");
            parsed.message_id().expect("message id").to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        ["orbit.s-again@mail.example.cn", "orbit.s-again@mail.example.cn"]
    );
    assert_eq!(
        server.connections(),
        1,
        "the second send reused the pooled connection"
    );
}

#[tokio::test]
async fn starttls_and_auth_plain_work_with_the_configured_root_certificate() {
    let (server, smtp) = authenticating("正确的密码", "PLAIN LOGIN").await;
    smtp.send(&email("s-tls", Some("<p>hi</p>")))
        .await
        .expect("accepted");
    let received = server.messages();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls, "the message travelled encrypted");
    assert_eq!(received[0].user.as_deref(), Some("news@mail.example.cn"));
    assert_eq!(server.auth_mechanisms_used(), ["PLAIN"]);
}

#[tokio::test]
async fn auth_login_is_used_when_the_server_offers_only_it() {
    let (server, smtp) = authenticating("正确的密码", "LOGIN").await;
    smtp.send(&email("s-login", None)).await.expect("accepted");
    assert_eq!(server.messages()[0].user.as_deref(), Some("news@mail.example.cn"));
    assert_eq!(server.auth_mechanisms_used(), ["LOGIN"]);
}

#[tokio::test]
async fn a_wrong_password_is_permanent_535() {
    let (server, smtp) = authenticating("wrong", "PLAIN LOGIN").await;
    let error = smtp.send(&email("s-535", None)).await.expect_err("refused");
    assert!(matches!(error, SendError::Permanent { .. }), "{error:?}");
    assert_eq!(code_of(&error), "535");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn implicit_tls_works_with_the_configured_root_certificate() {
    let ca = TestCa::generate();
    let server = SmtpServer::builder()
        .security(Security::Implicit(Arc::clone(&ca)))
        .start()
        .await;
    let smtp = connector(
        SmtpConfig {
            extra_root_certificate: Some(ca.ca_pem.clone()),
            ..config(&server, SmtpSecurity::Tls)
        },
        loopback(),
    );
    smtp.send(&email("s-465", None)).await.expect("accepted");
    assert!(server.messages()[0].tls);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_before_mail_and_is_retryable() {
    let server = SmtpServer::builder()
        .security(Security::StartTls(TestCa::generate()))
        .start()
        .await;
    let smtp = connector(config(&server, SmtpSecurity::Starttls), loopback());
    let error = smtp.send(&email("s-untrusted", None)).await.expect_err("refused");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_server_without_starttls_is_refused_when_starttls_is_configured() {
    let server = SmtpServer::builder().start().await;
    let smtp = connector(config(&server, SmtpSecurity::Starttls), loopback());
    let error = smtp.send(&email("s-downgrade", None)).await.expect_err("refused");
    assert_eq!(code_of(&error), "starttls_unsupported");
    assert!(server.messages().is_empty(), "nothing went out in clear");
}

#[tokio::test]
async fn a_451_at_rcpt_is_retryable_with_its_code() {
    let server = SmtpServer::builder()
        .fault(Fault::Reply(Stage::Rcpt, "451 4.7.1 greylisted, try again later"))
        .start()
        .await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let error = smtp.send(&email("s-451", None)).await.expect_err("deferred");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(code_of(&error), "451");
    assert!(error.to_string().contains("greylisted"), "{error}");
}

#[tokio::test]
async fn a_421_at_mail_is_retryable() {
    let server = SmtpServer::builder()
        .fault(Fault::Reply(Stage::Mail, "421 4.3.2 service shutting down"))
        .start()
        .await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let error = smtp.send(&email("s-421", None)).await.expect_err("deferred");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(code_of(&error), "421");
}

#[tokio::test]
async fn a_550_at_rcpt_is_permanent() {
    let server = SmtpServer::builder()
        .fault(Fault::Reply(Stage::Rcpt, "550 5.1.1 mailbox unavailable"))
        .start()
        .await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let error = smtp.send(&email("s-550", None)).await.expect_err("rejected");
    assert!(matches!(error, SendError::Permanent { .. }), "{error:?}");
    assert_eq!(code_of(&error), "550");
    assert!(error.to_string().contains("mailbox unavailable"), "{error}");
}

#[tokio::test]
async fn a_554_after_the_content_is_permanent_and_the_next_send_reconnects() {
    let server = SmtpServer::builder()
        .fault(Fault::Reply(
            Stage::EndOfData,
            "554 5.7.1 message rejected as spam",
        ))
        .start()
        .await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let error = smtp.send(&email("s-554", None)).await.expect_err("rejected");
    assert_eq!(code_of(&error), "554");
    assert!(matches!(error, SendError::Permanent { .. }), "{error:?}");
    let again = smtp.send(&email("s-554b", None)).await.expect_err("rejected");
    assert_eq!(code_of(&again), "554");
    assert_eq!(server.connections(), 2, "a failed session is not pooled");
}

#[tokio::test]
async fn a_server_that_hangs_after_the_content_is_ambiguous_within_the_timeout() {
    let server = SmtpServer::builder().fault(Fault::HangAfterData).start().await;
    let smtp = connector(
        SmtpConfig {
            timeout_ms: 300,
            ..config(&server, SmtpSecurity::None)
        },
        loopback(),
    );
    let message = email("s-hang", None);
    let outcome = tokio::time::timeout(Duration::from_secs(10), smtp.send(&message))
        .await
        .expect("the connector gave up on its own");
    let error = outcome.expect_err("no answer");
    assert!(matches!(error, SendError::Ambiguous { .. }), "{error:?}");
    assert_eq!(
        server.unanswered().len(),
        1,
        "the server did read the whole message: a retry could deliver it twice"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let config = SmtpConfig {
        port: Some(port),
        ..config(&SmtpServer::builder().start().await, SmtpSecurity::None)
    };
    let error = connector(config, loopback())
        .send(&email("s-refused", None))
        .await
        .expect_err("refused");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(code_of(&error), "connection");
}

#[tokio::test]
async fn a_host_resolving_to_loopback_is_refused_under_a_strict_policy_without_connecting() {
    let server = SmtpServer::builder().start().await;
    let config = SmtpConfig {
        host: "localhost".to_owned(),
        ..config(&server, SmtpSecurity::None)
    };
    let refused = config
        .check_destination(&EgressPolicy::strict())
        .await
        .expect_err("refused at configuration");
    assert_eq!(refused.field, "host");

    let error = connector(config, EgressPolicy::strict())
        .send(&email("s-egress", None))
        .await
        .expect_err("refused at send time");
    assert!(matches!(error, SendError::Permanent { .. }), "{error:?}");
    assert_eq!(code_of(&error), "egress_refused");
    assert_eq!(server.connections(), 0, "nothing was connected to");
}

#[tokio::test]
async fn content_for_another_channel_is_permanent() {
    let server = SmtpServer::builder().start().await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let mut message = email("s-sms", None);
    message.content = Content::Sms(SmsContent {
        text: "hi".to_owned(),
        template_code: None,
        params: Vec::new(),
    });
    let error = smtp.send(&message).await.expect_err("refused");
    assert_eq!(code_of(&error), "content");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_connection_dropped_after_the_content_is_ambiguous() {
    let server = SmtpServer::builder()
        .fault(Fault::Drop(Stage::EndOfData))
        .start()
        .await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let error = smtp.send(&email("s-dropped", None)).await.expect_err("no answer");
    assert!(matches!(error, SendError::Ambiguous { .. }), "{error:?}");
    assert_eq!(server.unanswered().len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_before_the_content_is_retryable() {
    let server = SmtpServer::builder()
        .fault(Fault::Drop(Stage::Rcpt))
        .start()
        .await;
    let smtp = connector(config(&server, SmtpSecurity::None), loopback());
    let error = smtp
        .send(&email("s-dropped-early", None))
        .await
        .expect_err("no answer");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(code_of(&error), "connection");
    assert!(server.unanswered().is_empty() && server.messages().is_empty());
}
