// Inputs the node and entry panels share: a select whose options carry test ids, a
// duration, a property filter (as segment conditions write one), a list of filters and
// the select that connects an output to a node.
import type { ReactNode } from "react";
import { Alert, Button, Form, Input, InputNumber, Select, Space, type SelectProps } from "antd";
import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import type { ChannelAccount, JourneyDefinition, JourneyProblem, Json, PropertyFilter, StepKind } from "../api";
import { OPS, VALUE_TYPES, operandOf, type ValueType } from "../condition";
import { useI18n } from "../i18n";
import { UNCONNECTED, within } from "./graph";
import { formatDelay, problemText } from "./summary";

/** Optional text: blank means absent. */
export function optional(text: string): string | null {
  return text.trim() === "" ? null : text;
}

/** A labelled field, outlined in red when the server pinned a problem on it. */
export function Field({ label, field, problems, children, extra }: { label: string; field: string; problems: JourneyProblem[]; children: ReactNode; extra?: string }) {
  const invalid = problems.some((problem) => within(problem, field));
  return (
    <Form.Item label={label} validateStatus={invalid ? "error" : undefined} extra={extra} style={{ marginBottom: 12 }}>
      {children}
    </Form.Item>
  );
}

/** Every problem of the selected box, in words, at the top of its panel. */
export function ProblemList({ problems, definition }: { problems: JourneyProblem[]; definition: JourneyDefinition }) {
  const { t } = useI18n();
  if (problems.length === 0) return null;
  return (
    <Alert
      type="error"
      showIcon
      style={{ marginBottom: 12 }}
      data-testid="node-config-problems"
      message={
        <ul style={{ margin: 0, paddingInlineStart: 16 }}>
          {problems.map((problem, i) => (
            <li key={i}>{problemText(problem, definition, t)}</li>
          ))}
        </ul>
      }
    />
  );
}

/** An antd select whose open options can be clicked by test id (`<testId>-option-<value>`). */
export function PickSelect<T extends string>({ testId, ...props }: SelectProps<T> & { testId: string }) {
  return (
    <Select<T>
      {...props}
      data-testid={testId}
      optionRender={(option) => <span data-testid={`${testId}-option-${String(option.value)}`}>{option.label}</span>}
    />
  );
}

/**
 * The provider account a message goes through: the workspace's accounts on `channel`
 * (every account when no channel is known yet), or none for the channel's default.
 */
export function AccountSelect({
  value,
  onChange,
  accounts,
  channel,
  testId,
  style,
}: {
  value: string | null | undefined;
  onChange: (account: string | null) => void;
  accounts: ChannelAccount[];
  channel?: string;
  testId: string;
  style?: React.CSSProperties;
}) {
  const { t, tEnum } = useI18n();
  const usable = accounts.filter((account) => channel === undefined || account.channel === channel);
  const options = usable.map((account) => ({
    value: account.id,
    label: channel === undefined ? `${account.name} · ${tEnum("channel", account.channel)}` : account.name,
  }));
  // An account named in the journey but gone (or on another channel) is still shown, so
  // the marketer sees what the server will refuse.
  if (value && !usable.some((account) => account.id === value)) options.push({ value, label: value });
  return (
    <PickSelect<string>
      testId={testId}
      value={value ?? undefined}
      allowClear
      placeholder={t("journeys.field.accountPlaceholder")}
      onChange={(account) => onChange(account ?? null)}
      options={options}
      aria-label={t("journeys.field.account")}
      style={style}
    />
  );
}

/** A length of time as the API reads it (`P1D`, `PT30M`, `2h`), with how it reads. */
export function DelayInput({ value, onChange, testId, placeholder }: { value: string; onChange: (value: string) => void; testId: string; placeholder?: string }) {
  const { t } = useI18n();
  const reads = formatDelay(value, t);
  return (
    <Input
      className="orbit-mono"
      value={value}
      placeholder={placeholder ?? "P1D"}
      onChange={(event) => onChange(event.target.value)}
      // Always a suffix: antd rebuilds the input (losing focus) when one comes or goes.
      suffix={<span className="orbit-delay-reads">{reads !== value ? reads : ""}</span>}
      autoComplete="off"
      data-testid={testId}
    />
  );
}

function defaultOperand(valueType: ValueType): Json {
  if (valueType === "number") return 0;
  if (valueType === "bool") return true;
  return "";
}

/** The filter with `op` and operands that fit it. */
function withOp(filter: PropertyFilter, valueType: ValueType, op: string): PropertyFilter {
  const base: PropertyFilter = { property: filter.property, value_type: valueType, op };
  switch (operandOf(op)) {
    case "value":
      return { ...base, value: defaultOperand(valueType) };
    case "values":
      return { ...base, values: [] };
    case "range":
      return op === "days_ago" ? { ...base, min: 0, max: 0 } : { ...base, min: defaultOperand(valueType), max: defaultOperand(valueType) };
    case "none":
      return base;
  }
}

function Operand({ valueType, value, onChange, testId }: { valueType: ValueType; value: Json | undefined; onChange: (value: Json) => void; testId: string }) {
  const { t } = useI18n();
  if (valueType === "number") {
    return <InputNumber value={typeof value === "number" ? value : null} onChange={(n) => onChange(n ?? 0)} style={{ width: 120 }} aria-label={t("journeys.filterValue")} data-testid={testId} />;
  }
  if (valueType === "bool") {
    return (
      <Select<string>
        value={String(value)}
        onChange={(v) => onChange(v === "true")}
        style={{ width: 100 }}
        aria-label={t("journeys.filterValue")}
        data-testid={testId}
        options={[
          { value: "true", label: "true" },
          { value: "false", label: "false" },
        ]}
      />
    );
  }
  return (
    <Input value={typeof value === "string" ? value : ""} onChange={(event) => onChange(event.target.value)} style={{ width: 140 }} aria-label={t("journeys.filterValue")} data-testid={testId} />
  );
}

/** One filter: a property (or trait), how its value is read, an operator and operands. */
export function FilterEditor({ value, onChange, testId, subject }: { value: PropertyFilter; onChange: (filter: PropertyFilter) => void; testId: string; subject: string }) {
  const { t, tEnum } = useI18n();
  const valueType = value.value_type;
  const operand = operandOf(value.op);
  return (
    <Space wrap size={4}>
      <Input
        value={value.property}
        placeholder={subject}
        aria-label={subject}
        onChange={(event) => onChange({ ...value, property: event.target.value })}
        style={{ width: 130 }}
        autoComplete="off"
        data-testid={`${testId}-property`}
      />
      <Select<ValueType>
        value={valueType}
        onChange={(next) => onChange(withOp(value, next, OPS[next].includes(value.op) ? value.op : OPS[next][0]))}
        aria-label={t("condition.valueType")}
        style={{ width: 100 }}
        data-testid={`${testId}-type`}
        options={VALUE_TYPES.map((v) => ({ value: v, label: tEnum("condition.valueType", v) }))}
      />
      <Select<string>
        value={value.op}
        onChange={(op) => onChange(withOp(value, valueType, op))}
        aria-label={t("condition.op")}
        style={{ width: 120 }}
        data-testid={`${testId}-op`}
        options={OPS[valueType].map((op) => ({ value: op, label: tEnum("condition.op", op) }))}
      />
      {operand === "value" && <Operand valueType={valueType} value={value.value} onChange={(v) => onChange({ ...value, value: v })} testId={`${testId}-value`} />}
      {operand === "values" && (
        <Select<string[]>
          mode="tags"
          value={(value.values ?? []).map((v) => String(v))}
          onChange={(values) => onChange({ ...value, values: valueType === "number" ? values.map((v) => (Number.isFinite(Number(v)) ? Number(v) : v)) : values })}
          style={{ minWidth: 160 }}
          aria-label={t("journeys.filterValue")}
          data-testid={`${testId}-values`}
        />
      )}
      {operand === "range" && (
        <>
          <Operand valueType={value.op === "days_ago" ? "number" : valueType} value={value.min} onChange={(v) => onChange({ ...value, min: v })} testId={`${testId}-min`} />
          <Operand valueType={value.op === "days_ago" ? "number" : valueType} value={value.max} onChange={(v) => onChange({ ...value, max: v })} testId={`${testId}-max`} />
        </>
      )}
    </Space>
  );
}

export function newFilter(): PropertyFilter {
  return { property: "", value_type: "string", op: "eq", value: "" };
}

/** Filters on an event's properties, all of which must pass. */
export function FiltersEditor({ value, onChange, testId }: { value: PropertyFilter[]; onChange: (filters: PropertyFilter[]) => void; testId: string }) {
  const { t } = useI18n();
  return (
    <Space direction="vertical" size={4} style={{ width: "100%" }}>
      {value.map((filter, i) => (
        <Space key={i} align="start" size={4}>
          <FilterEditor
            value={filter}
            subject={t("condition.property")}
            onChange={(next) => onChange(value.map((f, j) => (j === i ? next : f)))}
            testId={`${testId}-${i}`}
          />
          <Button
            icon={<DeleteOutlined aria-hidden />}
            aria-label={t("journeys.filterRemove")}
            title={t("journeys.filterRemove")}
            onClick={() => onChange(value.filter((_, j) => j !== i))}
            data-testid={`${testId}-${i}-remove`}
          />
        </Space>
      ))}
      <Button size="small" icon={<PlusOutlined aria-hidden />} onClick={() => onChange([...value, newFilter()])} data-testid={`${testId}-add`}>
        {t("journeys.filterAdd")}
      </Button>
    </Space>
  );
}

export interface Target {
  id: string;
  kind: StepKind;
}

/** Which node an output leads to; clearing it leaves the output unconnected. */
export function OutputSelect({ value, onChange, targets, testId, label }: { value: string; onChange: (target: string) => void; targets: Target[]; testId: string; label: string }) {
  const { t, tEnum } = useI18n();
  return (
    <PickSelect<string>
      testId={testId}
      aria-label={label}
      value={value === UNCONNECTED ? undefined : value}
      placeholder={t("journeys.unconnected")}
      allowClear
      showSearch
      optionFilterProp="label"
      onChange={(next) => onChange(next ?? UNCONNECTED)}
      style={{ width: "100%" }}
      options={targets.map((target) => ({ value: target.id, label: `${tEnum("journeys.kind", target.kind)} · ${target.id}` }))}
    />
  );
}
