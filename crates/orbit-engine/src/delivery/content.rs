//! From a rendered template to what a connector sends, and the render context.

use orbit_channels::{
    Content, EmailContent, MiniProgramContent, PushContent, SmsContent, WebhookContent, WechatTemplateContent,
};
use orbit_core::messaging::TemplateContent;
use orbit_core::profile::Profile;
use serde_json::{Map, Value, json};

/// The connector content of a rendered template; `None` for channels that no
/// provider connector serves (the inbox and call tasks are kept by Orbit itself).
pub fn connector_content(rendered: TemplateContent, unsubscribe_url: Option<String>) -> Option<Content> {
    Some(match rendered {
        TemplateContent::Email { subject, html, text } => Content::Email(EmailContent {
            subject,
            html,
            text,
            unsubscribe_url,
        }),
        TemplateContent::Sms {
            text,
            provider_template,
            params,
        } => Content::Sms(SmsContent {
            text,
            template_code: provider_template,
            params: params.into_iter().map(|p| (p.name, p.value)).collect(),
        }),
        TemplateContent::Push { title, body, data } => Content::Push(PushContent { title, body, data }),
        TemplateContent::WechatTemplate {
            template_id,
            data,
            url,
            mini_program_appid,
            mini_program_page,
        } => Content::WechatTemplate(WechatTemplateContent {
            template_id,
            data,
            url,
            mini_program: mini_program_appid.zip(mini_program_page),
        }),
        TemplateContent::MiniProgram {
            template_id,
            page,
            data,
        } => Content::MiniProgram(MiniProgramContent {
            template_id,
            page,
            data,
        }),
        TemplateContent::Webhook { body } => Content::Webhook(WebhookContent { body }),
        TemplateContent::Inbox { .. } | TemplateContent::CallTask { .. } => return None,
    })
}

/// What templates see: the profile (id, traits, identities by type), its tags, the
/// campaign and variant, the message's own id and its unsubscribe link.
pub fn render_context(
    profile: &Profile,
    tags: Map<String, Value>,
    campaign: Option<(&str, &str)>,
    send_id: &str,
    unsubscribe_url: &str,
) -> Value {
    let mut identities = Map::new();
    for identity in &profile.identities {
        identities
            .entry(identity.kind.to_string())
            .or_insert_with(|| Value::String(identity.value.clone()));
    }
    json!({
        "profile": {
            "id": profile.id.to_string(),
            "traits": profile.traits.to_object(),
            "identities": identities,
        },
        "tags": tags,
        "campaign": campaign.map(|(id, variant)| json!({"id": id, "variant": variant})),
        "message": {"id": send_id},
        "unsubscribe_url": unsubscribe_url,
    })
}
