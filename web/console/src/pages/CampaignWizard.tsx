// A new broadcast campaign, step by step: the audience (a segment and its size), the
// content per channel, the control group and the variants, the schedule and the class,
// then a review of everything with what the API says of it, and the launch. A saved
// campaign that is still a draft or scheduled opens in the same steps to be edited.
import { useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import dayjs from "dayjs";
import {
  Alert,
  App,
  Button,
  Card,
  Col,
  DatePicker,
  Descriptions,
  Dropdown,
  Empty,
  Form,
  Input,
  InputNumber,
  Radio,
  Result,
  Row,
  Select,
  Space,
  Statistic,
  Steps,
  Table,
  Tag,
  Typography,
} from "antd";
import { ArrowDownOutlined, ArrowLeftOutlined, ArrowUpOutlined, DeleteOutlined, PlusOutlined, RocketOutlined, SaveOutlined } from "@ant-design/icons";
import { api, ApiError, CHANNELS, type Campaign, type Channel, type ChannelAccount, type Segment, type Template, type TemplateClass } from "../api";
import { browserZone, errorText, formatTime } from "../format";
import { useI18n, type MessageKey, type Translate } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { NotFoundResult } from "../components/Results";
import { ID_PATTERN, STEPS, editable, emptyDraft, fromCampaign, mixedAccounts, nextKey, stepOf, toCampaign, type Lane, type VariantDraft, type WizardDraft } from "../campaign";

const { Text } = Typography;

/** Channels whose messages go through a provider account the campaign may name. */
const ACCOUNT_CHANNELS: readonly Channel[] = ["email", "sms", "push", "wechat_template", "mini_program", "webhook"];

/** What the wizard reads from the workspace. */
interface Workspace {
  segments: Segment[];
  templates: Template[];
  accounts: ChannelAccount[];
}

/** A problem with the answers, at the step that asks for them. */
interface Problem {
  step: number;
  message: string;
}

/** The problems found before asking the server, step by step. */
function problems(draft: WizardDraft, t: Translate): Problem[] {
  const found: Problem[] = [];
  if (!draft.name.trim()) found.push({ step: 0, message: t("wizard.nameRequired") });
  if (draft.id.trim() && !ID_PATTERN.test(draft.id.trim())) found.push({ step: 0, message: t("wizard.idInvalid") });
  if (!draft.segment) found.push({ step: 0, message: t("wizard.segmentRequired") });
  if (draft.lanes.length === 0) found.push({ step: 1, message: t("wizard.channelsRequired") });
  const names = new Set<string>();
  draft.variants.forEach((variant, index) => {
    const name = variant.name.trim();
    const step = index === 0 ? 1 : 2;
    for (const lane of draft.lanes) {
      if (!variant.templates[lane.channel]) {
        found.push({ step, message: t("wizard.templateRequired", { variant: name || index + 1, channel: t(`channel.${lane.channel}` as MessageKey) }) });
      }
    }
    if (!ID_PATTERN.test(name)) found.push({ step: 2, message: t("wizard.variantNameInvalid", { index: index + 1 }) });
    else if (names.has(name)) found.push({ step: 2, message: t("wizard.variantNameTwice", { name }) });
    names.add(name);
    if (!(variant.weight >= 1)) found.push({ step: 2, message: t("wizard.weightInvalid", { index: index + 1 }) });
  });
  if (!(draft.controlPercent >= 0 && draft.controlPercent <= 100)) found.push({ step: 2, message: t("wizard.controlInvalid") });
  if (draft.scheduleKind === "at" && !draft.at) found.push({ step: 3, message: t("wizard.atRequired") });
  if (draft.scheduleKind === "cron" && (!draft.cronExpression.trim() || !draft.cronTimeZone.trim())) {
    found.push({ step: 3, message: t("wizard.cronRequired") });
  }
  if (draft.klass === "marketing" && draft.topic.trim() && !ID_PATTERN.test(draft.topic.trim())) {
    found.push({ step: 3, message: t("wizard.topicInvalid") });
  }
  return found;
}

/** The wizard for a new campaign, or (at `/campaigns/:id/edit`) for a saved one still a draft or scheduled. */
export function CampaignWizardPage() {
  const { id } = useParams();
  const { t, tEnum } = useI18n();
  const loaded = useLoad(async (): Promise<Workspace & { editing: Campaign | null }> => {
    const [segments, templates, accounts, editing] = await Promise.all([
      api.segments(),
      api.templates(),
      api.channels(),
      id ? api.campaign(id) : Promise.resolve(null),
    ]);
    return { segments: segments.segments, templates: templates.templates, accounts: accounts.channels, editing };
  }, [id]);
  if (loaded.error instanceof ApiError && loaded.error.status === 404) return <NotFoundResult />;
  if (loaded.error !== undefined) return <ErrorAlert error={loaded.error} onRetry={loaded.reload} testId="wizard-load-error" />;
  if (!loaded.data) return <Card loading />;
  const { editing } = loaded.data;
  if (editing && !editable(editing.state)) {
    return (
      <div data-testid="wizard-not-editable">
        <Result
          status="warning"
          title={t("wizard.notEditable", { state: tEnum("campaignState", editing.state) })}
          extra={<Link to={`/campaigns/${encodeURIComponent(editing.id)}`}>{t("wizard.toReport")}</Link>}
        />
      </div>
    );
  }
  // A new key for each campaign edited: nothing of another one's answers is kept.
  return <Wizard key={editing?.id ?? ""} workspace={loaded.data} editing={editing} />;
}

function Wizard({ workspace, editing }: { workspace: Workspace; editing: Campaign | null }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const templates = useMemo(() => new Map(workspace.templates.map((template) => [template.id, template])), [workspace.templates]);
  const [draft, setDraft] = useState<WizardDraft>(() =>
    editing ? fromCampaign(editing, templates, browserZone() || "Asia/Shanghai") : emptyDraft(browserZone() || "Asia/Shanghai"),
  );
  const [step, setStep] = useState(0);
  const [shownProblems, setShownProblems] = useState<Problem[]>([]);
  const [serverError, setServerError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState<Campaign | null>(editing);
  const [busy, setBusy] = useState<"draft" | "launch" | null>(null);
  // A saved campaign's class and topic are its own: picking a template leaves them.
  const [classTouched, setClassTouched] = useState(editing !== null);

  function change(patch: Partial<WizardDraft>) {
    setDraft((previous) => ({ ...previous, ...patch }));
    setShownProblems([]);
    setServerError(undefined);
  }

  /** The first template picked sets the campaign's class and topic, unless the operator set them. */
  function pickTemplate(variantKey: number, channel: Channel, templateId: string) {
    const template = templates.get(templateId);
    setDraft((previous) => {
      const first = previous.variants.every((variant) => Object.keys(variant.templates).length === 0);
      return {
        ...previous,
        variants: previous.variants.map((variant) =>
          variant.key === variantKey ? { ...variant, templates: { ...variant.templates, [channel]: templateId } } : variant,
        ),
        ...(first && !classTouched && template ? { klass: template.class, topic: template.topic ?? "promotions" } : {}),
      };
    });
    setShownProblems([]);
    setServerError(undefined);
  }

  function next() {
    const here = problems(draft, t).filter((problem) => problem.step === step);
    setShownProblems(here);
    if (here.length === 0) setStep(step + 1);
  }

  async function submit(launch: boolean) {
    const all = problems(draft, t);
    setShownProblems(all);
    if (all.length > 0) return;
    setBusy(launch ? "launch" : "draft");
    setServerError(undefined);
    try {
      const body = toCampaign(draft);
      // Once saved, the draft is replaced: a retry after a failed launch makes no second campaign.
      const campaign = saved ? await api.replaceCampaign(saved.id, { ...body, id: saved.id }) : await api.createCampaign(body);
      setSaved(campaign);
      if (launch) {
        await api.actOnCampaign(campaign.id, "launch");
        message.success(t("wizard.launched", { name: campaign.name }));
      } else {
        message.success(t("wizard.draftSaved", { name: campaign.name }));
      }
      navigate(`/campaigns/${encodeURIComponent(campaign.id)}`);
    } catch (error) {
      setServerError(error);
    } finally {
      setBusy(null);
    }
  }

  const stepTitles: Record<(typeof STEPS)[number], MessageKey> = {
    segment: "wizard.step.segment",
    content: "wizard.step.content",
    split: "wizard.step.split",
    schedule: "wizard.step.schedule",
    review: "wizard.step.review",
  };
  const last = step === STEPS.length - 1;

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Link to="/campaigns" data-testid="campaigns-back">
        <ArrowLeftOutlined aria-hidden /> {t("campaigns.back")}
      </Link>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {editing ? t("wizard.editTitle", { name: editing.name }) : t("wizard.title")}
      </Typography.Title>
      {editing && mixedAccounts(editing, templates) && (
        <Alert type="warning" showIcon message={t("wizard.mixedAccounts")} data-testid="wizard-mixed-accounts" />
      )}
      <Steps current={step} onChange={setStep} items={STEPS.map((key) => ({ title: t(stepTitles[key]) }))} data-testid="wizard-steps" />
      {shownProblems.length > 0 && (
        <Alert
          type="error"
          showIcon
          role="alert"
          data-testid="wizard-problems"
          message={t("wizard.fixFirst")}
          description={
            <ul style={{ margin: 0, paddingInlineStart: 20 }}>
              {shownProblems.map((problem) => (
                <li key={`${problem.step}-${problem.message}`}>
                  {problem.message}
                  {last && (
                    <Button type="link" size="small" onClick={() => setStep(problem.step)}>
                      {t("wizard.goToStep", { step: t(stepTitles[STEPS[problem.step]]) })}
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          }
        />
      )}
      <Card data-testid={`wizard-step-${STEPS[step]}`}>
        {step === 0 && <SegmentStep draft={draft} change={change} segments={workspace.segments} idFixed={editing !== null} />}
        {step === 1 && <ContentStep draft={draft} change={change} pickTemplate={pickTemplate} templates={workspace.templates} accounts={workspace.accounts} />}
        {step === 2 && <SplitStep draft={draft} change={change} pickTemplate={pickTemplate} templates={workspace.templates} segments={workspace.segments} />}
        {step === 3 && (
          <ScheduleStep
            draft={draft}
            change={change}
            touchClass={(patch) => {
              setClassTouched(true);
              change(patch);
            }}
          />
        )}
        {step === 4 && <ReviewStep draft={draft} workspace={workspace} templates={templates} serverError={serverError} saved={saved} goTo={setStep} />}
      </Card>
      <Space wrap>
        {step > 0 && (
          <Button onClick={() => setStep(step - 1)} data-testid="wizard-prev">
            {t("wizard.prev")}
          </Button>
        )}
        {!last && (
          <Button type="primary" onClick={next} data-testid="wizard-next">
            {t("wizard.next")}
          </Button>
        )}
        {last && (
          <>
            <Button icon={<SaveOutlined aria-hidden />} loading={busy === "draft"} disabled={busy !== null} onClick={() => void submit(false)} data-testid="wizard-save-draft">
              {t("wizard.saveDraft")}
            </Button>
            <Button type="primary" icon={<RocketOutlined aria-hidden />} loading={busy === "launch"} disabled={busy !== null} onClick={() => void submit(true)} data-testid="wizard-launch">
              {t("wizard.launch")}
            </Button>
          </>
        )}
      </Space>
    </Space>
  );
}

interface StepProps {
  draft: WizardDraft;
  change: (patch: Partial<WizardDraft>) => void;
}

function SegmentStep({ draft, change, segments, idFixed }: StepProps & { segments: Segment[]; idFixed: boolean }) {
  const { t } = useI18n();
  const chosen = segments.find((segment) => segment.id === draft.segment);
  return (
    <Form layout="vertical" component="div">
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item label={t("wizard.name")} required htmlFor="wizard-name">
            <Input id="wizard-name" value={draft.name} onChange={(event) => change({ name: event.target.value })} placeholder={t("wizard.namePlaceholder")} autoComplete="off" data-testid="wizard-name" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item label={t("wizard.id")} help={t("wizard.idHint")} htmlFor="wizard-id">
            <Input id="wizard-id" className="orbit-mono" value={draft.id} disabled={idFixed} onChange={(event) => change({ id: event.target.value })} placeholder="double-12" autoComplete="off" data-testid="wizard-id" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item label={t("wizard.segment")} required>
            <Select<string>
              showSearch
              optionFilterProp="search"
              value={draft.segment ?? undefined}
              onChange={(segment) => change({ segment })}
              placeholder={t("wizard.segmentPlaceholder")}
              aria-label={t("wizard.segment")}
              notFoundContent={<Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t("wizard.noSegments")} />}
              data-testid="wizard-segment-select"
              options={segments.map((segment) => ({
                value: segment.id,
                search: `${segment.name} ${segment.id}`,
                label: (
                  <span data-testid={`wizard-segment-option-${segment.id}`}>
                    {segment.name} <Text type="secondary">{t("wizard.people", { count: segment.size })}</Text>
                  </span>
                ),
              }))}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          {chosen && <Statistic title={t("wizard.segmentSize")} value={chosen.size} suffix={t("wizard.peopleUnit")} data-testid="wizard-segment-size" />}
        </Col>
      </Row>
    </Form>
  );
}

function ContentStep({
  draft,
  change,
  pickTemplate,
  templates,
  accounts,
}: StepProps & { pickTemplate: (variantKey: number, channel: Channel, templateId: string) => void; templates: Template[]; accounts: ChannelAccount[] }) {
  const { t, tEnum } = useI18n();
  const first = draft.variants[0];
  const used = new Set(draft.lanes.map((lane) => lane.channel));
  const open = CHANNELS.filter((channel) => !used.has(channel));

  function move(index: number, by: number) {
    const lanes = [...draft.lanes];
    const [lane] = lanes.splice(index, 1);
    lanes.splice(index + by, 0, lane);
    change({ lanes });
  }

  function setAccount(key: number, account: string | null) {
    change({ lanes: draft.lanes.map((lane) => (lane.key === key ? { ...lane, account } : lane)) });
  }

  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Text type="secondary">{t("wizard.contentHint")}</Text>
      {draft.lanes.map((lane, index) => {
        const owned = accounts.filter((account) => account.channel === lane.channel);
        return (
          <Card key={lane.key} size="small" data-testid={`wizard-lane-${lane.channel}`} title={<Space><Tag color="blue">{index + 1}</Tag>{tEnum("channel", lane.channel)}</Space>}
            extra={
              <Space size={4}>
                <Button size="small" icon={<ArrowUpOutlined aria-hidden />} disabled={index === 0} onClick={() => move(index, -1)} aria-label={t("wizard.moveUp")} title={t("wizard.moveUp")} />
                <Button size="small" icon={<ArrowDownOutlined aria-hidden />} disabled={index === draft.lanes.length - 1} onClick={() => move(index, 1)} aria-label={t("wizard.moveDown")} title={t("wizard.moveDown")} />
                <Button
                  size="small"
                  danger
                  icon={<DeleteOutlined aria-hidden />}
                  onClick={() => change({ lanes: draft.lanes.filter((other) => other.key !== lane.key) })}
                  aria-label={t("wizard.removeChannel")}
                  title={t("wizard.removeChannel")}
                  data-testid={`wizard-remove-channel-${lane.channel}`}
                />
              </Space>
            }
          >
            <Row gutter={16}>
              <Col xs={24} md={14}>
                <Form layout="vertical" component="div">
                  <Form.Item label={t("wizard.template")} required>
                    <TemplateSelect variantIndex={0} channel={lane.channel} value={first.templates[lane.channel]} templates={templates} onChange={(id) => pickTemplate(first.key, lane.channel, id)} />
                  </Form.Item>
                </Form>
              </Col>
              {ACCOUNT_CHANNELS.includes(lane.channel) && (
                <Col xs={24} md={10}>
                  <Form layout="vertical" component="div">
                    <Form.Item label={t("wizard.account")} help={owned.length === 0 ? t("wizard.noAccount") : undefined} validateStatus={owned.length === 0 ? "warning" : undefined}>
                      <Select<string>
                        allowClear
                        value={lane.account ?? undefined}
                        onChange={(account) => setAccount(lane.key, account ?? null)}
                        placeholder={t("wizard.defaultAccount")}
                        aria-label={t("wizard.account")}
                        data-testid={`wizard-account-${lane.channel}`}
                        options={owned.map((account) => ({ value: account.id, label: `${account.name}${account.default ? ` · ${t("channels.defaultTag")}` : ""}` }))}
                      />
                    </Form.Item>
                  </Form>
                </Col>
              )}
            </Row>
          </Card>
        );
      })}
      {open.length > 0 && (
        <Dropdown
          trigger={["click"]}
          menu={{
            items: open.map((channel) => ({ key: channel, label: <span data-testid={`wizard-channel-option-${channel}`}>{tEnum("channel", channel)}</span> })),
            onClick: ({ key }) => change({ lanes: [...draft.lanes, { key: nextKey(), channel: key as Channel, account: null } satisfies Lane] }),
          }}
        >
          <Button type="dashed" icon={<PlusOutlined aria-hidden />} data-testid="wizard-add-channel">
            {t("wizard.addChannel")}
          </Button>
        </Dropdown>
      )}
      {draft.lanes.length > 1 && (
        <Form layout="vertical" component="div">
          <Form.Item label={t("wizard.channelPolicy")}>
            <Radio.Group value={draft.channelPolicy} onChange={(event) => change({ channelPolicy: event.target.value })} data-testid="wizard-channel-policy">
              <Radio value="priority">{t("wizard.policy.priority")}</Radio>
              <Radio value="all">{t("wizard.policy.all")}</Radio>
            </Radio.Group>
          </Form.Item>
        </Form>
      )}
    </Space>
  );
}

/** The templates of one channel, for one variant. */
function TemplateSelect({
  variantIndex,
  channel,
  value,
  templates,
  onChange,
}: {
  variantIndex: number;
  channel: Channel;
  value: string | undefined;
  templates: Template[];
  onChange: (templateId: string) => void;
}) {
  const { t, tEnum } = useI18n();
  const testId = `wizard-template-${variantIndex}-${channel}`;
  const mine = templates.filter((template) => template.channel === channel);
  return (
    <Select<string>
      showSearch
      optionFilterProp="search"
      value={value}
      onChange={onChange}
      placeholder={mine.length === 0 ? t("wizard.noTemplates", { channel: tEnum("channel", channel) }) : t("wizard.templatePlaceholder")}
      aria-label={t("wizard.template")}
      data-testid={testId}
      options={mine.map((template) => ({
        value: template.id,
        search: `${template.name} ${template.id}`,
        label: (
          <span data-testid={`${testId}-option-${template.id}`}>
            {template.name} <Text type="secondary">{tEnum("templateClass", template.class)}</Text>
          </span>
        ),
      }))}
    />
  );
}

function SplitStep({
  draft,
  change,
  pickTemplate,
  templates,
  segments,
}: StepProps & { pickTemplate: (variantKey: number, channel: Channel, templateId: string) => void; templates: Template[]; segments: Segment[] }) {
  const { t, tEnum } = useI18n();
  const size = segments.find((segment) => segment.id === draft.segment)?.size ?? 0;
  const totalWeight = draft.variants.reduce((sum, variant) => sum + (variant.weight > 0 ? variant.weight : 0), 0);
  const reached = (100 - draft.controlPercent) / 100;

  function setVariant(key: number, patch: Partial<VariantDraft>) {
    change({ variants: draft.variants.map((variant) => (variant.key === key ? { ...variant, ...patch } : variant)) });
  }

  function addVariant() {
    const taken = new Set(draft.variants.map((variant) => variant.name));
    const name = "abcdefghijklmnopqrstuvwxyz".split("").find((letter) => !taken.has(letter)) ?? `v${draft.variants.length + 1}`;
    // A new variant starts with the first one's content, to be changed where it differs.
    const copy: VariantDraft = { key: nextKey(), name, weight: 1, templates: { ...draft.variants[0].templates } };
    change({ variants: [...draft.variants, copy] });
  }

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Form layout="vertical" component="div">
        <Form.Item label={t("wizard.controlPercent")} help={t("wizard.controlHint", { count: Math.round((size * draft.controlPercent) / 100) })} htmlFor="wizard-control-percent">
          <InputNumber
            id="wizard-control-percent"
            min={0}
            max={100}
            step={1}
            value={draft.controlPercent}
            onChange={(value) => change({ controlPercent: value ?? 0 })}
            addonAfter="%"
            style={{ width: 200 }}
            data-testid="wizard-control-percent"
          />
        </Form.Item>
      </Form>
      <Table<VariantDraft>
        rowKey="key"
        size="small"
        pagination={false}
        dataSource={draft.variants}
        data-testid="wizard-variants"
        scroll={{ x: 720 }}
        columns={[
          {
            title: t("wizard.variantName"),
            key: "name",
            width: 160,
            render: (_, variant, index) => (
              <Input
                value={variant.name}
                onChange={(event) => setVariant(variant.key, { name: event.target.value })}
                aria-label={t("wizard.variantName")}
                className="orbit-mono"
                data-testid={`wizard-variant-name-${index}`}
              />
            ),
          },
          {
            title: t("wizard.weight"),
            key: "weight",
            width: 110,
            render: (_, variant, index) => (
              <InputNumber
                min={1}
                precision={0}
                value={variant.weight}
                onChange={(value) => setVariant(variant.key, { weight: value ?? 0 })}
                aria-label={t("wizard.weight")}
                data-testid={`wizard-variant-weight-${index}`}
              />
            ),
          },
          {
            title: t("wizard.share"),
            key: "share",
            width: 90,
            align: "right",
            render: (_, variant) => (totalWeight > 0 ? `${((reached * Math.max(variant.weight, 0) * 100) / totalWeight).toFixed(1)}%` : "–"),
          },
          ...draft.lanes.map((lane) => ({
            title: tEnum("channel", lane.channel),
            key: lane.channel,
            render: (_: unknown, variant: VariantDraft, index: number) => (
              <TemplateSelect variantIndex={index} channel={lane.channel} value={variant.templates[lane.channel]} templates={templates} onChange={(id) => pickTemplate(variant.key, lane.channel, id)} />
            ),
          })),
          {
            title: "",
            key: "remove",
            width: 56,
            render: (_, variant, index) =>
              draft.variants.length > 1 ? (
                <Button
                  danger
                  size="small"
                  icon={<DeleteOutlined aria-hidden />}
                  onClick={() => change({ variants: draft.variants.filter((other) => other.key !== variant.key) })}
                  aria-label={t("wizard.removeVariant")}
                  title={t("wizard.removeVariant")}
                  data-testid={`wizard-variant-remove-${index}`}
                />
              ) : null,
          },
        ]}
      />
      <Button type="dashed" icon={<PlusOutlined aria-hidden />} onClick={addVariant} disabled={draft.variants.length >= 26} data-testid="wizard-add-variant">
        {t("wizard.addVariant")}
      </Button>
    </Space>
  );
}

function ScheduleStep({ draft, change, touchClass }: StepProps & { touchClass: (patch: Partial<WizardDraft>) => void }) {
  const { t } = useI18n();
  return (
    <Form layout="vertical" component="div">
      <Form.Item label={t("wizard.schedule")}>
        <Radio.Group value={draft.scheduleKind} onChange={(event) => change({ scheduleKind: event.target.value })} data-testid="wizard-schedule-kind">
          <Radio value="now" data-testid="wizard-schedule-now">
            {t("wizard.schedule.now")}
          </Radio>
          <Radio value="at" data-testid="wizard-schedule-at">
            {t("wizard.schedule.at")}
          </Radio>
          <Radio value="cron" data-testid="wizard-schedule-cron">
            {t("wizard.schedule.cron")}
          </Radio>
        </Radio.Group>
      </Form.Item>
      {draft.scheduleKind === "at" && (
        <Form.Item label={t("wizard.at")} required>
          <DatePicker
            showTime
            value={draft.at}
            onChange={(at) => change({ at })}
            disabledDate={(day) => day.isBefore(dayjs(), "day")}
            aria-label={t("wizard.at")}
            data-testid="wizard-at"
          />
        </Form.Item>
      )}
      {draft.scheduleKind === "cron" && (
        <Row gutter={16}>
          <Col xs={24} md={8}>
            <Form.Item label={t("wizard.cronExpression")} required help={t("wizard.cronHint")} htmlFor="wizard-cron">
              <Input id="wizard-cron" className="orbit-mono" value={draft.cronExpression} onChange={(event) => change({ cronExpression: event.target.value })} placeholder="0 10 * * MON" data-testid="wizard-cron" />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item label={t("wizard.timeZone")} required htmlFor="wizard-time-zone">
              <Input id="wizard-time-zone" className="orbit-mono" value={draft.cronTimeZone} onChange={(event) => change({ cronTimeZone: event.target.value })} placeholder="Asia/Shanghai" data-testid="wizard-time-zone" />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item label={t("wizard.until")}>
              <DatePicker showTime value={draft.cronUntil} onChange={(cronUntil) => change({ cronUntil })} aria-label={t("wizard.until")} data-testid="wizard-until" />
            </Form.Item>
          </Col>
        </Row>
      )}
      <Row gutter={16}>
        <Col xs={24} md={8}>
          <Form.Item label={t("wizard.class")} help={t("wizard.classHint")}>
            <Radio.Group value={draft.klass} onChange={(event) => touchClass({ klass: event.target.value as TemplateClass })} data-testid="wizard-class">
              <Radio value="marketing">{t("templateClass.marketing")}</Radio>
              <Radio value="transactional">{t("templateClass.transactional")}</Radio>
            </Radio.Group>
          </Form.Item>
        </Col>
        {draft.klass === "marketing" && (
          <Col xs={24} md={8}>
            <Form.Item label={t("wizard.topic")} help={t("wizard.topicHint")} htmlFor="wizard-topic">
              <Input id="wizard-topic" className="orbit-mono" value={draft.topic} onChange={(event) => touchClass({ topic: event.target.value })} placeholder="promotions" data-testid="wizard-topic" />
            </Form.Item>
          </Col>
        )}
        <Col xs={24} md={8}>
          <Form.Item label={t("wizard.throttle")} help={t("wizard.throttleHint")} htmlFor="wizard-throttle">
            <InputNumber
              id="wizard-throttle"
              min={1}
              precision={0}
              value={draft.throttle}
              onChange={(throttle) => change({ throttle })}
              placeholder={t("wizard.throttleNone")}
              style={{ width: 200 }}
              data-testid="wizard-throttle"
            />
          </Form.Item>
        </Col>
      </Row>
    </Form>
  );
}

function ReviewStep({
  draft,
  workspace,
  templates,
  serverError,
  saved,
  goTo,
}: {
  draft: WizardDraft;
  workspace: Workspace;
  templates: ReadonlyMap<string, Template>;
  serverError: unknown;
  saved: Campaign | null;
  goTo: (step: number) => void;
}) {
  const { t, tEnum } = useI18n();
  const segment = workspace.segments.find((candidate) => candidate.id === draft.segment);
  const accountName = (id: string | null) => (id ? (workspace.accounts.find((account) => account.id === id)?.name ?? id) : t("wizard.defaultAccount"));
  const apiError = serverError instanceof ApiError ? serverError : null;
  const errorStep = apiError ? stepOf(apiError.field) : null;
  const schedule =
    draft.scheduleKind === "at" && draft.at
      ? t("wizard.schedule.atTime", { time: formatTime(draft.at.toISOString()) })
      : draft.scheduleKind === "cron"
        ? t("wizard.schedule.cronText", { expression: draft.cronExpression, zone: draft.cronTimeZone })
        : t("wizard.schedule.now");

  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }} data-testid="wizard-review">
      {serverError !== undefined && (
        <Alert
          type="error"
          showIcon
          role="alert"
          data-testid="wizard-error"
          message={errorText(serverError, t)}
          description={
            <Space direction="vertical" size={2}>
              {apiError?.field && (
                <span>
                  {t("wizard.errorAt")} <Text code>{apiError.field}</Text>
                </span>
              )}
              {saved && <span>{t("wizard.savedAs", { id: saved.id })}</span>}
              {errorStep !== null && (
                <Button size="small" onClick={() => goTo(errorStep)} data-testid="wizard-error-go">
                  {t("wizard.goToStep", { step: t(`wizard.step.${STEPS[errorStep]}` as MessageKey) })}
                </Button>
              )}
            </Space>
          }
        />
      )}
      <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} data-testid="wizard-summary">
        <Descriptions.Item label={t("wizard.name")}>{draft.name}</Descriptions.Item>
        <Descriptions.Item label={t("wizard.id")}>
          <Text className="orbit-mono">{draft.id.trim() || t("wizard.idGenerated")}</Text>
        </Descriptions.Item>
        <Descriptions.Item label={t("wizard.segment")}>
          {segment ? `${segment.name} · ${t("wizard.people", { count: segment.size })}` : draft.segment}
        </Descriptions.Item>
        <Descriptions.Item label={t("wizard.controlPercent")}>{`${draft.controlPercent}%`}</Descriptions.Item>
        <Descriptions.Item label={t("wizard.channels")}>
          <Space size={4} wrap>
            {draft.lanes.map((lane) => (
              <Tag key={lane.key}>{`${tEnum("channel", lane.channel)} · ${accountName(lane.account)}`}</Tag>
            ))}
          </Space>
        </Descriptions.Item>
        <Descriptions.Item label={t("wizard.channelPolicy")}>{t(`wizard.policy.${draft.channelPolicy}` as MessageKey)}</Descriptions.Item>
        <Descriptions.Item label={t("wizard.schedule")}>{schedule}</Descriptions.Item>
        <Descriptions.Item label={t("wizard.class")}>
          {tEnum("templateClass", draft.klass)}
          {draft.klass === "marketing" && <Text className="orbit-mono">{` · ${draft.topic.trim() || "promotions"}`}</Text>}
        </Descriptions.Item>
        <Descriptions.Item label={t("wizard.throttle")}>{draft.throttle ? t("wizard.throttleValue", { count: draft.throttle }) : t("wizard.throttleNone")}</Descriptions.Item>
      </Descriptions>
      <Table<VariantDraft>
        rowKey="key"
        size="small"
        pagination={false}
        dataSource={draft.variants}
        data-testid="wizard-review-variants"
        columns={[
          { title: t("wizard.variantName"), dataIndex: "name", render: (name: string) => <Text className="orbit-mono">{name}</Text> },
          { title: t("wizard.weight"), dataIndex: "weight", align: "right" },
          ...draft.lanes.map((lane) => ({
            title: tEnum("channel", lane.channel),
            key: lane.channel,
            render: (_: unknown, variant: VariantDraft) => {
              const id = variant.templates[lane.channel];
              return id ? (templates.get(id)?.name ?? id) : "–";
            },
          })),
        ]}
      />
    </Space>
  );
}
