// Journeys: every journey with its status and live version and, once published, how
// many entered and how many are in it now; a search, a status filter, and (for roles
// that may write) a new journey.
import { useMemo, useState } from "react";
import { Link } from "react-router";
import { Select, Tag, Typography } from "antd";
import { api, type Journey, type JourneyStatus } from "../api";
import { formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ListPage, matches } from "../components/ListPage";

const { Text } = Typography;
const ALL = "all";
const STATUSES: readonly JourneyStatus[] = ["draft", "live", "paused", "archived"];
export const STATUS_COLORS: Record<JourneyStatus, string> = { draft: "default", live: "green", paused: "orange", archived: "default" };

/** Entered and still in, read from the journey's report (only rows on screen ask). */
function Counts({ journey }: { journey: Journey }) {
  const { t } = useI18n();
  const report = useLoad(() => api.journeyReport(journey.id), [journey.id, journey.updated_at]);
  if (report.error !== undefined) return <Text type="danger">{t("journeys.countsFailed")}</Text>;
  if (!report.data) return <Text type="secondary">…</Text>;
  return (
    <span data-testid={`journey-counts-${journey.id}`}>
      {t("journeys.listCounts", { entered: report.data.entered.toLocaleString(), in: report.data.in_journey.toLocaleString() })}
    </span>
  );
}

export function JourneysPage() {
  const { t, tEnum } = useI18n();
  const role = useActiveSession().operator.role;
  const list = useLoad(() => api.journeys(), []);
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState<JourneyStatus | typeof ALL>(ALL);

  const shown = useMemo(
    () =>
      (list.data?.journeys ?? []).filter(
        (journey) => (status === ALL || journey.status === status) && matches(search, journey.draft.name, journey.id),
      ),
    [list.data, search, status],
  );
  const filtered = search.trim() !== "" || status !== ALL;

  return (
    <ListPage<Journey>
      title={t("journeys.title")}
      name="journeys"
      row="journey"
      list={list}
      rows={shown}
      search={search}
      onSearch={setSearch}
      searchPlaceholder={t("journeys.searchPlaceholder")}
      filters={
        <Select<JourneyStatus | typeof ALL>
          value={status}
          onChange={setStatus}
          aria-label={t("journeys.statusFilter")}
          style={{ width: 160 }}
          data-testid="journeys-status-filter"
          options={[{ value: ALL, label: t("journeys.allStatuses") }, ...STATUSES.map((value) => ({ value, label: tEnum("journeys.status", value) }))]}
        />
      }
      newPath={access.journeysWrite(role) ? "/journeys/new" : null}
      newLabel={t("journeys.new")}
      empty={filtered ? t("journeys.noMatch") : t("journeys.empty")}
      scrollX={900}
      columns={[
        {
          title: t("journeys.name"),
          key: "name",
          sorter: (a, b) => a.draft.name.localeCompare(b.draft.name),
          render: (_, journey) => <Link to={`/journeys/${encodeURIComponent(journey.id)}`}>{journey.draft.name}</Link>,
        },
        { title: t("journeys.id"), dataIndex: "id", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
        {
          title: t("journeys.statusColumn"),
          dataIndex: "status",
          render: (value: JourneyStatus) => <Tag color={STATUS_COLORS[value]}>{tEnum("journeys.status", value)}</Tag>,
        },
        {
          title: t("journeys.versionColumn"),
          key: "version",
          render: (_, journey) => (journey.live_version != null ? t("journeys.liveVersion", { version: journey.live_version }) : "–"),
        },
        {
          title: t("journeys.countsColumn"),
          key: "counts",
          render: (_, journey) => (journey.live_version != null ? <Counts journey={journey} /> : <Text type="secondary">{t("journeys.notPublished")}</Text>),
        },
        {
          title: t("journeys.updated"),
          dataIndex: "updated_at",
          sorter: (a, b) => a.updated_at.localeCompare(b.updated_at),
          render: (at: string) => formatTime(at),
        },
      ]}
    />
  );
}
