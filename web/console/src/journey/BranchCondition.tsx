// A branch path's condition: a property of the event that ended the last wait or of the
// entry event, a trait of the person, how often they did something since entering, or
// any other condition as JSON (and / or / not, tags, segments, behaviour), kept as written.
import { useState } from "react";
import { Alert, Input, InputNumber, Select, Space } from "antd";
import type { Condition, JourneyCondition, PropertyFilter } from "../api";
import { COMPARES } from "../condition";
import { useI18n, type MessageKey } from "../i18n";
import { FilterEditor, PickSelect, newFilter } from "./fields";

type Kind = "wait_event" | "entry_event" | "trait" | "since_entry" | "json";
const KINDS: readonly Kind[] = ["wait_event", "entry_event", "trait", "since_entry", "json"];
const KIND_KEYS: Record<Kind, MessageKey> = {
  wait_event: "journeys.condition.waitEvent",
  entry_event: "journeys.condition.entryEvent",
  trait: "journeys.condition.trait",
  since_entry: "journeys.condition.sinceEntry",
  json: "journeys.condition.json",
};

function isTrait(condition: Condition): boolean {
  return condition.type === "trait" && typeof condition.trait === "string" && typeof condition.value_type === "string" && typeof condition.op === "string";
}

function kindOf(condition: JourneyCondition): Kind {
  if (condition.type === "wait_event" || condition.type === "entry_event" || condition.type === "since_entry") return condition.type;
  if (condition.type === "profile" && isTrait(condition.condition)) return "trait";
  return "json";
}

/** A trait condition read as a filter on the trait, and back. */
function traitFilter(condition: Condition): PropertyFilter {
  const { trait, type: _type, ...test } = condition as Condition & { trait: string };
  return { ...(test as unknown as PropertyFilter), property: trait };
}

function traitCondition(filter: PropertyFilter): JourneyCondition {
  const { property, ...test } = filter;
  return { type: "profile", condition: { type: "trait", trait: property, ...(test as unknown as Condition) } };
}

function fresh(kind: Kind, current: JourneyCondition): JourneyCondition {
  switch (kind) {
    case "wait_event":
    case "entry_event":
      return { type: kind, filter: newFilter() };
    case "trait":
      return traitCondition(newFilter());
    case "since_entry":
      return { type: kind, event: "", filters: [], compare: "gte", count: 1 };
    case "json":
      return current;
  }
}

function JsonCondition({ value, onChange, testId }: { value: JourneyCondition; onChange: (c: JourneyCondition) => void; testId: string }) {
  const { t } = useI18n();
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  function edit(next: string) {
    setText(next);
    try {
      const parsed = JSON.parse(next) as unknown;
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(t("templates.jsonObjectRequired"));
      setError(null);
      onChange(parsed as JourneyCondition);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  }
  return (
    <Space direction="vertical" style={{ width: "100%" }} size={4}>
      <Input.TextArea className="orbit-mono" autoSize={{ minRows: 3, maxRows: 12 }} value={text} onChange={(event) => edit(event.target.value)} aria-label={t("journeys.condition.json")} data-testid={testId} />
      {error && <Alert type="error" showIcon message={t("templates.jsonInvalid", { message: error })} />}
    </Space>
  );
}

export function BranchCondition({ value, onChange, testId }: { value: JourneyCondition; onChange: (c: JourneyCondition) => void; testId: string }) {
  const { t, tEnum } = useI18n();
  const kind = kindOf(value);
  return (
    <Space direction="vertical" size={4} style={{ width: "100%" }}>
      <PickSelect<Kind>
        testId={`${testId}-kind`}
        value={kind}
        aria-label={t("journeys.condition.kind")}
        onChange={(next) => onChange(fresh(next, value))}
        style={{ width: "100%" }}
        options={KINDS.map((k) => ({ value: k, label: t(KIND_KEYS[k]) }))}
      />
      {(value.type === "wait_event" || value.type === "entry_event") && (
        <FilterEditor value={value.filter} subject={t("condition.property")} onChange={(filter) => onChange({ type: value.type, filter })} testId={testId} />
      )}
      {kind === "trait" && value.type === "profile" && (
        <FilterEditor value={traitFilter(value.condition)} subject={t("condition.trait")} onChange={(filter) => onChange(traitCondition(filter))} testId={testId} />
      )}
      {value.type === "since_entry" && (
        <Space wrap size={4}>
          <Input
            value={value.event}
            placeholder={t("journeys.field.event")}
            aria-label={t("journeys.field.event")}
            onChange={(event) => onChange({ ...value, event: event.target.value })}
            style={{ width: 150 }}
            data-testid={`${testId}-event`}
          />
          <Select<string>
            value={value.compare}
            onChange={(compare) => onChange({ ...value, compare })}
            aria-label={t("condition.compare")}
            style={{ width: 110 }}
            options={COMPARES.map((c) => ({ value: c, label: tEnum("condition.op", c) }))}
          />
          <InputNumber min={0} precision={0} value={value.count} onChange={(count) => onChange({ ...value, count: count ?? 0 })} aria-label={t("journeys.field.count")} data-testid={`${testId}-count`} />
        </Space>
      )}
      {kind === "json" && <JsonCondition value={value} onChange={onChange} testId={`${testId}-json`} />}
    </Space>
  );
}
