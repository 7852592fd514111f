// Comparing two segments: for every tag (or those chosen), how many members of each
// hold each value, their shares, the difference in percentage points and the lift,
// tags that differ most first. The choice lives in the address (?a=&b=&tags=), so a
// comparison can be shared as a link.
import { useMemo } from "react";
import { Link, useSearchParams } from "react-router";
import { Alert, Card, Col, Empty, Form, Progress, Row, Select, Space, Statistic, Table, Tag, Typography } from "antd";
import { api, type TagComparison, type ValueComparison } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";

const { Text } = Typography;

/** A share (0–1) as a percentage with one decimal. */
function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** A difference in percentage points, signed. */
function points(pp: number): string {
  const rounded = pp.toFixed(1);
  return pp > 0 ? `+${rounded}` : rounded;
}

export function SegmentComparePage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const a = params.get("a") ?? "";
  const b = params.get("b") ?? "";
  const chosenTags = useMemo(() => (params.get("tags") ?? "").split(",").filter(Boolean), [params]);
  const segments = useLoad(() => api.segments(), []);
  const tags = useLoad(() => api.tags(), []);
  const ready = a !== "" && b !== "" && a !== b;
  const comparison = useLoad(
    () => (ready ? api.compareSegments(a, b, chosenTags) : Promise.resolve(undefined)),
    [a, b, chosenTags.join(","), ready],
  );

  const choose = (name: "a" | "b" | "tags", value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  const segmentOptions = (segments.data?.segments ?? []).map((segment) => ({
    value: segment.id,
    label: `${segment.name} (${segment.id})`,
  }));
  const tagOptions = (tags.data?.tags ?? []).map((tag) => ({ value: tag.id, label: `${tag.name} (${tag.id})` }));
  const result = comparison.data;

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Space wrap>
        <Link to="/segments">{t("compare.back")}</Link>
        <Typography.Title level={2} style={{ margin: 0 }}>
          {t("compare.title")}
        </Typography.Title>
      </Space>
      <Card>
        {segments.error !== undefined && <ErrorAlert error={segments.error} onRetry={segments.reload} />}
        <Form layout="vertical">
          <Row gutter={16}>
            <Col xs={24} md={8}>
              <Form.Item label={t("compare.segmentA")}>
                <Select
                  showSearch
                  optionFilterProp="label"
                  value={a || undefined}
                  placeholder={t("compare.pickSegment")}
                  options={segmentOptions}
                  loading={segments.loading}
                  onChange={(value: string) => choose("a", value)}
                  optionRender={(option) => <span data-testid={`compare-a-option-${String(option.value)}`}>{option.label}</span>}
                  data-testid="compare-a"
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item label={t("compare.segmentB")}>
                <Select
                  showSearch
                  optionFilterProp="label"
                  value={b || undefined}
                  placeholder={t("compare.pickSegment")}
                  options={segmentOptions}
                  loading={segments.loading}
                  onChange={(value: string) => choose("b", value)}
                  optionRender={(option) => <span data-testid={`compare-b-option-${String(option.value)}`}>{option.label}</span>}
                  data-testid="compare-b"
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item label={t("compare.tags")} extra={t("compare.tagsHint")}>
                <Select
                  mode="multiple"
                  allowClear
                  optionFilterProp="label"
                  value={chosenTags}
                  placeholder={t("compare.allTags")}
                  options={tagOptions}
                  loading={tags.loading}
                  onChange={(value: string[]) => choose("tags", value.join(","))}
                  optionRender={(option) => <span data-testid={`compare-tags-option-${String(option.value)}`}>{option.label}</span>}
                  data-testid="compare-tags"
                />
              </Form.Item>
            </Col>
          </Row>
        </Form>
        {a !== "" && a === b && <Alert type="warning" showIcon message={t("compare.sameSegment")} />}
        {!ready && a !== b && <Text type="secondary">{t("compare.pickBoth")}</Text>}
      </Card>

      {ready && comparison.error !== undefined && <ErrorAlert error={comparison.error} onRetry={comparison.reload} testId="compare-error" />}
      {ready && result && (
        <>
          <Row gutter={16}>
            {[result.a, result.b].map((side, index) => (
              <Col xs={24} md={12} key={index}>
                <Card data-testid={index === 0 ? "compare-side-a" : "compare-side-b"}>
                  <Statistic
                    title={
                      <Space>
                        <Tag color={index === 0 ? "blue" : "orange"}>{index === 0 ? "A" : "B"}</Tag>
                        <Link to={`/segments/${encodeURIComponent(side.id)}`}>{side.name}</Link>
                      </Space>
                    }
                    value={side.size}
                    suffix={t("compare.members")}
                  />
                </Card>
              </Col>
            ))}
          </Row>
          <Card
            title={t("compare.byTag")}
            extra={<Text type="secondary">{t("compare.evaluatedAt", { time: formatTime(result.evaluated_at) })}</Text>}
          >
            {result.tags.length === 0 ? (
              <Empty description={t("compare.noTags")} />
            ) : (
              <TagTable tags={result.tags} />
            )}
          </Card>
        </>
      )}
    </Space>
  );
}

function TagTable({ tags }: { tags: TagComparison[] }) {
  const { t, tEnum } = useI18n();
  return (
    <Table<TagComparison>
      size="small"
      rowKey="tag"
      dataSource={tags}
      pagination={tags.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
      data-testid="compare-table"
      expandable={{ expandedRowRender: (tag) => <ValueTable values={tag.values} />, defaultExpandedRowKeys: tags.slice(0, 1).map((tag) => tag.tag) }}
      columns={[
        {
          title: t("compare.tag"),
          dataIndex: "name",
          render: (name: string, tag) => (
            <Space direction="vertical" size={0}>
              <Text>{name}</Text>
              <Text type="secondary" className="orbit-mono">
                {tag.tag} · {tEnum("tagKind", tag.kind)}
              </Text>
            </Space>
          ),
        },
        { title: t("compare.holdersA"), key: "a", render: (_: unknown, tag) => `${tag.a.count} (${percent(tag.a.share)})` },
        { title: t("compare.holdersB"), key: "b", render: (_: unknown, tag) => `${tag.b.count} (${percent(tag.b.share)})` },
        {
          title: t("compare.maxDifference"),
          dataIndex: "max_difference_pp",
          align: "right",
          render: (pp: number) => <Text strong>{t("compare.pp", { value: pp.toFixed(1) })}</Text>,
        },
      ]}
    />
  );
}

function ValueTable({ values }: { values: ValueComparison[] }) {
  const { t, lang } = useI18n();
  return (
    <Table<ValueComparison>
      size="small"
      rowKey="value"
      dataSource={values}
      pagination={false}
      data-testid="compare-values"
      columns={[
        {
          title: t("compare.value"),
          dataIndex: "value",
          render: (value: string, row) => {
            const label = row.label ? (lang === "en" ? row.label.en : row.label.zh) : null;
            return (
              <Space direction="vertical" size={0}>
                <Text>{label ?? value}</Text>
                {label && (
                  <Text type="secondary" className="orbit-mono">
                    {value}
                  </Text>
                )}
              </Space>
            );
          },
        },
        {
          title: t("compare.shareA"),
          key: "a",
          width: "25%",
          render: (_: unknown, row) => (
            <Progress percent={Math.round(row.a.share * 1000) / 10} strokeColor="#1677ff" format={() => `${row.a.count} · ${percent(row.a.share)}`} />
          ),
        },
        {
          title: t("compare.shareB"),
          key: "b",
          width: "25%",
          render: (_: unknown, row) => (
            <Progress percent={Math.round(row.b.share * 1000) / 10} strokeColor="#fa8c16" format={() => `${row.b.count} · ${percent(row.b.share)}`} />
          ),
        },
        {
          title: t("compare.difference"),
          dataIndex: "difference_pp",
          align: "right",
          render: (pp: number) => (
            <Text type={pp > 0 ? "success" : pp < 0 ? "danger" : undefined} data-testid="compare-difference">
              {t("compare.pp", { value: points(pp) })}
            </Text>
          ),
        },
        {
          title: t("compare.lift"),
          dataIndex: "lift",
          align: "right",
          render: (lift: number | null | undefined) => (lift === null || lift === undefined ? <Text type="secondary">{t("compare.noLift")}</Text> : `${lift.toFixed(2)}×`),
        },
      ]}
    />
  );
}
