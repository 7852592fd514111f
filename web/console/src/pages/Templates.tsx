// Content templates: every template with its channel and class, a channel filter and a
// search over names and ids, and (for roles that may write) a way to make a new one.
import { useMemo, useState, type HTMLAttributes } from "react";
import { Link, useNavigate } from "react-router";
import { Button, Card, Input, Select, Space, Table, Tag, Typography } from "antd";
import { PlusOutlined, ReloadOutlined } from "@ant-design/icons";
import { api, CHANNELS, type Channel, type Template, type TemplateClass } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";

const { Text } = Typography;
const ALL = "all";

export function TemplatesPage() {
  const { t, tEnum } = useI18n();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const list = useLoad(() => api.templates(), []);
  const [search, setSearch] = useState("");
  const [channel, setChannel] = useState<Channel | typeof ALL>(ALL);

  const shown = useMemo(() => {
    const all = list.data?.templates ?? [];
    const needle = search.trim().toLowerCase();
    return all.filter(
      (template) =>
        (channel === ALL || template.channel === channel) &&
        (!needle || template.name.toLowerCase().includes(needle) || template.id.toLowerCase().includes(needle)),
    );
  }, [list.data, search, channel]);
  const filtered = search.trim() !== "" || channel !== ALL;

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("templates.title")}
      </Typography.Title>
      <Card
        title={
          <Space wrap>
            <Input.Search
              allowClear
              placeholder={t("templates.searchPlaceholder")}
              aria-label={t("templates.searchPlaceholder")}
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              style={{ maxWidth: 320 }}
              data-testid="templates-search"
            />
            <Select<Channel | typeof ALL>
              value={channel}
              onChange={setChannel}
              aria-label={t("templates.channelFilter")}
              style={{ width: 180 }}
              data-testid="templates-channel-filter"
              options={[
                { value: ALL, label: t("templates.allChannels") },
                ...CHANNELS.map((value) => ({ value, label: tEnum("channel", value) })),
              ]}
            />
          </Space>
        }
        extra={
          <Space>
            <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="templates-reload" />
            {access.contentWrite(role) && (
              <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => navigate("/content/new")} data-testid="template-new">
                {t("templates.new")}
              </Button>
            )}
          </Space>
        }
      >
        {list.error !== undefined && (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={list.error} onRetry={list.reload} testId="templates-error" />
          </div>
        )}
        <Table<Template>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={shown}
          pagination={shown.length > 50 ? { pageSize: 50, showSizeChanger: false } : false}
          data-testid="templates-table"
          scroll={{ x: 800 }}
          locale={{ emptyText: filtered ? t("templates.noMatch") : t("templates.empty") }}
          onRow={(template) => ({ "data-testid": `template-row-${template.id}` }) as HTMLAttributes<HTMLElement>}
          columns={[
            {
              title: t("templates.name"),
              dataIndex: "name",
              sorter: (a, b) => a.name.localeCompare(b.name),
              render: (name: string, template) => <Link to={`/content/${encodeURIComponent(template.id)}`}>{name}</Link>,
            },
            { title: t("templates.id"), dataIndex: "id", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
            {
              title: t("templates.channel"),
              dataIndex: "channel",
              render: (value: Channel) => <Tag>{tEnum("channel", value)}</Tag>,
            },
            {
              title: t("templates.class"),
              dataIndex: "class",
              render: (value: TemplateClass) => (
                <Tag color={value === "marketing" ? "orange" : "green"}>{tEnum("templateClass", value)}</Tag>
              ),
            },
            {
              title: t("templates.updated"),
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
