use super::*;
use serde_json::json;

fn sms(text: &str) -> TemplateContent {
    TemplateContent::Sms {
        text: text.to_owned(),
        provider_template: None,
        params: vec![],
    }
}

fn context() -> serde_json::Value {
    json!({
        "profile": {"id": "p1", "traits": {"name": "王小明", "city": "重庆", "points": 1280}},
        "tags": {"lifecycle": "silent"},
        "coupon": {"code": "SPRING-7F3K"},
    })
}

#[test]
fn chinese_text_renders_with_traits_tags_and_coupons() {
    let t = CompiledTemplate::compile(
        sms("{{ profile.traits.name }}您好，您在{{ profile.traits.city }}的积分{{ profile.traits.points }}，券码{{ coupon.code }}{% if tags.lifecycle == 'silent' %}，好久不见{% endif %}"),
        &BTreeMap::new(),
    )
    .expect("compiles");
    let out = t.render(&context()).expect("renders");
    assert_eq!(
        out,
        sms("王小明您好，您在重庆的积分1280，券码SPRING-7F3K，好久不见")
    );
}

#[test]
fn a_missing_variable_names_itself_and_its_line_unless_it_has_a_default() {
    let content = TemplateContent::Email {
        subject: "Hi".to_owned(),
        html: None,
        text: "第一行\n亲爱的{{ profile.traits.nickname }}".to_owned(),
    };
    let strict = CompiledTemplate::compile(content.clone(), &BTreeMap::new()).expect("compiles");
    let err = strict.render(&context()).expect_err("missing");
    assert_eq!(err.field, "text");
    assert_eq!(err.line, Some(2));
    assert_eq!(err.variable.as_deref(), Some("profile.traits.nickname"));
    assert!(err.to_string().contains("text line 2"), "{err}");

    let defaults = [("profile.traits.nickname".to_owned(), json!("会员"))]
        .into_iter()
        .collect();
    let lenient = CompiledTemplate::compile(content, &defaults).expect("compiles");
    match lenient.render(&context()).expect("renders") {
        TemplateContent::Email { text, .. } => assert_eq!(text, "第一行\n亲爱的会员"),
        other => panic!("{other:?}"),
    }
    // A default never overrides a real value.
    let named = [("profile.traits.name".to_owned(), json!("会员"))]
        .into_iter()
        .collect();
    let t = CompiledTemplate::compile(sms("{{ profile.traits.name }}"), &named).expect("compiles");
    assert_eq!(t.render(&context()).expect("renders"), sms("王小明"));
    assert_eq!(t.render(&json!({})).expect("renders"), sms("会员"));
}

#[test]
fn syntax_errors_name_the_field_and_line() {
    let content = TemplateContent::Push {
        title: "ok".to_owned(),
        body: "line one\n{{ profile.traits.name ".to_owned(),
        data: BTreeMap::new(),
    };
    let err = CompiledTemplate::compile(content, &BTreeMap::new()).expect_err("syntax");
    assert_eq!(err.field, "body");
    assert_eq!(err.line, Some(2));
}

#[test]
fn only_html_escapes_and_webhook_strings_render_in_place() {
    let ctx = json!({"profile": {"traits": {"name": "A&B <x>"}}});
    let email = TemplateContent::Email {
        subject: "{{ profile.traits.name }}".to_owned(),
        html: Some("<p>{{ profile.traits.name }}</p>".to_owned()),
        text: "{{ profile.traits.name }}".to_owned(),
    };
    let out = CompiledTemplate::compile(email, &BTreeMap::new())
        .expect("compiles")
        .render(&ctx)
        .expect("renders");
    assert_eq!(
        out,
        TemplateContent::Email {
            subject: "A&B <x>".to_owned(),
            html: Some("<p>A&amp;B &lt;x&gt;</p>".to_owned()),
            text: "A&B <x>".to_owned(),
        }
    );
    let hook = TemplateContent::Webhook {
        body: json!({"who": "{{ profile.traits.name }}", "n": 3, "list": ["{{ 1 + 1 }}"]}),
    };
    let out = CompiledTemplate::compile(hook, &BTreeMap::new())
        .expect("compiles")
        .render(&ctx)
        .expect("renders");
    assert_eq!(
        out,
        TemplateContent::Webhook {
            body: json!({"who": "A&B <x>", "n": 3, "list": ["2"]})
        }
    );
}

#[test]
fn a_runaway_template_runs_out_of_fuel_and_nothing_reaches_outside() {
    let bomb = sms("{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}");
    let err = CompiledTemplate::compile(bomb, &BTreeMap::new())
        .expect("compiles")
        .render(&json!({}))
        .expect_err("fuel");
    assert_eq!(err.message, "the template does too much work");
    // No loader: including or importing another template finds nothing.
    let include = sms("{% include '/etc/passwd' %}");
    assert!(
        CompiledTemplate::compile(include, &BTreeMap::new())
            .expect("compiles")
            .render(&json!({}))
            .is_err()
    );
}

/// Wraps each destination so a test can see which links went through it.
struct Wrapping;

impl LinkTracker for Wrapping {
    fn tracked(&self, url: &str) -> String {
        format!("https://t.example/c?to={url}")
    }
}

#[test]
fn track_link_gives_the_message_s_tracked_link_and_leaves_previews_as_written() {
    let t = CompiledTemplate::compile(
        sms("{{ profile.traits.name }}，双十二专场 {{ track_link('https://shop.example/sale?a=1&b=2') }}"),
        &BTreeMap::new(),
    )
    .expect("compiles");
    assert_eq!(
        t.render_tracked(&context(), Arc::new(Wrapping)).expect("renders"),
        sms("王小明，双十二专场 https://t.example/c?to=https://shop.example/sale?a=1&b=2")
    );
    assert_eq!(
        t.render(&context()).expect("renders"),
        sms("王小明，双十二专场 https://shop.example/sale?a=1&b=2")
    );
}

#[test]
fn track_link_refuses_what_is_not_an_absolute_web_link_and_the_tracker_is_not_data() {
    let t = CompiledTemplate::compile(sms("{{ track_link('javascript:alert(1)') }}"), &BTreeMap::new())
        .expect("compiles");
    let err = t
        .render_tracked(&context(), Arc::new(Wrapping))
        .expect_err("refused");
    assert_eq!(err.field, "text");
    assert!(err.message.contains("absolute http or https URL"), "{err}");

    // A context that names the tracker's slot cannot stand in for it.
    let t = CompiledTemplate::compile(sms("{{ track_link('https://a.example/') }}"), &BTreeMap::new())
        .expect("compiles");
    let mut forged = context();
    forged["__links"] = json!("https://evil.example/");
    assert_eq!(t.render(&forged).expect("renders"), sms("https://a.example/"));
}
