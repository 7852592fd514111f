import { useState } from "react";
import { useNavigate } from "react-router";
import { Alert, Button, Card, Form, Input, Select, Space, Typography } from "antd";
import { SearchOutlined } from "@ant-design/icons";
import { api, ApiError } from "../api";
import { errorText } from "../format";
import { useI18n, type MessageKey } from "../i18n";

/** The identity types the server knows, then a custom one, then a profile's own id. */
const TYPES = [
  "user_id",
  "anonymous_id",
  "email",
  "phone",
  "device_id",
  "wechat_openid",
  "wechat_unionid",
  "custom",
  "profile_id",
] as const;
type SearchType = (typeof TYPES)[number];

const CUSTOM_TYPE = /^[a-z0-9_]{1,64}$/;

interface SearchForm {
  type: SearchType;
  customType?: string;
  value: string;
}

export function ProfileSearchPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const [form] = Form.useForm<SearchForm>();
  const type = Form.useWatch("type", form);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  async function submit(values: SearchForm) {
    const value = values.value.trim();
    setProblem(null);
    if (values.type === "profile_id") {
      navigate(`/profiles/${encodeURIComponent(value)}`);
      return;
    }
    const kind = values.type === "custom" ? (values.customType ?? "").trim() : values.type;
    setBusy(true);
    try {
      const profile = await api.profileByIdentity(`${kind}:${value}`);
      navigate(`/profiles/${encodeURIComponent(profile.id)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        setProblem(t("profiles.notFound"));
      } else if (error instanceof ApiError && error.status === 400 && error.field) {
        form.setFields([{ name: "value", errors: [error.message] }]);
      } else {
        setProblem(errorText(error, t));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("profiles.title")}
      </Typography.Title>
      <Card title={t("profiles.searchTitle")} data-testid="profile-search-card">
        <Typography.Paragraph type="secondary">{t("profiles.searchHint")}</Typography.Paragraph>
        <Form<SearchForm>
          form={form}
          layout="inline"
          name="profile-search"
          initialValues={{ type: "phone", value: "" }}
          onFinish={submit}
          onValuesChange={() => setProblem(null)}
          data-testid="profile-search-form"
          style={{ rowGap: 12 }}
        >
          <Form.Item label={t("profiles.identityType")} name="type">
            <Select<SearchType>
              style={{ width: 180 }}
              data-testid="identity-type-select"
              options={TYPES.map((value) => ({
                value,
                label: t(`identity.${value}` as MessageKey),
              }))}
            />
          </Form.Item>
          {type === "custom" && (
            <Form.Item
              label={t("profiles.customType")}
              name="customType"
              rules={[
                { required: true, message: t("profiles.customTypeInvalid") },
                { pattern: CUSTOM_TYPE, message: t("profiles.customTypeInvalid") },
              ]}
            >
              <Input
                style={{ width: 160 }}
                placeholder={t("profiles.customTypePlaceholder")}
                data-testid="identity-custom-type-input"
                autoComplete="off"
              />
            </Form.Item>
          )}
          <Form.Item
            label={t("profiles.identityValue")}
            name="value"
            rules={[{ required: true, whitespace: true, message: t("profiles.identityValueRequired") }]}
          >
            <Input style={{ width: 280 }} data-testid="identity-value-input" autoComplete="off" allowClear />
          </Form.Item>
          <Form.Item>
            <Button
              type="primary"
              htmlType="submit"
              icon={<SearchOutlined aria-hidden />}
              loading={busy}
              data-testid="profile-search-submit"
            >
              {t("profiles.searchSubmit")}
            </Button>
          </Form.Item>
        </Form>
        {problem && (
          <Alert
            style={{ marginTop: 16 }}
            type="warning"
            showIcon
            role="alert"
            message={problem}
            data-testid="profile-search-error"
          />
        )}
      </Card>
    </Space>
  );
}
