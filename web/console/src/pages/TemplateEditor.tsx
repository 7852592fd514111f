// One content template: its name, id, class and topic, the channel's fields and its
// defaults, saved and deleted by roles that may write; beside it a live preview that
// renders the unsaved content for one person (and, for SMS, what it costs).
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Alert, App, Button, Card, Checkbox, Col, Form, Input, Row, Select, Space, Spin, Tag, Typography } from "antd";
import { ArrowLeftOutlined, DeleteOutlined, MinusCircleOutlined, PlusOutlined, SaveOutlined } from "@ant-design/icons";
import {
  api,
  ApiError,
  CHANNELS,
  type Channel,
  type Json,
  type Template,
  type TemplateClass,
  type TemplateContent,
  type TemplateDraft,
  type TemplatePreview,
  type TemplatePreviewRequest,
} from "../api";
import { errorText } from "../format";
import { useI18n, type MessageKey, type Translate } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert, JsonBlock } from "../components/Common";
import { NotFoundResult } from "../components/Results";

const { Text } = Typography;
const DEBOUNCE_MS = 500;
const ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

/** The inputs of the content, each with the body path the API names in its errors. */
type FieldKey =
  | "subject"
  | "html"
  | "emailText"
  | "smsText"
  | "providerTemplate"
  | "params"
  | "title"
  | "body"
  | "pushData"
  | "webhookBody"
  | "wechatJson"
  | "miniJson"
  | "popup"
  | "link"
  | "script";

const CHANNEL_FIELDS: Record<Channel, [FieldKey, string][]> = {
  email: [
    ["subject", "content.subject"],
    ["html", "content.html"],
    ["emailText", "content.text"],
  ],
  sms: [
    ["smsText", "content.text"],
    ["providerTemplate", "content.provider_template"],
    ["params", "content.params"],
  ],
  push: [
    ["title", "content.title"],
    ["body", "content.body"],
    ["pushData", "content.data"],
  ],
  wechat_template: [["wechatJson", "content"]],
  mini_program: [["miniJson", "content"]],
  webhook: [["webhookBody", "content.body"]],
  inbox: [
    ["title", "content.title"],
    ["body", "content.body"],
    ["popup", "content.popup"],
    ["link", "content.link"],
  ],
  call_task: [["script", "content.script"]],
};

/** Where an error the API names (`content.params[0].value`) is shown: the input whose path leads to it. */
type ErrorSpot = FieldKey | "name" | "id" | "class" | "topic" | "defaults" | "content";

function spotOf(channel: Channel, field: string | null): ErrorSpot | null {
  if (!field) return null;
  if (["name", "id", "class", "topic"].includes(field)) return field as ErrorSpot;
  if (field === "defaults" || field.startsWith("defaults.") || field.startsWith("defaults[")) return "defaults";
  let best: [FieldKey, string] | null = null;
  for (const entry of CHANNEL_FIELDS[channel]) {
    const path = entry[1];
    if (field === path || field.startsWith(`${path}.`) || field.startsWith(`${path}[`)) {
      if (!best || path.length > best[1].length) best = entry;
    }
  }
  if (best) return best[0];
  if (field === "content" || field.startsWith("content")) return "content";
  return null;
}

/** An API error as the words shown under its input, with the line when there is one. */
function fieldMessage(error: ApiError, t: Translate): string {
  let text = error.message;
  if (error.field && error.line !== null) {
    const prefix = `${error.field} line ${error.line}: `;
    if (text.startsWith(prefix)) text = text.slice(prefix.length);
    return t("templates.atLine", { line: error.line, message: text });
  }
  return text;
}

type Fields = Record<Exclude<FieldKey, "params" | "popup">, string> & { popup: boolean };

interface KeyValueRow {
  key: number;
  name: string;
  value: string;
  /** The value is JSON (a default that is not a string). */
  json: boolean;
}

const EMPTY_FIELDS: Fields = {
  subject: "",
  html: "",
  emailText: "",
  smsText: "",
  providerTemplate: "",
  title: "",
  body: "",
  pushData: "",
  webhookBody: "{\n  \"text\": \"{{ profile.traits.name }}\"\n}",
  wechatJson: "{\n  \"template_id\": \"\",\n  \"data\": {},\n  \"url\": null\n}",
  miniJson: "{\n  \"template_id\": \"\",\n  \"data\": {},\n  \"page\": null\n}",
  popup: false,
  link: "",
  script: "",
};

let rowKeys = 0;
function row(name: string, value: string, json = false): KeyValueRow {
  rowKeys += 1;
  return { key: rowKeys, name, value, json };
}

function withoutChannel(content: TemplateContent): Record<string, Json> {
  const { channel: _channel, ...rest } = content as unknown as Record<string, Json>;
  return rest;
}

/** The editor's inputs for a saved content. */
function fieldsOf(content: TemplateContent | undefined): { fields: Fields; params: KeyValueRow[] } {
  const fields: Fields = { ...EMPTY_FIELDS };
  let params: KeyValueRow[] = [];
  if (!content) return { fields, params };
  switch (content.channel) {
    case "email":
      fields.subject = content.subject;
      fields.html = content.html ?? "";
      fields.emailText = content.text;
      break;
    case "sms":
      fields.smsText = content.text;
      fields.providerTemplate = content.provider_template ?? "";
      params = (content.params ?? []).map((param) => row(param.name, param.value));
      break;
    case "push":
      fields.title = content.title;
      fields.body = content.body;
      fields.pushData = content.data && Object.keys(content.data).length > 0 ? JSON.stringify(content.data, null, 2) : "";
      break;
    case "wechat_template":
      fields.wechatJson = JSON.stringify(withoutChannel(content), null, 2);
      break;
    case "mini_program":
      fields.miniJson = JSON.stringify(withoutChannel(content), null, 2);
      break;
    case "webhook":
      fields.webhookBody = JSON.stringify(content.body ?? null, null, 2);
      break;
    case "inbox":
      fields.title = content.title;
      fields.body = content.body;
      fields.popup = content.popup ?? false;
      fields.link = content.link ?? "";
      break;
    case "call_task":
      fields.script = content.script;
      break;
  }
  return { fields, params };
}

type Built = { content: TemplateContent | null; defaults: Record<string, Json> | null; errors: Partial<Record<ErrorSpot, string>> };

function parseJson(text: string, t: Translate): { value?: Json; error?: string } {
  try {
    return { value: JSON.parse(text) as Json };
  } catch (error) {
    return { error: t("templates.jsonInvalid", { message: error instanceof Error ? error.message : String(error) }) };
  }
}

function stringObject(value: Json | undefined): value is Record<string, string> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every((item) => typeof item === "string");
}

/** The content and defaults the inputs make, or the problems found before asking the server. */
function build(channel: Channel, fields: Fields, params: KeyValueRow[], defaultRows: KeyValueRow[], t: Translate): Built {
  const errors: Built["errors"] = {};
  let content: TemplateContent | null = null;
  const optional = (text: string) => (text === "" ? null : text);

  switch (channel) {
    case "email":
      content = { channel, subject: fields.subject, html: optional(fields.html), text: fields.emailText };
      break;
    case "sms":
      content = {
        channel,
        text: fields.smsText,
        provider_template: optional(fields.providerTemplate.trim()),
        params: params.filter((param) => param.name.trim() !== "" || param.value !== "").map((param) => ({ name: param.name.trim(), value: param.value })),
      };
      break;
    case "push": {
      let data: Record<string, string> | undefined;
      if (fields.pushData.trim() !== "") {
        const parsed = parseJson(fields.pushData, t);
        if (parsed.error) errors.pushData = parsed.error;
        else if (!stringObject(parsed.value)) errors.pushData = t("templates.jsonStringValues");
        else data = parsed.value;
      }
      content = { channel, title: fields.title, body: fields.body, ...(data ? { data } : {}) };
      break;
    }
    case "wechat_template":
    case "mini_program": {
      const key = channel === "wechat_template" ? "wechatJson" : "miniJson";
      const parsed = parseJson(fields[key], t);
      if (parsed.error) errors[key] = parsed.error;
      else if (parsed.value === null || typeof parsed.value !== "object" || Array.isArray(parsed.value)) errors[key] = t("templates.jsonObjectRequired");
      else content = { ...(parsed.value as Record<string, Json>), channel } as unknown as TemplateContent;
      break;
    }
    case "webhook": {
      const parsed = parseJson(fields.webhookBody, t);
      if (parsed.error) errors.webhookBody = parsed.error;
      else content = { channel, body: parsed.value ?? null };
      break;
    }
    case "inbox":
      content = { channel, title: fields.title, body: fields.body, popup: fields.popup, link: optional(fields.link.trim()) };
      break;
    case "call_task":
      content = { channel, script: fields.script };
      break;
  }

  const defaults: Record<string, Json> = {};
  for (const entry of defaultRows) {
    const path = entry.name.trim();
    if (path === "" && entry.value === "") continue;
    if (path === "") {
      errors.defaults = t("templates.defaultPathRequired");
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(defaults, path)) {
      errors.defaults = t("templates.defaultDuplicate", { path });
      continue;
    }
    if (entry.json) {
      const parsed = parseJson(entry.value, t);
      if (parsed.error) errors.defaults = parsed.error;
      else defaults[path] = parsed.value ?? null;
    } else {
      defaults[path] = entry.value;
    }
  }
  const failed = Object.keys(errors).length > 0;
  return { content: failed ? null : content, defaults: failed ? null : defaults, errors };
}

export function TemplateEditorPage() {
  const { id } = useParams();
  if (!id) return <Editor key="new" template={null} />;
  return <ExistingTemplate key={id} templateId={id} />;
}

function ExistingTemplate({ templateId }: { templateId: string }) {
  const loaded = useLoad(() => api.template(templateId), [templateId]);
  if (loaded.error instanceof ApiError && loaded.error.status === 404) return <NotFoundResult />;
  if (loaded.error !== undefined) return <ErrorAlert error={loaded.error} onRetry={loaded.reload} testId="template-error" />;
  if (!loaded.data) return <Spin style={{ display: "block", margin: 48 }} />;
  return <Editor key={loaded.data.updated_at} template={loaded.data} onSaved={loaded.reload} />;
}

/** Identity types a preview can name a person by, then a profile's own id. */
const PERSON_TYPES = ["phone", "email", "user_id", "anonymous_id", "device_id", "wechat_openid", "wechat_unionid", "profile_id"] as const;
type PersonType = (typeof PERSON_TYPES)[number];

/** The rendered preview, debounced; `request` is null while there is nothing to render. */
function useTemplatePreview(request: TemplatePreviewRequest | null, savedId: string | null) {
  const text = request ? JSON.stringify(request) : "";
  const [preview, setPreview] = useState<TemplatePreview | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const latest = useRef(0);

  useEffect(() => {
    const call = ++latest.current;
    if (!text) {
      setPreview(null);
      setError(undefined);
      setBusy(false);
      return;
    }
    setBusy(true);
    const timer = window.setTimeout(() => {
      const body = JSON.parse(text) as TemplatePreviewRequest;
      const answer = savedId ? api.previewTemplate(savedId, body) : api.previewContent(body);
      answer.then(
        (result) => {
          if (call !== latest.current) return;
          setPreview(result);
          setError(undefined);
          setBusy(false);
        },
        (failure: unknown) => {
          if (call !== latest.current) return;
          setPreview(null);
          setError(failure);
          setBusy(false);
        },
      );
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text, savedId]);

  return { preview, error, busy };
}

function Editor({ template, onSaved }: { template: Template | null; onSaved?: () => void }) {
  const { t, tEnum } = useI18n();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const canWrite = access.contentWrite(role);

  const initial = useMemo(() => fieldsOf(template?.content), [template]);
  const [name, setName] = useState(template?.name ?? "");
  const [templateId, setTemplateId] = useState("");
  const [klass, setKlass] = useState<TemplateClass>(template?.class ?? "marketing");
  const [topic, setTopic] = useState(template?.topic ?? "");
  const [channel, setChannel] = useState<Channel>(template?.channel ?? "sms");
  const [fields, setFields] = useState<Fields>(initial.fields);
  const [params, setParams] = useState<KeyValueRow[]>(initial.params);
  const [defaultRows, setDefaultRows] = useState<KeyValueRow[]>(() =>
    Object.entries(template?.defaults ?? {}).map(([path, value]) =>
      typeof value === "string" ? row(path, value) : row(path, JSON.stringify(value), true),
    ),
  );
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [serverErrors, setServerErrors] = useState<Partial<Record<ErrorSpot, string>>>({});

  const [personType, setPersonType] = useState<PersonType>("phone");
  const [personValue, setPersonValue] = useState("");
  const [signature, setSignature] = useState("");

  const built = useMemo(() => build(channel, fields, params, defaultRows, t), [channel, fields, params, defaultRows, t]);

  function changed() {
    setSaveError(undefined);
    setServerErrors({});
  }
  function setField<K extends keyof Fields>(key: K, value: Fields[K]) {
    setFields((previous) => ({ ...previous, [key]: value }));
    changed();
  }

  // The preview: read-only roles render the saved template; writers render what they type.
  const person = personValue.trim();
  const previewRequest = useMemo<TemplatePreviewRequest | null>(() => {
    if (!person) return null;
    const who = personType === "profile_id" ? { profile: person } : { identity: `${personType}:${person}` };
    const extra = channel === "sms" && signature.trim() ? { signature: signature.trim() } : {};
    if (!canWrite && template) return { ...who, ...extra };
    if (!built.content || !built.defaults) return null;
    return { ...who, ...extra, content: built.content, defaults: built.defaults };
  }, [person, personType, channel, signature, canWrite, template, built]);
  const live = useTemplatePreview(previewRequest, !canWrite && template ? template.id : null);

  const previewError = live.error instanceof ApiError ? live.error : null;
  const previewSpot = previewError && (previewError.code === "render_failed" || previewError.code === "invalid_template") ? spotOf(channel, previewError.field) : null;

  function errorFor(spot: ErrorSpot): string | undefined {
    if (serverErrors[spot]) return serverErrors[spot];
    if (built.errors[spot]) return built.errors[spot];
    if (previewError && previewSpot === spot) return fieldMessage(previewError, t);
    return undefined;
  }
  function status(spot: ErrorSpot) {
    return errorFor(spot) ? ("error" as const) : undefined;
  }

  async function save() {
    const problems: Partial<Record<ErrorSpot, string>> = {};
    if (!name.trim()) problems.name = t("templates.nameRequired");
    if (!template && templateId.trim() && !ID_PATTERN.test(templateId.trim())) problems.id = t("templates.idInvalid");
    if (klass === "marketing" && topic.trim() && !ID_PATTERN.test(topic.trim())) problems.topic = t("templates.topicInvalid");
    if (Object.keys(problems).length > 0 || !built.content || !built.defaults) {
      setServerErrors(problems);
      message.error(t("templates.fixErrors"));
      return;
    }
    const draft: TemplateDraft = {
      name: name.trim(),
      class: klass,
      topic: klass === "marketing" && topic.trim() ? topic.trim() : null,
      content: built.content,
      defaults: built.defaults,
    };
    setSaving(true);
    setSaveError(undefined);
    setServerErrors({});
    try {
      if (template) {
        await api.replaceTemplate(template.id, { ...draft, id: template.id });
        message.success(t("templates.saved", { name: draft.name }));
        onSaved?.();
      } else {
        const created = await api.createTemplate({ ...draft, id: templateId.trim() ? templateId.trim() : undefined });
        message.success(t("templates.created", { name: created.name }));
        navigate(`/content/${encodeURIComponent(created.id)}`, { replace: true });
      }
    } catch (error) {
      const spot = error instanceof ApiError ? spotOf(channel, error.field) : null;
      if (error instanceof ApiError && spot && spot !== "content") {
        setServerErrors({ [spot]: fieldMessage(error, t) });
      } else {
        setSaveError(error);
      }
    } finally {
      setSaving(false);
    }
  }

  function remove() {
    if (!template) return;
    modal.confirm({
      title: t("templates.delete"),
      content: t("templates.deleteConfirm", { name: template.name }),
      okText: t("templates.delete"),
      okButtonProps: { danger: true, "data-testid": "template-delete-confirm" },
      cancelText: t("common.cancel"),
      cancelButtonProps: { "data-testid": "template-delete-cancel" },
      onOk: async () => {
        try {
          await api.deleteTemplate(template.id);
          message.success(t("templates.deleted", { name: template.name }));
          navigate("/content", { replace: true });
        } catch (error) {
          message.error(errorText(error, t));
        }
      },
    });
  }

  const textArea = (key: Exclude<FieldKey, "params" | "popup">, label: MessageKey, testId: string, rows = 3, mono = false) => (
    <Form.Item label={t(label)} validateStatus={status(key)} help={errorFor(key)} htmlFor={`template-${key}`}>
      <Input.TextArea
        id={`template-${key}`}
        value={fields[key]}
        onChange={(event) => setField(key, event.target.value)}
        autoSize={{ minRows: rows, maxRows: 16 }}
        className={mono ? "orbit-mono" : undefined}
        data-testid={testId}
      />
    </Form.Item>
  );
  const line = (key: Exclude<FieldKey, "params" | "popup">, label: MessageKey, testId: string) => (
    <Form.Item label={t(label)} validateStatus={status(key)} help={errorFor(key)} htmlFor={`template-${key}`}>
      <Input id={`template-${key}`} value={fields[key]} onChange={(event) => setField(key, event.target.value)} autoComplete="off" data-testid={testId} />
    </Form.Item>
  );

  const contentError = errorFor("content");

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Space wrap>
        <Link to="/content" data-testid="templates-back">
          <ArrowLeftOutlined aria-hidden /> {t("templates.back")}
        </Link>
      </Space>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {template ? template.name : t("templates.newTitle")}
        {template && (
          <Tag style={{ marginInlineStart: 12, verticalAlign: "middle" }}>{tEnum("channel", template.channel)}</Tag>
        )}
      </Typography.Title>
      {!canWrite && <Alert type="info" showIcon message={t("templates.readOnly")} data-testid="template-read-only" />}
      {saveError !== undefined && <ErrorAlert error={saveError} testId="template-save-error" />}

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={14}>
          <Form layout="vertical" disabled={!canWrite} component="div">
            <Space direction="vertical" size="middle" style={{ width: "100%" }}>
              <Card>
                <Row gutter={16}>
                  <Col xs={24} md={12}>
                    <Form.Item label={t("templates.name")} required validateStatus={status("name")} help={errorFor("name")} htmlFor="template-name">
                      <Input
                        id="template-name"
                        value={name}
                        onChange={(event) => {
                          setName(event.target.value);
                          changed();
                        }}
                        placeholder={t("templates.namePlaceholder")}
                        autoComplete="off"
                        data-testid="template-name-input"
                      />
                    </Form.Item>
                  </Col>
                  <Col xs={24} md={12}>
                    <Form.Item
                      label={t("templates.id")}
                      validateStatus={status("id")}
                      help={errorFor("id") ?? (template ? undefined : t("templates.idHint"))}
                      htmlFor="template-id"
                    >
                      <Input
                        id="template-id"
                        className="orbit-mono"
                        value={template ? template.id : templateId}
                        disabled={!!template || !canWrite}
                        onChange={(event) => {
                          setTemplateId(event.target.value);
                          changed();
                        }}
                        placeholder="double11"
                        autoComplete="off"
                        data-testid="template-id-input"
                      />
                    </Form.Item>
                  </Col>
                  <Col xs={24} md={8}>
                    <Form.Item label={t("templates.channel")} htmlFor="template-channel">
                      <Select<Channel>
                        id="template-channel"
                        value={channel}
                        onChange={(value) => {
                          setChannel(value);
                          changed();
                        }}
                        data-testid="template-channel-select"
                        options={CHANNELS.map((value) => ({ value, label: tEnum("channel", value) }))}
                      />
                    </Form.Item>
                  </Col>
                  <Col xs={24} md={8}>
                    <Form.Item label={t("templates.class")} validateStatus={status("class")} help={errorFor("class")} htmlFor="template-class">
                      <Select<TemplateClass>
                        id="template-class"
                        value={klass}
                        onChange={(value) => {
                          setKlass(value);
                          changed();
                        }}
                        data-testid="template-class-select"
                        options={(["marketing", "transactional"] as const).map((value) => ({ value, label: tEnum("templateClass", value) }))}
                      />
                    </Form.Item>
                  </Col>
                  {klass === "marketing" && (
                    <Col xs={24} md={8}>
                      <Form.Item
                        label={t("templates.topic")}
                        validateStatus={status("topic")}
                        help={errorFor("topic") ?? t("templates.topicHint")}
                        htmlFor="template-topic"
                      >
                        <Input
                          id="template-topic"
                          className="orbit-mono"
                          value={topic}
                          onChange={(event) => {
                            setTopic(event.target.value);
                            changed();
                          }}
                          placeholder="promotions"
                          autoComplete="off"
                          data-testid="template-topic-input"
                        />
                      </Form.Item>
                    </Col>
                  )}
                </Row>
              </Card>

              <Card title={t("templates.content")} extra={<Text type="secondary">{t("templates.contentHint")}</Text>} data-testid="template-content">
                {contentError && <Alert type="error" showIcon role="alert" message={contentError} style={{ marginBottom: 12 }} data-testid="template-content-error" />}
                {channel === "email" && (
                  <>
                    {line("subject", "templates.field.subject", "template-email-subject")}
                    {textArea("html", "templates.field.html", "template-email-html", 4, true)}
                    {textArea("emailText", "templates.field.text", "template-email-text", 4)}
                  </>
                )}
                {channel === "sms" && (
                  <>
                    {textArea("smsText", "templates.field.smsText", "template-sms-text", 3)}
                    {line("providerTemplate", "templates.field.providerTemplate", "template-sms-provider-template")}
                    <Form.Item label={t("templates.field.params")} validateStatus={status("params")} help={errorFor("params")}>
                      <KeyValueRows
                        rows={params}
                        onChange={(next) => {
                          setParams(next);
                          changed();
                        }}
                        disabled={!canWrite}
                        nameLabel={t("templates.paramName")}
                        valueLabel={t("templates.paramValue")}
                        testId="template-sms-params"
                      />
                    </Form.Item>
                  </>
                )}
                {(channel === "push" || channel === "inbox") && (
                  <>
                    {line("title", "templates.field.title", "template-title")}
                    {textArea("body", "templates.field.body", "template-body", 3)}
                  </>
                )}
                {channel === "push" && textArea("pushData", "templates.field.pushData", "template-push-data", 2, true)}
                {channel === "inbox" && (
                  <>
                    <Form.Item validateStatus={status("popup")} help={errorFor("popup")}>
                      <Checkbox checked={fields.popup} onChange={(event) => setField("popup", event.target.checked)} data-testid="template-inbox-popup">
                        {t("templates.field.popup")}
                      </Checkbox>
                    </Form.Item>
                    {line("link", "templates.field.link", "template-inbox-link")}
                  </>
                )}
                {channel === "call_task" && textArea("script", "templates.field.script", "template-call-script", 4)}
                {channel === "webhook" && textArea("webhookBody", "templates.field.webhookBody", "template-webhook-body", 6, true)}
                {channel === "wechat_template" && textArea("wechatJson", "templates.field.wechatJson", "template-wechat-json", 8, true)}
                {channel === "mini_program" && textArea("miniJson", "templates.field.miniProgramJson", "template-mini-program-json", 8, true)}
              </Card>

              <Card title={t("templates.defaults")} extra={<Text type="secondary">{t("templates.defaultsHint")}</Text>}>
                <Form.Item validateStatus={status("defaults")} help={errorFor("defaults")} style={{ marginBottom: 0 }}>
                  <KeyValueRows
                    rows={defaultRows}
                    onChange={(next) => {
                      setDefaultRows(next);
                      changed();
                    }}
                    disabled={!canWrite}
                    nameLabel={t("templates.defaultPath")}
                    valueLabel={t("templates.defaultValue")}
                    testId="template-defaults"
                  />
                </Form.Item>
              </Card>
            </Space>
          </Form>
        </Col>

        <Col xs={24} xl={10}>
          <Card title={t("preview.title")} data-testid="template-preview">
            <Form layout="vertical" component="div">
              <Form.Item label={t("preview.person")} htmlFor="preview-value">
                <Space.Compact style={{ width: "100%" }}>
                  <Select<PersonType>
                    value={personType}
                    onChange={setPersonType}
                    style={{ width: 160 }}
                    aria-label={t("profiles.identityType")}
                    data-testid="preview-identity-type"
                    options={PERSON_TYPES.map((value) => ({ value, label: t(`identity.${value}` as MessageKey) }))}
                  />
                  <Input
                    id="preview-value"
                    value={personValue}
                    onChange={(event) => setPersonValue(event.target.value)}
                    placeholder={personType === "profile_id" ? t("preview.profileId") : t("preview.identityValue")}
                    autoComplete="off"
                    data-testid="preview-identity-value"
                  />
                </Space.Compact>
              </Form.Item>
              {channel === "sms" && (
                <Form.Item label={t("preview.signature")} htmlFor="preview-signature">
                  <Input
                    id="preview-signature"
                    value={signature}
                    onChange={(event) => setSignature(event.target.value)}
                    placeholder={t("preview.signaturePlaceholder")}
                    autoComplete="off"
                    data-testid="preview-signature"
                  />
                </Form.Item>
              )}
            </Form>
            <div data-testid="preview-output" aria-live="polite">
              {!person ? (
                <Text type="secondary">{t("preview.pickPerson")}</Text>
              ) : !previewRequest ? (
                <Text type="secondary">{t("preview.fixContent")}</Text>
              ) : live.error !== undefined ? (
                <PreviewError error={live.error} />
              ) : (
                <Spin spinning={live.busy}>
                  {live.preview ? <Rendered preview={live.preview} /> : <div style={{ minHeight: 48 }} />}
                </Spin>
              )}
            </div>
          </Card>
        </Col>
      </Row>

      {canWrite && (
        <Space wrap>
          <Button type="primary" icon={<SaveOutlined aria-hidden />} loading={saving} onClick={() => void save()} data-testid="template-save">
            {t("common.save")}
          </Button>
          {template && (
            <Button danger icon={<DeleteOutlined aria-hidden />} onClick={remove} data-testid="template-delete">
              {t("templates.delete")}
            </Button>
          )}
        </Space>
      )}
    </Space>
  );
}

/** Name and value rows (defaults, provider parameters). */
function KeyValueRows({
  rows,
  onChange,
  disabled,
  nameLabel,
  valueLabel,
  testId,
}: {
  rows: KeyValueRow[];
  onChange: (rows: KeyValueRow[]) => void;
  disabled: boolean;
  nameLabel: string;
  valueLabel: string;
  testId: string;
}) {
  const { t } = useI18n();
  const update = (key: number, change: Partial<KeyValueRow>) => onChange(rows.map((entry) => (entry.key === key ? { ...entry, ...change } : entry)));
  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid={testId}>
      {rows.map((entry, index) => (
        <Space.Compact key={entry.key} style={{ width: "100%" }} data-testid={`${testId}-row-${index}`}>
          <Input
            value={entry.name}
            onChange={(event) => update(entry.key, { name: event.target.value })}
            placeholder={nameLabel}
            aria-label={nameLabel}
            className="orbit-mono"
            style={{ width: "45%" }}
            disabled={disabled}
            autoComplete="off"
            data-testid={`${testId}-name-${index}`}
          />
          <Input
            value={entry.value}
            onChange={(event) => update(entry.key, { value: event.target.value })}
            placeholder={valueLabel}
            aria-label={valueLabel}
            disabled={disabled}
            autoComplete="off"
            addonAfter={entry.json ? <span title={t("templates.jsonValue")}>JSON</span> : undefined}
            data-testid={`${testId}-value-${index}`}
          />
          {!disabled && (
            <Button
              icon={<MinusCircleOutlined aria-hidden />}
              onClick={() => onChange(rows.filter((other) => other.key !== entry.key))}
              aria-label={t("templates.removeRow")}
              title={t("templates.removeRow")}
              data-testid={`${testId}-remove-${index}`}
            />
          )}
        </Space.Compact>
      ))}
      {!disabled && (
        <Button type="dashed" icon={<PlusOutlined aria-hidden />} onClick={() => onChange([...rows, row("", "")])} data-testid={`${testId}-add`}>
          {t("templates.addRow")}
        </Button>
      )}
    </Space>
  );
}

function PreviewError({ error }: { error: unknown }) {
  const { t } = useI18n();
  const apiError = error instanceof ApiError ? error : null;
  const text = apiError?.status === 404 ? t("preview.notFound") : errorText(error, t);
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      data-testid="preview-error"
      message={text}
      description={
        apiError && (apiError.field || apiError.variable) ? (
          <Space direction="vertical" size={2}>
            {apiError.field && (
              <span>
                {t("preview.at")}
                <Text code>{apiError.field}</Text>
                {apiError.line !== null && ` ${t("preview.line", { line: apiError.line })}`}
              </span>
            )}
            {apiError.variable && (
              <span>
                {t("preview.variable")}
                <Text code data-testid="preview-error-variable">
                  {apiError.variable}
                </Text>
              </span>
            )}
          </Space>
        ) : undefined
      }
    />
  );
}

const OUTPUT_LABELS: Record<string, MessageKey> = {
  subject: "templates.field.subject",
  text: "templates.field.text",
  title: "templates.field.title",
  body: "templates.field.body",
  data: "templates.field.pushData",
  provider_template: "templates.field.providerTemplate",
  params: "templates.field.params",
  popup: "templates.field.popup",
  link: "templates.field.link",
  script: "templates.field.script",
};

/** The rendered content, as text: email HTML as its source and in a sandboxed frame. */
function Rendered({ preview }: { preview: TemplatePreview }) {
  const { t } = useI18n();
  const content = withoutChannel(preview.content);
  const sms = preview.sms;
  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Text type="secondary" data-testid="preview-profile">
        {t("preview.renderedFor", { profile: preview.profile_id })}
      </Text>
      {preview.channel === "wechat_template" || preview.channel === "mini_program" || preview.channel === "webhook" ? (
        <JsonBlock value={preview.channel === "webhook" ? (content.body ?? null) : content} testId="preview-json" />
      ) : (
        Object.entries(content).map(([key, value]) => {
          if (value === null || value === undefined) return null;
          if (Array.isArray(value) && value.length === 0) return null;
          const labelKey = preview.channel === "sms" && key === "text" ? "templates.field.smsText" : OUTPUT_LABELS[key];
          const label = labelKey ? t(labelKey) : key;
          if (key === "html" && typeof value === "string") {
            return (
              <div key={key}>
                <Text strong>{t("preview.htmlRendered")}</Text>
                <iframe
                  sandbox=""
                  srcDoc={value}
                  title={t("preview.htmlRendered")}
                  style={{ width: "100%", height: 280, border: "1px solid #f0f0f0", background: "#fff" }}
                  data-testid="preview-html-frame"
                />
                <Text strong>{t("preview.htmlSource")}</Text>
                <pre className="orbit-json" data-testid="preview-html-source">
                  {value}
                </pre>
              </div>
            );
          }
          return (
            <div key={key}>
              <Text strong>{label}</Text>
              {typeof value === "string" ? (
                <pre className="orbit-json" style={{ whiteSpace: "pre-wrap" }} data-testid={`preview-${key}`}>
                  {value === "" ? t("preview.empty") : value}
                </pre>
              ) : (
                <JsonBlock value={value} testId={`preview-${key}`} />
              )}
            </div>
          );
        })
      )}
      {sms && (
        <div data-testid="preview-sms-parts">
          <Text strong>{t("preview.smsCost")}</Text>
          <ul style={{ margin: "4px 0 0", paddingInlineStart: 20 }}>
            <li data-testid="preview-sms-characters">{t("preview.characters", { count: sms.characters })}</li>
            <li data-testid="preview-sms-carrier">
              {t("preview.carrier", { encoding: sms.carrier.encoding, characters: sms.carrier.characters, parts: sms.carrier.parts })}
            </li>
            <li data-testid="preview-sms-provider">
              {t("preview.chineseProvider", { characters: sms.chinese_provider.characters, parts: sms.chinese_provider.parts })}
              {sms.chinese_provider.signature ? ` 【${sms.chinese_provider.signature}】` : ""}
            </li>
          </ul>
          {!sms.chinese_provider.signature && <Text type="secondary">{t("preview.noSignature")}</Text>}
        </div>
      )}
    </Space>
  );
}
