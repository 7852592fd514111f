// Broadcast campaigns: each with its state, channels, audience, schedule and how many
// messages went, and the commands its state allows (for roles that may run them).
import type { HTMLAttributes } from "react";
import { Link, useNavigate } from "react-router";
import { Button, Card, Space, Table, Tag, Typography } from "antd";
import { PlusOutlined, ReloadOutlined } from "@ant-design/icons";
import { api, type Campaign, type CampaignReport, type CampaignState, type Template } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { CampaignActions } from "../components/CampaignActions";
import { STATE_COLORS, channelsOf, scheduleText } from "../campaign";

const { Text } = Typography;

interface Listing {
  campaigns: Campaign[];
  templates: Map<string, Template>;
  segments: Map<string, string>;
  /** The reports of campaigns that ran; one that could not be read is left out. */
  reports: Map<string, CampaignReport>;
}

async function listing(): Promise<Listing> {
  const [campaigns, templates, segments] = await Promise.all([api.campaigns(), api.templates(), api.segments()]);
  const ran = campaigns.campaigns.filter((campaign) => campaign.runs > 0);
  const answers = await Promise.allSettled(ran.map((campaign) => api.campaignReport(campaign.id)));
  const reports = new Map<string, CampaignReport>();
  for (const answer of answers) if (answer.status === "fulfilled") reports.set(answer.value.campaign, answer.value);
  return {
    campaigns: campaigns.campaigns,
    templates: new Map(templates.templates.map((template) => [template.id, template])),
    segments: new Map(segments.segments.map((segment) => [segment.id, segment.name])),
    reports,
  };
}

export function CampaignsPage() {
  const { t, tEnum } = useI18n();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const canWrite = access.campaignsWrite(role);
  const list = useLoad(listing, []);
  const data = list.data;
  const sentOf = (id: string) => {
    const report = data?.reports.get(id);
    return report ? report.variants.reduce((sum, variant) => sum + variant.sent, 0) : null;
  };

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("campaigns.title")}
      </Typography.Title>
      <Card
        extra={
          <Space>
            <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="campaigns-reload" />
            {canWrite && (
              <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => navigate("/campaigns/new")} data-testid="campaign-new">
                {t("campaigns.new")}
              </Button>
            )}
          </Space>
        }
      >
        {list.error !== undefined && (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={list.error} onRetry={list.reload} testId="campaigns-error" />
          </div>
        )}
        <Table<Campaign>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={data?.campaigns ?? []}
          pagination={(data?.campaigns.length ?? 0) > 50 ? { pageSize: 50, showSizeChanger: false } : false}
          data-testid="campaigns-table"
          scroll={{ x: 1100 }}
          locale={{ emptyText: t("campaigns.empty") }}
          onRow={(campaign) => ({ "data-testid": `campaign-row-${campaign.id}` }) as HTMLAttributes<HTMLElement>}
          columns={[
            {
              title: t("campaigns.name"),
              dataIndex: "name",
              sorter: (a, b) => a.name.localeCompare(b.name),
              render: (name: string, campaign) => (
                <Space direction="vertical" size={0}>
                  <Link to={`/campaigns/${encodeURIComponent(campaign.id)}`}>{name}</Link>
                  <Text type="secondary" className="orbit-mono">
                    {campaign.id}
                  </Text>
                </Space>
              ),
            },
            {
              title: t("campaigns.state"),
              dataIndex: "state",
              render: (state: CampaignState, campaign) => (
                <Tag color={STATE_COLORS[state]} data-testid={`campaign-state-${campaign.id}`}>
                  {tEnum("campaignState", state)}
                </Tag>
              ),
            },
            {
              title: t("campaigns.channels"),
              key: "channels",
              render: (_, campaign) => (
                <Space size={4} wrap>
                  {data && channelsOf(campaign, data.templates).map((channel) => <Tag key={channel}>{tEnum("channel", channel)}</Tag>)}
                </Space>
              ),
            },
            {
              title: t("campaigns.segment"),
              dataIndex: "segment",
              render: (segment: string) => (
                <Link to={`/segments/${encodeURIComponent(segment)}`}>{data?.segments.get(segment) ?? segment}</Link>
              ),
            },
            {
              title: t("campaigns.schedule"),
              key: "schedule",
              render: (_, campaign) => (
                <Space direction="vertical" size={0}>
                  <span>{scheduleText(campaign.schedule, t)}</span>
                  {campaign.next_run_at && <Text type="secondary">{t("campaigns.nextRun", { time: formatTime(campaign.next_run_at) })}</Text>}
                </Space>
              ),
            },
            {
              title: t("campaigns.sent"),
              key: "sent",
              align: "right",
              render: (_, campaign) => <span data-testid={`campaign-sent-${campaign.id}`}>{sentOf(campaign.id) ?? "–"}</span>,
            },
            {
              title: t("campaigns.updated"),
              dataIndex: "updated_at",
              sorter: (a, b) => a.updated_at.localeCompare(b.updated_at),
              defaultSortOrder: "descend",
              render: (at: string) => formatTime(at),
            },
            ...(canWrite
              ? [
                  {
                    title: t("common.actions"),
                    key: "actions",
                    render: (_: unknown, campaign: Campaign) => <CampaignActions campaign={campaign} onChanged={list.reload} onDeleted={list.reload} />,
                  },
                ]
              : []),
          ]}
        />
      </Card>
    </Space>
  );
}
