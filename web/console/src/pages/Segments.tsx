// Segments: every segment with its size now, a search over names and ids, and (for
// roles that may write) a way to make a new one.
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { Button, Tag, Typography } from "antd";
import { SwapOutlined } from "@ant-design/icons";
import { api, type Segment, type SegmentKind } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ListPage, matches } from "../components/ListPage";

const { Text } = Typography;

export function SegmentsPage() {
  const { t, tEnum } = useI18n();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const list = useLoad(() => api.segments(), []);
  const [search, setSearch] = useState("");
  const shown = useMemo(
    () => (list.data?.segments ?? []).filter((segment) => matches(search, segment.name, segment.id)),
    [list.data, search],
  );

  return (
    <ListPage<Segment>
      title={t("segments.title")}
      name="segments"
      row="segment"
      list={list}
      rows={shown}
      search={search}
      onSearch={setSearch}
      searchPlaceholder={t("segments.searchPlaceholder")}
      actions={
        <Button icon={<SwapOutlined aria-hidden />} onClick={() => navigate("/segments/compare")} data-testid="segments-compare">
          {t("segments.compare")}
        </Button>
      }
      newPath={access.segmentsWrite(role) ? "/segments/new" : null}
      newLabel={t("segments.new")}
      empty={search.trim() ? t("segments.noMatch") : t("segments.empty")}
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
  );
}
