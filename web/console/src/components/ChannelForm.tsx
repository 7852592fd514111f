// Creating or changing a provider account: its name, id, provider and the provider's
// own fields. Secrets arrive masked; sent back unchanged they keep the stored value, so
// the form never needs (and never shows) a secret in clear.
import { useState } from "react";
import { Alert, App, Button, Col, Collapse, Form, Input, InputNumber, Modal, Row, Select, Space, Switch, Typography } from "antd";
import { MinusCircleOutlined, PlusOutlined } from "@ant-design/icons";
import { api, ApiError, SECRET_MASK, type ChannelAccount, type Json, type ProviderConfig, type ProviderName } from "../api";
import { errorText } from "../format";
import { useI18n } from "../i18n";
import { PROVIDER_NAMES, PROVIDERS, fieldLabel, type ProviderField } from "../providers";

const { Text } = Typography;
const ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

/** Where an API error is shown: a field of the form, a configuration field, or the form as a whole. */
type Errors = Record<string, string>;

function asText(value: Json | undefined): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : String(value);
}

/** The error's place: `config.headers.X-Token` is the `headers` field's. */
function errorKey(field: string | null): string {
  if (!field) return "";
  if (field.startsWith("config.")) return `config.${field.slice("config.".length).split(/[.[]/)[0]}`;
  return field;
}

export function ChannelForm({ account, onClose, onSaved }: { account: ChannelAccount | null; onClose: () => void; onSaved: () => void }) {
  const { t, tEnum } = useI18n();
  const { message } = App.useApp();
  const [name, setName] = useState(account?.name ?? "");
  const [accountId, setAccountId] = useState("");
  const [isDefault, setIsDefault] = useState(account?.default ?? false);
  const [rate, setRate] = useState<number | null>(account?.rate_per_second ?? null);
  const [config, setConfig] = useState<ProviderConfig>(account?.config ?? { provider: "smtp" });
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const provider = PROVIDERS[config.provider];

  function changed() {
    setErrors({});
    setFailure(undefined);
  }

  function setField(field: string, value: Json | undefined) {
    setConfig((previous) => {
      const next: ProviderConfig = { ...previous };
      if (value === undefined) delete next[field];
      else next[field] = value;
      return next;
    });
    changed();
  }

  function changeProvider(next: ProviderName) {
    // Nothing carries over between providers: the server keeps no secret across them.
    setConfig({ provider: next });
    changed();
  }

  function checked(): Errors {
    const found: Errors = {};
    if (!name.trim()) found.name = t("channels.nameRequired");
    if (!account && accountId.trim() && !ID_PATTERN.test(accountId.trim())) found.id = t("channels.idInvalid");
    for (const field of provider.fields) {
      const value = config[field.name];
      if (field.required && (value === undefined || value === null || value === "")) {
        found[`config.${field.name}`] = t("channels.fieldRequired");
      }
    }
    return found;
  }

  async function save() {
    const found = checked();
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setSaving(true);
    setFailure(undefined);
    const draft = { name: name.trim(), config, default: isDefault, rate_per_second: rate };
    try {
      if (account) {
        await api.replaceChannel(account.id, { ...draft, id: account.id });
        message.success(t("channels.saved", { name: draft.name }));
      } else {
        const created = await api.createChannel({ ...draft, id: accountId.trim() || undefined });
        message.success(t("channels.created", { name: created.name }));
      }
      onSaved();
    } catch (error) {
      const key = error instanceof ApiError ? errorKey(error.field) : "";
      const known = key === "name" || key === "id" || key === "rate_per_second" || provider.fields.some((field) => `config.${field.name}` === key);
      if (error instanceof ApiError && known) setErrors({ [key]: error.message });
      else setFailure(error);
    } finally {
      setSaving(false);
    }
  }

  const basic = provider.fields.filter((field) => !field.advanced);
  const advanced = provider.fields.filter((field) => field.advanced);
  const status = (key: string) => (errors[key] ? ("error" as const) : undefined);

  return (
    <Modal
      open
      width={720}
      title={account ? t("channels.editTitle", { name: account.name }) : t("channels.newTitle")}
      onCancel={onClose}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      onOk={() => void save()}
      confirmLoading={saving}
      maskClosable={false}
      okButtonProps={{ "data-testid": "channel-save" }}
      cancelButtonProps={{ "data-testid": "channel-cancel" }}
    >
      <Form layout="vertical" component="div" data-testid="channel-form">
        {failure !== undefined && (
          <Alert type="error" showIcon role="alert" message={errorText(failure, t)} style={{ marginBottom: 12 }} data-testid="channel-form-error" />
        )}
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item label={t("channels.name")} required validateStatus={status("name")} help={errors.name} htmlFor="channel-name">
              <Input
                id="channel-name"
                value={name}
                onChange={(event) => {
                  setName(event.target.value);
                  changed();
                }}
                placeholder={t("channels.namePlaceholder")}
                autoComplete="off"
                data-testid="channel-name-input"
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item
              label={t("channels.id")}
              validateStatus={status("id")}
              help={errors.id ?? (account ? undefined : t("channels.idHint"))}
              htmlFor="channel-id"
            >
              <Input
                id="channel-id"
                className="orbit-mono"
                value={account ? account.id : accountId}
                disabled={!!account}
                onChange={(event) => {
                  setAccountId(event.target.value);
                  changed();
                }}
                placeholder="aliyun-sms"
                autoComplete="off"
                data-testid="channel-id-input"
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item label={t("channels.provider")} help={account ? t("channels.providerChangeHint") : undefined}>
              <Select<ProviderName>
                value={config.provider}
                onChange={changeProvider}
                aria-label={t("channels.provider")}
                data-testid="channel-provider-select"
                options={PROVIDER_NAMES.map((value) => ({
                  value,
                  label: `${tEnum("provider", value)} · ${tEnum("channel", PROVIDERS[value].channel)}`,
                }))}
              />
            </Form.Item>
          </Col>
          <Col xs={12} md={6}>
            <Form.Item label={t("channels.rate")} validateStatus={status("rate_per_second")} help={errors.rate_per_second}>
              <InputNumber
                min={1}
                precision={0}
                value={rate}
                onChange={(value) => {
                  setRate(value);
                  changed();
                }}
                placeholder={t("channels.rateUnlimited")}
                aria-label={t("channels.rate")}
                style={{ width: "100%" }}
                data-testid="channel-rate-input"
              />
            </Form.Item>
          </Col>
          <Col xs={12} md={6}>
            <Form.Item label={t("channels.default")}>
              <Switch
                checked={isDefault}
                onChange={(value) => {
                  setIsDefault(value);
                  changed();
                }}
                aria-label={t("channels.default")}
                data-testid="channel-default-switch"
              />
            </Form.Item>
          </Col>
        </Row>
        <Text type="secondary" style={{ display: "block", marginBottom: 12 }}>
          {t("channels.secretsHint")}
        </Text>
        {basic.map((field) => (
          <ConfigField key={field.name} field={field} value={config[field.name]} error={errors[`config.${field.name}`]} onChange={(value) => setField(field.name, value)} />
        ))}
        {advanced.length > 0 && (
          <Collapse
            size="small"
            items={[
              {
                key: "advanced",
                label: t("channels.advanced"),
                forceRender: true,
                children: advanced.map((field) => (
                  <ConfigField
                    key={field.name}
                    field={field}
                    value={config[field.name]}
                    error={errors[`config.${field.name}`]}
                    onChange={(value) => setField(field.name, value)}
                  />
                )),
              },
            ]}
          />
        )}
      </Form>
    </Modal>
  );
}

/** One configuration field, as its kind asks. An emptied optional field is left out, so the server's default applies. */
function ConfigField({ field, value, error, onChange }: { field: ProviderField; value: Json | undefined; error?: string; onChange: (value: Json | undefined) => void }) {
  const { t } = useI18n();
  const label = t(fieldLabel(field.name));
  const inputId = `channel-field-${field.name}`;
  const text = (raw: string) => onChange(raw === "" ? undefined : raw);
  const kept = value === SECRET_MASK;
  let input;
  switch (field.kind) {
    case "text":
      input = <Input id={inputId} value={asText(value)} onChange={(event) => text(event.target.value)} placeholder={field.placeholder} autoComplete="off" data-testid={inputId} />;
      break;
    case "multiline":
      input = <Input.TextArea id={inputId} value={asText(value)} onChange={(event) => text(event.target.value)} autoSize={{ minRows: 2, maxRows: 8 }} className="orbit-mono" data-testid={inputId} />;
      break;
    case "secret":
      input = (
        <Input.Password
          id={inputId}
          value={asText(value)}
          onChange={(event) => text(event.target.value)}
          visibilityToggle={!kept}
          autoComplete="new-password"
          data-testid={inputId}
        />
      );
      break;
    case "secretMultiline":
      input = (
        <Input.TextArea
          id={inputId}
          value={asText(value)}
          onChange={(event) => text(event.target.value)}
          autoSize={{ minRows: 2, maxRows: 8 }}
          placeholder={field.placeholder}
          className="orbit-mono"
          data-testid={inputId}
        />
      );
      break;
    case "number":
      input = (
        <InputNumber
          id={inputId}
          min={0}
          precision={0}
          value={typeof value === "number" ? value : null}
          onChange={(next) => onChange(next ?? undefined)}
          style={{ width: 240 }}
          data-testid={inputId}
        />
      );
      break;
    case "boolean":
      input = <Switch id={inputId} checked={value === true} onChange={(next) => onChange(next)} data-testid={inputId} />;
      break;
    case "select":
      input = (
        <Select<string>
          id={inputId}
          allowClear
          value={typeof value === "string" ? value : undefined}
          onChange={(next) => onChange(next ?? undefined)}
          options={(field.options ?? []).map((option) => ({ value: option, label: option }))}
          style={{ width: 240 }}
          data-testid={inputId}
        />
      );
      break;
    case "secretMap":
      input = <SecretMap value={value} onChange={onChange} testId={inputId} />;
      break;
  }
  return (
    <Form.Item
      label={
        <span>
          {label} <Text type="secondary" className="orbit-mono">{field.name}</Text>
        </span>
      }
      required={field.required}
      validateStatus={error ? "error" : undefined}
      help={error ?? (kept ? t("channels.secretKept") : undefined)}
      htmlFor={inputId}
    >
      {input}
    </Form.Item>
  );
}

interface HeaderRow {
  key: number;
  name: string;
  value: string;
}

let headerKeys = 0;
function headerRow(name: string, value: string): HeaderRow {
  headerKeys += 1;
  return { key: headerKeys, name, value };
}

/** A map of names to secret values (a webhook's headers): each value masked as the server sent it. */
function SecretMap({ value, onChange, testId }: { value: Json | undefined; onChange: (value: Json | undefined) => void; testId: string }) {
  const { t } = useI18n();
  // Read once: later edits come from the rows themselves.
  const [rows, setRows] = useState<HeaderRow[]>(() =>
    value && typeof value === "object" && !Array.isArray(value) ? Object.entries(value).map(([name, secret]) => headerRow(name, asText(secret))) : [],
  );

  function update(next: HeaderRow[]) {
    setRows(next);
    const map: Record<string, Json> = {};
    for (const row of next) if (row.name.trim()) map[row.name.trim()] = row.value;
    onChange(Object.keys(map).length > 0 ? map : undefined);
  }

  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid={testId}>
      {rows.map((row, index) => (
        <Space.Compact key={row.key} style={{ width: "100%" }}>
          <Input
            value={row.name}
            onChange={(event) => update(rows.map((other) => (other.key === row.key ? { ...other, name: event.target.value } : other)))}
            placeholder={t("channels.headerName")}
            aria-label={t("channels.headerName")}
            className="orbit-mono"
            style={{ width: "40%" }}
            data-testid={`${testId}-name-${index}`}
          />
          <Input.Password
            value={row.value}
            onChange={(event) => update(rows.map((other) => (other.key === row.key ? { ...other, value: event.target.value } : other)))}
            placeholder={t("channels.headerValue")}
            aria-label={t("channels.headerValue")}
            visibilityToggle={row.value !== SECRET_MASK}
            autoComplete="new-password"
            data-testid={`${testId}-value-${index}`}
          />
          <Button
            icon={<MinusCircleOutlined aria-hidden />}
            onClick={() => update(rows.filter((other) => other.key !== row.key))}
            aria-label={t("templates.removeRow")}
            title={t("templates.removeRow")}
          />
        </Space.Compact>
      ))}
      <Button type="dashed" icon={<PlusOutlined aria-hidden />} onClick={() => update([...rows, headerRow("", "")])} data-testid={`${testId}-add`}>
        {t("channels.addHeader")}
      </Button>
    </Space>
  );
}
