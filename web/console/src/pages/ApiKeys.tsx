// Keys (admin): the workspace's write keys (one event source each) and API keys (the
// management API, within scopes); making one shows its secret this once; revoking one
// takes effect at once.
import { useState } from "react";
import { Alert, App, Button, Card, Checkbox, Form, Input, Modal, Radio, Space, Table, Tag, Typography } from "antd";
import { PlusOutlined, ReloadOutlined, StopOutlined } from "@ant-design/icons";
import { api, ApiError, SCOPES, type ApiKey, type KeyKind, type NewKey, type Scope } from "../api";
import { errorText, formatTime } from "../format";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";

const { Paragraph, Text } = Typography;
const SOURCE_PATTERN = /^[a-z0-9_-]{1,64}$/;

interface FormValues {
  kind: KeyKind;
  name?: string;
  scopes?: Scope[];
  source?: string;
}

export function ApiKeysPage() {
  const { t, tEnum } = useI18n();
  const { message, modal } = App.useApp();
  const list = useLoad(() => api.keys(), []);
  const [creating, setCreating] = useState(false);

  function revoke(key: ApiKey) {
    modal.confirm({
      title: t("keys.revoke"),
      content: t("keys.revokeConfirm", { name: key.name, id: key.id }),
      okText: t("keys.revoke"),
      okButtonProps: { danger: true, "data-testid": "key-revoke-confirm" },
      cancelText: t("common.cancel"),
      onOk: async () => {
        try {
          await api.revokeKey(key.id);
          message.success(t("keys.revoked", { name: key.name }));
          list.reload();
        } catch (error) {
          message.error(errorText(error, t));
        }
      },
    });
  }

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("keys.title")}
      </Typography.Title>
      <Text type="secondary">{t("keys.hint")}</Text>
      <Card
        extra={
          <Space>
            <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="keys-reload" />
            <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => setCreating(true)} data-testid="key-new">
              {t("keys.new")}
            </Button>
          </Space>
        }
      >
        {list.error !== undefined && (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={list.error} onRetry={list.reload} testId="keys-error" />
          </div>
        )}
        <Table<ApiKey>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={list.data?.data ?? []}
          pagination={false}
          scroll={{ x: 900 }}
          data-testid="keys-table"
          locale={{ emptyText: t("keys.empty") }}
          columns={[
            { title: t("keys.name"), dataIndex: "name" },
            { title: t("keys.id"), dataIndex: "id", render: (id: string) => <Text className="orbit-mono">{id}</Text> },
            { title: t("keys.kind"), dataIndex: "kind", render: (kind: KeyKind) => <Tag>{tEnum("keyKind", kind)}</Tag> },
            {
              title: t("keys.reach"),
              key: "reach",
              render: (_: unknown, key) =>
                key.kind === "write" ? (
                  <Text>{t("keys.source", { source: key.source ?? "default" })}</Text>
                ) : (
                  <Space size={[4, 4]} wrap>
                    {key.scopes.map((scope) => (
                      <Tag key={scope} className="orbit-mono">
                        {scope}
                      </Tag>
                    ))}
                  </Space>
                ),
            },
            { title: t("keys.created"), dataIndex: "created_at_ms", render: (ms: number) => formatTime(new Date(ms).toISOString()) },
            {
              title: t("keys.status"),
              dataIndex: "revoked_at_ms",
              render: (ms: number | null | undefined) =>
                ms ? <Tag color="red">{t("keys.revokedAt", { time: formatTime(new Date(ms).toISOString()) })}</Tag> : <Tag color="green">{t("keys.active")}</Tag>,
            },
            {
              title: t("common.actions"),
              key: "actions",
              render: (_: unknown, key) =>
                !key.revoked_at_ms && (
                  <Button size="small" danger icon={<StopOutlined aria-hidden />} onClick={() => revoke(key)} data-testid={`key-revoke-${key.id}`}>
                    {t("keys.revoke")}
                  </Button>
                ),
            },
          ]}
        />
      </Card>
      {creating && (
        <NewKeyDialog
          onClose={(made) => {
            setCreating(false);
            if (made) list.reload();
          }}
        />
      )}
    </Space>
  );
}

/** The form for a new key, then its secret, shown this once. */
function NewKeyDialog({ onClose }: { onClose: (made: boolean) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<FormValues>();
  const kind = Form.useWatch("kind", form) ?? "api";
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [minted, setMinted] = useState<ApiKey | null>(null);

  async function create(values: FormValues) {
    setSaving(true);
    setError(undefined);
    const request: NewKey = { kind: values.kind, name: values.name?.trim() || undefined };
    if (values.kind === "api") request.scopes = values.scopes ?? [];
    else request.source = values.source?.trim() || undefined;
    try {
      setMinted(await api.createKey(request));
    } catch (failure) {
      const field = failure instanceof ApiError ? failure.field : null;
      if (field && ["kind", "name", "scopes", "source"].includes(field)) {
        form.setFields([{ name: field as keyof FormValues, errors: [(failure as ApiError).message] }]);
      } else {
        setError(failure);
      }
    } finally {
      setSaving(false);
    }
  }

  if (minted) {
    return (
      <Modal
        open
        title={t("keys.mintedTitle", { name: minted.name })}
        onCancel={() => onClose(true)}
        footer={
          <Button type="primary" onClick={() => onClose(true)} data-testid="key-secret-close">
            {t("keys.done")}
          </Button>
        }
      >
        <Space direction="vertical" style={{ width: "100%" }}>
          <Alert type="warning" showIcon message={t("keys.secretOnce")} />
          <Paragraph copyable={{ text: minted.key }} className="orbit-json" style={{ marginBottom: 0 }}>
            <span data-testid="key-secret">{minted.key}</span>
          </Paragraph>
        </Space>
      </Modal>
    );
  }

  return (
    <Modal
      open
      title={t("keys.new")}
      onCancel={() => onClose(false)}
      okText={t("keys.create")}
      cancelText={t("common.cancel")}
      okButtonProps={{ loading: saving, "data-testid": "key-create-submit" }}
      onOk={() => form.submit()}
    >
      {error !== undefined && <ErrorAlert error={error} testId="key-create-error" />}
      <Form<FormValues> form={form} layout="vertical" name="key" initialValues={{ kind: "api", scopes: ["audiences:read"] }} onFinish={create}>
        <Form.Item label={t("keys.kind")} name="kind">
          <Radio.Group data-testid="key-kind">
            <Radio value="api" data-testid="key-kind-api">
              {t("keyKind.api")}
            </Radio>
            <Radio value="write" data-testid="key-kind-write">
              {t("keyKind.write")}
            </Radio>
          </Radio.Group>
        </Form.Item>
        <Form.Item label={t("keys.name")} name="name">
          <Input placeholder={t("keys.namePlaceholder")} autoComplete="off" data-testid="key-name-input" />
        </Form.Item>
        {kind === "api" ? (
          <Form.Item label={t("keys.scopes")} name="scopes" rules={[{ required: true, type: "array", min: 1, message: t("keys.scopesRequired") }]}>
            <Checkbox.Group options={SCOPES.map((scope) => ({ value: scope, label: scope }))} data-testid="key-scopes" />
          </Form.Item>
        ) : (
          <Form.Item label={t("keys.sourceLabel")} name="source" extra={t("keys.sourceHint")} rules={[{ pattern: SOURCE_PATTERN, message: t("keys.sourceInvalid") }]}>
            <Input className="orbit-mono" placeholder="ios" autoComplete="off" data-testid="key-source-input" />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}
