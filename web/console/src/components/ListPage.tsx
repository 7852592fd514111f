// A list page: its title, a card with the page's filters (a search first), refresh and
// (for roles that may create) a "new" button, the load's error, and the table. Rows
// carry `<row>-row-<id>` test ids; the other test ids start with `<name>-`.
import { type HTMLAttributes, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { Button, Card, Input, Space, Table, Typography, type TableColumnsType } from "antd";
import { PlusOutlined, ReloadOutlined } from "@ant-design/icons";
import { useI18n } from "../i18n";
import type { Loaded } from "../useLoad";
import { ErrorAlert } from "./Common";

export interface ListPageProps<T extends { id: string }> {
  title: string;
  /** The test id prefix of the page's controls (`segments`). */
  name: string;
  /** The test id prefix of rows and of the "new" button (`segment`). */
  row: string;
  list: Loaded<unknown>;
  rows: T[];
  columns: TableColumnsType<T>;
  search: string;
  onSearch: (text: string) => void;
  searchPlaceholder: string;
  /** Filters beside the search. */
  filters?: ReactNode;
  /** Buttons before "new". */
  actions?: ReactNode;
  /** Where "new" goes, when the role may create. */
  newPath?: string | null;
  newLabel?: string;
  /** What the empty table says: nothing yet, or nothing that matches the filters. */
  empty: string;
  scrollX?: number;
}

export function ListPage<T extends { id: string }>(props: ListPageProps<T>) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const { name, row, list, rows, newPath } = props;
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {props.title}
      </Typography.Title>
      <Card
        title={
          <Space wrap>
            <Input.Search
              allowClear
              placeholder={props.searchPlaceholder}
              aria-label={props.searchPlaceholder}
              value={props.search}
              onChange={(event) => props.onSearch(event.target.value)}
              style={{ maxWidth: 360 }}
              data-testid={`${name}-search`}
            />
            {props.filters}
          </Space>
        }
        extra={
          <Space>
            <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid={`${name}-reload`} />
            {props.actions}
            {newPath && (
              <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => navigate(newPath)} data-testid={`${row}-new`}>
                {props.newLabel}
              </Button>
            )}
          </Space>
        }
      >
        {list.error !== undefined && (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={list.error} onRetry={list.reload} testId={`${name}-error`} />
          </div>
        )}
        <Table<T>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={rows}
          pagination={rows.length > 50 ? { pageSize: 50, showSizeChanger: false } : false}
          data-testid={`${name}-table`}
          scroll={{ x: props.scrollX ?? 800 }}
          locale={{ emptyText: props.empty }}
          onRow={(item) => ({ "data-testid": `${row}-row-${item.id}` }) as HTMLAttributes<HTMLElement>}
          columns={props.columns}
        />
      </Card>
    </Space>
  );
}

/** Whether `text` holds the search's words, case aside (an empty search matches everything). */
export function matches(search: string, ...texts: string[]): boolean {
  const needle = search.trim().toLowerCase();
  return !needle || texts.some((text) => text.toLowerCase().includes(needle));
}
