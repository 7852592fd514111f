// The workspace's time zone and contact policy (admin): a daily cap on marketing per
// person, caps per channel, quiet hours and the channels that need an opt-in, edited
// as a form and saved into the whole settings document (`PUT /v1/settings`).
import { useMemo, useState } from "react";
import { App, Button, Card, Checkbox, Col, Form, Input, InputNumber, Row, Select, Space, Spin, Switch, Typography } from "antd";
import { SaveOutlined } from "@ant-design/icons";
import { api, ApiError, CHANNELS, type Channel, type ContactPolicy, type WorkspaceSettings } from "../api";
import { browserZone } from "../format";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";

const { Text } = Typography;
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

interface FormValues {
  time_zone: string;
  daily_cap: number | null;
  channel_caps: Partial<Record<Channel, number | null>>;
  quiet: boolean;
  quiet_start: string;
  quiet_end: string;
  opt_in_required: Channel[];
}

type FieldPath =
  | ["time_zone"]
  | ["daily_cap"]
  | ["channel_caps", Channel]
  | ["quiet_start"]
  | ["quiet_end"]
  | ["opt_in_required"];

/** Where an API error's field lives in this form. */
function formField(field: string): FieldPath | null {
  if (field === "time_zone") return ["time_zone"];
  if (field === "contact_policy.daily_cap") return ["daily_cap"];
  const channel = CHANNELS.find((name) => field === `contact_policy.channel_caps.${name}`);
  if (channel) return ["channel_caps", channel];
  if (field.startsWith("contact_policy.quiet_hours.end")) return ["quiet_end"];
  if (field.startsWith("contact_policy.quiet_hours")) return ["quiet_start"];
  if (field.startsWith("contact_policy.opt_in_required")) return ["opt_in_required"];
  return null;
}

/** The zones the browser knows, with the current one and UTC among them. */
function zoneOptions(current: string): { value: string; label: string }[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  const known = intl.supportedValuesOf?.("timeZone") ?? [];
  const zones = new Set([current, "UTC", browserZone(), ...known].filter((zone) => zone !== ""));
  return [...zones].sort().map((zone) => ({ value: zone, label: zone }));
}

function valuesOf(settings: WorkspaceSettings): FormValues {
  const policy = settings.contact_policy;
  return {
    time_zone: settings.time_zone,
    daily_cap: policy.daily_cap ?? null,
    channel_caps: { ...(policy.channel_caps ?? {}) },
    quiet: !!policy.quiet_hours,
    // The API writes times with seconds; the form edits hours and minutes.
    quiet_start: policy.quiet_hours?.start.slice(0, 5) ?? "21:00",
    quiet_end: policy.quiet_hours?.end.slice(0, 5) ?? "09:00",
    opt_in_required: policy.opt_in_required ?? [],
  };
}

function policyOf(values: FormValues): ContactPolicy {
  const caps: Partial<Record<Channel, number>> = {};
  for (const channel of CHANNELS) {
    const cap = values.channel_caps?.[channel];
    if (cap !== null && cap !== undefined) caps[channel] = cap;
  }
  return {
    daily_cap: values.daily_cap ?? null,
    channel_caps: caps,
    quiet_hours: values.quiet ? { start: values.quiet_start, end: values.quiet_end } : null,
    opt_in_required: values.opt_in_required,
  };
}

export function SettingsPolicyPage() {
  const { t } = useI18n();
  const loaded = useLoad(() => api.settings(), []);
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("settings.policyTitle")}
      </Typography.Title>
      {loaded.error !== undefined && <ErrorAlert error={loaded.error} onRetry={loaded.reload} testId="settings-error" />}
      {loaded.data ? <PolicyForm settings={loaded.data} /> : loaded.error === undefined && <Spin style={{ display: "block", margin: 48 }} />}
    </Space>
  );
}

function PolicyForm({ settings }: { settings: WorkspaceSettings }) {
  const { t, tEnum } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<FormValues>();
  const [saved, setSaved] = useState(settings);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const quiet = Form.useWatch("quiet", form);
  const zones = useMemo(() => zoneOptions(settings.time_zone), [settings.time_zone]);

  async function save(values: FormValues) {
    setSaving(true);
    setSaveError(undefined);
    try {
      const answer = await api.replaceSettings({ ...saved, time_zone: values.time_zone, contact_policy: policyOf(values) });
      setSaved(answer);
      form.setFieldsValue(valuesOf(answer));
      message.success(t("settings.saved"));
    } catch (error) {
      const at = error instanceof ApiError && error.field ? formField(error.field) : null;
      if (error instanceof ApiError && at) form.setFields([{ name: at, errors: [error.message] }]);
      else setSaveError(error);
    } finally {
      setSaving(false);
    }
  }

  const timeRules = [{ pattern: TIME, message: t("settings.timeInvalid") }, { required: true, message: t("settings.timeInvalid") }];
  return (
    <Form<FormValues> form={form} layout="vertical" name="policy" initialValues={valuesOf(settings)} onFinish={save} onValuesChange={() => setSaveError(undefined)}>
      <Space direction="vertical" size="large" style={{ width: "100%" }}>
        {saveError !== undefined && <ErrorAlert error={saveError} testId="settings-save-error" />}
        <Card title={t("settings.timeZoneTitle")}>
          <Form.Item label={t("settings.timeZone")} name="time_zone" extra={t("settings.timeZoneHint")} style={{ maxWidth: 420, marginBottom: 0 }}>
            <Select showSearch options={zones} data-testid="settings-time-zone" />
          </Form.Item>
        </Card>
        <Card title={t("settings.capsTitle")}>
          <Text type="secondary" style={{ display: "block", marginBottom: 16 }}>
            {t("settings.capsHint")}
          </Text>
          <Form.Item label={t("settings.dailyCap")} name="daily_cap" style={{ maxWidth: 240 }}>
            <InputNumber min={1} precision={0} placeholder={t("settings.noLimit")} style={{ width: "100%" }} data-testid="settings-daily-cap" />
          </Form.Item>
          <Row gutter={16}>
            {CHANNELS.map((channel) => (
              <Col key={channel} xs={12} md={6}>
                <Form.Item label={tEnum("channel", channel)} name={["channel_caps", channel]}>
                  <InputNumber min={1} precision={0} placeholder={t("settings.noLimit")} style={{ width: "100%" }} data-testid={`settings-channel-cap-${channel}`} />
                </Form.Item>
              </Col>
            ))}
          </Row>
        </Card>
        <Card title={t("settings.quietTitle")}>
          <Text type="secondary" style={{ display: "block", marginBottom: 16 }}>
            {t("settings.quietHint")}
          </Text>
          <Space wrap align="start">
            <Form.Item label={t("settings.quietEnabled")} name="quiet" valuePropName="checked">
              <Switch data-testid="settings-quiet-enabled" />
            </Form.Item>
            <Form.Item label={t("settings.quietStart")} name="quiet_start" rules={quiet ? timeRules : []}>
              <Input disabled={!quiet} placeholder="21:00" style={{ width: 120 }} data-testid="settings-quiet-start" />
            </Form.Item>
            <Form.Item label={t("settings.quietEnd")} name="quiet_end" rules={quiet ? timeRules : []}>
              <Input disabled={!quiet} placeholder="09:00" style={{ width: 120 }} data-testid="settings-quiet-end" />
            </Form.Item>
          </Space>
        </Card>
        <Card title={t("settings.optInTitle")}>
          <Text type="secondary" style={{ display: "block", marginBottom: 16 }}>
            {t("settings.optInHint")}
          </Text>
          <Form.Item name="opt_in_required" style={{ marginBottom: 0 }}>
            <Checkbox.Group options={CHANNELS.map((channel) => ({ value: channel, label: tEnum("channel", channel) }))} data-testid="settings-opt-in" />
          </Form.Item>
        </Card>
        <Button type="primary" htmlType="submit" icon={<SaveOutlined aria-hidden />} loading={saving} data-testid="settings-policy-save">
          {t("common.save")}
        </Button>
      </Space>
    </Form>
  );
}
