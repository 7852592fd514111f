// One campaign's report: its definition and state with the commands the state allows,
// and per variant (the control group included) what became of its messages — in a bar
// chart and, number by number, in a table with each variant's channels. While the
// campaign runs, the page reads the report again every few seconds.
import { useEffect, useMemo, type HTMLAttributes } from "react";
import { Link, useParams } from "react-router";
import { Button, Card, Col, Descriptions, Row, Space, Spin, Table, Tag, Tooltip, Typography } from "antd";
import { ArrowLeftOutlined, EditOutlined } from "@ant-design/icons";
import type { EChartsCoreOption } from "echarts/core";
import { api, ApiError, type Campaign, type CampaignReport, type ChannelTally, type Tally, type Template, type VariantTally } from "../api";
import { formatTime } from "../format";
import { useI18n, type MessageKey } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { NotFoundResult } from "../components/Results";
import { CampaignActions } from "../components/CampaignActions";
import { Chart } from "../components/Chart";
import { STATE_COLORS, channelsOf, editable, live, scheduleText, suppressedTotal } from "../campaign";

const { Text } = Typography;
const REFRESH_MS = 2000;
const CONTROL = "control";

/** The counts the table shows, in order; suppressed messages have a column of their own. */
const METRICS = ["targeted", "sent", "delivered", "failed", "pending", "ambiguous", "bounced", "opened", "clicked"] as const;
type Metric = (typeof METRICS)[number];

interface Loaded {
  campaign: Campaign;
  report: CampaignReport;
  templates: Map<string, Template>;
  segment: string;
}

async function load(campaignId: string): Promise<Loaded> {
  const [campaign, report, templates, segments] = await Promise.all([
    api.campaign(campaignId),
    api.campaignReport(campaignId),
    api.templates(),
    api.segments(),
  ]);
  return {
    campaign,
    report,
    templates: new Map(templates.templates.map((template) => [template.id, template])),
    segment: segments.segments.find((segment) => segment.id === campaign.segment)?.name ?? campaign.segment,
  };
}

export function CampaignReportPage() {
  const { id = "" } = useParams();
  const loaded = useLoad(() => load(id), [id]);
  const data = loaded.data;
  const running = data ? live(data.campaign.state) || data.report.variants.some((variant) => variant.pending > 0) : false;
  const { reload } = loaded;

  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [running, reload]);

  if (loaded.error instanceof ApiError && loaded.error.status === 404) return <NotFoundResult />;
  if (!data) {
    if (loaded.error !== undefined) return <ErrorAlert error={loaded.error} onRetry={reload} testId="campaign-error" />;
    return <Spin style={{ display: "block", margin: 48 }} />;
  }
  return <Report data={data} refreshError={loaded.error} reload={reload} running={running} />;
}

/** The variants in the campaign's order, then the control group, then anything else the ledger holds. */
function ordered(campaign: Campaign, report: CampaignReport): VariantTally[] {
  const rank = (name: string) => {
    const index = campaign.variants.findIndex((variant) => variant.name === name);
    if (index >= 0) return index;
    return name === CONTROL ? campaign.variants.length : campaign.variants.length + 1;
  };
  return [...report.variants].sort((a, b) => rank(a.variant) - rank(b.variant) || a.variant.localeCompare(b.variant));
}

function Report({ data, refreshError, reload, running }: { data: Loaded; refreshError: unknown; reload: () => void; running: boolean }) {
  const { t, tEnum } = useI18n();
  const role = useActiveSession().operator.role;
  const { campaign, report } = data;
  const variants = useMemo(() => ordered(campaign, report), [campaign, report]);
  const variantLabel = (name: string) => (name === CONTROL ? t("report.control") : name);

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }} data-testid="campaign-report">
      <Link to="/campaigns" data-testid="campaigns-back">
        <ArrowLeftOutlined aria-hidden /> {t("campaigns.back")}
      </Link>
      <Space wrap align="center" style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={2} style={{ margin: 0 }}>
          {campaign.name}
          <Tag color={STATE_COLORS[campaign.state]} style={{ marginInlineStart: 12, verticalAlign: "middle" }} data-testid="report-state">
            {tEnum("campaignState", campaign.state)}
          </Tag>
          {running && (
            <Tooltip title={t("report.refreshing")}>
              <Spin size="small" />
            </Tooltip>
          )}
        </Typography.Title>
        {access.campaignsWrite(role) && (
          <Space>
            {editable(campaign.state) && (
              <Link to={`/campaigns/${encodeURIComponent(campaign.id)}/edit`} data-testid="campaign-edit">
                <Button icon={<EditOutlined aria-hidden />}>{t("campaigns.edit")}</Button>
              </Link>
            )}
            <CampaignActions campaign={campaign} onChanged={reload} size="middle" />
          </Space>
        )}
      </Space>
      {refreshError !== undefined && <ErrorAlert error={refreshError} onRetry={reload} testId="report-refresh-error" />}
      <Card>
        <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }} data-testid="report-definition">
          <Descriptions.Item label={t("wizard.id")}>
            <Text className="orbit-mono">{campaign.id}</Text>
          </Descriptions.Item>
          <Descriptions.Item label={t("campaigns.segment")}>
            <Link to={`/segments/${encodeURIComponent(campaign.segment)}`}>{data.segment}</Link>
          </Descriptions.Item>
          <Descriptions.Item label={t("campaigns.channels")}>
            <Space size={4} wrap>
              {channelsOf(campaign, data.templates).map((channel) => (
                <Tag key={channel}>{tEnum("channel", channel)}</Tag>
              ))}
            </Space>
          </Descriptions.Item>
          <Descriptions.Item label={t("wizard.controlPercent")}>{`${campaign.control_percent}%`}</Descriptions.Item>
          <Descriptions.Item label={t("report.variants")}>
            {campaign.variants.map((variant) => `${variant.name} × ${variant.weight}`).join(", ")}
          </Descriptions.Item>
          <Descriptions.Item label={t("campaigns.schedule")}>{scheduleText(campaign.schedule, t)}</Descriptions.Item>
          <Descriptions.Item label={t("wizard.class")}>
            {tEnum("templateClass", campaign.class)}
            {campaign.class === "marketing" && <Text className="orbit-mono">{` · ${campaign.topic}`}</Text>}
          </Descriptions.Item>
          <Descriptions.Item label={t("report.runs")}>
            <span data-testid="report-runs">{report.runs}</span>
          </Descriptions.Item>
          {campaign.next_run_at && <Descriptions.Item label={t("report.nextRun")}>{formatTime(campaign.next_run_at)}</Descriptions.Item>}
        </Descriptions>
      </Card>
      {variants.length === 0 ? (
        <Card>
          <Text type="secondary" data-testid="report-empty">
            {campaign.state === "draft" ? t("report.notLaunched") : t("report.nothingYet")}
          </Text>
        </Card>
      ) : (
        <Row gutter={[16, 16]}>
          <Col xs={24}>
            <Card title={t("report.chartTitle")}>
              <ReportChart variants={variants} label={variantLabel} />
            </Card>
          </Col>
          <Col xs={24}>
            <Card title={t("report.tableTitle")}>
              <ReportTable variants={variants} label={variantLabel} />
            </Card>
          </Col>
        </Row>
      )}
    </Space>
  );
}

function metricTitle(metric: Metric): MessageKey {
  return `report.metric.${metric}` as MessageKey;
}

function ReportChart({ variants, label }: { variants: VariantTally[]; label: (name: string) => string }) {
  const { t } = useI18n();
  const option = useMemo<EChartsCoreOption>(() => {
    const shown = ["sent", "delivered", "failed", "suppressed", "opened", "clicked"] as const;
    const title = (metric: (typeof shown)[number]) => (metric === "suppressed" ? t("report.notSent") : t(metricTitle(metric)));
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 40, bottom: 32 },
      dataset: {
        dimensions: ["variant", ...shown],
        source: variants.map((variant) => ({
          variant: label(variant.variant),
          sent: variant.sent,
          delivered: variant.delivered,
          failed: variant.failed,
          suppressed: suppressedTotal(variant),
          opened: variant.opened,
          clicked: variant.clicked,
        })),
      },
      xAxis: { type: "category" },
      yAxis: { type: "value", minInterval: 1 },
      series: shown.map((metric) => ({ type: "bar", name: title(metric), encode: { x: "variant", y: metric } })),
    };
  }, [variants, label, t]);
  return <Chart option={option} height={320} testId="report-chart" />;
}

function Suppressed({ tally, testId }: { tally: Tally; testId?: string }) {
  const { tEnum } = useI18n();
  const reasons = Object.entries(tally.suppressed).filter(([, value]) => value > 0);
  return (
    <Space size={4} wrap data-testid={testId}>
      {reasons.map(([reason, value]) => (
        <Tag key={reason} data-testid={testId ? `${testId}-${reason}` : undefined}>
          {`${tEnum("suppression", reason)}: ${value}`}
        </Tag>
      ))}
    </Space>
  );
}

function ReportTable({ variants, label }: { variants: VariantTally[]; label: (name: string) => string }) {
  const { t } = useI18n();
  return (
    <Table<VariantTally>
      rowKey="variant"
      size="small"
      pagination={false}
      dataSource={variants}
      scroll={{ x: 1100 }}
      data-testid="report-table"
      onRow={(variant) => ({ "data-testid": `report-row-${variant.variant}` }) as HTMLAttributes<HTMLElement>}
      expandable={{
        rowExpandable: (variant) => variant.channels.length > 0,
        expandedRowRender: (variant) => <ChannelTable channels={variant.channels} />,
      }}
      columns={[
        {
          title: t("report.variant"),
          dataIndex: "variant",
          fixed: "left",
          render: (name: string) => (name === CONTROL ? <Tag color="gold">{label(name)}</Tag> : <Text className="orbit-mono">{name}</Text>),
        },
        ...METRICS.map((metric) => ({
          title: t(metricTitle(metric)),
          dataIndex: metric,
          align: "right" as const,
          render: (value: number, variant: VariantTally) => <span data-testid={`report-${variant.variant}-${metric}`}>{value}</span>,
        })),
        {
          title: t("report.suppressed"),
          key: "suppressed",
          render: (_: unknown, variant: VariantTally) => <Suppressed tally={variant} testId={`report-${variant.variant}-suppressed`} />,
        },
      ]}
      footer={() => <Text type="secondary">{t("report.footnote")}</Text>}
    />
  );
}

function ChannelTable({ channels }: { channels: ChannelTally[] }) {
  const { t, tEnum } = useI18n();
  return (
    <Table<ChannelTally>
      rowKey="channel"
      size="small"
      pagination={false}
      dataSource={channels}
      columns={[
        { title: t("report.channel"), dataIndex: "channel", render: (channel: string) => (channel === "none" ? t("report.noChannel") : tEnum("channel", channel)) },
        ...METRICS.map((metric) => ({ title: t(metricTitle(metric)), dataIndex: metric, align: "right" as const })),
        { title: t("report.suppressed"), key: "suppressed", render: (_: unknown, tally: ChannelTally) => <Suppressed tally={tally} /> },
      ]}
    />
  );
}
