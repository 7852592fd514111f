// Tags: every tag with how many people hold each value, a search over names and ids, a
// way to make a new one (roles that may write), and the industry tag libraries.
import { useMemo, useState, type HTMLAttributes } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { Button, Card, Input, Space, Table, Tabs, Tag, Typography } from "antd";
import { PlusOutlined, ReloadOutlined } from "@ant-design/icons";
import { api, type Tag as TagDefinition, type TagFamily, type TagKind } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { labelText } from "../tagModel";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { TagLibraries } from "./TagLibraries";

const { Text } = Typography;
const LIBRARIES = "libraries";

export function TagsPage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const view = params.get("view") === LIBRARIES ? LIBRARIES : "tags";
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("tags.title")}
      </Typography.Title>
      <Tabs
        activeKey={view}
        onChange={(key) => setParams(key === LIBRARIES ? { view: LIBRARIES } : {})}
        data-testid="tags-tabs"
        items={[
          { key: "tags", label: <span data-testid="tags-tab-list">{t("tags.tabList")}</span>, children: <TagList /> },
          { key: LIBRARIES, label: <span data-testid="tags-tab-libraries">{t("tags.tabLibraries")}</span>, children: <TagLibraries /> },
        ]}
      />
    </Space>
  );
}

function TagList() {
  const { t, tEnum, lang } = useI18n();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const list = useLoad(() => api.tags(), []);
  const [search, setSearch] = useState("");

  const shown = useMemo(() => {
    const all = list.data?.tags ?? [];
    const needle = search.trim().toLowerCase();
    if (!needle) return all;
    return all.filter((tag) => tag.name.toLowerCase().includes(needle) || tag.id.toLowerCase().includes(needle));
  }, [list.data, search]);
  const refreshed = list.data?.refreshed.evaluated_at;

  return (
    <Card
      title={
        <Input.Search
          allowClear
          placeholder={t("tags.searchPlaceholder")}
          aria-label={t("tags.searchPlaceholder")}
          value={search}
          onChange={(event) => setSearch(event.target.value)}
          style={{ maxWidth: 360 }}
          data-testid="tags-search"
        />
      }
      extra={
        <Space>
          <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="tags-reload" />
          {access.tagsWrite(role) && (
            <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => navigate("/tags/new")} data-testid="tag-new">
              {t("tags.new")}
            </Button>
          )}
        </Space>
      }
    >
      {list.error !== undefined && (
        <div style={{ marginBottom: 16 }}>
          <ErrorAlert error={list.error} onRetry={list.reload} testId="tags-error" />
        </div>
      )}
      <Table<TagDefinition>
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={shown}
        pagination={shown.length > 50 ? { pageSize: 50, showSizeChanger: false } : false}
        data-testid="tags-table"
        scroll={{ x: 960 }}
        locale={{ emptyText: search.trim() ? t("tags.noMatch") : t("tags.empty") }}
        onRow={(tag) => ({ "data-testid": `tag-row-${tag.id}` }) as HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t("tags.name"),
            dataIndex: "name",
            sorter: (a, b) => a.name.localeCompare(b.name),
            render: (name: string, tag) => <Link to={`/tags/${encodeURIComponent(tag.id)}`}>{name}</Link>,
          },
          { title: t("tags.id"), dataIndex: "id", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
          { title: t("tags.family"), dataIndex: "family", render: (family: TagFamily) => tEnum("tagFamily", family) },
          {
            title: t("tags.kind"),
            dataIndex: "kind",
            render: (kind: TagKind) => <Tag color={kind === "rule" || kind === "rfm" ? "blue" : "default"}>{tEnum("tagKind", kind)}</Tag>,
          },
          { title: t("tags.profiles"), dataIndex: "profiles", align: "right", sorter: (a, b) => a.profiles - b.profiles },
          {
            title: t("tags.valueCounts"),
            key: "counts",
            render: (_: unknown, tag) => (
              <Space size={[4, 4]} wrap>
                {Object.entries(tag.counts).map(([value, count]) => (
                  <Tag key={value}>{`${labelText(value, tag.values?.find((v) => v.value === value)?.label, lang)}: ${count}`}</Tag>
                ))}
              </Space>
            ),
          },
          {
            title: t("tags.updated"),
            dataIndex: "updated_at",
            sorter: (a, b) => a.updated_at.localeCompare(b.updated_at),
            render: (at: string) => formatTime(at),
          },
        ]}
      />
      {refreshed && (
        <Text type="secondary" style={{ display: "block", marginTop: 8 }} data-testid="tags-refreshed">
          {t("tags.refreshed", { time: formatTime(refreshed) })}
        </Text>
      )}
    </Card>
  );
}
