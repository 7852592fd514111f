// The provider accounts' configuration fields, as the API defines them (ProviderConfig
// in the OpenAPI document), for the channel account form: which fields each provider
// takes, which are secrets and which the form asks for first.
import type { Channel, ProviderName } from "./api";
import type { MessageKey } from "./i18n";

export type FieldKind = "text" | "multiline" | "secret" | "secretMultiline" | "number" | "boolean" | "select" | "secretMap";

export interface ProviderField {
  name: string;
  kind: FieldKind;
  required?: boolean;
  /** The values a `select` offers. */
  options?: readonly string[];
  /** Shown only once the operator opens the advanced fields (the API has a default). */
  advanced?: boolean;
  placeholder?: string;
}

export interface Provider {
  channel: Channel;
  fields: readonly ProviderField[];
}

const endpoint: ProviderField = { name: "endpoint", kind: "text", advanced: true, placeholder: "https://" };

export const PROVIDERS: Record<ProviderName, Provider> = {
  smtp: {
    channel: "email",
    fields: [
      { name: "host", kind: "text", required: true, placeholder: "smtp.example.com" },
      { name: "port", kind: "number" },
      { name: "security", kind: "select", options: ["starttls", "tls", "none"] },
      { name: "username", kind: "text" },
      { name: "password", kind: "secret" },
      { name: "from_address", kind: "text", required: true, placeholder: "noreply@brand.cn" },
      { name: "from_name", kind: "text" },
      { name: "reply_to", kind: "text" },
      { name: "hello_name", kind: "text", advanced: true },
      { name: "timeout_ms", kind: "number", advanced: true },
      { name: "extra_root_certificate", kind: "multiline", advanced: true },
    ],
  },
  aliyun_sms: {
    channel: "sms",
    fields: [
      { name: "access_key_id", kind: "text", required: true, placeholder: "LTAI…" },
      { name: "access_key_secret", kind: "secret", required: true },
      { name: "sign_name", kind: "text", required: true },
      { name: "template_code", kind: "text", placeholder: "SMS_123456" },
      { name: "region_id", kind: "text", advanced: true },
      endpoint,
    ],
  },
  tencent_sms: {
    channel: "sms",
    fields: [
      { name: "secret_id", kind: "text", required: true },
      { name: "secret_key", kind: "secret", required: true },
      { name: "sms_sdk_app_id", kind: "text", required: true, placeholder: "1400006666" },
      { name: "sign_name", kind: "text" },
      { name: "template_id", kind: "text" },
      { name: "region", kind: "text", advanced: true },
      endpoint,
    ],
  },
  twilio: {
    channel: "sms",
    fields: [
      { name: "account_sid", kind: "text", required: true, placeholder: "AC…" },
      { name: "auth_token", kind: "secret", required: true },
      { name: "from", kind: "text", placeholder: "+15005550006" },
      { name: "messaging_service_sid", kind: "text", placeholder: "MG…" },
      { name: "status_callback", kind: "text", placeholder: "https://" },
      endpoint,
    ],
  },
  webhook: {
    channel: "webhook",
    fields: [
      { name: "url", kind: "text", required: true, placeholder: "https://" },
      { name: "secret", kind: "secret", required: true },
      { name: "headers", kind: "secretMap" },
      { name: "timeout_ms", kind: "number", advanced: true },
    ],
  },
  fcm: {
    channel: "push",
    fields: [
      { name: "project_id", kind: "text", required: true },
      { name: "client_email", kind: "text", required: true },
      { name: "private_key", kind: "secretMultiline", required: true, placeholder: "-----BEGIN PRIVATE KEY-----" },
      { name: "private_key_id", kind: "text" },
      { name: "token_uri", kind: "text", advanced: true },
      endpoint,
    ],
  },
  jpush: {
    channel: "push",
    fields: [
      { name: "app_key", kind: "text", required: true },
      { name: "master_secret", kind: "secret", required: true },
      { name: "apns_production", kind: "boolean" },
      { name: "time_to_live", kind: "number" },
      endpoint,
    ],
  },
  wechat_official_account: {
    channel: "wechat_template",
    fields: [
      { name: "app_id", kind: "text", required: true, placeholder: "wx…" },
      { name: "app_secret", kind: "secret", required: true },
      { name: "server_token", kind: "secret" },
      endpoint,
    ],
  },
  wechat_mini_program: {
    channel: "mini_program",
    fields: [
      { name: "app_id", kind: "text", required: true, placeholder: "wx…" },
      { name: "app_secret", kind: "secret", required: true },
      { name: "server_token", kind: "secret" },
      { name: "lang", kind: "select", options: ["zh_CN", "en_US", "zh_HK", "zh_TW"] },
      { name: "miniprogram_state", kind: "select", options: ["formal", "trial", "developer"] },
      endpoint,
    ],
  },
};

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];

/** Channels a test send cannot serve: WeChat sends only templates the provider approved. */
export function testable(channel: Channel): boolean {
  return channel !== "wechat_template" && channel !== "mini_program";
}

/** The label of a configuration field. */
export function fieldLabel(name: string): MessageKey {
  return `providerField.${name}` as MessageKey;
}
