// The messages a person received, or was held back from, on their 360° view: each
// campaign's and journey's message with its channel, address and what became of it
// (sent, delivered, opened, clicked, or why it was not sent), newest first.
import { Link } from "react-router";
import { Card, Descriptions, Space, Table, Tag, Typography } from "antd";
import { api, type ProfileMessage, type SendState } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { PagedFooter } from "../components/Common";
import { usePaged } from "../usePaged";

const { Text } = Typography;

const PAGE = 20;

const STATE_COLOR: Record<SendState, string> = {
  scheduled: "processing",
  dispatching: "processing",
  accepted: "success",
  failed: "error",
  ambiguous: "warning",
  suppressed: "default",
};

/** The steps a message went through after it was sent, in order, with when. */
const PROGRESS = [
  ["sent_at", "profile.messageSentAt"],
  ["delivered_at", "profile.messageDeliveredAt"],
  ["bounced_at", "profile.messageBouncedAt"],
  ["opened_at", "profile.messageOpenedAt"],
  ["clicked_at", "profile.messageClickedAt"],
] as const;

export function ProfileMessages({ id }: { id: string }) {
  const { t, tEnum } = useI18n();
  const paged = usePaged((cursor) => api.profileMessages(id, cursor, PAGE));

  return (
    <Card title={t("profile.messages")} extra={<Text type="secondary">{t("profile.messagesHint")}</Text>} data-testid="profile-messages">
      <Space direction="vertical" size="middle" style={{ width: "100%" }}>
        <Table<ProfileMessage>
          size="small"
          rowKey="id"
          dataSource={paged.items}
          loading={paged.loading && paged.items.length === 0}
          pagination={false}
          data-testid="profile-messages-table"
          scroll={{ x: 900 }}
          expandable={{ expandedRowRender: (message) => <MessageDetails message={message} /> }}
          columns={[
            {
              title: t("profile.messageTime"),
              dataIndex: "created_at",
              width: 200,
              render: (at: string) => <span style={{ whiteSpace: "nowrap" }}>{formatTime(at)}</span>,
            },
            { title: t("profile.messageSource"), key: "source", render: (_: unknown, message) => <MessageSource message={message} /> },
            {
              title: t("profile.messageVariant"),
              dataIndex: "variant",
              width: 110,
              render: (variant: string | null | undefined) =>
                variant === "control" ? <Tag>{t("profile.messageControl")}</Tag> : variant ? <Text>{variant}</Text> : null,
            },
            {
              title: t("profile.messageChannel"),
              key: "channel",
              width: 150,
              render: (_: unknown, message) =>
                message.channel ? (
                  <Space direction="vertical" size={0}>
                    <Text>{tEnum("channel", message.channel)}</Text>
                    {message.account && (
                      <Text type="secondary" className="orbit-mono">
                        {message.account}
                      </Text>
                    )}
                  </Space>
                ) : (
                  <Text type="secondary">{t("common.none")}</Text>
                ),
            },
            {
              title: t("profile.messageState"),
              key: "state",
              width: 170,
              render: (_: unknown, message) => (
                <Space direction="vertical" size={0}>
                  <Tag color={STATE_COLOR[message.state] ?? "default"} data-testid="message-state">
                    {tEnum("sendState", message.state)}
                  </Tag>
                  {message.suppression && <Text type="secondary">{tEnum("suppression", message.suppression)}</Text>}
                </Space>
              ),
            },
            {
              title: t("profile.messageAddress"),
              dataIndex: "address",
              render: (address: string | null | undefined) => (address ? <Text className="orbit-mono">{address}</Text> : null),
            },
            {
              title: t("profile.messageProgress"),
              key: "progress",
              render: (_: unknown, message) => (
                <Space size={[4, 4]} wrap>
                  {PROGRESS.filter(([field]) => message[field]).map(([field, label]) => (
                    <Tag key={field} color={field === "bounced_at" ? "error" : "blue"} title={formatTime(message[field] ?? "")}>
                      {t(label)}
                    </Tag>
                  ))}
                </Space>
              ),
            },
          ]}
        />
        <PagedFooter paged={paged} testId="messages" />
      </Space>
    </Card>
  );
}

/** The campaign or journey that sent a message, linked to its page. */
function MessageSource({ message }: { message: ProfileMessage }) {
  const { t } = useI18n();
  if (message.campaign) {
    return (
      <Link to={`/campaigns/${encodeURIComponent(message.campaign)}`}>
        {t("profile.messageCampaign", { id: message.campaign })}
      </Link>
    );
  }
  if (message.journey) {
    return (
      <Link to={`/journeys/${encodeURIComponent(message.journey)}`}>{t("profile.messageJourney", { id: message.journey })}</Link>
    );
  }
  return <Text className="orbit-mono">{message.origin}</Text>;
}

function MessageDetails({ message }: { message: ProfileMessage }) {
  const { t } = useI18n();
  return (
    <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2, lg: 2, xl: 2, xxl: 2 }} bordered>
      <Descriptions.Item label={t("profile.messageId")}>
        <Text className="orbit-mono" copyable>
          {message.id}
        </Text>
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.messageOrigin")}>
        <Text className="orbit-mono">{message.origin}</Text>
      </Descriptions.Item>
      {PROGRESS.filter(([field]) => message[field]).map(([field, label]) => (
        <Descriptions.Item key={field} label={t(label)}>
          {formatTime(message[field] ?? "")}
        </Descriptions.Item>
      ))}
      {message.last_error && (
        <Descriptions.Item label={t("profile.messageError")} span="filled">
          <Text style={{ whiteSpace: "pre-wrap" }}>{message.last_error}</Text>
        </Descriptions.Item>
      )}
    </Descriptions>
  );
}
