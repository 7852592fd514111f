// Provider accounts: every account with its channel and provider, its configuration as
// the API shows it (secrets masked, never in clear), and for admins the ways to add,
// change, delete and test-send through one.
import { useState, type HTMLAttributes } from "react";
import { App, Button, Card, Descriptions, Space, Table, Tag, Tooltip, Typography } from "antd";
import { DeleteOutlined, EditOutlined, PlusOutlined, ReloadOutlined, SendOutlined } from "@ant-design/icons";
import { api, type Channel, type ChannelAccount, type Json } from "../api";
import { errorText, formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { ChannelForm } from "../components/ChannelForm";
import { ChannelTestSend } from "../components/ChannelTestSend";
import { PROVIDERS, fieldLabel, testable } from "../providers";

const { Text } = Typography;

/** Which dialog is open: the form (for a new account, or one to change), or a test send. */
type Dialog = { kind: "form"; account: ChannelAccount | null } | { kind: "test"; account: ChannelAccount } | null;

export function ChannelsPage() {
  const { t, tEnum } = useI18n();
  const { message, modal } = App.useApp();
  const role = useActiveSession().operator.role;
  const canWrite = access.channelsWrite(role);
  const list = useLoad(() => api.channels(), []);
  const [dialog, setDialog] = useState<Dialog>(null);

  function remove(account: ChannelAccount) {
    modal.confirm({
      title: t("channels.delete"),
      content: t("channels.deleteConfirm", { name: account.name }),
      okText: t("channels.delete"),
      okButtonProps: { danger: true, "data-testid": "channel-delete-confirm" },
      cancelText: t("common.cancel"),
      onOk: async () => {
        try {
          await api.deleteChannel(account.id);
          message.success(t("channels.deleted", { name: account.name }));
          list.reload();
        } catch (error) {
          message.error(errorText(error, t));
        }
      },
    });
  }

  const accounts = list.data?.channels ?? [];
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("channels.title")}
      </Typography.Title>
      <Card
        title={<Text type="secondary">{canWrite ? t("channels.hintAdmin") : t("channels.hintReader")}</Text>}
        extra={
          <Space>
            <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="channels-reload" />
            {canWrite && (
              <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => setDialog({ kind: "form", account: null })} data-testid="channel-new">
                {t("channels.new")}
              </Button>
            )}
          </Space>
        }
      >
        {list.error !== undefined && (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={list.error} onRetry={list.reload} testId="channels-error" />
          </div>
        )}
        <Table<ChannelAccount>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={accounts}
          pagination={false}
          data-testid="channels-table"
          scroll={{ x: 900 }}
          locale={{ emptyText: t("channels.empty") }}
          onRow={(account) => ({ "data-testid": `channel-row-${account.id}` }) as HTMLAttributes<HTMLElement>}
          expandable={{ expandedRowRender: (account) => <AccountDetails account={account} /> }}
          columns={[
            {
              title: t("channels.name"),
              dataIndex: "name",
              render: (name: string, account) => (
                <Space size={4}>
                  <Text strong>{name}</Text>
                  {account.default && <Tag color="blue">{t("channels.defaultTag")}</Tag>}
                </Space>
              ),
            },
            { title: t("channels.id"), dataIndex: "id", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
            { title: t("channels.channel"), dataIndex: "channel", render: (value: Channel) => <Tag>{tEnum("channel", value)}</Tag> },
            { title: t("channels.provider"), dataIndex: "provider", render: (value: string) => tEnum("provider", value) },
            {
              title: t("channels.rate"),
              dataIndex: "rate_per_second",
              align: "right",
              render: (value: number | null | undefined) => (value ? t("channels.ratePerSecond", { rate: value }) : t("channels.rateUnlimited")),
            },
            { title: t("channels.updated"), dataIndex: "updated_at", render: (at: string) => formatTime(at) },
            ...(canWrite
              ? [
                  {
                    title: t("common.actions"),
                    key: "actions",
                    render: (_: unknown, account: ChannelAccount) => (
                      <Space size={4} wrap>
                        <Button size="small" icon={<EditOutlined aria-hidden />} onClick={() => setDialog({ kind: "form", account })} data-testid={`channel-edit-${account.id}`}>
                          {t("channels.edit")}
                        </Button>
                        <Tooltip title={testable(account.channel) ? undefined : t("channels.testUnavailable")}>
                          <Button
                            size="small"
                            icon={<SendOutlined aria-hidden />}
                            disabled={!testable(account.channel)}
                            onClick={() => setDialog({ kind: "test", account })}
                            data-testid={`channel-test-${account.id}`}
                          >
                            {t("channels.test")}
                          </Button>
                        </Tooltip>
                        <Button size="small" danger icon={<DeleteOutlined aria-hidden />} onClick={() => remove(account)} data-testid={`channel-delete-${account.id}`}>
                          {t("channels.delete")}
                        </Button>
                      </Space>
                    ),
                  },
                ]
              : []),
          ]}
        />
      </Card>
      {dialog?.kind === "form" && (
        <ChannelForm
          account={dialog.account}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            list.reload();
          }}
        />
      )}
      {dialog?.kind === "test" && <ChannelTestSend account={dialog.account} onClose={() => setDialog(null)} />}
    </Space>
  );
}

/** A configuration value as text; a map (a webhook's headers) as `name: value` pairs. */
function shown(value: Json | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value)
      .map(([name, item]) => `${name}: ${shown(item)}`)
      .join(", ");
  }
  return JSON.stringify(value);
}

/** The configuration as the API shows it: the provider's fields in order, secrets as the mask. */
function AccountDetails({ account }: { account: ChannelAccount }) {
  const { t } = useI18n();
  const fields = PROVIDERS[account.provider]?.fields ?? [];
  const listed = fields.filter((field) => account.config[field.name] !== undefined && account.config[field.name] !== null);
  return (
    <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered data-testid={`channel-config-${account.id}`}>
      {listed.map((field) => (
        <Descriptions.Item key={field.name} label={t(fieldLabel(field.name))}>
          <Text className="orbit-mono orbit-wrap">{shown(account.config[field.name])}</Text>
        </Descriptions.Item>
      ))}
      {account.receipt_url && (
        <Descriptions.Item label={t("channels.receiptUrl")} span={2}>
          <Text className="orbit-mono orbit-wrap" copyable data-testid={`channel-receipt-url-${account.id}`}>
            {account.receipt_url}
          </Text>
        </Descriptions.Item>
      )}
    </Descriptions>
  );
}
