// The dashboard: today's numbers in the workspace's time zone, a week of messages sent
// and delivered, and the largest segments' sizes over time. Refreshed every minute.
import { useEffect, useMemo } from "react";
import { Link } from "react-router";
import { Button, Card, Col, Empty, Row, Space, Spin, Statistic, Table, Tag, Typography } from "antd";
import { ReloadOutlined } from "@ant-design/icons";
import type { EChartsCoreOption } from "echarts/core";
import dayjs from "dayjs";
import { api, type SegmentKind, type SegmentSize, type SizePoint, type StatsOverview } from "../api";
import { formatTime } from "../format";
import { useI18n, type MessageKey } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { Chart } from "../components/Chart";

const { Text } = Typography;
const REFRESH_MS = 60_000;
/** How many segments the size chart draws: more lines than this no one can read. */
const CHARTED_SEGMENTS = 5;

/** The overview's fields that are counts. */
type CountField = { [K in keyof StatsOverview]: StatsOverview[K] extends number ? K : never }[keyof StatsOverview];

interface StatCard {
  key: CountField;
  label: MessageKey;
  testId: string;
}

const CARDS: readonly StatCard[] = [
  { key: "events_today", label: "dashboard.eventsToday", testId: "stat-events-today" },
  { key: "new_profiles_today", label: "dashboard.newProfilesToday", testId: "stat-new-profiles-today" },
  { key: "profiles_total", label: "dashboard.profilesTotal", testId: "stat-profiles-total" },
  { key: "messages_sent_today", label: "dashboard.messagesSent", testId: "stat-messages-sent" },
  { key: "messages_delivered_today", label: "dashboard.messagesDelivered", testId: "stat-messages-delivered" },
  { key: "active_campaigns", label: "dashboard.activeCampaigns", testId: "stat-active-campaigns" },
  { key: "active_journeys", label: "dashboard.activeJourneys", testId: "stat-active-journeys" },
];

export function DashboardPage() {
  const { t } = useI18n();
  const stats = useLoad(() => api.statsOverview(), []);
  const { reload } = stats;

  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);

  const overview = stats.data;
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Space align="baseline" wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={2} style={{ margin: 0 }}>
          {t("dashboard.title")}
        </Typography.Title>
        <Space wrap>
          {overview && (
            <Text type="secondary" data-testid="dashboard-today">
              {t("dashboard.today", { date: overview.today, zone: overview.time_zone, time: formatTime(overview.at) })}
            </Text>
          )}
          <Button icon={<ReloadOutlined aria-hidden />} onClick={reload} loading={stats.loading} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="dashboard-reload" />
        </Space>
      </Space>
      {stats.error !== undefined && <ErrorAlert error={stats.error} onRetry={reload} testId="dashboard-error" />}
      {!overview ? (
        stats.error === undefined && <Spin style={{ display: "block", margin: 48 }} />
      ) : (
        <>
          <StatCards overview={overview} />
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={12}>
              <MessagesCard overview={overview} />
            </Col>
            <Col xs={24} xl={12}>
              <SegmentSizesCard segments={overview.segments} refreshedAt={overview.at} />
            </Col>
          </Row>
          <SegmentTable segments={overview.segments} />
        </>
      )}
    </Space>
  );
}

function StatCards({ overview }: { overview: StatsOverview }) {
  const { t, lang } = useI18n();
  const number = useMemo(() => new Intl.NumberFormat(lang), [lang]);
  return (
    <Row gutter={[16, 16]}>
      {CARDS.map((card) => (
        <Col key={card.key} xs={12} md={8} xl={6} xxl={3}>
          <Card size="small">
            <Statistic
              title={t(card.label)}
              value={overview[card.key]}
              formatter={(value) => <span data-testid={card.testId}>{number.format(Number(value))}</span>}
            />
          </Card>
        </Col>
      ))}
    </Row>
  );
}

function MessagesCard({ overview }: { overview: StatsOverview }) {
  const { t } = useI18n();
  const option = useMemo<EChartsCoreOption>(
    () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: [t("dashboard.sent"), t("dashboard.delivered")] },
      grid: { left: 48, right: 24, top: 40, bottom: 32 },
      xAxis: { type: "category", data: overview.messages_by_day.map((day) => day.date.slice(5)) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: t("dashboard.sent"), type: "line", data: overview.messages_by_day.map((day) => day.sent) },
        { name: t("dashboard.delivered"), type: "line", data: overview.messages_by_day.map((day) => day.delivered) },
      ],
    }),
    [overview.messages_by_day, t],
  );
  return (
    <Card title={t("dashboard.messagesChart")}>
      <Chart option={option} height={280} testId="chart-messages" />
    </Card>
  );
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The largest segments' recorded sizes, one line each. */
function SegmentSizesCard({ segments, refreshedAt }: { segments: SegmentSize[]; refreshedAt: string }) {
  const { t } = useI18n();
  const charted = useMemo(() => segments.slice(0, CHARTED_SEGMENTS), [segments]);
  const ids = charted.map((segment) => segment.id).join(",");
  const histories = useLoad(
    () => Promise.all(charted.map((segment) => api.segmentHistory(segment.id).then((history) => history.points))),
    // The same segments are charted again on each refresh of the overview.
    [ids, refreshedAt],
  );
  const option = useMemo<EChartsCoreOption>(() => {
    const points: SizePoint[][] = histories.data ?? [];
    // Each line ends at its size now, and the axis spans a day at least, so that a
    // history of a few records made moments apart still reads as hours and days.
    const now = dayjs(refreshedAt).valueOf();
    const series = charted.map((segment, i) => [
      ...(points[i] ?? []).map((point) => [dayjs(point.at).valueOf(), point.size]),
      [now, segment.size],
    ]);
    const earliest = Math.min(now, ...series.flatMap((line) => line.map(([at]) => at)));
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll", data: charted.map((segment) => segment.name) },
      grid: { left: 56, right: 24, top: 40, bottom: 32 },
      xAxis: { type: "time", min: Math.min(earliest, now - DAY_MS), max: now },
      yAxis: { type: "value", minInterval: 1 },
      series: charted.map((segment, i) => ({
        name: segment.name,
        type: "line",
        step: "end",
        showSymbol: true,
        data: series[i],
      })),
    };
  }, [charted, histories.data, refreshedAt]);

  return (
    <Card title={t("dashboard.segmentsChart", { count: CHARTED_SEGMENTS })}>
      {histories.error !== undefined && <ErrorAlert error={histories.error} onRetry={histories.reload} />}
      {charted.length === 0 ? <NoSegments /> : <Chart option={option} height={280} testId="chart-segments" />}
    </Card>
  );
}

function NoSegments() {
  const { t } = useI18n();
  const role = useActiveSession().operator.role;
  return (
    <Empty description={t("dashboard.noSegments")}>
      {access.segmentsWrite(role) && (
        <Link to="/segments/new" data-testid="dashboard-new-segment">
          {t("dashboard.createSegment")}
        </Link>
      )}
    </Empty>
  );
}

function SegmentTable({ segments }: { segments: SegmentSize[] }) {
  const { t, tEnum } = useI18n();
  if (segments.length === 0) return null;
  return (
    <Card title={t("dashboard.segmentSizes")}>
      <Table<SegmentSize>
        rowKey="id"
        size="small"
        dataSource={segments}
        pagination={segments.length > 10 ? { pageSize: 10, showSizeChanger: false } : false}
        data-testid="dashboard-segments"
        columns={[
          {
            title: t("segments.name"),
            dataIndex: "name",
            render: (name: string, segment) => <Link to={`/segments/${encodeURIComponent(segment.id)}`}>{name}</Link>,
          },
          {
            title: t("segments.type"),
            dataIndex: "type",
            render: (type: SegmentKind) => <Tag color={type === "dynamic" ? "blue" : "default"}>{tEnum("segmentKind", type)}</Tag>,
          },
          { title: t("segments.size"), dataIndex: "size", align: "right" },
        ]}
      />
    </Card>
  );
}
