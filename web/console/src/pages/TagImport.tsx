// An imported tag's values from a file: CSV (`identity,value`) or JSON lines, added to
// the people it names or replacing the whole tag, and the lines that did not apply.
import { useState } from "react";
import { App, Button, Card, Checkbox, Descriptions, Space, Table, Typography } from "antd";
import { UploadOutlined } from "@ant-design/icons";
import { api, type ImportReport, type UnmatchedLine } from "../api";
import { useI18n } from "../i18n";
import { ErrorAlert } from "../components/Common";

const { Text } = Typography;

/** JSON lines by their usual extensions; anything else is read as CSV. */
function formatOf(file: File): "csv" | "jsonl" {
  return /\.(jsonl|ndjson|json)$/i.test(file.name) ? "jsonl" : "csv";
}

export function TagImport({ tagId, onImported }: { tagId: string; onImported: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [file, setFile] = useState<File | null>(null);
  const [replace, setReplace] = useState(false);
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<unknown>(undefined);

  async function upload() {
    if (!file) return;
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.importTagValues(tagId, file, formatOf(file), replace);
      setReport(answer);
      message.success(t("tags.imported", { assigned: answer.assigned, profiles: answer.profiles }));
      onImported();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t("tags.importTitle")} data-testid="tag-import">
      <Space direction="vertical" style={{ width: "100%" }}>
        <Text type="secondary">{t("tags.importHint")}</Text>
        <Space wrap>
          <input
            type="file"
            accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson"
            aria-label={t("tags.importFile")}
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
            data-testid="tag-import-file"
          />
          <Checkbox checked={replace} onChange={(event) => setReplace(event.target.checked)} data-testid="tag-import-replace">
            {t("tags.importReplace")}
          </Checkbox>
          <Button type="primary" icon={<UploadOutlined aria-hidden />} disabled={!file} loading={busy} onClick={() => void upload()} data-testid="tag-import-submit">
            {t("tags.importSubmit")}
          </Button>
        </Space>
        {error !== undefined && <ErrorAlert error={error} testId="tag-import-error" />}
        {report && <ImportResult report={report} />}
      </Space>
    </Card>
  );
}

function ImportResult({ report }: { report: ImportReport }) {
  const { t } = useI18n();
  return (
    <div data-testid="tag-import-report">
      <Descriptions size="small" column={{ xs: 1, md: 4 }} bordered>
        <Descriptions.Item label={t("tags.importLines")}>{report.lines}</Descriptions.Item>
        <Descriptions.Item label={t("tags.importAssigned")}>{report.assigned}</Descriptions.Item>
        <Descriptions.Item label={t("tags.importProfiles")}>{report.profiles}</Descriptions.Item>
        <Descriptions.Item label={t("tags.importUnmatched")}>{report.unmatched_count}</Descriptions.Item>
      </Descriptions>
      {report.unmatched.length > 0 && (
        <Table<UnmatchedLine>
          rowKey="line"
          size="small"
          style={{ marginTop: 12 }}
          dataSource={report.unmatched}
          pagination={report.unmatched.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
          columns={[
            { title: t("tags.importLine"), dataIndex: "line", width: 80 },
            { title: t("tags.importIdentity"), dataIndex: "identity", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
            { title: t("tags.importProblem"), dataIndex: "message" },
          ]}
        />
      )}
    </div>
  );
}
