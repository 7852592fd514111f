// The 360° view of one person: identities, traits, first/last seen, merged ids, tags,
// segments, journeys, consent, messages received and the timeline. Every value from the API is shown as
// text (React escapes it); JSON is shown indented in a <pre>.
import type { ReactNode } from "react";
import { useNavigate, useParams } from "react-router";
import { Alert, Button, Card, Col, Descriptions, Result, Row, Skeleton, Space, Table, Tag, Typography } from "antd";
import { ArrowLeftOutlined } from "@ant-design/icons";
import {
  api,
  ApiError,
  type ConsentVerdict,
  type ConsentView,
  type Json,
  type JourneyStanding,
  type ProfileJourney,
  type ProfileTag,
  type TimelineEvent,
} from "../api";
import { formatTime, formatValue, isEmptyJson } from "../format";
import { useI18n, type Translate } from "../i18n";
import { useLoad, type Loaded } from "../useLoad";
import { ErrorAlert, JsonBlock, PagedFooter } from "../components/Common";
import { usePaged } from "../usePaged";
import { ProfileMessages } from "./ProfileMessages";

const { Text } = Typography;

export function ProfilePage() {
  const { id = "" } = useParams();
  // A new id is a new page: nothing of the previous person is kept.
  return <ProfileView key={id} id={id} />;
}

/** The body of a section: its loading state, its error, or its content. */
function Section<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ReactNode }) {
  if (loaded.error) return <ErrorAlert error={loaded.error} onRetry={loaded.reload} />;
  if (loaded.data === undefined) return <Skeleton active paragraph={{ rows: 2 }} />;
  return <>{children(loaded.data)}</>;
}

function ProfileView({ id }: { id: string }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const profile = useLoad(() => api.profile(id), [id]);
  const tags = useLoad(() => api.profileTags(id), [id]);
  const segments = useLoad(() => api.profileSegments(id), [id]);
  const journeys = useLoad(() => api.profileJourneys(id), [id]);
  const consent = useLoad(() => api.profileConsent(id), [id]);

  const back = (
    <Button icon={<ArrowLeftOutlined aria-hidden />} onClick={() => navigate("/profiles")} data-testid="profile-back">
      {t("profile.backToSearch")}
    </Button>
  );

  if (profile.error instanceof ApiError && (profile.error.status === 404 || profile.error.code === "invalid_id")) {
    return (
      <div data-testid="profile-not-found">
        <Result
          status="404"
          title={profile.error.status === 404 ? t("profiles.idNotFound") : t("profiles.invalidId")}
          subTitle={<Text className="orbit-mono">{id}</Text>}
          extra={back}
        />
      </div>
    );
  }

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }} data-testid="profile-view">
      <Space wrap>
        {back}
        <Typography.Title level={2} style={{ margin: 0 }}>
          {t("profile.title")}
        </Typography.Title>
      </Space>

      <Card title={t("profile.overview")} data-testid="profile-summary">
        <Section loaded={profile}>
          {(p) => (
            <Space direction="vertical" size="middle" style={{ width: "100%" }}>
              {p.id !== id && <Alert type="info" showIcon message={t("profile.mergedNotice", { asked: id })} />}
              <Descriptions column={{ xs: 1, sm: 1, md: 2, lg: 2, xl: 3, xxl: 3 }} size="small" bordered>
                <Descriptions.Item label={t("profile.id")} span="filled">
                  <Text className="orbit-mono" copyable data-testid="profile-id">
                    {p.id}
                  </Text>
                </Descriptions.Item>
                <Descriptions.Item label={t("profile.firstSeen")}>
                  <span data-testid="profile-first-seen">{formatTime(p.first_seen)}</span>
                </Descriptions.Item>
                <Descriptions.Item label={t("profile.lastSeen")}>
                  <span data-testid="profile-last-seen">{formatTime(p.last_seen)}</span>
                </Descriptions.Item>
                <Descriptions.Item label={t("profile.mergedIds")} span="filled">
                  <span data-testid="profile-merged-ids">
                    {p.merged_ids.length === 0 ? (
                      <Text type="secondary">{t("common.none")}</Text>
                    ) : (
                      <Space direction="vertical" size={0}>
                        {p.merged_ids.map((merged) => (
                          <Text key={merged} className="orbit-mono" copyable>
                            {merged}
                          </Text>
                        ))}
                      </Space>
                    )}
                  </span>
                </Descriptions.Item>
              </Descriptions>
              {p.issues.length > 0 && (
                <Table
                  size="small"
                  title={() => <Text strong>{t("profile.issues")}</Text>}
                  rowKey={(issue) => `${issue.field}\u0000${issue.raw}\u0000${issue.problem}`}
                  dataSource={p.issues}
                  pagination={false}
                  data-testid="profile-issues-table"
                  columns={[
                    { title: t("profile.issueField"), dataIndex: "field", render: (v: string) => <Text className="orbit-mono">{v}</Text> },
                    { title: t("profile.issueRaw"), dataIndex: "raw", render: (v: string) => <Text className="orbit-mono">{v}</Text> },
                    { title: t("profile.issueProblem"), dataIndex: "problem" },
                  ]}
                />
              )}
            </Space>
          )}
        </Section>
      </Card>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={10}>
          <Card title={t("profile.identities")} style={{ height: "100%" }}>
            <Section loaded={profile}>{(p) => <IdentitiesTable identities={p.identities} />}</Section>
          </Card>
        </Col>
        <Col xs={24} xl={14}>
          <Card title={t("profile.traits")} style={{ height: "100%" }}>
            <Section loaded={profile}>{(p) => <TraitsTable traits={p.traits} />}</Section>
          </Card>
        </Col>
        <Col xs={24} xl={14}>
          <Card
            title={t("profile.tags")}
            style={{ height: "100%" }}
            extra={
              tags.data?.refreshed_at ? (
                <Text type="secondary">{t("profile.tagsRefreshed", { time: formatTime(tags.data.refreshed_at) })}</Text>
              ) : null
            }
          >
            <Section loaded={tags}>{(data) => <TagsTable tags={data.tags} />}</Section>
          </Card>
        </Col>
        <Col xs={24} xl={10}>
          <Card
            title={t("profile.segments")}
            style={{ height: "100%" }}
            extra={
              segments.data ? (
                <Text type="secondary">{t("profile.segmentsEvaluated", { time: formatTime(segments.data.evaluated_at) })}</Text>
              ) : null
            }
          >
            <Section loaded={segments}>
              {(data) => (
                <Table
                  size="small"
                  rowKey="id"
                  dataSource={data.segments}
                  pagination={data.segments.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
                  data-testid="profile-segments-table"
                  columns={[
                    { title: t("profile.segmentName"), dataIndex: "name" },
                    { title: t("profile.segmentId"), dataIndex: "id", render: (v: string) => <Text className="orbit-mono">{v}</Text> },
                    { title: t("profile.segmentType"), dataIndex: "type", render: (v: string) => <SegmentKindTag kind={v} /> },
                  ]}
                />
              )}
            </Section>
          </Card>
        </Col>
        <Col xs={24}>
          <Card title={t("profile.journeys")}>
            <Section loaded={journeys}>{(data) => <JourneysTable journeys={data.journeys} />}</Section>
          </Card>
        </Col>
        <Col xs={24}>
          <Card
            title={t("profile.consent")}
            extra={consent.data ? <Text type="secondary">{t("profile.consentTopic", { topic: consent.data.topic })}</Text> : null}
          >
            <Section loaded={consent}>{(data) => <ConsentTables view={data} />}</Section>
          </Card>
        </Col>
      </Row>

      <ProfileMessages id={id} />

      <Timeline id={id} />
    </Space>
  );
}

function IdentitiesTable({ identities }: { identities: { type: string; value: string }[] }) {
  const { t, tEnum } = useI18n();
  return (
    <Table
      size="small"
      rowKey={(identity) => `${identity.type}:${identity.value}`}
      dataSource={identities}
      pagination={false}
      data-testid="profile-identities-table"
      columns={[
        {
          title: t("profile.identityType"),
          dataIndex: "type",
          width: "35%",
          render: (type: string) => (
            <span>
              {tEnum("identity", type)}
              {tEnum("identity", type) !== type && (
                <Text type="secondary" className="orbit-mono">
                  {" "}
                  {type}
                </Text>
              )}
            </span>
          ),
        },
        {
          title: t("profile.identityValue"),
          dataIndex: "value",
          render: (value: string) => (
            <Text className="orbit-mono" copyable>
              {value}
            </Text>
          ),
        },
      ]}
    />
  );
}

function TraitsTable({ traits }: { traits: Record<string, Json> }) {
  const { t } = useI18n();
  const rows = Object.keys(traits)
    .sort()
    .map((name) => ({ name, value: traits[name] }));
  return (
    <Table
      size="small"
      rowKey="name"
      dataSource={rows}
      pagination={rows.length > 50 ? { pageSize: 50, showSizeChanger: false } : false}
      data-testid="profile-traits-table"
      columns={[
        { title: t("profile.traitName"), dataIndex: "name", width: "35%", render: (name: string) => <Text className="orbit-mono">{name}</Text> },
        {
          title: t("profile.traitValue"),
          dataIndex: "value",
          render: (value: Json) =>
            value !== null && typeof value === "object" ? (
              <JsonBlock value={value} inline />
            ) : typeof value === "string" ? (
              <Text style={{ whiteSpace: "pre-wrap" }}>{value}</Text>
            ) : (
              <Text className="orbit-mono">{formatValue(value)}</Text>
            ),
        },
      ]}
    />
  );
}

function SegmentKindTag({ kind }: { kind: string }) {
  const { tEnum } = useI18n();
  return <Tag color={kind === "dynamic" ? "geekblue" : "default"}>{tEnum("segmentKind", kind)}</Tag>;
}

function TagsTable({ tags }: { tags: ProfileTag[] }) {
  const { t, tEnum, lang } = useI18n();
  return (
    <Table
      size="small"
      rowKey="tag"
      dataSource={tags}
      pagination={tags.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
      data-testid="profile-tags-table"
      columns={[
        {
          title: t("profile.tagName"),
          dataIndex: "name",
          render: (name: string, tag) => (
            <Space direction="vertical" size={0}>
              <Text>{name}</Text>
              <Text type="secondary" className="orbit-mono">
                {tag.tag}
              </Text>
            </Space>
          ),
        },
        { title: t("profile.tagFamily"), dataIndex: "family", render: (family: string) => tEnum("tagFamily", family) },
        { title: t("profile.tagKind"), dataIndex: "kind", render: (kind: string) => tEnum("tagKind", kind) },
        {
          title: t("profile.tagValues"),
          key: "values",
          render: (_: unknown, tag) => (
            <Space direction="vertical" size={4}>
              <Space size={[4, 4]} wrap>
                {tag.values.map((value) => {
                  const label = value.label ? (lang === "en" ? value.label.en : value.label.zh) : null;
                  return (
                    <Tag key={value.value} color="blue" title={value.value}>
                      {label ?? value.value}
                    </Tag>
                  );
                })}
              </Space>
              {tag.rfm && (
                <Text type="secondary">
                  {t("profile.rfm", {
                    r: tag.rfm.r,
                    f: tag.rfm.f,
                    m: tag.rfm.m,
                    days: tag.rfm.recency_days,
                    frequency: tag.rfm.frequency,
                    monetary: tag.rfm.monetary,
                  })}
                </Text>
              )}
            </Space>
          ),
        },
      ]}
    />
  );
}

export function standingText(state: JourneyStanding, t: Translate, tEnum: (p: string, v: string) => string): string {
  switch (state.status) {
    case "entering":
      return t("profile.stateEntering");
    case "waiting":
      return t(state.for_event ? "profile.stateWaitingEvent" : "profile.stateWaiting", {
        node: state.node,
        time: formatTime(state.until),
      });
    case "exited":
      return state.node
        ? t("profile.stateExitedAt", { node: state.node, reason: tEnum("exitReason", state.reason), time: formatTime(state.at) })
        : t("profile.stateExited", { reason: tEnum("exitReason", state.reason), time: formatTime(state.at) });
    default:
      return String((state as { status?: unknown }).status ?? "");
  }
}

const STANDING_COLOR: Record<string, string> = { entering: "processing", waiting: "warning", exited: "default" };

function JourneysTable({ journeys }: { journeys: ProfileJourney[] }) {
  const { t, tEnum } = useI18n();
  return (
    <Table
      size="small"
      rowKey={(j) => `${j.journey}\u0000${j.entry}\u0000${j.profile_id}`}
      dataSource={journeys}
      pagination={journeys.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
      data-testid="profile-journeys-table"
      expandable={{
        rowExpandable: (j) => (j.path.steps?.length ?? 0) > 0 || !!j.path.exit,
        expandedRowRender: (j) => <JourneyPath journey={j} />,
      }}
      columns={[
        {
          title: t("profile.journeyName"),
          dataIndex: "name",
          render: (name: string, j) => (
            <Space direction="vertical" size={0}>
              <Text>{name}</Text>
              <Text type="secondary" className="orbit-mono">
                {j.journey}
              </Text>
            </Space>
          ),
        },
        { title: t("profile.journeyVersion"), dataIndex: "version", width: 80 },
        { title: t("profile.journeyEntered"), dataIndex: "entered_at", render: (at: string) => formatTime(at) },
        {
          title: t("profile.journeyState"),
          dataIndex: "state",
          render: (state: JourneyStanding) => (
            <Space direction="vertical" size={0}>
              <Tag color={STANDING_COLOR[state.status] ?? "default"} data-testid="journey-state">
                {state.status === "exited" ? tEnum("exitReason", state.reason) : state.status === "waiting" ? state.node : t("profile.stateEntering")}
              </Tag>
              <Text type="secondary">{standingText(state, t, tEnum)}</Text>
            </Space>
          ),
        },
        {
          title: t("profile.journeyKey"),
          dataIndex: "key",
          render: (key: string | null | undefined) => (key ? <Text className="orbit-mono">{key}</Text> : null),
        },
      ]}
    />
  );
}

function JourneyPath({ journey }: { journey: ProfileJourney }) {
  const { t, tEnum } = useI18n();
  const steps = journey.path.steps ?? [];
  const firstKept = Math.min(20, steps.length);
  return (
    <div aria-label={t("profile.journeyPath")}>
      <Text strong>{t("profile.journeyPath")}</Text>
      <ol style={{ margin: "8px 0", paddingInlineStart: 24 }}>
        {steps.map((step, index) => (
          <li key={`${index}-${step.node}`}>
            {index === firstKept && (journey.path.omitted ?? 0) > 0 && steps.length > 20 && (
              <div>
                <Text type="secondary">{t("profile.journeyOmitted", { count: journey.path.omitted ?? 0 })}</Text>
              </div>
            )}
            <Text className="orbit-mono">{step.node}</Text> <Text type="secondary">{formatTime(step.at)}</Text>
            {step.outcome && (
              <>
                {" → "}
                <Text code>{step.outcome}</Text>
              </>
            )}
          </li>
        ))}
      </ol>
      {(journey.path.omitted ?? 0) > 0 && steps.length <= 20 && (
        <Text type="secondary">{t("profile.journeyOmitted", { count: journey.path.omitted ?? 0 })}</Text>
      )}
      {journey.path.exit && (
        <div>
          <Text>
            {t("profile.journeyExit", {
              reason: tEnum("exitReason", journey.path.exit.reason),
              time: formatTime(journey.path.exit.at),
            })}
          </Text>
        </div>
      )}
    </div>
  );
}

function Verdict({ verdict }: { verdict: ConsentVerdict }) {
  const { t, tEnum } = useI18n();
  return (
    <Space size={4} wrap>
      <Tag color={verdict.allowed ? "success" : "error"}>{verdict.allowed ? t("profile.consentAllowed") : t("profile.consentDenied")}</Tag>
      <Text type="secondary">{verdict.status ? tEnum("consentStatus", verdict.status) : t("profile.consentNeverChose")}</Text>
      {verdict.reason && verdict.reason !== verdict.status && <Text type="secondary">· {tEnum("suppression", verdict.reason)}</Text>}
    </Space>
  );
}

function ConsentTables({ view }: { view: ConsentView }) {
  const { t, tEnum } = useI18n();
  const channels = Object.keys(view.resolved).map((channel) => ({ channel, ...view.resolved[channel] }));
  const records = [...view.records].reverse();
  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Table
        size="small"
        rowKey="channel"
        dataSource={channels}
        pagination={false}
        data-testid="profile-consent-table"
        columns={[
          { title: t("profile.consentChannel"), dataIndex: "channel", render: (c: string) => tEnum("channel", c) },
          { title: t("profile.consentMarketing"), dataIndex: "marketing", render: (v: ConsentVerdict) => <Verdict verdict={v} /> },
          { title: t("profile.consentTransactional"), dataIndex: "transactional", render: (v: ConsentVerdict) => <Verdict verdict={v} /> },
        ]}
      />
      <Table
        size="small"
        title={() => <Text strong>{t("profile.consentRecords")}</Text>}
        rowKey={(r) => `${r.at}\u0000${r.channel ?? ""}\u0000${r.topic ?? ""}\u0000${r.status}`}
        dataSource={records}
        pagination={records.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
        data-testid="profile-consent-records-table"
        columns={[
          { title: t("profile.consentRecordAt"), dataIndex: "at", render: (at: string) => formatTime(at) },
          {
            title: t("profile.consentRecordChannel"),
            dataIndex: "channel",
            render: (c: string | null | undefined) => (c ? tEnum("channel", c) : t("profile.consentAll")),
          },
          {
            title: t("profile.consentRecordTopic"),
            dataIndex: "topic",
            render: (topic: string | null | undefined) => topic ?? t("profile.consentAll"),
          },
          {
            title: t("profile.consentRecordStatus"),
            dataIndex: "status",
            render: (s: string) => <Tag color={s === "subscribed" ? "success" : s === "blocked" ? "error" : "warning"}>{tEnum("consentStatus", s)}</Tag>,
          },
        ]}
      />
    </Space>
  );
}

const TIMELINE_PAGE = 25;

function Timeline({ id }: { id: string }) {
  const { t, tEnum } = useI18n();
  const paged = usePaged((cursor) => api.profileEvents(id, cursor, TIMELINE_PAGE));

  return (
    <Card
      title={t("profile.timeline")}
      extra={<Text type="secondary">{t("profile.timelineHint")}</Text>}
      data-testid="profile-timeline"
    >
      <Space direction="vertical" size="middle" style={{ width: "100%" }}>
        <Table<TimelineEvent>
          size="small"
          rowKey="position"
          dataSource={paged.items}
          loading={paged.loading && paged.items.length === 0}
          pagination={false}
          data-testid="timeline-table"
          scroll={{ x: 800 }}
          expandable={{
            expandedRowRender: (event) => <EventDetails event={event} />,
          }}
          columns={[
            {
              title: t("profile.eventTime"),
              dataIndex: "timestamp",
              width: 240,
              render: (at: string) => <span style={{ whiteSpace: "nowrap" }}>{formatTime(at)}</span>,
            },
            {
              title: t("profile.eventType"),
              dataIndex: "type",
              width: 90,
              render: (type: string) => <Tag>{tEnum("eventType", type)}</Tag>,
            },
            {
              title: t("profile.eventName"),
              dataIndex: "event",
              width: 200,
              render: (name: string | null | undefined) => (name ? <Text strong>{name}</Text> : null),
            },
            {
              title: t("profile.eventProperties"),
              dataIndex: "properties",
              render: (properties: Record<string, Json>) =>
                isEmptyJson(properties) ? <Text type="secondary">{t("common.emptyObject")}</Text> : <JsonBlock value={properties} inline compact />,
            },
          ]}
        />
        <PagedFooter paged={paged} testId="timeline" />
      </Space>
    </Card>
  );
}

function EventDetails({ event }: { event: TimelineEvent }) {
  const { t, tEnum } = useI18n();
  return (
    <Space direction="vertical" size="small" style={{ width: "100%" }}>
      <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2, lg: 2, xl: 2, xxl: 2 }} bordered>
        <Descriptions.Item label={t("profile.eventReceived")}>{formatTime(event.received_at)}</Descriptions.Item>
        <Descriptions.Item label={t("profile.eventSource")}>
          <Text className="orbit-mono">{event.source}</Text>
        </Descriptions.Item>
        <Descriptions.Item label={t("profile.eventMessageId")}>
          <Text className="orbit-mono" copyable>
            {event.message_id}
          </Text>
        </Descriptions.Item>
        <Descriptions.Item label={t("profile.eventPosition")}>
          <Text className="orbit-mono">{String(event.position)}</Text>
        </Descriptions.Item>
        <Descriptions.Item label={t("profile.eventIdentities")} span="filled">
          <Space size={[4, 4]} wrap>
            {event.identities.map((identity) => (
              <Tag key={`${identity.type}:${identity.value}`}>
                {tEnum("identity", identity.type)}: {identity.value}
              </Tag>
            ))}
          </Space>
        </Descriptions.Item>
      </Descriptions>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={8}>
          <Text strong>{t("profile.eventProperties")}</Text>
          <JsonBlock value={event.properties} label={t("profile.eventProperties")} />
        </Col>
        <Col xs={24} lg={8}>
          <Text strong>{t("profile.eventTraits")}</Text>
          <JsonBlock value={event.traits} label={t("profile.eventTraits")} />
        </Col>
        <Col xs={24} lg={8}>
          <Text strong>{t("profile.eventContext")}</Text>
          <JsonBlock value={event.context} label={t("profile.eventContext")} />
        </Col>
      </Row>
    </Space>
  );
}

