// The selected node's settings: the fields of its kind (a template for a send, a
// duration for a wait, an event and how long to wait for it, a branch's paths…), where
// each output leads, its problems, and deleting it.
import type { ReactNode } from "react";
import { Button, Card, Divider, Form, Input, InputNumber, Select, Space, Switch, Typography } from "antd";
import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import type { BranchPath, ChannelAccount, JourneyDefinition, JourneyProblem, Segment, StaffAddress, Step, Template, ValueSource, WaitTarget, WeightedPath } from "../api";
import { useI18n } from "../i18n";
import { BranchCondition } from "./BranchCondition";
import { AccountSelect, DelayInput, Field, FiltersEditor, OutputSelect, PickSelect, ProblemList, optional, type Target } from "./fields";
import { UNCONNECTED, kebab, outputs, withOutput, within } from "./graph";
import { outputLabel } from "./summary";

const { Text } = Typography;

interface Context {
  problems: JourneyProblem[];
  templates: Template[];
  segments: Segment[];
  accounts: ChannelAccount[];
}

type Edit<S> = { step: S; onChange: (step: S) => void } & Context;
type Of<K extends Step["type"]> = Extract<Step, { type: K }>;

function WaitFields({ step, onChange, problems }: Edit<Of<"wait">>) {
  const { t } = useI18n();
  return (
    <>
      <Field label={t("journeys.field.duration")} field="duration" problems={problems}>
        <DelayInput value={step.duration} onChange={(duration) => onChange({ ...step, duration })} testId="node-duration-input" />
      </Field>
      <Lateness value={step.lateness_limit} onChange={(lateness_limit) => onChange({ ...step, lateness_limit })} problems={problems} />
    </>
  );
}

function Lateness({ value, onChange, problems }: { value?: string | null; onChange: (value: string | null) => void; problems: JourneyProblem[] }) {
  const { t } = useI18n();
  return (
    <Field label={t("journeys.field.latenessLimit")} field="lateness_limit" problems={problems} extra={t("journeys.field.latenessHint")}>
      <DelayInput value={value ?? ""} placeholder="PT6H" onChange={(text) => onChange(optional(text))} testId="node-lateness-input" />
    </Field>
  );
}

const TARGET_KINDS: readonly WaitTarget["kind"][] = ["time_of_day", "trait", "entry_property"];

function freshTarget(kind: WaitTarget["kind"]): WaitTarget {
  if (kind === "time_of_day") return { kind, time: "10:00", days_later: 0 };
  if (kind === "trait") return { kind, trait: "", offset: null, time: null };
  return { kind, property: "", offset: null, time: null };
}

function WaitUntilFields({ step, onChange, problems }: Edit<Of<"wait_until">>) {
  const { t, tEnum } = useI18n();
  const until = step.until;
  const set = (next: WaitTarget) => onChange({ ...step, until: next });
  return (
    <>
      <Field label={t("journeys.field.until")} field="until" problems={problems}>
        <Select<WaitTarget["kind"]>
          value={until.kind}
          onChange={(kind) => set(freshTarget(kind))}
          options={TARGET_KINDS.map((kind) => ({ value: kind, label: tEnum("journeys.until", kind) }))}
          data-testid="node-until-kind"
        />
      </Field>
      {until.kind === "time_of_day" ? (
        <Space>
          <Field label={t("journeys.field.time")} field="until.time" problems={problems}>
            <Input value={until.time} onChange={(e) => set({ ...until, time: e.target.value })} placeholder="10:00" style={{ width: 100 }} data-testid="node-time-input" />
          </Field>
          <Field label={t("journeys.field.daysLater")} field="until.days_later" problems={problems}>
            <InputNumber min={0} precision={0} value={until.days_later ?? 0} onChange={(n) => set({ ...until, days_later: n ?? 0 })} data-testid="node-days-later-input" />
          </Field>
        </Space>
      ) : (
        <>
          {until.kind === "trait" ? (
            <Field label={t("condition.trait")} field="until.trait" problems={problems}>
              <Input value={until.trait} onChange={(e) => set({ ...until, trait: e.target.value })} placeholder="booked_at" data-testid="node-until-trait-input" />
            </Field>
          ) : (
            <Field label={t("journeys.field.entryProperty")} field="until.property" problems={problems}>
              <Input value={until.property} onChange={(e) => set({ ...until, property: e.target.value })} placeholder="booked_at" data-testid="node-until-property-input" />
            </Field>
          )}
          <Field label={t("journeys.field.offset")} field="until.offset" problems={problems} extra={t("journeys.field.offsetHint")}>
            <DelayInput value={until.offset ?? ""} placeholder="-P1D" onChange={(offset) => set({ ...until, offset: optional(offset) })} testId="node-offset-input" />
          </Field>
          <Field label={t("journeys.field.time")} field="until.time" problems={problems}>
            <Input value={until.time ?? ""} onChange={(e) => set({ ...until, time: optional(e.target.value) })} placeholder="10:00" style={{ width: 100 }} data-testid="node-time-input" />
          </Field>
        </>
      )}
      <Lateness value={step.lateness_limit} onChange={(lateness_limit) => onChange({ ...step, lateness_limit })} problems={problems} />
    </>
  );
}

function WaitForEventFields({ step, onChange, problems }: Edit<Of<"wait_for_event">>) {
  const { t } = useI18n();
  return (
    <>
      <Field label={t("journeys.field.event")} field="event" problems={problems}>
        <Input value={step.event} onChange={(e) => onChange({ ...step, event: e.target.value })} placeholder="store_arrived" autoComplete="off" data-testid="node-event-input" />
      </Field>
      <Field label={t("journeys.field.within")} field="timeout" problems={problems}>
        <DelayInput value={step.timeout} onChange={(timeout) => onChange({ ...step, timeout })} testId="node-timeout-input" />
      </Field>
      <Field label={t("journeys.field.filters")} field="filters" problems={problems}>
        <FiltersEditor value={step.filters ?? []} onChange={(filters) => onChange({ ...step, filters })} testId="node-filter" />
      </Field>
      <Field label={t("journeys.field.sameKey")} field="same_key" problems={problems} extra={t("journeys.field.sameKeyHint")}>
        <Switch checked={step.same_key ?? false} onChange={(same_key) => onChange({ ...step, same_key })} data-testid="node-same-key" />
      </Field>
    </>
  );
}

function AddButton({ onAdd, label, testId }: { onAdd: () => void; label: string; testId: string }) {
  return (
    <Button size="small" icon={<PlusOutlined aria-hidden />} onClick={onAdd} data-testid={testId}>
      {label}
    </Button>
  );
}

/** Removes a list item; disabled when the list must keep it. */
function RemoveButton({ onRemove, label, testId }: { onRemove?: () => void; label: string; testId: string }) {
  return <Button size="small" icon={<DeleteOutlined aria-hidden />} aria-label={label} title={label} onClick={onRemove} disabled={!onRemove} data-testid={testId} />;
}

function BranchFields({ step, onChange, problems }: Edit<Of<"branch">>) {
  const { t } = useI18n();
  const setPath = (index: number, path: BranchPath) => onChange({ ...step, paths: step.paths.map((p, i) => (i === index ? path : p)) });
  return (
    <>
      {step.paths.map((path, index) => (
        <Card
          key={index}
          size="small"
          style={{ marginBottom: 8 }}
          title={t("journeys.output.path", { n: index + 1 })}
          extra={<RemoveButton label={t("journeys.pathRemove")} onRemove={() => onChange({ ...step, paths: step.paths.filter((_, i) => i !== index) })} testId={`node-path-${index}-remove`} />}
        >
          <Field label={t("journeys.field.pathName")} field={`paths[${index}].name`} problems={problems}>
            <Input value={path.name ?? ""} onChange={(e) => setPath(index, { ...path, name: optional(e.target.value) })} placeholder={t("journeys.field.pathNamePlaceholder")} data-testid={`node-path-${index}-name`} />
          </Field>
          <Field label={t("journeys.field.condition")} field={`paths[${index}].condition`} problems={problems}>
            <BranchCondition value={path.condition} onChange={(condition) => setPath(index, { ...path, condition })} testId={`node-path-${index}-condition`} />
          </Field>
        </Card>
      ))}
      <AddButton
        label={t("journeys.pathAdd")}
        onAdd={() => onChange({ ...step, paths: [...step.paths, { condition: { type: "wait_event", filter: { property: "", value_type: "string", op: "eq", value: "" } }, next: UNCONNECTED }] })}
        testId="node-path-add"
      />
      <Text type="secondary" style={{ display: "block", marginTop: 8 }}>
        {t("journeys.branchHint")}
      </Text>
    </>
  );
}

function WeightedFields({ paths, onChange, problems, field, holdout }: { paths: WeightedPath[]; onChange: (paths: WeightedPath[]) => void; problems: JourneyProblem[]; field: "paths" | "variants"; holdout?: ReactNode }) {
  const { t } = useI18n();
  const set = (index: number, path: WeightedPath) => onChange(paths.map((p, i) => (i === index ? path : p)));
  // `a`, `b`… as people name arms, then `p27`… should anyone need more.
  const free = () => {
    for (let n = 0; ; n += 1) {
      const name = n < 26 ? String.fromCharCode(97 + n) : `p${n + 1}`;
      if (!paths.some((p) => p.name === name)) return name;
    }
  };
  return (
    <>
      {holdout}
      {paths.map((path, index) => (
        <Space key={index} align="start" size={4}>
          <Field label={t("journeys.field.pathName")} field={`${field}[${index}].name`} problems={problems}>
            <Input value={path.name} onChange={(e) => set(index, { ...path, name: e.target.value })} style={{ width: 110 }} data-testid={`node-${field}-${index}-name`} />
          </Field>
          <Field label={t("journeys.field.weight")} field={`${field}[${index}].weight`} problems={problems}>
            <InputNumber min={0} precision={0} value={path.weight} onChange={(n) => set(index, { ...path, weight: n ?? 0 })} style={{ width: 90 }} data-testid={`node-${field}-${index}-weight`} />
          </Field>
          <Form.Item label=" " colon={false} style={{ marginBottom: 12 }}>
            <RemoveButton label={t("journeys.pathRemove")} onRemove={paths.length > 1 ? () => onChange(paths.filter((_, i) => i !== index)) : undefined} testId={`node-${field}-${index}-remove`} />
          </Form.Item>
        </Space>
      ))}
      <AddButton label={t("journeys.pathAdd")} onAdd={() => onChange([...paths, { name: free(), weight: 1, next: UNCONNECTED }])} testId={`node-${field}-add`} />
    </>
  );
}

function SendFields({ step, onChange, problems, templates, accounts }: Edit<Of<"send">>) {
  const { t, tEnum } = useI18n();
  const messages = step.messages;
  const setMessage = (index: number, message: Of<"send">["messages"][number]) => onChange({ ...step, messages: messages.map((m, i) => (i === index ? message : m)) });
  const templateOptions = templates.map((template) => ({ value: template.id, label: `${template.name} · ${tEnum("channel", template.channel)}` }));
  return (
    <>
      <Field label={t("journeys.field.messages")} field="messages" problems={problems} extra={t("journeys.field.messagesHint")}>
        <Space direction="vertical" size={4} style={{ width: "100%" }}>
          {messages.map((message, index) => (
            <Space key={index} size={4} style={{ width: "100%" }} align="start">
              <PickSelect<string>
                testId={`node-message-${index}-template`}
                value={message.template}
                showSearch
                optionFilterProp="label"
                onChange={(template) => setMessage(index, { ...message, template })}
                options={templateOptions}
                aria-label={t("journeys.field.template")}
                style={{ width: 170 }}
                status={problems.some((p) => within(p, `messages[${index}]`)) ? "error" : undefined}
              />
              <AccountSelect
                value={message.account}
                onChange={(account) => setMessage(index, { ...message, account })}
                accounts={accounts}
                channel={templates.find((template) => template.id === message.template)?.channel}
                style={{ width: 120 }}
                testId={`node-message-${index}-account`}
              />
              <RemoveButton label={t("journeys.messageRemove")} onRemove={() => onChange({ ...step, messages: messages.filter((_, i) => i !== index) })} testId={`node-message-${index}-remove`} />
            </Space>
          ))}
          <PickSelect<string>
            testId="node-message-add"
            value={null}
            showSearch
            optionFilterProp="label"
            placeholder={t("journeys.messageAdd")}
            onChange={(template) => onChange({ ...step, messages: [...messages, { template }] })}
            options={templateOptions}
            aria-label={t("journeys.messageAdd")}
            style={{ width: "100%" }}
            notFoundContent={t("journeys.noTemplates")}
          />
        </Space>
      </Field>
      <Field label={t("journeys.field.channelPolicy")} field="channel_policy" problems={problems}>
        <Select<"priority" | "all">
          value={step.channel_policy ?? "priority"}
          onChange={(channel_policy) => onChange({ ...step, channel_policy })}
          options={(["priority", "all"] as const).map((v) => ({ value: v, label: tEnum("journeys.channelPolicy", v) }))}
        />
      </Field>
      <Field label={t("templates.class")} field="class" problems={problems}>
        <PickSelect<"marketing" | "transactional">
          testId="node-class"
          value={step.class ?? "marketing"}
          onChange={(value) => onChange({ ...step, class: value, topic: value === "transactional" ? null : step.topic })}
          options={(["marketing", "transactional"] as const).map((v) => ({ value: v, label: tEnum("templateClass", v) }))}
        />
      </Field>
      {(step.class ?? "marketing") === "marketing" && (
        <Field label={t("templates.topic")} field="topic" problems={problems} extra={t("templates.topicHint")}>
          <Input className="orbit-mono" value={step.topic ?? ""} onChange={(e) => onChange({ ...step, topic: optional(e.target.value) })} placeholder="promotions" />
        </Field>
      )}
    </>
  );
}

const VALUE_KINDS: readonly ValueSource["kind"][] = ["constant", "entry_property", "now"];

function SetTraitFields({ step, onChange, problems }: Edit<Of<"set_trait">>) {
  const { t, tEnum } = useI18n();
  const value = step.value;
  return (
    <>
      <Field label={t("condition.trait")} field="trait" problems={problems}>
        <Input value={step.trait} onChange={(e) => onChange({ ...step, trait: e.target.value })} data-testid="node-trait-input" />
      </Field>
      <Field label={t("journeys.field.valueSource")} field="value" problems={problems}>
        <Select<ValueSource["kind"]>
          value={value.kind}
          onChange={(kind) => onChange({ ...step, value: kind === "constant" ? { kind, value: "" } : kind === "entry_property" ? { kind, property: "" } : { kind } })}
          options={VALUE_KINDS.map((kind) => ({ value: kind, label: tEnum("journeys.valueSource", kind) }))}
        />
      </Field>
      {value.kind === "constant" && (
        <Field label={t("journeys.field.value")} field="value.value" problems={problems} extra={t("journeys.field.valueHint")}>
          <Input
            value={typeof value.value === "string" ? value.value : JSON.stringify(value.value)}
            onChange={(e) => {
              const text = e.target.value;
              // A number, true/false or JSON is set as such; anything else as text.
              let parsed: ValueSource = { kind: "constant", value: text };
              try {
                parsed = { kind: "constant", value: JSON.parse(text) };
              } catch {
                // Plain text.
              }
              onChange({ ...step, value: parsed });
            }}
            data-testid="node-value-input"
          />
        </Field>
      )}
      {value.kind === "entry_property" && (
        <Field label={t("journeys.field.entryProperty")} field="value.property" problems={problems}>
          <Input value={value.property} onChange={(e) => onChange({ ...step, value: { kind: "entry_property", property: e.target.value } })} data-testid="node-value-property-input" />
        </Field>
      )}
    </>
  );
}

const STAFF_KINDS: readonly StaffAddress["kind"][] = ["email", "trait", "entry_property", "webhook"];

function freshAddress(kind: StaffAddress["kind"]): StaffAddress {
  switch (kind) {
    case "email":
      return { kind, address: "" };
    case "webhook":
      return { kind, url: "" };
    case "trait":
      return { kind, trait: "" };
    case "entry_property":
      return { kind, property: "" };
  }
}

function NotifyStaffFields({ step, onChange, problems, accounts }: Edit<Of<"notify_staff">>) {
  const { t, tEnum } = useI18n();
  const to = step.to;
  const text = to.kind === "email" ? to.address : to.kind === "webhook" ? to.url : to.kind === "trait" ? to.trait : to.property;
  const setText = (value: string): StaffAddress => {
    switch (to.kind) {
      case "email":
        return { kind: "email", address: value };
      case "webhook":
        return { kind: "webhook", url: value };
      case "trait":
        return { kind: "trait", trait: value };
      case "entry_property":
        return { kind: "entry_property", property: value };
    }
  };
  return (
    <>
      <Field label={t("journeys.field.to")} field="to" problems={problems}>
        <Space.Compact style={{ width: "100%" }}>
          <Select<StaffAddress["kind"]>
            value={to.kind}
            onChange={(kind) => onChange({ ...step, to: freshAddress(kind) })}
            options={STAFF_KINDS.map((kind) => ({ value: kind, label: tEnum("journeys.staffTo", kind) }))}
            style={{ width: 130 }}
          />
          <Input value={text} onChange={(e) => onChange({ ...step, to: setText(e.target.value) })} data-testid="node-to-input" />
        </Space.Compact>
      </Field>
      <Field label={t("journeys.field.subject")} field="subject" problems={problems} extra={t("templates.contentHint")}>
        <Input value={step.subject} onChange={(e) => onChange({ ...step, subject: e.target.value })} data-testid="node-subject-input" />
      </Field>
      <Field label={t("journeys.field.account")} field="account" problems={problems}>
        <AccountSelect value={step.account} onChange={(account) => onChange({ ...step, account })} accounts={accounts} testId="node-account-select" />
      </Field>
    </>
  );
}

function KindFields(props: Edit<Step>) {
  const { t } = useI18n();
  const { step, onChange, problems, segments } = props;
  const text = (label: string, field: string, value: string, set: (value: string) => Step, testId: string, placeholder?: string) => (
    <Field label={label} field={field} problems={problems}>
      <Input value={value} placeholder={placeholder} onChange={(e) => onChange(set(e.target.value))} autoComplete="off" data-testid={testId} />
    </Field>
  );
  const edit = <S extends Step>(s: S) => ({ ...props, step: s, onChange: onChange as (step: S) => void });
  switch (step.type) {
    case "wait":
      return <WaitFields {...edit(step)} />;
    case "wait_until":
      return <WaitUntilFields {...edit(step)} />;
    case "wait_for_event":
      return <WaitForEventFields {...edit(step)} />;
    case "branch":
      return <BranchFields {...edit(step)} />;
    case "split":
      return <WeightedFields paths={step.paths} onChange={(paths) => onChange({ ...step, paths })} problems={problems} field="paths" />;
    case "experiment":
      return (
        <WeightedFields
          paths={step.variants}
          onChange={(variants) => onChange({ ...step, variants })}
          problems={problems}
          field="variants"
          holdout={
            <Field label={t("journeys.field.holdout")} field="holdout_percent" problems={problems}>
              <InputNumber min={0} max={99} value={step.holdout_percent ?? 0} onChange={(n) => onChange({ ...step, holdout_percent: n ?? 0 })} addonAfter="%" data-testid="node-holdout-input" />
            </Field>
          }
        />
      );
    case "send":
      return <SendFields {...edit(step)} />;
    case "set_trait":
      return <SetTraitFields {...edit(step)} />;
    case "add_tag":
      return (
        <>
          {text(t("journeys.field.tag"), "tag", step.tag, (tag) => ({ ...step, tag }), "node-tag-input")}
          {text(t("journeys.field.tagValue"), "value", step.value, (value) => ({ ...step, value }), "node-tag-value-input")}
        </>
      );
    case "remove_tag":
      return (
        <>
          {text(t("journeys.field.tag"), "tag", step.tag, (tag) => ({ ...step, tag }), "node-tag-input")}
          {text(t("journeys.field.tagValueOptional"), "value", step.value ?? "", (value) => ({ ...step, value: optional(value) }), "node-tag-value-input")}
        </>
      );
    case "add_to_segment":
      return (
        <Field label={t("journeys.field.segment")} field="segment" problems={problems} extra={t("journeys.field.staticSegmentHint")}>
          <PickSelect<string>
            testId="node-segment-select"
            value={step.segment || undefined}
            showSearch
            optionFilterProp="label"
            onChange={(segment) => onChange({ ...step, segment })}
            options={segments.filter((s) => s.type === "static").map((s) => ({ value: s.id, label: `${s.name} · ${s.id}` }))}
          />
        </Field>
      );
    case "webhook":
      return text(t("journeys.field.url"), "url", step.url, (url) => ({ ...step, url }), "node-url-input", "https://crm.example.cn/hook");
    case "call_task":
      return (
        <Field label={t("journeys.field.purpose")} field="purpose" problems={problems} extra={t("journeys.field.purposeHint")}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 5 }} value={step.purpose} onChange={(e) => onChange({ ...step, purpose: e.target.value })} data-testid="node-purpose-input" />
        </Field>
      );
    case "notify_staff":
      return <NotifyStaffFields {...edit(step)} />;
    case "exit":
      return <Text type="secondary">{t("journeys.exitHint")}</Text>;
  }
}

/** Where each output leads, chosen from the other nodes. */
function Connections({ step, targets, onConnect, problems }: { step: Step; targets: Target[]; onConnect: (handle: string, target: string) => void; problems: JourneyProblem[] }) {
  const { t } = useI18n();
  const outs = outputs(step);
  if (outs.length === 0) return null;
  return (
    <>
      <Divider orientation="left" plain style={{ margin: "8px 0" }}>
        {t("journeys.connections")}
      </Divider>
      {outs.map((out) => {
        const label = outputLabel(out, t);
        return (
          <Field key={out.handle} label={label} field={out.handle} problems={problems}>
            <OutputSelect value={out.target} onChange={(target) => onConnect(out.handle, target)} targets={targets} testId={`node-output-${kebab(out.handle)}`} label={label} />
          </Field>
        );
      })}
    </>
  );
}

export interface NodePanelProps extends Context {
  id: string;
  step: Step;
  definition: JourneyDefinition;
  targets: Target[];
  readOnly: boolean;
  onChange: (step: Step) => void;
  onRemove: () => void;
}

export function NodePanel({ id, step, definition, targets, readOnly, onChange, onRemove, problems, templates, segments, accounts }: NodePanelProps) {
  const { t, tEnum } = useI18n();
  return (
    <Card
      size="small"
      data-testid="node-config-panel"
      title={
        <span>
          {tEnum("journeys.kind", step.type)} <Text type="secondary" className="orbit-mono">{id}</Text>
        </span>
      }
      extra={
        !readOnly && (
          <Button danger size="small" icon={<DeleteOutlined aria-hidden />} onClick={onRemove} data-testid="node-delete">
            {t("journeys.nodeDelete")}
          </Button>
        )
      }
    >
      <ProblemList problems={problems} definition={definition} />
      <Form layout="vertical" size="small" disabled={readOnly} component="div">
        <KindFields step={step} onChange={onChange} problems={problems} templates={templates} segments={segments} accounts={accounts} />
        <Connections step={step} targets={targets.filter((target) => target.id !== id)} onConnect={(handle, target) => onChange(withOutput(step, handle, target))} problems={problems} />
      </Form>
    </Card>
  );
}
