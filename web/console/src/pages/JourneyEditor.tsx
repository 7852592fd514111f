// One journey on the flow canvas: the palette, the canvas, the selected box's settings;
// saving the draft, checking it with the server (each problem pinned on its node),
// publishing, pausing, resuming and archiving; and once published, each node's live
// counts, read from the report every few seconds.
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { Alert, App, Button, Card, Form, Input, Space, Spin, Statistic, Tag, Typography } from "antd";
import {
  ArrowLeftOutlined,
  CheckCircleOutlined,
  DeleteOutlined,
  InboxOutlined,
  PauseCircleOutlined,
  PlayCircleOutlined,
  RedoOutlined,
  SaveOutlined,
  SendOutlined,
  UndoOutlined,
} from "@ant-design/icons";
import { ReactFlowProvider } from "@xyflow/react";
import { api, ApiError, type Journey, type JourneyAction, type JourneyDefinition, type JourneyProblem, type JourneyReport } from "../api";
import { errorText, formatTime } from "../format";
import { useI18n } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { NotFoundResult } from "../components/Results";
import { Workbench } from "../journey/Canvas";
import type { CanvasState, NodeCount } from "../journey/CanvasNodes";
import { EntryPanel } from "../journey/EntryPanel";
import { NodePanel } from "../journey/NodePanel";
import { ENTRY, UNCONNECTED, onEntry, pinProblems, problemAt } from "../journey/graph";
import { problemText } from "../journey/summary";
import { useJourneyGraph } from "../journey/useJourneyGraph";
import { STATUS_COLORS } from "./Journeys";

const { Text } = Typography;
const POLL_MS = 3000;
const ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

export default function JourneyEditorPage() {
  const { id } = useParams();
  const location = useLocation();
  // The page stays mounted from /journeys/new to the new journey's address: keeping the
  // same editor (the key of that visit to /journeys/new) keeps the drawing, the
  // selection and what was under way (a validation, a publication). A reload, another
  // journey or another visit to /journeys/new starts afresh.
  const created = useRef<{ id: string; key: string } | null>(null);
  useEffect(() => {
    if (!id && created.current && created.current.key !== location.key) created.current = null;
  }, [id, location.key]);
  if (!id) {
    const key = location.key;
    return (
      <Editor
        key={key}
        initial={null}
        onCreated={(journey) => {
          created.current = { id: journey, key };
        }}
      />
    );
  }
  if (created.current?.id === id) return <Editor key={created.current.key} initial={null} />;
  return <ExistingJourney key={id} journeyId={id} />;
}

function ExistingJourney({ journeyId }: { journeyId: string }) {
  const loaded = useLoad(() => api.journey(journeyId), [journeyId]);
  if (loaded.error instanceof ApiError && (loaded.error.status === 404 || loaded.error.code === "invalid_id")) return <NotFoundResult />;
  if (loaded.error !== undefined) return <ErrorAlert error={loaded.error} onRetry={loaded.reload} testId="journey-error" />;
  if (!loaded.data) return <Spin style={{ display: "block", margin: 48 }} />;
  return <Editor initial={loaded.data} />;
}

function blank(): JourneyDefinition {
  return { name: "", entry: { type: "event", event: "", filters: [] }, start: UNCONNECTED, nodes: {} };
}

/** The report, read now and every few seconds while the journey has been published. */
function useLiveReport(journeyId: string | null, published: boolean) {
  const [report, setReport] = useState<JourneyReport | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    if (!journeyId || !published) {
      setReport(null);
      return;
    }
    let stopped = false;
    const read = () =>
      api.journeyReport(journeyId).then(
        (answer) => {
          if (stopped) return;
          setReport(answer);
          setError(undefined);
        },
        (failure: unknown) => {
          if (!stopped) setError(failure);
        },
      );
    void read();
    const timer = window.setInterval(read, POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [journeyId, published]);
  return { report, error };
}

/** Per node id, summed over the versions that have it. */
function countsOf(report: JourneyReport): Map<string, NodeCount> {
  const counts = new Map<string, NodeCount>();
  for (const node of report.nodes) {
    const sum = counts.get(node.node) ?? { entered: 0, waiting: 0 };
    counts.set(node.node, { entered: sum.entered + node.entered, waiting: sum.waiting + node.waiting });
  }
  return counts;
}

function Stats({ report }: { report: JourneyReport }) {
  const { t } = useI18n();
  const exited = Object.values(report.exited).reduce((sum, n) => sum + n, 0);
  return (
    <Card size="small" data-testid="journey-stats">
      <Space size={48} wrap>
        <Statistic title={t("journeys.stats.entered")} value={report.entered} data-testid="journey-stats-entered" />
        <Statistic title={t("journeys.stats.inJourney")} value={report.in_journey} data-testid="journey-stats-in" />
        <Statistic title={t("journeys.stats.converted")} value={report.converted} />
        <Statistic title={t("journeys.stats.exited")} value={exited} />
        <Text type="secondary">{t("journeys.stats.hint", { seconds: POLL_MS / 1000 })}</Text>
      </Space>
    </Card>
  );
}

interface FormValues {
  name: string;
  id?: string;
  description?: string;
}

type Busy = "save" | "validate" | JourneyAction | null;

function Editor({ initial, onCreated }: { initial: Journey | null; onCreated?: (id: string) => void }) {
  const { t, tEnum } = useI18n();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const [journey, setJourney] = useState<Journey | null>(initial);
  const graph = useJourneyGraph(initial?.draft ?? blank());
  const [form] = Form.useForm<FormValues>();
  const [problems, setProblems] = useState<JourneyProblem[]>([]);
  const [checked, setChecked] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState<Busy>(null);
  const templates = useLoad(() => api.templates(), []);
  const segments = useLoad(() => api.segments(), []);
  const accounts = useLoad(() => api.channels(), []);
  const live = useLiveReport(journey?.id ?? null, journey?.live_version != null);
  const readOnly = !access.journeysWrite(role) || journey?.status === "archived";
  const definition = graph.definition;

  // Ctrl/⌘+Z and Ctrl/⌘+Shift+Z (or Ctrl+Y) undo and redo on the canvas; in a text
  // field they stay the field's own.
  const { undo, redo } = graph;
  useEffect(() => {
    if (readOnly) return;
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (target && (target.closest("input, textarea, select, [contenteditable=true]") !== null)) return;
      const key = event.key.toLowerCase();
      if (key === "z" && !event.shiftKey) undo();
      else if ((key === "z" && event.shiftKey) || key === "y") redo();
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [readOnly, undo, redo]);

  const pinned = useMemo(() => pinProblems(problems, new Set(Object.keys(definition.nodes))), [problems, definition.nodes]);
  const onCanvas = pinned.entry.length + [...pinned.nodes.values()].reduce((sum, list) => sum + list.length, 0);
  const templateNames = useMemo(() => new Map((templates.data?.templates ?? []).map((tpl) => [tpl.id, tpl.name])), [templates.data]);
  const state = useMemo<CanvasState>(
    () => ({
      definition,
      pinned,
      counts: live.report ? countsOf(live.report) : null,
      entered: live.report ? live.report.entered : null,
      templates: templateNames,
    }),
    [definition, pinned, live.report, templateNames],
  );
  const targets = useMemo(() => Object.entries(definition.nodes).map(([id, step]) => ({ id, kind: step.type })), [definition.nodes]);

  /** A change to a box (`null`: the entry) makes what the server said about it stale. */
  function forget(node: string | null) {
    setProblems((current) => current.filter((problem) => (node === null ? !onEntry(problem) : problem.node !== node)));
  }

  function fail(error: unknown) {
    if (error instanceof ApiError && error.field && ["name", "id", "description"].includes(error.field)) {
      form.setFields([{ name: error.field as keyof FormValues, errors: [error.message] }]);
    } else if (error instanceof ApiError && error.field) {
      setProblems([problemAt(error.field, error.message)]);
      setChecked(false);
    } else {
      setFailure(error);
    }
  }

  /** Saves the draft when it changed (or was never saved); the journey as stored. */
  async function save(): Promise<Journey | null> {
    let values: FormValues;
    try {
      values = await form.validateFields();
    } catch {
      message.error(t("journeys.fixErrors"));
      return null;
    }
    if (journey && !graph.dirty && !form.isFieldsTouched()) return journey;
    const body = { ...graph.toSave(), name: values.name.trim(), description: values.description?.trim() ? values.description.trim() : null };
    setFailure(undefined);
    try {
      const saved = journey
        ? await api.replaceJourney(journey.id, { ...body, id: journey.id })
        : await api.createJourney({ ...body, id: values.id?.trim() ? values.id.trim() : undefined });
      graph.markSaved();
      form.resetFields();
      form.setFieldsValue({ name: saved.draft.name, id: saved.id, description: saved.draft.description ?? "" });
      setJourney(saved);
      if (!journey) {
        onCreated?.(saved.id);
        navigate(`/journeys/${encodeURIComponent(saved.id)}`, { replace: true });
      }
      return saved;
    } catch (error) {
      fail(error);
      return null;
    }
  }

  async function run(what: Busy, action: () => Promise<void>) {
    setBusy(what);
    try {
      await action();
    } finally {
      setBusy(null);
    }
  }

  /** Saves, then asks the server for every problem; true when there is none. */
  async function check(saved: Journey): Promise<boolean> {
    try {
      const answer = await api.validateJourney(saved.id);
      setProblems(answer.problems);
      setChecked(true);
      return answer.valid;
    } catch (error) {
      fail(error);
      return false;
    }
  }

  const onSave = () =>
    run("save", async () => {
      const saved = await save();
      if (saved) message.success(t("journeys.saved", { name: saved.draft.name }));
    });

  const onValidate = () =>
    run("validate", async () => {
      const saved = await save();
      if (!saved) return;
      if (await check(saved)) message.success(t("journeys.valid"));
      else message.error(t("journeys.invalid"));
    });

  const onPublish = () =>
    run("publish", async () => {
      const saved = await save();
      if (!saved) return;
      if (!(await check(saved))) {
        message.error(t("journeys.publishBlocked"));
        return;
      }
      modal.confirm({
        title: t("journeys.publish"),
        content: saved.live_version ? t("journeys.publishNewVersion", { version: saved.live_version + 1 }) : t("journeys.publishConfirm", { name: saved.draft.name }),
        okText: t("journeys.publish"),
        okButtonProps: { "data-testid": "journey-publish-confirm" },
        cancelText: t("common.cancel"),
        onOk: () => act(saved, "publish"),
      });
    });

  async function act(target: Journey, action: JourneyAction) {
    setBusy(action);
    setFailure(undefined);
    try {
      const after = await api.actOnJourney(target.id, action);
      setJourney(after);
      setChecked(false);
      message.success(t("journeys.acted", { status: tEnum("journeys.status", after.status) }));
    } catch (error) {
      fail(error);
    } finally {
      setBusy(null);
    }
  }

  function confirmAction(action: "pause" | "archive") {
    if (!journey) return;
    modal.confirm({
      title: tEnum("journeys.action", action),
      content: action === "archive" ? t("journeys.archiveConfirm", { name: journey.draft.name }) : t("journeys.pauseConfirm", { name: journey.draft.name }),
      okText: tEnum("journeys.action", action),
      okButtonProps: { danger: action === "archive", "data-testid": `journey-${action}-confirm` },
      cancelText: t("common.cancel"),
      onOk: () => act(journey, action),
    });
  }

  function remove() {
    if (!journey) return;
    modal.confirm({
      title: t("journeys.delete"),
      content: t("journeys.deleteConfirm", { name: journey.draft.name }),
      okText: t("journeys.delete"),
      okButtonProps: { danger: true, "data-testid": "journey-delete-confirm" },
      cancelText: t("common.cancel"),
      onOk: async () => {
        try {
          await api.deleteJourney(journey.id);
          message.success(t("journeys.deleted", { name: journey.draft.name }));
          navigate("/journeys", { replace: true });
        } catch (error) {
          message.error(errorText(error, t));
        }
      },
    });
  }

  const selected = graph.selected;
  const panel =
    selected === ENTRY ? (
      <EntryPanel
        definition={definition}
        problems={pinned.entry}
        segments={segments.data?.segments ?? []}
        targets={targets}
        readOnly={readOnly}
        onEntry={(entry) => {
          graph.updateEntry(entry);
          forget(null);
        }}
        onJourney={graph.updateJourney}
        onStart={(target) => {
          graph.connect(ENTRY, "start", target);
          forget(null);
        }}
      />
    ) : selected && definition.nodes[selected] ? (
      <NodePanel
        key={selected}
        id={selected}
        step={definition.nodes[selected]}
        definition={definition}
        targets={targets}
        readOnly={readOnly}
        problems={pinned.nodes.get(selected) ?? []}
        templates={templates.data?.templates ?? []}
        segments={segments.data?.segments ?? []}
        accounts={accounts.data?.channels ?? []}
        onChange={(step) => {
          graph.update(selected, step);
          forget(selected);
        }}
        onRemove={() => graph.remove(selected)}
      />
    ) : (
      <Card size="small" data-testid="node-config-panel">
        <Text type="secondary">{t("journeys.selectHint")}</Text>
      </Card>
    );

  const status = journey?.status ?? "draft";
  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Link to="/journeys" data-testid="journeys-back">
        <ArrowLeftOutlined aria-hidden /> {t("journeys.back")}
      </Link>
      <Space align="center" wrap>
        <Typography.Title level={2} style={{ margin: 0 }}>
          {journey ? journey.draft.name : t("journeys.newTitle")}
        </Typography.Title>
        <Tag color={STATUS_COLORS[status]} data-testid="journey-status">
          {tEnum("journeys.status", status)}
        </Tag>
        {journey?.live_version != null && <Tag data-testid="journey-version">{t("journeys.liveVersion", { version: journey.live_version })}</Tag>}
        {journey && (
          <Text type="secondary">
            {t("journeys.updated")} {formatTime(journey.updated_at)}
          </Text>
        )}
        {graph.dirty && <Tag color="gold">{t("journeys.unsaved")}</Tag>}
      </Space>

      <Card size="small">
        <Form<FormValues>
          form={form}
          layout="inline"
          name="journey"
          disabled={readOnly}
          initialValues={{ name: initial?.draft.name ?? "", id: initial?.id ?? "", description: initial?.draft.description ?? "" }}
          onValuesChange={() => setFailure(undefined)}
          style={{ rowGap: 8 }}
        >
          <Form.Item label={t("journeys.name")} name="name" rules={[{ required: true, whitespace: true, message: t("journeys.nameRequired") }, { max: 200 }]}>
            <Input placeholder={t("journeys.namePlaceholder")} autoComplete="off" style={{ width: 240 }} data-testid="journey-name-input" />
          </Form.Item>
          <Form.Item label={t("journeys.id")} name="id" rules={[{ pattern: ID_PATTERN, message: t("journeys.idInvalid") }]} tooltip={journey ? undefined : t("journeys.idHint")}>
            <Input className="orbit-mono" disabled={!!journey || readOnly} placeholder="test-drive" autoComplete="off" style={{ width: 180 }} data-testid="journey-id-input" />
          </Form.Item>
          <Form.Item label={t("journeys.description")} name="description" style={{ flex: 1, minWidth: 240 }}>
            <Input autoComplete="off" data-testid="journey-description-input" />
          </Form.Item>
        </Form>
      </Card>

      <Space wrap>
        {!readOnly && (
          <>
            <Space.Compact>
              <Button icon={<UndoOutlined aria-hidden />} disabled={!graph.canUndo} onClick={graph.undo} title={t("journeys.undoHint")} data-testid="journey-undo">
                {t("journeys.undo")}
              </Button>
              <Button icon={<RedoOutlined aria-hidden />} disabled={!graph.canRedo} onClick={graph.redo} title={t("journeys.redoHint")} data-testid="journey-redo">
                {t("journeys.redo")}
              </Button>
            </Space.Compact>
            <Button icon={<SaveOutlined aria-hidden />} loading={busy === "save"} disabled={busy !== null} onClick={onSave} data-testid="journey-save">
              {t("journeys.save")}
            </Button>
            <Button icon={<CheckCircleOutlined aria-hidden />} loading={busy === "validate"} disabled={busy !== null} onClick={onValidate} data-testid="journey-validate">
              {t("journeys.validate")}
            </Button>
            <Button type="primary" icon={<SendOutlined aria-hidden />} loading={busy === "publish"} disabled={busy !== null} onClick={onPublish} data-testid="journey-publish">
              {journey?.live_version ? t("journeys.publishAgain") : t("journeys.publish")}
            </Button>
          </>
        )}
        {!readOnly && journey?.status === "live" && (
          <Button icon={<PauseCircleOutlined aria-hidden />} loading={busy === "pause"} disabled={busy !== null} onClick={() => confirmAction("pause")} data-testid="journey-pause">
            {tEnum("journeys.action", "pause")}
          </Button>
        )}
        {!readOnly && journey?.status === "paused" && (
          <Button icon={<PlayCircleOutlined aria-hidden />} loading={busy === "resume"} disabled={busy !== null} onClick={() => act(journey, "resume")} data-testid="journey-resume">
            {tEnum("journeys.action", "resume")}
          </Button>
        )}
        {!readOnly && journey && journey.live_version != null && (
          <Button danger icon={<InboxOutlined aria-hidden />} disabled={busy !== null} onClick={() => confirmAction("archive")} data-testid="journey-archive">
            {tEnum("journeys.action", "archive")}
          </Button>
        )}
        {!readOnly && journey && journey.live_version == null && (
          <Button danger icon={<DeleteOutlined aria-hidden />} disabled={busy !== null} onClick={remove} data-testid="journey-delete">
            {t("journeys.delete")}
          </Button>
        )}
      </Space>

      {failure !== undefined && <ErrorAlert error={failure} testId="journey-action-error" />}
      {checked && problems.length === 0 && <Alert type="success" showIcon message={t("journeys.valid")} data-testid="journey-valid" />}
      {pinned.journey.length > 0 && (
        <Alert
          type="error"
          showIcon
          role="alert"
          data-testid="canvas-errors"
          message={t("journeys.journeyProblems")}
          description={
            <ul style={{ margin: 0, paddingInlineStart: 16 }}>
              {pinned.journey.map((problem, i) => (
                <li key={i}>{problemText(problem, definition, t)}</li>
              ))}
            </ul>
          }
        />
      )}
      {onCanvas > 0 && (
        <Text type="danger" data-testid="canvas-problem-count">
          {t("journeys.pinnedProblems", { count: onCanvas })}
        </Text>
      )}
      {live.report && <Stats report={live.report} />}
      {live.error !== undefined && <ErrorAlert error={live.error} testId="journey-report-error" />}

      <ReactFlowProvider>
        <Workbench graph={graph} state={state} readOnly={readOnly} panel={panel} />
      </ReactFlowProvider>
    </Space>
  );
}
