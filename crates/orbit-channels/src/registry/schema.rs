//! The OpenAPI schema of [`ProviderConfig`]: one object per provider, its `provider`
//! tag among its own properties.
//!
//! Written out rather than derived: the derived schema of an internally tagged enum
//! puts the tag in an `allOf` member of its own, and the configurations' schemas say
//! `additionalProperties: false` (they refuse unknown fields), which then refuses the
//! tag itself, so no configuration would validate.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::ProviderConfig;
use crate::email::SmtpConfig;
use crate::push::fcm::FcmConfig;
use crate::push::jpush::JpushConfig;
use crate::sms::aliyun::AliyunSmsConfig;
use crate::sms::tencent::TencentSmsConfig;
use crate::sms::twilio::TwilioConfig;
use crate::webhook::WebhookConfig;
use crate::wechat::mini_program::MiniProgramConfig;
use crate::wechat::official_account::OfficialAccountConfig;

impl PartialSchema for ProviderConfig {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .description(Some("A provider account's configuration, tagged by `provider`."))
            .item(tagged::<SmtpConfig>("smtp", "Email over SMTP"))
            .item(tagged::<AliyunSmsConfig>("aliyun_sms", "Aliyun SMS"))
            .item(tagged::<TencentSmsConfig>("tencent_sms", "Tencent Cloud SMS"))
            .item(tagged::<TwilioConfig>("twilio", "Twilio Programmable Messaging"))
            .item(tagged::<WebhookConfig>("webhook", "A signed JSON POST"))
            .item(tagged::<FcmConfig>("fcm", "Firebase Cloud Messaging HTTP v1"))
            .item(tagged::<JpushConfig>("jpush", "JPush REST API v3"))
            .item(tagged::<OfficialAccountConfig>(
                "wechat_official_account",
                "WeChat official account template messages",
            ))
            .item(tagged::<MiniProgramConfig>(
                "wechat_mini_program",
                "WeChat mini-program subscription messages",
            ))
            .into()
    }
}

impl ToSchema for ProviderConfig {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProviderConfig")
    }

    /// The configurations are inlined; the schemas they refer to (`Secret`, the enums)
    /// are collected from them.
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        SmtpConfig::schemas(schemas);
        AliyunSmsConfig::schemas(schemas);
        TencentSmsConfig::schemas(schemas);
        TwilioConfig::schemas(schemas);
        WebhookConfig::schemas(schemas);
        FcmConfig::schemas(schemas);
        JpushConfig::schemas(schemas);
        OfficialAccountConfig::schemas(schemas);
        MiniProgramConfig::schemas(schemas);
    }
}

/// The schema of `T` with the required property `provider` set to `provider`.
fn tagged<T: PartialSchema>(provider: &str, title: &str) -> Schema {
    let tag = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([provider]))
        .description(Some("The provider, which decides the other fields."));
    match T::schema() {
        RefOr::T(Schema::Object(mut object)) => {
            object.title = Some(title.to_owned());
            object.properties.insert("provider".to_owned(), tag.into());
            object.required.insert(0, "provider".to_owned());
            Schema::Object(object)
        }
        // Every configuration is a plain object; anything else keeps its own schema.
        other => AllOfBuilder::new()
            .title(Some(title))
            .item(other)
            .item(
                ObjectBuilder::new()
                    .property("provider", tag)
                    .required("provider"),
            )
            .into(),
    }
}
