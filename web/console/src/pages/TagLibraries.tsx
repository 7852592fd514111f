// Industry tag libraries (行业标签库): the bundled templates, each one's tags and which
// of them the workspace already has, and installing one (roles that may write).
import { useState } from "react";
import { Link } from "react-router";
import { App, Button, Card, Checkbox, Col, Drawer, Empty, Row, Space, Spin, Table, Tag, Typography } from "antd";
import { AppstoreAddOutlined, EyeOutlined } from "@ant-design/icons";
import { api, type InstallReport, type LibraryDetail, type LibrarySummary, type TagFamily, type TagKind } from "../api";
import { errorText } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { labelText } from "../tagModel";

const { Paragraph, Text } = Typography;

/** Installs a library and says what it did; true when it was installed. */
function useInstall() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [busy, setBusy] = useState<string | null>(null);

  async function install(library: string, replace: boolean): Promise<InstallReport | null> {
    setBusy(library);
    try {
      const report = await api.installTagLibrary(library, replace);
      message.success(
        t("libraries.installed", { installed: report.installed.length, replaced: report.replaced.length, skipped: report.skipped.length }),
      );
      return report;
    } catch (error) {
      message.error(errorText(error, t));
      return null;
    } finally {
      setBusy(null);
    }
  }
  return { install, busy };
}

export function TagLibraries() {
  const { t, lang } = useI18n();
  const role = useActiveSession().operator.role;
  const list = useLoad(() => api.tagLibraries(), []);
  const [open, setOpen] = useState<string | null>(null);
  const { install, busy } = useInstall();
  const libraries = list.data?.libraries ?? [];

  return (
    <>
      {list.error !== undefined && <ErrorAlert error={list.error} onRetry={list.reload} testId="libraries-error" />}
      {list.loading && <Spin style={{ display: "block", margin: 48 }} />}
      {!list.loading && libraries.length === 0 && list.error === undefined && <Empty description={t("libraries.empty")} />}
      <Row gutter={[16, 16]} data-testid="libraries">
        {libraries.map((library: LibrarySummary) => (
          <Col key={library.id} xs={24} md={12} xl={8}>
            <Card
              title={labelText(library.id, library.name, lang)}
              extra={<Text type="secondary">{t("libraries.tagCount", { count: library.tag_count })}</Text>}
              data-testid={`library-${library.id}`}
              actions={[
                <Button key="view" type="link" icon={<EyeOutlined aria-hidden />} onClick={() => setOpen(library.id)} data-testid={`library-${library.id}-view`}>
                  {t("libraries.view")}
                </Button>,
                ...(access.tagsWrite(role)
                  ? [
                      <Button
                        key="install"
                        type="link"
                        icon={<AppstoreAddOutlined aria-hidden />}
                        loading={busy === library.id}
                        onClick={() => void install(library.id, false)}
                        data-testid={`library-${library.id}-install`}
                      >
                        {t("libraries.install")}
                      </Button>,
                    ]
                  : []),
              ]}
            >
              <Paragraph type="secondary" style={{ marginBottom: 0 }}>
                {labelText("", library.description, lang)}
              </Paragraph>
            </Card>
          </Col>
        ))}
      </Row>
      {open && <LibraryDrawer key={open} libraryId={open} onClose={() => setOpen(null)} />}
    </>
  );
}

function LibraryDrawer({ libraryId, onClose }: { libraryId: string; onClose: () => void }) {
  const { t, tEnum, lang } = useI18n();
  const role = useActiveSession().operator.role;
  const detail = useLoad(() => api.tagLibrary(libraryId), [libraryId]);
  const [replace, setReplace] = useState(false);
  const { install, busy } = useInstall();
  const library: LibraryDetail | undefined = detail.data;

  async function installHere() {
    if (await install(libraryId, replace)) detail.reload();
  }

  return (
    <Drawer
      open
      width={720}
      onClose={onClose}
      title={library ? labelText(library.id, library.name, lang) : libraryId}
      data-testid="library-drawer"
      extra={
        access.tagsWrite(role) && (
          <Space>
            <Checkbox checked={replace} onChange={(event) => setReplace(event.target.checked)} data-testid="library-replace">
              {t("libraries.replace")}
            </Checkbox>
            <Button type="primary" loading={busy === libraryId} onClick={() => void installHere()} data-testid="library-install">
              {t("libraries.install")}
            </Button>
          </Space>
        )
      }
    >
      {detail.error !== undefined && <ErrorAlert error={detail.error} onRetry={detail.reload} />}
      {library && (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Paragraph type="secondary">{labelText("", library.description, lang)}</Paragraph>
          <Table
            rowKey="id"
            size="small"
            loading={detail.loading}
            dataSource={library.tags}
            pagination={false}
            data-testid="library-tags"
            columns={[
              {
                title: t("tags.name"),
                dataIndex: "name",
                render: (name: string, tag) =>
                  library.installed.includes(tag.id) ? <Link to={`/tags/${encodeURIComponent(tag.id)}`}>{name}</Link> : name,
              },
              { title: t("tags.id"), dataIndex: "id", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
              { title: t("tags.family"), dataIndex: "family", render: (family: TagFamily) => tEnum("tagFamily", family) },
              { title: t("tags.kind"), dataIndex: "kind", render: (kind: TagKind) => tEnum("tagKind", kind) },
              {
                title: t("libraries.status"),
                key: "installed",
                render: (_: unknown, tag) =>
                  library.installed.includes(tag.id) ? <Tag color="green">{t("libraries.inWorkspace")}</Tag> : <Tag>{t("libraries.notInWorkspace")}</Tag>,
              },
            ]}
          />
        </Space>
      )}
    </Drawer>
  );
}
