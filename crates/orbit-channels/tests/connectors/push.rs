//! push connector tests: FCM and JPush against local servers that check requests the
//! way the providers do (FCM verifies the service-account JWT with the public key,
//! JPush checks Basic auth and the cids it issued).

mod fcm;
mod jpush;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use orbit_channels::{Content, EgressPolicy, HttpClient, OutboundMessage, PushContent, Recipient};
use orbit_test_support::serve;
use serde_json::Value;

fn http(timeout: Duration) -> HttpClient {
    EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")])
        .client(timeout)
        .expect("client")
}

fn push(send_id: &str, device: &str) -> OutboundMessage {
    OutboundMessage {
        send_id: send_id.to_owned(),
        recipient: Recipient {
            profile_id: "p-1".to_owned(),
            address: device.to_owned(),
        },
        content: Content::Push(PushContent {
            title: "Spring sale".to_owned(),
            body: "Everything 20% off until Sunday".to_owned(),
            data: BTreeMap::from([("campaign_id".to_owned(), "c-42".to_owned())]),
        }),
    }
}

fn start() -> Timestamp {
    Timestamp::from_second(1_714_550_400).expect("time")
}

/// How a local provider answers a send.
#[derive(Clone)]
enum Answer {
    Accept,
    Fail {
        status: u16,
        body: Value,
        headers: Vec<(&'static str, String)>,
    },
    /// Answer only after the client has given up.
    Stall,
}

/// The answer a scripted failure gives.
fn failure_response(status: u16, body: Value, headers: Vec<(&'static str, String)>) -> Response {
    let mut response = (StatusCode::from_u16(status).expect("status"), axum::Json(body)).into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header"));
    }
    response
}
