// Segments: every segment with its size now, a search over names and ids, and (for
// roles that may write) a way to make a new one.
import { useMemo, useState, type HTMLAttributes } from "react";
import { Link, useNavigate } from "react-router";
import { Button, Card, Input, Space, Table, Tag, Typography } from "antd";
import { PlusOutlined, ReloadOutlined, SwapOutlined } from "@ant-design/icons";
import { api, type Segment, type SegmentKind } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";

const { Text } = Typography;

export function SegmentsPage() {
  const { t, tEnum } = useI18n();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const list = useLoad(() => api.segments(), []);
  const [search, setSearch] = useState("");

  const shown = useMemo(() => {
    const all = list.data?.segments ?? [];
    const needle = search.trim().toLowerCase();
    if (!needle) return all;
    return all.filter((segment) => segment.name.toLowerCase().includes(needle) || segment.id.toLowerCase().includes(needle));
  }, [list.data, search]);

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("segments.title")}
      </Typography.Title>
      <Card
        title={
          <Input.Search
            allowClear
            placeholder={t("segments.searchPlaceholder")}
            aria-label={t("segments.searchPlaceholder")}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            style={{ maxWidth: 360 }}
            data-testid="segments-search"
          />
        }
        extra={
          <Space>
            <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="segments-reload" />
            <Button icon={<SwapOutlined aria-hidden />} onClick={() => navigate("/segments/compare")} data-testid="segments-compare">
              {t("segments.compare")}
            </Button>
            {access.segmentsWrite(role) && (
              <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => navigate("/segments/new")} data-testid="segment-new">
                {t("segments.new")}
              </Button>
            )}
          </Space>
        }
      >
        {list.error !== undefined && (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={list.error} onRetry={list.reload} testId="segments-error" />
          </div>
        )}
        <Table<Segment>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={shown}
          pagination={shown.length > 50 ? { pageSize: 50, showSizeChanger: false } : false}
          data-testid="segments-table"
          scroll={{ x: 800 }}
          locale={{ emptyText: search.trim() ? t("segments.noMatch") : t("segments.empty") }}
          onRow={(segment) => ({ "data-testid": `segment-row-${segment.id}` }) as HTMLAttributes<HTMLElement>}
          columns={[
            {
              title: t("segments.name"),
              dataIndex: "name",
              sorter: (a, b) => a.name.localeCompare(b.name),
              render: (name: string, segment) => <Link to={`/segments/${encodeURIComponent(segment.id)}`}>{name}</Link>,
            },
            { title: t("segments.id"), dataIndex: "id", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
            {
              title: t("segments.type"),
              dataIndex: "type",
              render: (type: SegmentKind) => <Tag color={type === "dynamic" ? "blue" : "default"}>{tEnum("segmentKind", type)}</Tag>,
            },
            { title: t("segments.size"), dataIndex: "size", align: "right", sorter: (a, b) => a.size - b.size },
            {
              title: t("segments.updated"),
              dataIndex: "updated_at",
              sorter: (a, b) => a.updated_at.localeCompare(b.updated_at),
              render: (at: string) => formatTime(at),
            },
          ]}
        />
      </Card>
    </Space>
  );
}
