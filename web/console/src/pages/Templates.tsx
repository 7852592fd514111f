// Content templates: every template with its channel and class, a channel filter and a
// search over names and ids, and (for roles that may write) a way to make a new one.
import { useMemo, useState } from "react";
import { Link } from "react-router";
import { Select, Tag, Typography } from "antd";
import { api, CHANNELS, type Channel, type Template, type TemplateClass } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ListPage, matches } from "../components/ListPage";

const { Text } = Typography;
const ALL = "all";

export function TemplatesPage() {
  const { t, tEnum } = useI18n();
  const role = useActiveSession().operator.role;
  const list = useLoad(() => api.templates(), []);
  const [search, setSearch] = useState("");
  const [channel, setChannel] = useState<Channel | typeof ALL>(ALL);

  const shown = useMemo(
    () =>
      (list.data?.templates ?? []).filter(
        (template) => (channel === ALL || template.channel === channel) && matches(search, template.name, template.id),
      ),
    [list.data, search, channel],
  );
  const filtered = search.trim() !== "" || channel !== ALL;

  return (
    <ListPage<Template>
      title={t("templates.title")}
      name="templates"
      row="template"
      list={list}
      rows={shown}
      search={search}
      onSearch={setSearch}
      searchPlaceholder={t("templates.searchPlaceholder")}
      filters={
        <Select<Channel | typeof ALL>
          value={channel}
          onChange={setChannel}
          aria-label={t("templates.channelFilter")}
          style={{ width: 180 }}
          data-testid="templates-channel-filter"
          options={[{ value: ALL, label: t("templates.allChannels") }, ...CHANNELS.map((value) => ({ value, label: tEnum("channel", value) }))]}
        />
      }
      newPath={access.contentWrite(role) ? "/content/new" : null}
      newLabel={t("templates.new")}
      empty={filtered ? t("templates.noMatch") : t("templates.empty")}
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
  );
}
