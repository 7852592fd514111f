// The condition builder's model (docs/audiences.md): a group (all of / any of) of rows,
// one level of nested groups, and the JSON the API takes. Whatever the builder cannot
// edit is kept as a `raw` row, unchanged, so nothing loaded is ever dropped.
import type { Condition, Json } from "./api";

export type ValueType = "string" | "number" | "bool" | "datetime" | "list";
export const VALUE_TYPES: readonly ValueType[] = ["string", "number", "bool", "datetime", "list"];

export const OPS: Record<ValueType, readonly string[]> = {
  string: ["eq", "ne", "in", "not_in", "contains", "is_set", "is_not_set"],
  number: ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_set", "is_not_set"],
  bool: ["eq", "ne", "is_set", "is_not_set"],
  datetime: ["eq", "ne", "gt", "gte", "lt", "lte", "between", "anniversary_today", "days_ago", "is_set", "is_not_set"],
  list: ["contains", "in", "not_in", "is_set", "is_not_set"],
};

/** What operands an op takes. */
export function operandOf(op: string): "none" | "value" | "values" | "range" {
  if (op === "is_set" || op === "is_not_set" || op === "anniversary_today") return "none";
  if (op === "in" || op === "not_in") return "values";
  if (op === "between" || op === "days_ago") return "range";
  return "value";
}

export const MEASURES = ["did", "did_not", "count", "aggregate", "first_time", "last_time"] as const;
export type MeasureKind = (typeof MEASURES)[number];
export const COMPARES = ["eq", "ne", "gt", "gte", "lt", "lte"] as const;
export const FUNCTIONS = ["sum", "min", "max", "avg"] as const;
export const WINDOWS = ["ever", "last", "since", "day", "between"] as const;
export type WindowKind = (typeof WINDOWS)[number];
export const UNITS = ["minutes", "hours", "days"] as const;

interface RowBase {
  key: number;
  /** Wrapped in `{"type": "not"}`. */
  negate: boolean;
}

/** One value test, as trait conditions and event property filters share it. */
export interface Comparison {
  valueType: ValueType;
  op: string;
  value: string;
  values: string[];
  min: string;
  max: string;
}

export interface TraitRow extends RowBase, Comparison {
  kind: "trait";
  trait: string;
}

/** A test on an event's property. */
export interface Filter extends Comparison {
  key: number;
  property: string;
}

/** The events an event row or a sequence step looks at: a name (empty for any event) and filters. */
export interface Step {
  event: string;
  filters: Filter[];
  /**
   * Whether the loaded JSON wrote out `"event": null` and `"filters": []` (the server
   * writes its defaults out): kept so an unchanged condition goes back exactly as it came.
   */
  eventNull: boolean;
  filtersListed: boolean;
}

/** When the events counted happened: an event row's and a sequence's window. */
export interface WindowFields {
  window: WindowKind;
  amount: string;
  unit: string;
  daysAgo: string;
  from: string;
  to: string;
}

export interface EventRow extends RowBase, Step, WindowFields {
  kind: "event";
  measure: MeasureKind;
  compare: string;
  threshold: string;
  fn: string;
  property: string;
}


export interface SequenceRow extends RowBase, WindowFields {
  kind: "sequence";
  first: Step;
  then: Step;
  withinAmount: string;
  withinUnit: string;
  thenNot: boolean;
}

export interface TagRow extends RowBase {
  kind: "tag";
  tag: string;
  values: string[];
}

export interface SegmentRow extends RowBase {
  kind: "segment";
  segment: string;
}

/** A condition the builder does not edit: kept and sent as it was loaded. */
export interface RawRow extends RowBase {
  kind: "raw";
  json: Condition;
}

export type Row = TraitRow | EventRow | SequenceRow | TagRow | SegmentRow | RawRow;
export type RowKind = Row["kind"];

export interface Group {
  kind: "group";
  key: number;
  combine: "and" | "or";
  items: Item[];
}

export type Item = Row | Group;

let counter = 0;
export function nextKey(): number {
  counter += 1;
  return counter;
}

function newComparison(): Comparison {
  return { valueType: "string", op: "eq", value: "", values: [], min: "", max: "" };
}

export function newFilter(): Filter {
  return { key: nextKey(), property: "", ...newComparison() };
}

function newStep(): Step {
  return { event: "", filters: [], eventNull: false, filtersListed: false };
}

function newWindow(): WindowFields {
  return { window: "last", amount: "30", unit: "days", daysAgo: "0", from: "", to: "" };
}

export function newRow(kind: Exclude<RowKind, "raw">): Row {
  const base = { key: nextKey(), negate: false };
  switch (kind) {
    case "trait":
      return { ...base, kind, trait: "", ...newComparison() };
    case "event":
      return {
        ...base,
        kind,
        ...newStep(),
        measure: "count",
        compare: "gte",
        threshold: "1",
        fn: "sum",
        property: "",
        ...newWindow(),
      };
    case "sequence":
      return {
        ...base,
        kind,
        first: newStep(),
        then: newStep(),
        withinAmount: "1",
        withinUnit: "days",
        thenNot: false,
        ...newWindow(),
      };
    case "tag":
      return { ...base, kind, tag: "", values: [] };
    case "segment":
      return { ...base, kind, segment: "" };
  }
}

export function newGroup(combine: "and" | "or" = "and", items: Item[] = []): Group {
  return { kind: "group", key: nextKey(), combine, items };
}

// ---- JSON → model ----

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value);
}

function text(value: Json | undefined): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function onlyKeys(object: { [key: string]: Json }, allowed: readonly string[]): boolean {
  return Object.keys(object).every((key) => allowed.includes(key));
}

/** The value test of a trait condition or a filter, or null when the builder cannot show it. */
function parseComparison(json: Condition): Comparison | null {
  const valueType = json.value_type;
  const op = json.op;
  if (typeof valueType !== "string" || typeof op !== "string") return null;
  if (!VALUE_TYPES.includes(valueType as ValueType) || !OPS[valueType as ValueType].includes(op)) return null;
  if (json.values !== undefined && !Array.isArray(json.values)) return null;
  const values = Array.isArray(json.values) ? json.values.map((v) => text(v)) : [];
  return { valueType: valueType as ValueType, op, value: text(json.value), values, min: text(json.min), max: text(json.max) };
}

const COMPARISON_KEYS = ["value_type", "op", "value", "values", "min", "max"];

function parseTrait(json: Condition, negate: boolean): TraitRow | null {
  if (!onlyKeys(json, ["type", "trait", ...COMPARISON_KEYS])) return null;
  if (typeof json.trait !== "string") return null;
  const comparison = parseComparison(json);
  if (!comparison) return null;
  return { key: nextKey(), negate, kind: "trait", trait: json.trait, ...comparison };
}

function parseFilters(json: Json | undefined): Filter[] | null {
  if (json === undefined) return [];
  if (!Array.isArray(json)) return null;
  const filters: Filter[] = [];
  for (const item of json) {
    if (!isObject(item) || !onlyKeys(item, ["property", ...COMPARISON_KEYS]) || typeof item.property !== "string") return null;
    const comparison = parseComparison(item);
    if (!comparison) return null;
    filters.push({ key: nextKey(), property: item.property, ...comparison });
  }
  return filters;
}

/** An event name and its filters, from an event condition or a sequence step. */
function parseStep(json: { [key: string]: Json }): Step | null {
  if (json.event !== undefined && json.event !== null && typeof json.event !== "string") return null;
  const filters = parseFilters(json.filters);
  if (!filters) return null;
  return {
    event: typeof json.event === "string" ? json.event : "",
    filters,
    eventNull: json.event === null,
    filtersListed: json.filters !== undefined,
  };
}

function parseWindow(window: Json | undefined): WindowFields | null {
  if (!isObject(window) || !WINDOWS.includes(window.kind as WindowKind)) return null;
  const fields = newWindow();
  fields.window = window.kind as WindowKind;
  const windowKeys: Record<WindowKind, string[]> = {
    ever: ["kind"],
    last: ["kind", "amount", "unit"],
    since: ["kind", "days_ago"],
    day: ["kind", "days_ago"],
    between: ["kind", "from", "to"],
  };
  if (!onlyKeys(window, windowKeys[fields.window])) return null;
  if (fields.window === "last") {
    fields.amount = text(window.amount);
    fields.unit = text(window.unit);
  }
  if (fields.window === "since" || fields.window === "day") fields.daysAgo = text(window.days_ago);
  if (fields.window === "between") {
    fields.from = text(window.from);
    fields.to = text(window.to);
  }
  return fields;
}

function parseEvent(json: Condition, negate: boolean): EventRow | null {
  if (!onlyKeys(json, ["type", "event", "filters", "measure", "window"])) return null;
  const step = parseStep(json);
  const measure = json.measure;
  const window = parseWindow(json.window);
  if (!step || !isObject(measure) || !window) return null;
  const row = newRow("event") as EventRow;
  Object.assign(row, window, step);
  row.negate = negate;
  if (!MEASURES.includes(measure.kind as MeasureKind)) return null;
  row.measure = measure.kind as MeasureKind;
  if (row.measure === "count" || row.measure === "aggregate") {
    if (typeof measure.compare !== "string") return null;
    row.compare = measure.compare;
    row.threshold = text(measure.value);
  }
  if (row.measure === "aggregate") {
    row.fn = text(measure.function);
    row.property = text(measure.property);
  }
  const measureKeys: Record<MeasureKind, string[]> = {
    did: ["kind"],
    did_not: ["kind"],
    first_time: ["kind"],
    last_time: ["kind"],
    count: ["kind", "compare", "value"],
    aggregate: ["kind", "compare", "value", "function", "property"],
  };
  if (!onlyKeys(measure, measureKeys[row.measure])) return null;
  return row;
}

function parseSequence(json: Condition, negate: boolean): SequenceRow | null {
  if (!onlyKeys(json, ["type", "first", "then", "within", "then_not", "window"])) return null;
  const { first, then, within } = json;
  if (!isObject(first) || !isObject(then) || !isObject(within)) return null;
  if (!onlyKeys(first, ["event", "filters"]) || !onlyKeys(then, ["event", "filters"]) || !onlyKeys(within, ["amount", "unit"])) return null;
  // An absent `then_not` would come back as `false`: not the same JSON, so it stays raw.
  if (typeof json.then_not !== "boolean") return null;
  const firstStep = parseStep(first);
  const thenStep = parseStep(then);
  const window = parseWindow(json.window);
  if (!firstStep || !thenStep || !window) return null;
  return {
    key: nextKey(),
    negate,
    kind: "sequence",
    first: firstStep,
    then: thenStep,
    withinAmount: text(within.amount),
    withinUnit: text(within.unit),
    thenNot: json.then_not,
    ...window,
  };
}

function parseRow(json: Condition, negate: boolean): Row {
  let row: Row | null = null;
  if (json.type === "trait") row = parseTrait(json, negate);
  else if (json.type === "event") row = parseEvent(json, negate);
  else if (json.type === "sequence") row = parseSequence(json, negate);
  else if (json.type === "tag" && typeof json.tag === "string" && onlyKeys(json, ["type", "tag", "values"])) {
    if (json.values === undefined || json.values === null || Array.isArray(json.values)) {
      row = { key: nextKey(), negate, kind: "tag", tag: json.tag, values: Array.isArray(json.values) ? json.values.map((v) => text(v)) : [] };
    }
  } else if (json.type === "segment" && typeof json.segment === "string" && onlyKeys(json, ["type", "segment"])) {
    row = { key: nextKey(), negate, kind: "segment", segment: json.segment };
  } else if (json.type === "not" && isObject(json.condition) && !negate && onlyKeys(json, ["type", "condition"])) {
    const inner = json.condition;
    if (inner.type !== "and" && inner.type !== "or" && inner.type !== "not") {
      const parsed = parseRow(inner, true);
      if (parsed.kind !== "raw") row = parsed;
    }
  }
  if (row) return row;
  return { key: nextKey(), negate: false, kind: "raw", json: negate ? { type: "not", condition: json } : json };
}

function isCombinator(json: Condition): json is Condition & { conditions: Json[] } {
  return (
    (json.type === "and" || json.type === "or") &&
    Array.isArray(json.conditions) &&
    onlyKeys(json, ["type", "conditions"]) &&
    json.conditions.every((item) => isObject(item))
  );
}

function parseItems(conditions: Json[], depth: number): Item[] {
  return conditions.map((item) => {
    const json = item as Condition;
    if (depth === 0 && isCombinator(json)) {
      return newGroup(json.type as "and" | "or", parseItems(json.conditions, depth + 1));
    }
    return parseRow(json, false);
  });
}

/** A loaded condition as the builder's root group. */
export function parseCondition(json: Condition | null | undefined): Group {
  if (!json) return newGroup("and");
  if (isCombinator(json)) return newGroup(json.type as "and" | "or", parseItems(json.conditions, 0));
  return newGroup("and", parseItems([json], 0));
}

// ---- model → JSON ----

/** A number when the text is one; otherwise the text, for the API to refuse with its message. */
function numberOrText(value: string): Json {
  const trimmed = value.trim();
  if (trimmed !== "" && Number.isFinite(Number(trimmed))) return Number(trimmed);
  return trimmed;
}

function scalar(valueType: ValueType, value: string): Json {
  if (valueType === "number") return numberOrText(value);
  if (valueType === "bool") return value === "true" ? true : value === "false" ? false : value;
  return value;
}

/** The value test's JSON fields (`value_type`, `op` and its operands), added to `json`. */
function comparisonJson(comparison: Comparison, json: Condition): Condition {
  json.value_type = comparison.valueType;
  json.op = comparison.op;
  switch (operandOf(comparison.op)) {
    case "value":
      json.value = scalar(comparison.valueType, comparison.value);
      break;
    case "values":
      json.values = comparison.values.map((v) => scalar(comparison.valueType === "list" ? "string" : comparison.valueType, v));
      break;
    case "range":
      json.min = comparison.op === "days_ago" ? numberOrText(comparison.min) : scalar(comparison.valueType, comparison.min);
      json.max = comparison.op === "days_ago" ? numberOrText(comparison.max) : scalar(comparison.valueType, comparison.max);
      break;
    case "none":
      break;
  }
  return json;
}

function traitJson(row: TraitRow): Condition {
  return comparisonJson(row, { type: "trait", trait: row.trait.trim() });
}

/** `event` (left out for any event) and `filters` (left out when there are none), added to `json`. */
function stepJson(step: Step, json: Condition): Condition {
  if (step.event.trim() !== "") json.event = step.event.trim();
  else if (step.eventNull) json.event = null;
  if (step.filters.length > 0 || step.filtersListed) {
    json.filters = step.filters.map((filter) => comparisonJson(filter, { property: filter.property.trim() }));
  }
  return json;
}

function windowJson(fields: WindowFields): Condition {
  const window: Condition = { kind: fields.window };
  if (fields.window === "last") {
    window.amount = numberOrText(fields.amount);
    window.unit = fields.unit;
  }
  if (fields.window === "since" || fields.window === "day") window.days_ago = numberOrText(fields.daysAgo);
  if (fields.window === "between") {
    window.from = fields.from.trim();
    window.to = fields.to.trim();
  }
  return window;
}

function eventJson(row: EventRow): Condition {
  const measure: Condition = { kind: row.measure };
  if (row.measure === "aggregate") {
    measure.function = row.fn;
    measure.property = row.property.trim();
  }
  if (row.measure === "count" || row.measure === "aggregate") {
    measure.compare = row.compare;
    measure.value = numberOrText(row.threshold);
  }
  const json = stepJson(row, { type: "event" });
  json.measure = measure;
  json.window = windowJson(row);
  return json;
}

function sequenceJson(row: SequenceRow): Condition {
  return {
    type: "sequence",
    first: stepJson(row.first, {}),
    then: stepJson(row.then, {}),
    within: { amount: numberOrText(row.withinAmount), unit: row.withinUnit },
    then_not: row.thenNot,
    window: windowJson(row),
  };
}

function rowJson(row: Row): Condition {
  let json: Condition;
  switch (row.kind) {
    case "raw":
      return row.json;
    case "trait":
      json = traitJson(row);
      break;
    case "event":
      json = eventJson(row);
      break;
    case "sequence":
      json = sequenceJson(row);
      break;
    case "tag":
      json = { type: "tag", tag: row.tag.trim() };
      if (row.values.length > 0) json.values = [...row.values];
      break;
    case "segment":
      json = { type: "segment", segment: row.segment };
      break;
  }
  return row.negate ? { type: "not", condition: json } : json;
}

function itemJson(item: Item): Condition | null {
  if (item.kind !== "group") return rowJson(item);
  const parts = item.items.map(itemJson).filter((part): part is Condition => part !== null);
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0];
  return { type: item.combine, conditions: parts };
}

/** The condition the builder shows, or null while it holds nothing. */
export function toCondition(root: Group): Condition | null {
  return itemJson(root);
}

/** Whether some part of the tree is kept read-only. */
export function hasRaw(group: Group): boolean {
  return group.items.some((item) => (item.kind === "group" ? hasRaw(item) : item.kind === "raw"));
}

/** Each row's path in the JSON `toCondition` makes (`conditions[1].conditions[0]`), to find the row an API error names. */
export function rowPaths(root: Group): Map<number, string> {
  const paths = new Map<number, string>();
  function walk(item: Item, path: string) {
    if (item.kind !== "group") {
      paths.set(item.key, path);
      return;
    }
    const parts = item.items.filter((child) => itemJson(child) !== null);
    parts.forEach((child, i) => walk(child, parts.length === 1 ? path : `${path ? `${path}.` : ""}conditions[${i}]`));
  }
  walk(root, "");
  return paths;
}

/** An API error's field as a path inside the condition (`condition.` taken off). */
export function conditionPath(field: string | null | undefined): string | null {
  if (!field) return null;
  if (field === "condition") return "";
  if (field.startsWith("condition.")) return field.slice("condition.".length);
  return field;
}

/** Whether an error at `errorPath` lies in the row at `rowPath`. */
export function pathWithin(errorPath: string, rowPath: string): boolean {
  if (rowPath === "") return true;
  return errorPath === rowPath || errorPath.startsWith(`${rowPath}.`) || errorPath.startsWith(`${rowPath}[`);
}
