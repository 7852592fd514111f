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

export interface TraitRow extends RowBase {
  kind: "trait";
  trait: string;
  valueType: ValueType;
  op: string;
  value: string;
  values: string[];
  min: string;
  max: string;
}

export interface EventRow extends RowBase {
  kind: "event";
  event: string;
  measure: MeasureKind;
  compare: string;
  threshold: string;
  fn: string;
  property: string;
  window: WindowKind;
  amount: string;
  unit: string;
  daysAgo: string;
  from: string;
  to: string;
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

export type Row = TraitRow | EventRow | TagRow | SegmentRow | RawRow;
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

export function newRow(kind: Exclude<RowKind, "raw">): Row {
  const base = { key: nextKey(), negate: false };
  switch (kind) {
    case "trait":
      return { ...base, kind, trait: "", valueType: "string", op: "eq", value: "", values: [], min: "", max: "" };
    case "event":
      return {
        ...base,
        kind,
        event: "",
        measure: "count",
        compare: "gte",
        threshold: "1",
        fn: "sum",
        property: "",
        window: "last",
        amount: "30",
        unit: "days",
        daysAgo: "0",
        from: "",
        to: "",
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

function parseTrait(json: Condition, negate: boolean): TraitRow | null {
  if (!onlyKeys(json, ["type", "trait", "value_type", "op", "value", "values", "min", "max"])) return null;
  const valueType = json.value_type;
  const op = json.op;
  if (typeof json.trait !== "string" || typeof valueType !== "string" || typeof op !== "string") return null;
  if (!VALUE_TYPES.includes(valueType as ValueType) || !OPS[valueType as ValueType].includes(op)) return null;
  if (json.values !== undefined && !Array.isArray(json.values)) return null;
  const values = Array.isArray(json.values) ? json.values.map((v) => text(v)) : [];
  return {
    key: nextKey(),
    negate,
    kind: "trait",
    trait: json.trait,
    valueType: valueType as ValueType,
    op,
    value: text(json.value),
    values,
    min: text(json.min),
    max: text(json.max),
  };
}

function parseEvent(json: Condition, negate: boolean): EventRow | null {
  if (!onlyKeys(json, ["type", "event", "filters", "measure", "window"])) return null;
  if (json.filters !== undefined && !(Array.isArray(json.filters) && json.filters.length === 0)) return null;
  if (json.event !== undefined && json.event !== null && typeof json.event !== "string") return null;
  const measure = json.measure;
  const window = json.window;
  if (!isObject(measure) || !isObject(window)) return null;
  const row = newRow("event") as EventRow;
  row.negate = negate;
  row.event = typeof json.event === "string" ? json.event : "";
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
  if (!WINDOWS.includes(window.kind as WindowKind)) return null;
  row.window = window.kind as WindowKind;
  const windowKeys: Record<WindowKind, string[]> = {
    ever: ["kind"],
    last: ["kind", "amount", "unit"],
    since: ["kind", "days_ago"],
    day: ["kind", "days_ago"],
    between: ["kind", "from", "to"],
  };
  if (!onlyKeys(window, windowKeys[row.window])) return null;
  if (row.window === "last") {
    row.amount = text(window.amount);
    row.unit = text(window.unit);
  }
  if (row.window === "since" || row.window === "day") row.daysAgo = text(window.days_ago);
  if (row.window === "between") {
    row.from = text(window.from);
    row.to = text(window.to);
  }
  return row;
}

function parseRow(json: Condition, negate: boolean): Row {
  let row: Row | null = null;
  if (json.type === "trait") row = parseTrait(json, negate);
  else if (json.type === "event") row = parseEvent(json, negate);
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

function traitJson(row: TraitRow): Condition {
  const json: Condition = { type: "trait", trait: row.trait.trim(), value_type: row.valueType, op: row.op };
  switch (operandOf(row.op)) {
    case "value":
      json.value = scalar(row.valueType, row.value);
      break;
    case "values":
      json.values = row.values.map((v) => scalar(row.valueType === "list" ? "string" : row.valueType, v));
      break;
    case "range":
      json.min = row.op === "days_ago" ? numberOrText(row.min) : scalar(row.valueType, row.min);
      json.max = row.op === "days_ago" ? numberOrText(row.max) : scalar(row.valueType, row.max);
      break;
    case "none":
      break;
  }
  return json;
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
  const window: Condition = { kind: row.window };
  if (row.window === "last") {
    window.amount = numberOrText(row.amount);
    window.unit = row.unit;
  }
  if (row.window === "since" || row.window === "day") window.days_ago = numberOrText(row.daysAgo);
  if (row.window === "between") {
    window.from = row.from.trim();
    window.to = row.to.trim();
  }
  const json: Condition = { type: "event" };
  if (row.event.trim() !== "") json.event = row.event.trim();
  json.measure = measure;
  json.window = window;
  return json;
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
