//! The demo brand's set-up: a tea-drink chain's audiences, content, campaign and
//! journey, as the bodies a marketer would send to the API. The customers are
//! `orbit-synthetic`'s, so the conditions name their events and traits.

use serde_json::{Value, json};

/// The industry tag library the brand installs.
pub const TAG_LIBRARY: &str = "tea";

/// Segments on traits, behaviour, tags and sequences.
pub fn segments() -> Vec<Value> {
    vec![
        json!({
            "id": "chongqing-members", "name": "重庆会员",
            "description": "住在重庆的注册会员",
            "type": "dynamic",
            "condition": {"type": "trait", "trait": "city", "value_type": "string", "op": "eq", "value": "重庆"}
        }),
        json!({
            "id": "high-value", "name": "高价值会员",
            "description": "近 30 天消费满 200 元",
            "type": "dynamic",
            "condition": {"type": "event", "event": "order_paid",
                          "measure": {"kind": "aggregate", "function": "sum", "property": "amount",
                                      "compare": "gte", "value": 200},
                          "window": {"kind": "last", "amount": 30, "unit": "days"}}
        }),
        json!({
            "id": "lapsed-buyers", "name": "沉睡买家",
            "description": "下过单，但近 30 天没有再买",
            "type": "dynamic",
            "condition": {"type": "and", "conditions": [
                {"type": "event", "event": "order_paid", "measure": {"kind": "did"},
                 "window": {"kind": "ever"}},
                {"type": "event", "event": "order_paid", "measure": {"kind": "did_not"},
                 "window": {"kind": "last", "amount": 30, "unit": "days"}}
            ]}
        }),
        json!({
            "id": "cart-abandoners", "name": "加购未下单",
            "description": "近 7 天加购后 1 天内没有付款",
            "type": "dynamic",
            "condition": {"type": "sequence",
                          "first": {"event": "added_to_cart"},
                          "then": {"event": "order_paid"},
                          "within": {"amount": 1, "unit": "days"},
                          "then_not": true,
                          "window": {"kind": "last", "amount": 7, "unit": "days"}}
        }),
        json!({
            "id": "active-members", "name": "活跃会员",
            "description": "生命周期标签为活跃",
            "type": "dynamic",
            "condition": {"type": "tag", "tag": "lifecycle", "values": ["active"]}
        }),
    ]
}

/// In-app inbox templates: the inbox is Orbit's own channel, so the demo sends for
/// real without a provider account.
pub fn templates() -> Vec<Value> {
    vec![
        json!({
            "id": "winback-inbox", "name": "沉睡唤醒：新品第二杯半价",
            "class": "marketing", "topic": "promotions",
            "content": {"channel": "inbox", "title": "好久不见，第二杯半价",
                        "body": "{{ profile.traits.city }}门店新品上市，回来尝尝？本周第二杯半价。",
                        "popup": true, "link": "app://menu/new"},
            "defaults": {"profile.traits.city": "附近"}
        }),
        json!({
            "id": "welcome-inbox", "name": "新会员欢迎",
            "class": "marketing", "topic": "promotions",
            "content": {"channel": "inbox", "title": "欢迎加入奥比特茶饮",
                        "body": "首单立减 5 元，{{ profile.traits.city }}门店等你。",
                        "popup": false, "link": "app://coupons"},
            "defaults": {"profile.traits.city": "附近"}
        }),
        json!({
            "id": "first-order-nudge", "name": "首单提醒",
            "class": "marketing", "topic": "promotions",
            "content": {"channel": "inbox", "title": "你的首单礼还没用",
                        "body": "首单立减 5 元券 3 天后到期，别错过。",
                        "popup": true, "link": "app://coupons"}
        }),
    ]
}

/// New members are welcomed, given three days to order, and reminded if they do not.
pub fn welcome_journey() -> Value {
    json!({
        "id": "welcome", "name": "新会员欢迎旅程",
        "entry": {"type": "event", "event": "signed_up"},
        "reentry": {"kind": "once"},
        "goal": {"event": "order_paid"},
        "start": "welcome",
        "nodes": {
            "welcome": {"type": "send", "messages": [{"template": "welcome-inbox"}], "next": "wait-order"},
            "wait-order": {"type": "wait_for_event", "event": "order_paid", "timeout": "P3D",
                           "on_event": "ordered", "on_timeout": "nudge"},
            "nudge": {"type": "send", "messages": [{"template": "first-order-nudge"}], "next": "done"},
            "ordered": {"type": "exit"},
            "done": {"type": "exit"}
        }
    })
}

/// A win-back broadcast to lapsed buyers, with a control group to measure it against.
pub fn campaign() -> Value {
    json!({
        "id": "winback", "name": "沉睡买家唤醒",
        "segment": "lapsed-buyers",
        "class": "marketing", "topic": "promotions",
        "control_percent": 10,
        "variants": [
            {"name": "a", "weight": 1, "messages": [{"template": "winback-inbox"}]}
        ],
        "schedule": {"kind": "now"}
    })
}
