// One segment: its name, id and condition (the visual builder beside the JSON it makes),
// the live count of an unsaved condition, saving and deleting (roles that may write),
// and for a saved segment its size history and first members with a CSV export.
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Alert, App, Button, Card, Col, Empty, Form, Input, Row, Space, Spin, Statistic, Table, Tag, Typography } from "antd";
import { ArrowLeftOutlined, DeleteOutlined, DownloadOutlined, SaveOutlined } from "@ant-design/icons";
import { api, ApiError, segmentMembersCsvUrl, type Condition, type MemberRow, type Segment, type SegmentPreview } from "../api";
import { errorText, formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert, JsonBlock } from "../components/Common";
import { NotFoundResult } from "../components/Results";
import { ConditionBuilder } from "../components/ConditionBuilder";
import { SizeChart } from "../components/SizeChart";
import { conditionPath, hasRaw, parseCondition, toCondition, type Group } from "../condition";

const { Text } = Typography;
const DEBOUNCE_MS = 400;
const ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

interface FormValues {
  name: string;
  id?: string;
  description?: string;
}

export function SegmentEditorPage() {
  const { id } = useParams();
  if (!id) return <Editor key="new" segment={null} />;
  return <ExistingSegment key={id} segmentId={id} />;
}

function ExistingSegment({ segmentId }: { segmentId: string }) {
  const loaded = useLoad(() => api.segment(segmentId), [segmentId]);
  if (loaded.error instanceof ApiError && loaded.error.status === 404) return <NotFoundResult />;
  if (loaded.error !== undefined) return <ErrorAlert error={loaded.error} onRetry={loaded.reload} testId="segment-error" />;
  if (!loaded.data) return <Spin style={{ display: "block", margin: 48 }} />;
  return <Editor key={loaded.data.updated_at} segment={loaded.data} onSaved={loaded.reload} />;
}

/** The live count of the condition, debounced. */
function usePreview(condition: Condition | null) {
  const text = condition ? JSON.stringify(condition) : "";
  const [preview, setPreview] = useState<SegmentPreview | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const latest = useRef(0);

  useEffect(() => {
    const call = ++latest.current;
    if (!text) {
      setPreview(null);
      setError(undefined);
      setBusy(false);
      return;
    }
    setBusy(true);
    const timer = window.setTimeout(() => {
      api.previewSegment(JSON.parse(text) as Condition).then(
        (answer) => {
          if (call !== latest.current) return;
          setPreview(answer);
          setError(undefined);
          setBusy(false);
        },
        (failure: unknown) => {
          if (call !== latest.current) return;
          setError(failure);
          setBusy(false);
        },
      );
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text]);

  return { preview, error, busy };
}

function Editor({ segment, onSaved }: { segment: Segment | null; onSaved?: () => void }) {
  const { t, tEnum } = useI18n();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const isStatic = segment?.type === "static";
  const canWrite = access.segmentsWrite(role) && !isStatic;
  const [form] = Form.useForm<FormValues>();
  const [root, setRoot] = useState<Group>(() => parseCondition(segment?.condition));
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [conditionError, setConditionError] = useState<ApiError | null>(null);
  const others = useLoad(() => api.segments(), []);
  const segmentIds = useMemo(
    () => (others.data?.segments ?? []).map((other) => other.id).filter((other) => other !== segment?.id),
    [others.data, segment?.id],
  );

  const condition = useMemo(() => toCondition(root), [root]);
  const live = usePreview(isStatic ? null : condition);
  const raw = hasRaw(root);

  function changeRoot(next: Group) {
    setRoot(next);
    setConditionError(null);
  }

  async function save(values: FormValues) {
    if (!condition) {
      setConditionError(new ApiError(400, "invalid_request", t("segments.conditionRequired"), "condition"));
      return;
    }
    setSaving(true);
    setSaveError(undefined);
    setConditionError(null);
    const draft = {
      name: values.name.trim(),
      description: values.description?.trim() ?? "",
      type: "dynamic" as const,
      condition,
    };
    try {
      if (segment) {
        await api.replaceSegment(segment.id, { ...draft, id: segment.id });
        message.success(t("segments.saved", { name: draft.name }));
        onSaved?.();
      } else {
        const created = await api.createSegment({ ...draft, id: values.id?.trim() ? values.id.trim() : undefined });
        message.success(t("segments.created", { name: created.name }));
        navigate(`/segments/${encodeURIComponent(created.id)}`, { replace: true });
      }
    } catch (error) {
      if (error instanceof ApiError && error.field && ["name", "id", "description"].includes(error.field)) {
        form.setFields([{ name: error.field as keyof FormValues, errors: [error.message] }]);
      } else if (error instanceof ApiError && error.field?.startsWith("condition")) {
        setConditionError(error);
      } else {
        setSaveError(error);
      }
    } finally {
      setSaving(false);
    }
  }

  function remove() {
    if (!segment) return;
    modal.confirm({
      title: t("segments.delete"),
      content: t("segments.deleteConfirm", { name: segment.name }),
      okText: t("segments.delete"),
      okButtonProps: { danger: true, "data-testid": "segment-delete-confirm" },
      cancelText: t("common.cancel"),
      cancelButtonProps: { "data-testid": "segment-delete-cancel" },
      onOk: async () => {
        try {
          await api.deleteSegment(segment.id);
          message.success(t("segments.deleted", { name: segment.name }));
          navigate("/segments", { replace: true });
        } catch (error) {
          message.error(errorText(error, t));
        }
      },
    });
  }

  const shownConditionError = conditionError ?? (live.error !== undefined ? live.error : undefined);
  const errorPath = shownConditionError instanceof ApiError ? conditionPath(shownConditionError.field) : null;
  const rowError = shownConditionError instanceof ApiError && errorPath !== null ? { path: errorPath, message: shownConditionError.message } : null;

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Space wrap>
        <Link to="/segments" data-testid="segments-back">
          <ArrowLeftOutlined aria-hidden /> {t("segments.back")}
        </Link>
      </Space>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {segment ? segment.name : t("segments.newTitle")}
        {segment && (
          <Tag style={{ marginInlineStart: 12, verticalAlign: "middle" }} color={segment.type === "dynamic" ? "blue" : "default"}>
            {tEnum("segmentKind", segment.type)}
          </Tag>
        )}
      </Typography.Title>
      {isStatic && <Alert type="info" showIcon message={t("segments.staticNotice")} data-testid="segment-static-notice" />}
      {saveError !== undefined && <ErrorAlert error={saveError} testId="segment-save-error" />}
      <Card>
        <Form<FormValues>
          form={form}
          layout="vertical"
          name="segment"
          disabled={!canWrite}
          initialValues={{ name: segment?.name ?? "", id: segment?.id ?? "", description: segment?.description ?? "" }}
          onFinish={save}
          onValuesChange={() => setSaveError(undefined)}
        >
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item label={t("segments.name")} name="name" rules={[{ required: true, whitespace: true, message: t("segments.nameRequired") }, { max: 200 }]}>
                <Input placeholder={t("segments.namePlaceholder")} autoComplete="off" data-testid="segment-name-input" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item
                label={t("segments.id")}
                name="id"
                extra={segment ? undefined : t("segments.idHint")}
                rules={[{ pattern: ID_PATTERN, message: t("segments.idInvalid") }]}
              >
                <Input className="orbit-mono" disabled={!!segment || !canWrite} placeholder="gold_members" autoComplete="off" data-testid="segment-id-input" />
              </Form.Item>
            </Col>
            <Col xs={24}>
              <Form.Item label={t("segments.description")} name="description">
                <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} data-testid="segment-description-input" />
              </Form.Item>
            </Col>
          </Row>
        </Form>
      </Card>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Card title={t("segments.condition")} data-testid="segment-condition">
            {raw && <Alert type="warning" showIcon message={t("condition.rawPresent")} style={{ marginBottom: 12 }} data-testid="condition-raw-notice" />}
            <ConditionBuilder root={root} onChange={changeRoot} readOnly={!canWrite} segmentIds={segmentIds} error={rowError} />
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Space direction="vertical" size="middle" style={{ width: "100%" }}>
            {!isStatic && (
              <Card title={t("segments.liveCount")}>
                <div data-testid="live-count" aria-live="polite">
                  {!condition && !conditionError ? (
                    <Text type="secondary">{t("segments.liveCountEmpty")}</Text>
                  ) : shownConditionError !== undefined ? (
                    <Alert
                      type="error"
                      showIcon
                      role="alert"
                      data-testid="condition-error"
                      message={errorText(shownConditionError, t)}
                      description={
                        shownConditionError instanceof ApiError && shownConditionError.field ? (
                          <span>
                            {t("segments.errorAt")} <Text code>{shownConditionError.field}</Text>
                          </span>
                        ) : undefined
                      }
                    />
                  ) : (
                    <Spin spinning={live.busy}>
                      <Statistic value={live.preview?.size ?? "–"} valueStyle={{ fontSize: 40 }} data-testid="live-count-size" />
                      {live.preview && (
                        <Text type="secondary" data-testid="live-count-took">
                          {t("segments.took", { ms: live.preview.took_ms.toFixed(1), time: formatTime(live.preview.evaluated_at) })}
                        </Text>
                      )}
                    </Spin>
                  )}
                </div>
              </Card>
            )}
            <Card title={t("segments.json")}>
              {condition ? (
                <JsonBlock value={condition} label={t("segments.json")} testId="segment-json" />
              ) : (
                <Text type="secondary" data-testid="segment-json">
                  {t("segments.jsonEmpty")}
                </Text>
              )}
            </Card>
          </Space>
        </Col>
      </Row>

      {canWrite && (
        <Space wrap>
          <Button type="primary" icon={<SaveOutlined aria-hidden />} loading={saving} onClick={() => form.submit()} data-testid="segment-save">
            {t("common.save")}
          </Button>
          {segment && (
            <Button danger icon={<DeleteOutlined aria-hidden />} onClick={remove} data-testid="segment-delete">
              {t("segments.delete")}
            </Button>
          )}
        </Space>
      )}
      {!canWrite && segment && access.segmentsWrite(role) && isStatic && (
        <Space wrap>
          <Button danger icon={<DeleteOutlined aria-hidden />} onClick={remove} data-testid="segment-delete">
            {t("segments.delete")}
          </Button>
        </Space>
      )}

      {segment && <SegmentDetails segment={segment} />}
    </Space>
  );
}

function SegmentDetails({ segment }: { segment: Segment }) {
  const { t } = useI18n();
  const history = useLoad(() => api.segmentHistory(segment.id), [segment.id, segment.updated_at]);
  const members = useLoad(() => api.segmentMembers(segment.id, 20), [segment.id, segment.updated_at]);
  const points = history.data?.points ?? [];

  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={12}>
        <Card title={t("segments.history")} data-testid="segment-history">
          {history.error !== undefined && <ErrorAlert error={history.error} onRetry={history.reload} />}
          {history.loading ? (
            <Spin />
          ) : points.length === 0 ? (
            <Empty description={t("segments.historyEmpty")} />
          ) : (
            <>
              <SizeChart points={points} label={t("segments.history")} testId="segment-history-chart" />
              <Text type="secondary">{t("segments.historyPoints", { count: points.length })}</Text>
            </>
          )}
        </Card>
      </Col>
      <Col xs={24} xl={12}>
        <Card
          title={t("segments.members")}
          data-testid="segment-members"
          extra={
            <a href={segmentMembersCsvUrl(segment.id)} download={`${segment.id}.csv`} data-testid="segment-members-csv">
              <DownloadOutlined aria-hidden /> {t("segments.exportCsv")}
            </a>
          }
        >
          {members.error !== undefined && <ErrorAlert error={members.error} onRetry={members.reload} />}
          <Table<MemberRow>
            rowKey="profile_id"
            size="small"
            loading={members.loading}
            dataSource={members.data?.members ?? []}
            pagination={false}
            scroll={{ x: 560 }}
            data-testid="segment-members-table"
            columns={[
              {
                title: t("segments.memberProfile"),
                dataIndex: "profile_id",
                render: (profileId: string) => (
                  <Link to={`/profiles/${encodeURIComponent(profileId)}`} className="orbit-mono">
                    {profileId}
                  </Link>
                ),
              },
              { title: t("segments.memberUserId"), dataIndex: "user_id" },
              { title: t("segments.memberEmail"), dataIndex: "email" },
              { title: t("segments.memberPhone"), dataIndex: "phone" },
            ]}
          />
          {members.data && (
            <Text type="secondary" style={{ display: "block", marginTop: 8 }}>
              {t("segments.membersShown", { shown: members.data.members.length, size: members.data.size })}
            </Text>
          )}
        </Card>
      </Col>
    </Row>
  );
}
