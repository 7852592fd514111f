// The visual condition builder: a group (all of / any of) of rows, each row one
// condition (trait, behaviour, sequence, tag, another segment), groups nested one level. Rows the
// builder cannot edit are shown as read-only JSON and kept unchanged.
import type { ReactNode } from "react";
import { Alert, Button, Card, Checkbox, Input, Select, Space, Switch, Tag, Typography } from "antd";
import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import {
  COMPARES,
  FUNCTIONS,
  MEASURES,
  OPS,
  UNITS,
  VALUE_TYPES,
  WINDOWS,
  newFilter,
  newGroup,
  newRow,
  operandOf,
  pathWithin,
  rowPaths,
  type Comparison,
  type EventRow,
  type Filter,
  type Group,
  type Item,
  type Row,
  type RowKind,
  type SequenceRow,
  type Step,
  type TraitRow,
  type ValueType,
  type WindowFields,
} from "../condition";
import { useI18n, type MessageKey } from "../i18n";
import { JsonBlock } from "./Common";

const { Text } = Typography;
const ROW_KINDS: readonly Exclude<RowKind, "raw">[] = ["trait", "event", "sequence", "tag", "segment"];

export interface BuilderProps {
  root: Group;
  onChange: (root: Group) => void;
  readOnly: boolean;
  /** Other segments a condition may name. */
  segmentIds: string[];
  /** The API's complaint about the condition: the path it names and its message. */
  error?: { path: string; message: string } | null;
  /** The kinds of row offered (all of them unless given): a tag's rule cannot name a segment. */
  kinds?: readonly Exclude<RowKind, "raw">[];
}

function replaceItem(group: Group, key: number, next: Item | null): Group {
  const items: Item[] = [];
  for (const item of group.items) {
    if (item.key === key) {
      if (next) items.push(next);
    } else if (item.kind === "group") {
      items.push(replaceItem(item, key, next));
    } else {
      items.push(item);
    }
  }
  return { ...group, items };
}

function addTo(group: Group, key: number, item: Item): Group {
  if (group.key === key) return { ...group, items: [...group.items, item] };
  return { ...group, items: group.items.map((child) => (child.kind === "group" ? addTo(child, key, item) : child)) };
}

export function ConditionBuilder({ root, onChange, readOnly, segmentIds, error, kinds = ROW_KINDS }: BuilderProps) {
  const paths = error ? rowPaths(root) : null;
  const errorOf = (key: number) => {
    if (!error || !paths) return null;
    const path = paths.get(key);
    return path !== undefined && pathWithin(error.path, path) ? error.message : null;
  };
  // Rows are numbered in the order they show, for `condition-row-<n>`.
  let rowNumber = 0;
  let groupNumber = 0;

  const change = (key: number, next: Item | null) => onChange(replaceItem(root, key, next));
  const add = (groupKey: number, item: Item) => onChange(addTo(root, groupKey, item));

  function renderGroup(group: Group, depth: number) {
    const n = depth === 0 ? null : groupNumber++;
    return (
      <GroupView
        key={group.key}
        group={group}
        depth={depth}
        testId={n === null ? "condition-root" : `condition-group-${n}`}
        readOnly={readOnly}
        sequences={kinds.includes("sequence")}
        onCombine={(combine) => (depth === 0 ? onChange({ ...root, combine }) : change(group.key, { ...group, combine }))}
        onAdd={(item) => add(group.key, item)}
        onRemove={depth === 0 ? undefined : () => change(group.key, null)}
      >
        {group.items.map((item) =>
          item.kind === "group" ? (
            renderGroup(item, depth + 1)
          ) : (
            <RowView
              key={item.key}
              row={item}
              n={rowNumber++}
              readOnly={readOnly}
              kinds={kinds}
              segmentIds={segmentIds}
              error={errorOf(item.key)}
              onChange={(next) => change(item.key, next)}
              onRemove={() => change(item.key, null)}
            />
          ),
        )}
      </GroupView>
    );
  }

  return renderGroup(root, 0);
}

function GroupView({
  group,
  depth,
  testId,
  readOnly,
  sequences,
  onCombine,
  onAdd,
  onRemove,
  children,
}: {
  group: Group;
  depth: number;
  testId: string;
  readOnly: boolean;
  /** Whether sequences may be added here. */
  sequences: boolean;
  onCombine: (combine: "and" | "or") => void;
  onAdd: (item: Item) => void;
  onRemove?: () => void;
  children: ReactNode;
}) {
  const { t } = useI18n();
  const addId = depth === 0 ? "condition-add" : `${testId}-add`;
  return (
    <div
      data-testid={testId}
      style={{
        borderLeft: `3px solid ${group.combine === "and" ? "#1677ff" : "#fa8c16"}`,
        paddingLeft: 12,
        marginBottom: 12,
      }}
    >
      <Space wrap style={{ marginBottom: 8 }}>
        <Text>{t("condition.groupMatch")}</Text>
        <Select<"and" | "or">
          value={group.combine}
          onChange={onCombine}
          disabled={readOnly}
          style={{ width: 120 }}
          aria-label={t("condition.groupMatch")}
          data-testid={`${testId}-combine`}
          options={[
            { value: "and", label: t("condition.and") },
            { value: "or", label: t("condition.or") },
          ]}
        />
        <Text type="secondary">{t("condition.groupOf")}</Text>
        {onRemove && !readOnly && (
          <Button size="small" danger icon={<DeleteOutlined aria-hidden />} onClick={onRemove} data-testid={`${testId}-remove`}>
            {t("condition.removeGroup")}
          </Button>
        )}
      </Space>
      {group.items.length === 0 && (
        <div style={{ marginBottom: 8 }}>
          <Text type="secondary">{t("condition.emptyGroup")}</Text>
        </div>
      )}
      {children}
      {!readOnly && (
        <Space wrap>
          <Button size="small" icon={<PlusOutlined aria-hidden />} onClick={() => onAdd(newRow("trait"))} data-testid={addId}>
            {t("condition.addRow")}
          </Button>
          {sequences && (
            <Button size="small" icon={<PlusOutlined aria-hidden />} onClick={() => onAdd(newRow("sequence"))} data-testid={`${addId}-sequence`}>
              {t("condition.addSequence")}
            </Button>
          )}
          {depth === 0 && (
            <Button size="small" icon={<PlusOutlined aria-hidden />} onClick={() => onAdd(newGroup(group.combine === "and" ? "or" : "and", [newRow("trait")]))} data-testid="condition-add-group">
              {t("condition.addGroup")}
            </Button>
          )}
        </Space>
      )}
    </div>
  );
}

function RowView({
  row,
  n,
  readOnly,
  kinds,
  segmentIds,
  error,
  onChange,
  onRemove,
}: {
  row: Row;
  n: number;
  readOnly: boolean;
  kinds: readonly Exclude<RowKind, "raw">[];
  segmentIds: string[];
  error: string | null;
  onChange: (row: Row) => void;
  onRemove: () => void;
}) {
  const { t } = useI18n();
  const testId = `condition-row-${n}`;
  return (
    <Card size="small" style={{ marginBottom: 8, borderColor: error ? "#ff4d4f" : undefined }} data-testid={testId}>
      <Space wrap align="start" style={{ width: "100%" }}>
        {row.kind === "raw" ? (
          <Tag color="orange">{t("condition.kind.raw")}</Tag>
        ) : (
          <Select<Exclude<RowKind, "raw">>
            value={row.kind}
            disabled={readOnly}
            style={{ width: 130 }}
            aria-label={t("condition.kind")}
            data-testid={`${testId}-kind`}
            onChange={(kind) => onChange({ ...newRow(kind), key: row.key, negate: row.negate })}
            options={kinds.map((kind) => ({ value: kind, label: t(`condition.kind.${kind}` as MessageKey) }))}
            optionRender={(option) => <span data-testid={`${testId}-kind-option-${String(option.value)}`}>{option.label}</span>}
          />
        )}
        {row.kind !== "raw" && (
          <Checkbox checked={row.negate} disabled={readOnly} onChange={(event) => onChange({ ...row, negate: event.target.checked })} data-testid={`${testId}-negate`}>
            {t("condition.negate")}
          </Checkbox>
        )}
        {row.kind === "trait" && <TraitFields row={row} readOnly={readOnly} testId={testId} onChange={onChange} />}
        {row.kind === "event" && <EventFields row={row} readOnly={readOnly} testId={testId} onChange={onChange} />}
        {row.kind === "sequence" && <SequenceHeader row={row} readOnly={readOnly} testId={testId} onChange={onChange} />}
        {row.kind === "tag" && (
          <>
            <Input
              value={row.tag}
              disabled={readOnly}
              placeholder={t("condition.tagPlaceholder")}
              aria-label={t("condition.tag")}
              style={{ width: 180 }}
              onChange={(event) => onChange({ ...row, tag: event.target.value })}
              data-testid={`${testId}-tag`}
            />
            <Select
              mode="tags"
              value={row.values}
              disabled={readOnly}
              placeholder={t("condition.tagValuesPlaceholder")}
              aria-label={t("condition.tagValues")}
              style={{ minWidth: 220 }}
              open={false}
              tokenSeparators={[",", "，"]}
              onChange={(values: string[]) => onChange({ ...row, values })}
              data-testid={`${testId}-values`}
            />
          </>
        )}
        {row.kind === "segment" && (
          <Select
            value={row.segment || undefined}
            disabled={readOnly}
            showSearch
            placeholder={t("condition.segmentPlaceholder")}
            aria-label={t("condition.kind.segment")}
            style={{ minWidth: 220 }}
            onChange={(segment: string) => onChange({ ...row, segment })}
            options={segmentIds.map((id) => ({ value: id, label: id }))}
            data-testid={`${testId}-segment`}
          />
        )}
        {!readOnly && (
          <Button danger icon={<DeleteOutlined aria-hidden />} onClick={onRemove} aria-label={t("condition.removeRow")} title={t("condition.removeRow")} data-testid={`${testId}-remove`} />
        )}
      </Space>
      {row.kind === "event" && (
        <FilterList filters={row.filters} readOnly={readOnly} testId={testId} onChange={(filters) => onChange({ ...row, filters })} />
      )}
      {row.kind === "sequence" && <SequenceSteps row={row} readOnly={readOnly} testId={testId} onChange={onChange} />}
      {error && (
        <div style={{ marginTop: 8 }}>
          <Text type="danger" role="alert" data-testid={`${testId}-error`}>
            {error}
          </Text>
        </div>
      )}
      {row.kind === "raw" && (
        <div style={{ marginTop: 8 }}>
          <Alert type="warning" showIcon message={t("condition.rawNotice")} style={{ marginBottom: 8 }} />
          <JsonBlock value={row.json} inline testId={`${testId}-json`} />
        </div>
      )}
    </Card>
  );
}

/** A value type, an op and the op's operands: a trait condition's test and a property filter's. */
function ComparisonFields({
  value,
  readOnly,
  testId,
  onChange,
}: {
  value: Comparison;
  readOnly: boolean;
  testId: string;
  onChange: (value: Comparison) => void;
}) {
  const { t } = useI18n();
  const operand = operandOf(value.op);
  const set = (change: Partial<Comparison>) => onChange({ ...value, ...change });
  const valueInput = (text: string, setText: (text: string) => void, label: string, suffix: string) =>
    value.valueType === "bool" && operand === "value" ? (
      <Select
        value={text || undefined}
        disabled={readOnly}
        style={{ width: 110 }}
        aria-label={label}
        onChange={setText}
        options={[
          { value: "true", label: t("condition.true") },
          { value: "false", label: t("condition.false") },
        ]}
        data-testid={`${testId}-${suffix}`}
      />
    ) : (
      <Input
        value={text}
        disabled={readOnly}
        placeholder={value.valueType === "datetime" && value.op !== "days_ago" ? t("condition.datePlaceholder") : label}
        aria-label={label}
        style={{ width: 160 }}
        onChange={(event) => setText(event.target.value)}
        data-testid={`${testId}-${suffix}`}
      />
    );
  return (
    <>
      <Select<ValueType>
        value={value.valueType}
        disabled={readOnly}
        style={{ width: 120 }}
        aria-label={t("condition.valueType")}
        onChange={(valueType) => set({ valueType, op: OPS[valueType].includes(value.op) ? value.op : OPS[valueType][0] })}
        options={VALUE_TYPES.map((type) => ({ value: type, label: t(`condition.valueType.${type}` as MessageKey) }))}
        data-testid={`${testId}-value-type`}
      />
      <Select<string>
        value={value.op}
        disabled={readOnly}
        style={{ width: 150 }}
        aria-label={t("condition.op")}
        onChange={(op) => set({ op })}
        options={OPS[value.valueType].map((op) => ({ value: op, label: t(`condition.op.${op}` as MessageKey) }))}
        data-testid={`${testId}-op`}
      />
      {operand === "value" && valueInput(value.value, (text) => set({ value: text }), t("condition.value"), "value")}
      {operand === "values" && (
        <Select
          mode="tags"
          value={value.values}
          disabled={readOnly}
          open={false}
          placeholder={t("condition.valuesPlaceholder")}
          aria-label={t("condition.values")}
          tokenSeparators={[",", "，"]}
          style={{ minWidth: 220 }}
          onChange={(values: string[]) => set({ values })}
          data-testid={`${testId}-values`}
        />
      )}
      {operand === "range" && (
        <>
          {valueInput(value.min, (min) => set({ min }), value.op === "days_ago" ? t("condition.minDays") : t("condition.min"), "min")}
          {valueInput(value.max, (max) => set({ max }), value.op === "days_ago" ? t("condition.maxDays") : t("condition.max"), "max")}
        </>
      )}
    </>
  );
}

function TraitFields({ row, readOnly, testId, onChange }: { row: TraitRow; readOnly: boolean; testId: string; onChange: (row: Row) => void }) {
  const { t } = useI18n();
  return (
    <>
      <Input
        value={row.trait}
        disabled={readOnly}
        placeholder={t("condition.traitPlaceholder")}
        aria-label={t("condition.trait")}
        style={{ width: 160 }}
        onChange={(event) => onChange({ ...row, trait: event.target.value })}
        data-testid={`${testId}-trait`}
      />
      <ComparisonFields value={row} readOnly={readOnly} testId={testId} onChange={(comparison) => onChange({ ...row, ...comparison })} />
    </>
  );
}

/** The property filters every counted event must pass, `<testId>-filter-<m>-…` each. */
function FilterList({
  filters,
  readOnly,
  testId,
  onChange,
}: {
  filters: Filter[];
  readOnly: boolean;
  testId: string;
  onChange: (filters: Filter[]) => void;
}) {
  const { t } = useI18n();
  const replace = (key: number, next: Filter | null) =>
    onChange(filters.flatMap((filter) => (filter.key === key ? (next ? [next] : []) : [filter])));
  return (
    <div style={{ marginTop: 8 }}>
      {filters.map((filter, m) => {
        const filterId = `${testId}-filter-${m}`;
        return (
          <Space key={filter.key} wrap style={{ marginBottom: 8 }} data-testid={filterId}>
            <Text type="secondary">{t("condition.filters")}</Text>
            <Input
              value={filter.property}
              disabled={readOnly}
              placeholder={t("condition.filterPlaceholder")}
              aria-label={t("condition.property")}
              style={{ width: 160 }}
              onChange={(event) => replace(filter.key, { ...filter, property: event.target.value })}
              data-testid={`${filterId}-property`}
            />
            <ComparisonFields value={filter} readOnly={readOnly} testId={filterId} onChange={(comparison) => replace(filter.key, { ...filter, ...comparison })} />
            {!readOnly && (
              <Button
                size="small"
                danger
                icon={<DeleteOutlined aria-hidden />}
                onClick={() => replace(filter.key, null)}
                aria-label={t("condition.removeFilter")}
                title={t("condition.removeFilter")}
                data-testid={`${filterId}-remove`}
              />
            )}
          </Space>
        );
      })}
      {!readOnly && (
        <Button size="small" type="dashed" icon={<PlusOutlined aria-hidden />} onClick={() => onChange([...filters, newFilter()])} data-testid={`${testId}-filter-add`}>
          {t("condition.addFilter")}
        </Button>
      )}
    </div>
  );
}

/** When the counted events happened: the window kind and its amount, days or times. */
function WindowControls({
  value,
  readOnly,
  testId,
  onChange,
}: {
  value: WindowFields;
  readOnly: boolean;
  testId: string;
  onChange: (change: Partial<WindowFields>) => void;
}) {
  const { t } = useI18n();
  return (
    <>
      <Select<string>
        value={value.window}
        disabled={readOnly}
        style={{ width: 150 }}
        aria-label={t("condition.window")}
        onChange={(window) => onChange({ window: window as WindowFields["window"] })}
        options={WINDOWS.map((kind) => ({ value: kind, label: t(`condition.window.${kind}` as MessageKey) }))}
        data-testid={`${testId}-window`}
      />
      {value.window === "last" && (
        <>
          <Input
            value={value.amount}
            disabled={readOnly}
            aria-label={t("condition.amount")}
            style={{ width: 80 }}
            onChange={(event) => onChange({ amount: event.target.value })}
            data-testid={`${testId}-amount`}
          />
          <Select<string>
            value={value.unit}
            disabled={readOnly}
            style={{ width: 100 }}
            aria-label={t("condition.unit")}
            onChange={(unit) => onChange({ unit })}
            options={UNITS.map((unit) => ({ value: unit, label: t(`condition.unit.${unit}` as MessageKey) }))}
            data-testid={`${testId}-unit`}
          />
        </>
      )}
      {(value.window === "since" || value.window === "day") && (
        <Input
          value={value.daysAgo}
          disabled={readOnly}
          aria-label={t("condition.daysAgo")}
          addonAfter={t("condition.daysAgo")}
          style={{ width: 150 }}
          onChange={(event) => onChange({ daysAgo: event.target.value })}
          data-testid={`${testId}-days-ago`}
        />
      )}
      {value.window === "between" && (
        <>
          <Input
            value={value.from}
            disabled={readOnly}
            aria-label={t("condition.from")}
            placeholder={t("condition.fromPlaceholder")}
            style={{ width: 210 }}
            onChange={(event) => onChange({ from: event.target.value })}
            data-testid={`${testId}-from`}
          />
          <Input
            value={value.to}
            disabled={readOnly}
            aria-label={t("condition.to")}
            placeholder={t("condition.toPlaceholder")}
            style={{ width: 210 }}
            onChange={(event) => onChange({ to: event.target.value })}
            data-testid={`${testId}-to`}
          />
        </>
      )}
    </>
  );
}

/** A sequence's within time, its "then did not happen" switch and its window, on the row's first line. */
function SequenceHeader({ row, readOnly, testId, onChange }: { row: SequenceRow; readOnly: boolean; testId: string; onChange: (row: Row) => void }) {
  const { t } = useI18n();
  const set = (change: Partial<SequenceRow>) => onChange({ ...row, ...change });
  return (
    <>
      <Text type="secondary" style={{ margin: "0 4px" }}>
        {t("condition.within")}
      </Text>
      <Input
        value={row.withinAmount}
        disabled={readOnly}
        aria-label={t("condition.withinAmount")}
        style={{ width: 80 }}
        onChange={(event) => set({ withinAmount: event.target.value })}
        data-testid={`${testId}-within-amount`}
      />
      <Select<string>
        value={row.withinUnit}
        disabled={readOnly}
        style={{ width: 100 }}
        aria-label={t("condition.withinUnit")}
        onChange={(withinUnit) => set({ withinUnit })}
        options={UNITS.map((unit) => ({ value: unit, label: t(`condition.unit.${unit}` as MessageKey) }))}
        data-testid={`${testId}-within-unit`}
      />
      <Space size={4} style={{ margin: "0 8px" }}>
        <Switch checked={row.thenNot} disabled={readOnly} aria-label={t("condition.thenNot")} onChange={(thenNot) => set({ thenNot })} data-testid={`${testId}-then-not`} />
        <Text>{t("condition.thenNot")}</Text>
      </Space>
      <Text type="secondary" style={{ marginRight: 4 }}>
        {t("condition.sequenceWindow")}
      </Text>
      <WindowControls value={row} readOnly={readOnly} testId={testId} onChange={set} />
    </>
  );
}

/** A sequence's two steps, one line each: the event and its filters. */
function SequenceSteps({ row, readOnly, testId, onChange }: { row: SequenceRow; readOnly: boolean; testId: string; onChange: (row: Row) => void }) {
  const { t } = useI18n();
  const step = (name: "first" | "then", value: Step) => (
    <div style={{ marginTop: 8, paddingLeft: 12, borderLeft: "2px solid #f0f0f0" }}>
      <Space wrap>
        <Text strong>{t(name === "first" ? "condition.sequenceFirst" : "condition.sequenceThen")}</Text>
        <Input
          value={value.event}
          disabled={readOnly}
          placeholder={t("condition.eventPlaceholder")}
          aria-label={t("condition.event")}
          style={{ width: 180 }}
          onChange={(event) => onChange({ ...row, [name]: { ...value, event: event.target.value } })}
          data-testid={`${testId}-${name}-event`}
        />
      </Space>
      <FilterList filters={value.filters} readOnly={readOnly} testId={`${testId}-${name}`} onChange={(filters) => onChange({ ...row, [name]: { ...value, filters } })} />
    </div>
  );
  return (
    <>
      {step("first", row.first)}
      {step("then", row.then)}
    </>
  );
}

function EventFields({ row, readOnly, testId, onChange }: { row: EventRow; readOnly: boolean; testId: string; onChange: (row: Row) => void }) {
  const { t } = useI18n();
  const set = (change: Partial<EventRow>) => onChange({ ...row, ...change });
  return (
    <>
      <Input
        value={row.event}
        disabled={readOnly}
        placeholder={t("condition.eventPlaceholder")}
        aria-label={t("condition.event")}
        style={{ width: 160 }}
        onChange={(event) => set({ event: event.target.value })}
        data-testid={`${testId}-event`}
      />
      <Select<string>
        value={row.measure}
        disabled={readOnly}
        style={{ width: 150 }}
        aria-label={t("condition.measure")}
        onChange={(measure) => set({ measure: measure as EventRow["measure"] })}
        options={MEASURES.map((kind) => ({ value: kind, label: t(`condition.measure.${kind}` as MessageKey) }))}
        data-testid={`${testId}-measure`}
      />
      {row.measure === "aggregate" && (
        <>
          <Select<string>
            value={row.fn}
            disabled={readOnly}
            style={{ width: 110 }}
            aria-label={t("condition.function")}
            onChange={(fn) => set({ fn })}
            options={FUNCTIONS.map((fn) => ({ value: fn, label: t(`condition.function.${fn}` as MessageKey) }))}
            data-testid={`${testId}-function`}
          />
          <Input
            value={row.property}
            disabled={readOnly}
            placeholder={t("condition.propertyPlaceholder")}
            aria-label={t("condition.property")}
            style={{ width: 140 }}
            onChange={(event) => set({ property: event.target.value })}
            data-testid={`${testId}-property`}
          />
        </>
      )}
      {(row.measure === "count" || row.measure === "aggregate") && (
        <>
          <Select<string>
            value={row.compare}
            disabled={readOnly}
            style={{ width: 110 }}
            aria-label={t("condition.compare")}
            onChange={(compare) => set({ compare })}
            options={COMPARES.map((op) => ({ value: op, label: t(`condition.op.${op}` as MessageKey) }))}
            data-testid={`${testId}-compare`}
          />
          <Input
            value={row.threshold}
            disabled={readOnly}
            aria-label={t("condition.threshold")}
            placeholder={t("condition.threshold")}
            style={{ width: 100 }}
            onChange={(event) => set({ threshold: event.target.value })}
            data-testid={`${testId}-threshold`}
          />
        </>
      )}
      <WindowControls value={row} readOnly={readOnly} testId={testId} onChange={set} />
    </>
  );
}
