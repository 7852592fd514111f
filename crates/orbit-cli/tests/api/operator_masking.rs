//! A viewer never receives an unmasked contact (phone, email) from any endpoint —
//! profiles, timelines, messages, personal exports, segment members, call tasks, dead letters,
//! template previews, the audit log — while marketers, analysts and API keys see them
//! as they are, and the viewer's other data (names, order ids) is left alone.

use crate::console_support::{Operator, operator};
use crate::helpers::TestApp;
use orbit_test_support::webhook::{Reply, WebhookReceiver};
use reqwest::Method;
use serde_json::{Value, json};

/// Every raw or normalised form of the person's contacts and those in their event.
const RAW: [&str; 6] = [
    "13800138000",
    "+8613800138000",
    "mei@brand.cn",
    "13900139000",
    "+8613900139000",
    "zhao@brand.cn",
];
/// The masked phone (`138****8000`, `+861******8000`) and email.
const MASKED_PHONE: &str = "****8000";
const MASKED_EMAIL: &str = "m***@brand.cn";
const ORDER_ID: &str = "20261207123456";
const SECRET: &str = "masking-webhook-secret-0123456789";

/// Who asks: the admin API key, or an operator logged in to the console.
#[derive(Clone, Copy)]
enum Caller<'a> {
    Key,
    Op(&'a Operator),
}

/// A request: method, path, JSON body.
type Call = (Method, String, Option<Value>);

fn get(path: impl Into<String>) -> Call {
    (Method::GET, path.into(), None)
}

fn post(path: &str, body: Value) -> Call {
    (Method::POST, path.to_owned(), Some(body))
}

/// The answer to `call` by `caller`, which must succeed, as text (JSON, CSV, JSON lines).
async fn body_text(app: &TestApp, caller: Caller<'_>, (method, path, body): &Call) -> String {
    let response = match caller {
        Caller::Op(op) => op.request(app, method.clone(), path, body.as_ref()).await,
        Caller::Key => {
            let request = app.http.request(method.clone(), app.url(path));
            let request = request.bearer_auth(&app.api_key);
            match body {
                Some(body) => request.json(body).send().await,
                None => request.send().await,
            }
            .expect("sent")
        }
    };
    let status = response.status();
    let text = response.text().await.expect("text");
    assert!(status.is_success(), "{path}: {status} {text}");
    text
}

/// The answer to `call` as a viewer sees it: no contact in any form, the masked ones there.
async fn assert_masked(app: &TestApp, viewer: &Operator, call: &Call) -> String {
    let text = body_text(app, Caller::Op(viewer), call).await;
    let (lower, path) = (text.to_lowercase(), &call.1);
    for raw in RAW {
        assert!(!lower.contains(raw), "{path} shows the viewer {raw}: {text}");
    }
    assert!(
        text.contains(MASKED_PHONE) && text.contains(MASKED_EMAIL),
        "{path} shows the viewer no masked phone and email: {text}"
    );
    text
}

/// A person with a phone and an email (identities and traits), an event carrying
/// contacts in its properties, the segment `vip`, a call task and a dead letter for
/// them, the template `hello` that renders their contacts, and audit entries; their id.
async fn load(app: &TestApp) -> String {
    let ok = |status: u16, body: &Value, what: &str| {
        assert!((200..300).contains(&status), "{what}: {status} {body}");
    };
    let refusing = WebhookReceiver::builder(SECRET)
        .reply(|d| Reply::status(422).body(format!("unknown member {}", d.body)))
        .start()
        .await;
    let events = json!({"events": [
        {"type": "identify", "user_id": "mei", "message_id": "mask-1",
         "identities": {"phone": "13800138000", "email": "mei@brand.cn"},
         "traits": {"name": "王美", "phone": "13800138000", "email": "mei@brand.cn", "plan": "vip"}},
        {"type": "track", "user_id": "mei", "event": "order_paid", "message_id": "mask-2",
         "properties": {"order_id": ORDER_ID, "contact_phone": "13900139000", "note": "请联系 zhao@brand.cn"}}]});
    let (status, body) = app.send(Method::POST, "/v1/events", &events).await;
    ok(status, &body, "events");
    let id = app.profile_by("user_id:mei").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let setup = [
        (
            "/v1/segments",
            json!({"id": "vip", "name": "贵宾", "condition":
            {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "vip"}}),
        ),
        (
            "/v1/channels",
            json!({"id": "crm", "name": "CRM", "config": {"provider": "webhook",
            "url": refusing.url("/crm"), "secret": SECRET}}),
        ),
        (
            "/v1/templates",
            json!({"id": "call", "name": "回访", "content": {"channel": "call_task",
            "script": "{{ profile.traits.name }}，电话 {{ profile.identities.phone }}，邮箱 {{ profile.identities.email }}"}}),
        ),
        (
            "/v1/templates",
            json!({"id": "hook", "name": "同步", "content": {"channel": "webhook",
            "body": {"phone": "{{ profile.identities.phone }}", "email": "{{ profile.identities.email }}"}}}),
        ),
        (
            "/v1/templates",
            json!({"id": "hello", "name": "问候", "content": {"channel": "sms",
            "text": "{{ profile.traits.name }}您好，我们将致电{{ profile.traits.phone }}，或发信到 {{ profile.identities.email }}。"}}),
        ),
        (
            "/v1/campaigns",
            json!({"id": "reach", "name": "回访", "segment": "vip", "channel_policy": "all",
            "variants": [{"name": "a", "messages": [{"template": "call"}, {"template": "hook"}]}]}),
        ),
        ("/v1/campaigns/reach/launch", Value::Null),
    ];
    for (path, body) in setup {
        let (status, answer) = app.send(Method::POST, path, &body).await;
        ok(status, &answer, path);
    }
    crate::helpers::wait_campaign_completed(app, "reach").await;
    assert!(refusing.count() >= 1, "the webhook was posted");
    // A trait patch through the API: an audit entry with the profile before and after.
    let (status, body) = app
        .send(
            Method::PATCH,
            &format!("/v1/profiles/{id}/traits"),
            &json!({"tier": "gold"}),
        )
        .await;
    ok(status, &body, "trait patch");
    let (_, dead) = app.get("/v1/dead-letters").await;
    assert_eq!(dead["dead_letters"].as_array().map(Vec::len), Some(1), "{dead}");
    id
}

/// Every endpoint that shows the person's contacts.
fn endpoints(id: &str) -> Vec<Call> {
    let preview = json!({"profile": id, "content": {"channel": "sms",
        "text": "{{ profile.identities.phone }} / {{ profile.traits.email }}"}});
    vec![
        get(format!("/v1/profiles/{id}")),
        get("/v1/profiles?identity=phone:13800138000"),
        get(format!("/v1/profiles/{id}/events?limit=100")),
        get(format!("/v1/profiles/{id}/export")),
        get(format!("/v1/profiles/{id}/messages")),
        get("/v1/segments/vip/members"),
        get("/v1/segments/vip/members?format=csv"),
        get("/v1/call-tasks"),
        get("/v1/call-tasks?format=csv"),
        get("/v1/dead-letters"),
        post("/v1/templates/hello/preview", json!({"profile": id})),
        post("/v1/templates/preview", preview),
        get(format!("/v1/audit?profile={id}")),
        get("/v1/audit"),
    ]
}

/// A server (its webhooks may reach this machine) with [`load`] done; the person's id.
async fn spawn() -> (TestApp, String) {
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    let id = load(&app).await;
    (app, id)
}

#[tokio::test]
async fn viewer_never_receives_an_unmasked_contact_from_any_endpoint() {
    let (app, id) = spawn().await;
    let viewer = operator(&app, "viewer-mask", "viewer").await;
    for call in endpoints(&id) {
        assert_masked(&app, &viewer, &call).await;
    }
    // The event's own contacts too, on the timeline and in the personal export.
    for path in [
        format!("/v1/profiles/{id}/events"),
        format!("/v1/profiles/{id}/export"),
    ] {
        let text = assert_masked(&app, &viewer, &get(path)).await;
        assert!(
            text.contains("139****9000") && text.contains("z***@brand.cn"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn viewer_gets_the_segment_members_jsonl_export_masked() {
    let (app, _) = spawn().await;
    let viewer = operator(&app, "viewer-jsonl", "viewer").await;
    // JSON lines are masked line by line, like a JSON answer.
    assert_masked(&app, &viewer, &get("/v1/segments/vip/members?format=jsonl")).await;
}

#[tokio::test]
async fn a_marketer_an_analyst_and_the_admin_key_see_contacts_unmasked() {
    let (app, id) = spawn().await;
    let marketer = operator(&app, "marketer-mask", "marketer").await;
    let analyst = operator(&app, "analyst-mask", "analyst").await;
    let mut all = endpoints(&id);
    all.push(get("/v1/segments/vip/members?format=jsonl"));
    for (who, caller) in [
        ("marketer", Caller::Op(&marketer)),
        ("analyst", Caller::Op(&analyst)),
        ("admin key", Caller::Key),
    ] {
        for call in &all {
            let (text, path) = (body_text(&app, caller, call).await, &call.1);
            assert!(
                text.contains("13800138000") || text.contains("mei@brand.cn"),
                "{who} sees no contact at {path}: {text}"
            );
            assert!(
                !text.contains(MASKED_PHONE) && !text.contains(MASKED_EMAIL),
                "{who} is shown a masked contact at {path}: {text}"
            );
        }
        let timeline = body_text(&app, caller, &get(format!("/v1/profiles/{id}/events"))).await;
        assert!(
            timeline.contains("13900139000") && timeline.contains("zhao@brand.cn"),
            "{who}: {timeline}"
        );
    }
}

#[tokio::test]
async fn viewer_sees_names_order_ids_and_other_data_as_they_are() {
    let (app, id) = spawn().await;
    let viewer = operator(&app, "viewer-intact", "viewer").await;
    let json = async |call: Call| -> Value {
        serde_json::from_str(&body_text(&app, Caller::Op(&viewer), &call).await).expect("json")
    };
    let profile = json(get(format!("/v1/profiles/{id}"))).await;
    assert_eq!(profile["traits"]["name"], "王美", "{profile}");
    assert_eq!(profile["traits"]["phone"], "+861******8000", "{profile}");
    assert_eq!(profile["traits"]["email"], "m***@brand.cn", "{profile}");
    let timeline = json(get(format!("/v1/profiles/{id}/events"))).await;
    let export = json(get(format!("/v1/profiles/{id}/export"))).await;
    assert_eq!(export["profile"]["traits"]["name"], "王美");
    for events in [&timeline["data"], &export["events"]] {
        let order = events
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["event"] == "order_paid")
            .expect("the order event");
        assert_eq!(
            order["properties"],
            json!({"order_id": ORDER_ID, "contact_phone": "139****9000", "note": "请联系 z***@brand.cn"}),
            "a long order id is not a phone"
        );
    }
    let members = json(get("/v1/segments/vip/members")).await;
    assert_eq!(members["members"][0]["user_id"], "mei", "{members}");
    let script = "王美，电话 +861******8000，邮箱 m***@brand.cn";
    let tasks = json(get("/v1/call-tasks")).await;
    assert_eq!(tasks["tasks"][0]["script"], script, "{tasks}");
    let csv = body_text(&app, Caller::Op(&viewer), &get("/v1/call-tasks?format=csv")).await;
    assert!(csv.contains(script) && csv.contains(&id), "{csv}");
    let preview = json(post("/v1/templates/hello/preview", json!({"profile": id}))).await;
    let text = "王美您好，我们将致电+861******8000，或发信到 m***@brand.cn。";
    assert_eq!(preview["content"]["text"], text, "{preview}");
}

/// Edge cases: a landline under a contact-named trait, a phone sent as a JSON number,
/// a member whose user id holds a carriage return, and a webhook template; a viewer.
async fn edges() -> (TestApp, Operator, String) {
    let app = TestApp::spawn().await;
    let setup = [
        (
            "/v1/events",
            json!({"events": [
            {"type": "identify", "user_id": "mei", "traits": {"name": "王美", "work_phone": "021-6888 1234", "plan": "vip"}},
            {"type": "track", "user_id": "mei", "event": "asked", "properties": {"mobile": 13700137000_u64}},
            {"type": "identify", "user_id": "cr\rlf", "traits": {"phone": "13600136000", "email": "cr@brand.cn", "plan": "vip"}}]}),
        ),
        (
            "/v1/segments",
            json!({"id": "vip", "name": "贵宾", "condition":
            {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "vip"}}),
        ),
        (
            "/v1/templates",
            json!({"id": "hook", "name": "同步", "content": {"channel": "webhook",
            "body": {"phone": "{{ profile.identities.phone }}"}}}),
        ),
    ];
    for (path, body) in setup {
        let (status, answer) = app.send(Method::POST, path, &body).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
    }
    let id = app.profile_by("user_id:mei").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let viewer = operator(&app, "viewer-edges", "viewer").await;
    (app, viewer, id)
}

#[tokio::test]
async fn viewer_never_sees_a_contact_known_only_by_its_field_name_in_a_personal_export() {
    let (app, viewer, id) = edges().await;
    let export = body_text(
        &app,
        Caller::Op(&viewer),
        &get(format!("/v1/profiles/{id}/export")),
    )
    .await;
    assert!(
        export.contains("021-**** 1234"),
        "the profile's trait is masked: {export}"
    );
    // `trait_history` nests the value (`{"work_phone": {"value": …, "at": …}}`), and a
    // landline does not look like a phone: the name above it must be enough.
    assert!(!export.contains("6888"), "{export}");
}

#[tokio::test]
async fn viewer_never_sees_a_phone_number_sent_as_a_json_number() {
    let (app, viewer, id) = edges().await;
    let timeline = body_text(
        &app,
        Caller::Op(&viewer),
        &get(format!("/v1/profiles/{id}/events")),
    )
    .await;
    assert!(timeline.contains("\"mobile\""), "{timeline}");
    // A number under a contact's name is a contact too.
    assert!(!timeline.contains("13700137000"), "{timeline}");
}

#[tokio::test]
async fn viewer_gets_a_segment_csv_masked_even_when_a_member_id_holds_a_carriage_return() {
    let (app, viewer, _) = edges().await;
    let csv = body_text(
        &app,
        Caller::Op(&viewer),
        &get("/v1/segments/vip/members?format=csv"),
    )
    .await;
    assert!(csv.contains("@brand.cn"), "the member is exported: {csv:?}");
    // A row that is hard to quote must neither break the export nor make masking give
    // up on the whole file: masking fails closed.
    assert!(
        !csv.contains("13600136000") && !csv.contains("cr@brand.cn"),
        "{csv:?}"
    );
}

#[tokio::test]
async fn viewer_cannot_unmask_a_contact_by_previewing_a_template_that_reshapes_it() {
    let (app, viewer, _) = edges().await;
    let preview = json!({"identity": "phone:13600136000", "content": {"channel": "sms", "text":
        "{{ profile.identities.email | replace('@', ' at ') }} {{ profile.identities.phone[3:7] }} {{ profile.identities.phone[7:] }}"}});
    let text = body_text(&app, Caller::Op(&viewer), &post("/v1/templates/preview", preview)).await;
    assert!(text.contains("brand.cn"), "the preview renders: {text}");
    // Masking the answer cannot recognise a reshaped contact ("cr at brand.cn"): the
    // preview must render from masked contacts.
    assert!(
        !text.contains("cr at brand.cn") && !text.contains("0136000"),
        "{text}"
    );
}

#[tokio::test]
async fn viewer_sees_a_template_source_as_written() {
    let (app, viewer, _) = edges().await;
    let (status, template) = viewer.get(&app, "/v1/templates/hook").await;
    assert_eq!(status, 200, "{template}");
    // A template's source names a contact without holding one: it stays readable.
    assert_eq!(
        template["content"]["body"]["phone"], "{{ profile.identities.phone }}",
        "{template}"
    );
}
