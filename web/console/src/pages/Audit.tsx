// The audit log: filters (kept in the address, so a view can be shared), newest first,
// "load more" with the cursor, and each entry's before and after side by side.
import { useCallback, useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";
import { Alert, Button, Card, Col, DatePicker, Form, Input, Row, Space, Table, Tag, Typography } from "antd";
import { SearchOutlined, UndoOutlined } from "@ant-design/icons";
import dayjs, { type Dayjs } from "dayjs";
import { api, type AuditActor, type AuditEntry, type AuditFilter } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { ErrorAlert, JsonBlock } from "../components/Common";

const { Text } = Typography;
const PAGE = 50;
const TEXT_FILTERS = ["actor", "action", "path", "profile"] as const;

interface FilterForm {
  actor?: string;
  action?: string;
  path?: string;
  profile?: string;
  range?: [Dayjs | null, Dayjs | null];
}

function filterFromParams(params: URLSearchParams): AuditFilter {
  const filter: AuditFilter = {};
  for (const name of [...TEXT_FILTERS, "since", "until"] as const) {
    const value = params.get(name);
    if (value) filter[name] = value;
  }
  return filter;
}

function formFromFilter(filter: AuditFilter): FilterForm {
  const since = filter.since ? dayjs(filter.since) : null;
  const until = filter.until ? dayjs(filter.until) : null;
  return {
    actor: filter.actor,
    action: filter.action,
    path: filter.path,
    profile: filter.profile,
    range: since || until ? [since?.isValid() ? since : null, until?.isValid() ? until : null] : undefined,
  };
}

function paramsFromForm(values: FilterForm): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of TEXT_FILTERS) {
    const value = values[name]?.trim();
    if (value) params.set(name, value);
  }
  const [since, until] = values.range ?? [null, null];
  if (since) params.set("since", since.toDate().toISOString());
  if (until) params.set("until", until.toDate().toISOString());
  return params;
}

function statusColor(status: number): string {
  if (status >= 500) return "red";
  if (status >= 400) return "orange";
  if (status >= 300) return "blue";
  return "green";
}

export function AuditPage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const query = params.toString();
  const [form] = Form.useForm<FilterForm>();
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const latest = useRef(0);

  const load = useCallback(async (filter: AuditFilter, after: string | null) => {
    const call = ++latest.current;
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.audit({ ...filter, cursor: after ?? undefined, limit: PAGE });
      if (call !== latest.current) return;
      setEntries((previous) => (after === null ? page.data : [...previous, ...page.data]));
      setCursor(page.next_cursor ?? null);
      setDone(!page.next_cursor);
    } catch (failure) {
      if (call !== latest.current) return;
      if (after === null) setEntries([]);
      setError(failure);
    } finally {
      if (call === latest.current) setLoading(false);
    }
  }, []);

  // The address holds the filters: each change reads the first page again.
  useEffect(() => {
    const filter = filterFromParams(new URLSearchParams(query));
    form.resetFields();
    form.setFieldsValue(formFromFilter(filter));
    setCursor(null);
    setDone(false);
    void load(filter, null);
  }, [query, form, load]);

  function apply(values: FilterForm) {
    const next = paramsFromForm(values);
    if (next.toString() === query) {
      void load(filterFromParams(next), null);
    } else {
      setParams(next);
    }
  }

  function reset() {
    form.resetFields();
    if (query === "") void load({}, null);
    else setParams(new URLSearchParams());
  }

  const filter = filterFromParams(new URLSearchParams(query));

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("audit.title")}
      </Typography.Title>
      <Card data-testid="audit-filters">
        <Form<FilterForm> form={form} layout="vertical" name="audit-filter" onFinish={apply}>
          <Row gutter={16}>
            <Col xs={24} md={12} xl={6}>
              <Form.Item label={t("audit.filterActor")} name="actor">
                <Input placeholder={t("audit.filterActorPlaceholder")} allowClear autoComplete="off" data-testid="audit-filter-actor" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={6}>
              <Form.Item label={t("audit.filterAction")} name="action">
                <Input placeholder={t("audit.filterActionPlaceholder")} allowClear autoComplete="off" data-testid="audit-filter-action" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={6}>
              <Form.Item label={t("audit.filterPath")} name="path">
                <Input placeholder={t("audit.filterPathPlaceholder")} allowClear autoComplete="off" data-testid="audit-filter-path" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={6}>
              <Form.Item label={t("audit.filterProfile")} name="profile">
                <Input placeholder={t("audit.filterProfilePlaceholder")} allowClear autoComplete="off" data-testid="audit-filter-profile" />
              </Form.Item>
            </Col>
            <Col xs={24} md={16} xl={12}>
              <div data-testid="audit-filter-time">
                <Form.Item label={t("audit.filterTime")} name="range">
                  <DatePicker.RangePicker
                    showTime={{ format: "HH:mm:ss" }}
                    format="YYYY-MM-DD HH:mm:ss"
                    allowEmpty={[true, true]}
                    placeholder={[t("audit.filterSince"), t("audit.filterUntil")]}
                    style={{ width: "100%" }}
                  />
                </Form.Item>
              </div>
            </Col>
            <Col xs={24} md={8} xl={12} style={{ display: "flex", alignItems: "flex-end" }}>
              <Form.Item>
                <Space>
                  <Button type="primary" htmlType="submit" icon={<SearchOutlined aria-hidden />} loading={loading && entries.length === 0} data-testid="audit-search">
                    {t("common.search")}
                  </Button>
                  <Button icon={<UndoOutlined aria-hidden />} onClick={reset} data-testid="audit-reset">
                    {t("common.reset")}
                  </Button>
                </Space>
              </Form.Item>
            </Col>
          </Row>
        </Form>
      </Card>
      <Card>
        <Space direction="vertical" size="middle" style={{ width: "100%" }}>
          {error !== undefined && (
            <ErrorAlert error={error} onRetry={() => void load(filter, entries.length === 0 ? null : cursor)} testId="audit-error" />
          )}
          <Table<AuditEntry>
            rowKey="id"
            size="middle"
            dataSource={entries}
            loading={loading && entries.length === 0}
            pagination={false}
            data-testid="audit-table"
            scroll={{ x: 1000 }}
            expandable={{ expandedRowRender: (entry) => <BeforeAfter entry={entry} /> }}
            columns={[
              {
                title: t("audit.time"),
                dataIndex: "at",
                width: 215,
                render: (at: string) => <span style={{ whiteSpace: "nowrap" }}>{formatTime(at)}</span>,
              },
              { title: t("audit.actor"), dataIndex: "actor", width: 180, render: (actor: AuditActor) => <Actor actor={actor} /> },
              { title: t("audit.action"), dataIndex: "action", width: 240, render: (action: string) => <Text className="orbit-mono orbit-wrap">{action}</Text> },
              { title: t("audit.path"), dataIndex: "path", render: (path: string) => <Text className="orbit-mono orbit-wrap">{path}</Text> },
              {
                title: t("audit.status"),
                dataIndex: "status",
                width: 80,
                render: (status: number) => <Tag color={statusColor(status)}>{status}</Tag>,
              },
              {
                title: t("audit.address"),
                dataIndex: "address",
                width: 130,
                render: (address: string | null | undefined) =>
                  address ? (
                    <Text className="orbit-mono" style={{ wordBreak: "normal", whiteSpace: "nowrap" }}>
                      {address}
                    </Text>
                  ) : null,
              },
            ]}
          />
          <Space>
            {!done && entries.length > 0 && (
              <Button onClick={() => void load(filter, cursor)} loading={loading} data-testid="audit-load-more">
                {t("common.loadMore")}
              </Button>
            )}
            {entries.length > 0 && (
              <Text type="secondary" data-testid="audit-count">
                {t("common.shown", { count: entries.length })}
                {done ? ` · ${t("common.noMore")}` : ""}
              </Text>
            )}
          </Space>
        </Space>
      </Card>
    </Space>
  );
}

function Actor({ actor }: { actor: AuditActor }) {
  const { tEnum } = useI18n();
  return (
    <Space direction="vertical" size={0}>
      <span>
        <Text>{actor.name}</Text> <Tag style={{ marginInlineStart: 4 }}>{tEnum("audit.actorKind", actor.kind)}</Tag>
      </span>
      <Text type="secondary" className="orbit-mono" copyable={{ text: actor.id }}>
        {actor.id}
      </Text>
    </Space>
  );
}

function BeforeAfter({ entry }: { entry: AuditEntry }) {
  const { t } = useI18n();
  return (
    <Space direction="vertical" size="small" style={{ width: "100%" }} data-testid="audit-before-after">
      {entry.redacted && <Alert type="warning" showIcon message={t("audit.redacted")} />}
      <Row gutter={16}>
        <Col xs={24} lg={12}>
          <Text strong>{t("audit.before")}</Text>
          {entry.before === undefined || entry.before === null ? (
            <div>
              <Text type="secondary">{t("audit.nothing")}</Text>
            </div>
          ) : (
            <JsonBlock value={entry.before} label={t("audit.before")} testId="audit-before" />
          )}
        </Col>
        <Col xs={24} lg={12}>
          <Text strong>{t("audit.after")}</Text>
          {entry.after === undefined || entry.after === null ? (
            <div>
              <Text type="secondary">{t("audit.nothing")}</Text>
            </div>
          ) : (
            <JsonBlock value={entry.after} label={t("audit.after")} testId="audit-after" />
          )}
        </Col>
      </Row>
    </Space>
  );
}
