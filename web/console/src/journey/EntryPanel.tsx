// The entry's settings: how people enter (an event, a count of events, a segment, a
// date, a schedule or an API call), whether they may enter again, caps on entries, the
// goal that takes them out as converted, and the first node.
import { Card, Divider, Form, Input, InputNumber, Select, Space, Typography } from "antd";
import type { EntryKind, JourneyDefinition, JourneyEntry, JourneyProblem, Reentry, Segment } from "../api";
import { useI18n } from "../i18n";
import { DelayInput, Field, FiltersEditor, OutputSelect, PickSelect, ProblemList, optional, type Target } from "./fields";

const { Text } = Typography;

const ENTRY_KINDS: readonly EntryKind[] = ["event", "event_count", "segment", "date", "schedule", "api"];

function freshEntry(kind: EntryKind): JourneyEntry {
  switch (kind) {
    case "event":
      return { type: kind, event: "", filters: [] };
    case "event_count":
      return { type: kind, event: "", filters: [], threshold: 1 };
    case "segment":
      return { type: kind, segment: "", on: "entered" };
    case "date":
      return { type: kind, from: { kind: "trait", trait: "" }, repeat: "anniversary", time_of_day: "09:00" };
    case "schedule":
      return { type: kind, segment: "", cron: "0 10 * * *" };
    case "api":
      return { type: kind };
  }
}

function SegmentPick({ value, onChange, segments, testId }: { value: string; onChange: (segment: string) => void; segments: Segment[]; testId: string }) {
  return (
    <PickSelect<string>
      testId={testId}
      value={value || undefined}
      showSearch
      optionFilterProp="label"
      onChange={onChange}
      options={segments.map((segment) => ({ value: segment.id, label: `${segment.name} · ${segment.id}` }))}
    />
  );
}

function EntryFields({ entry, onChange, problems, segments }: { entry: JourneyEntry; onChange: (entry: JourneyEntry) => void; problems: JourneyProblem[]; segments: Segment[] }) {
  const { t, tEnum } = useI18n();
  switch (entry.type) {
    case "event":
      return (
        <>
          <Field label={t("journeys.field.event")} field="entry.event" problems={problems}>
            <Input value={entry.event} onChange={(e) => onChange({ ...entry, event: e.target.value })} placeholder="test_drive_booked" autoComplete="off" data-testid="entry-event-input" />
          </Field>
          <Field label={t("journeys.field.filters")} field="entry.filters" problems={problems}>
            <FiltersEditor value={entry.filters ?? []} onChange={(filters) => onChange({ ...entry, filters })} testId="entry-filter" />
          </Field>
          <Field label={t("journeys.field.entryKey")} field="entry.key" problems={problems} extra={t("journeys.field.entryKeyHint")}>
            <Input value={entry.key ?? ""} onChange={(e) => onChange({ ...entry, key: optional(e.target.value) })} placeholder="booking_id" data-testid="entry-key-input" />
          </Field>
        </>
      );
    case "event_count":
      return (
        <>
          <Field label={t("journeys.field.event")} field="entry.event" problems={problems}>
            <Input value={entry.event} onChange={(e) => onChange({ ...entry, event: e.target.value })} autoComplete="off" data-testid="entry-event-input" />
          </Field>
          <Field label={t("journeys.field.threshold")} field="entry.threshold" problems={problems}>
            <InputNumber min={1} precision={0} value={entry.threshold} onChange={(n) => onChange({ ...entry, threshold: n ?? 1 })} data-testid="entry-threshold-input" />
          </Field>
          <Field label={t("journeys.field.perProperty")} field="entry.per_property" problems={problems}>
            <Input value={entry.per_property ?? ""} onChange={(e) => onChange({ ...entry, per_property: optional(e.target.value) })} placeholder="product_id" />
          </Field>
          <Field label={t("journeys.field.filters")} field="entry.filters" problems={problems}>
            <FiltersEditor value={entry.filters ?? []} onChange={(filters) => onChange({ ...entry, filters })} testId="entry-filter" />
          </Field>
        </>
      );
    case "segment":
      return (
        <>
          <Field label={t("journeys.field.segment")} field="entry.segment" problems={problems}>
            <SegmentPick value={entry.segment} onChange={(segment) => onChange({ ...entry, segment })} segments={segments} testId="entry-segment-select" />
          </Field>
          <Field label={t("journeys.field.segmentChange")} field="entry.on" problems={problems}>
            <Select<"entered" | "exited">
              value={entry.on}
              onChange={(on) => onChange({ ...entry, on })}
              options={(["entered", "exited"] as const).map((v) => ({ value: v, label: tEnum("journeys.segmentChange", v) }))}
            />
          </Field>
        </>
      );
    case "date":
      return (
        <>
          <Field label={t("journeys.field.dateFrom")} field="entry.from" problems={problems}>
            <Space.Compact style={{ width: "100%" }}>
              <Select<"trait" | "event">
                value={entry.from.kind}
                onChange={(kind) => onChange({ ...entry, from: kind === "trait" ? { kind, trait: "" } : { kind, event: "", filters: [] }, repeat: kind === "event" ? "after" : entry.repeat })}
                options={(["trait", "event"] as const).map((v) => ({ value: v, label: tEnum("journeys.dateFrom", v) }))}
                style={{ width: 120 }}
              />
              <Input
                value={entry.from.kind === "trait" ? entry.from.trait : entry.from.event}
                placeholder={entry.from.kind === "trait" ? "birthday" : "order_paid"}
                onChange={(e) => onChange({ ...entry, from: entry.from.kind === "trait" ? { kind: "trait", trait: e.target.value } : { ...entry.from, event: e.target.value } })}
                data-testid="entry-date-from-input"
              />
            </Space.Compact>
          </Field>
          <Field label={t("journeys.field.repeat")} field="entry.repeat" problems={problems}>
            <Select<"anniversary" | "after">
              value={entry.repeat}
              onChange={(repeat) => onChange({ ...entry, repeat, offset: repeat === "anniversary" ? null : (entry.offset ?? "P1Y") })}
              options={(["anniversary", "after"] as const).map((v) => ({ value: v, label: tEnum("journeys.repeat", v) }))}
            />
          </Field>
          {entry.repeat === "after" && (
            <Field label={t("journeys.field.offset")} field="entry.offset" problems={problems}>
              <DelayInput value={entry.offset ?? ""} placeholder="P1Y" onChange={(offset) => onChange({ ...entry, offset: optional(offset) })} testId="entry-offset-input" />
            </Field>
          )}
          <Field label={t("journeys.field.time")} field="entry.time_of_day" problems={problems}>
            <Input value={entry.time_of_day} onChange={(e) => onChange({ ...entry, time_of_day: e.target.value })} placeholder="09:00" style={{ width: 100 }} />
          </Field>
          <Field label={t("journeys.field.latenessLimit")} field="entry.lateness_limit" problems={problems} extra={t("journeys.field.latenessHint")}>
            <DelayInput value={entry.lateness_limit ?? ""} placeholder="PT6H" onChange={(text) => onChange({ ...entry, lateness_limit: optional(text) })} testId="entry-lateness-input" />
          </Field>
        </>
      );
    case "schedule":
      return (
        <>
          <Field label={t("journeys.field.segment")} field="entry.segment" problems={problems}>
            <SegmentPick value={entry.segment} onChange={(segment) => onChange({ ...entry, segment })} segments={segments} testId="entry-segment-select" />
          </Field>
          <Field label={t("journeys.field.cron")} field="entry.cron" problems={problems} extra={t("journeys.field.cronHint")}>
            <Input className="orbit-mono" value={entry.cron} onChange={(e) => onChange({ ...entry, cron: e.target.value })} />
          </Field>
          <Field label={t("journeys.field.timeZone")} field="entry.time_zone" problems={problems}>
            <Input value={entry.time_zone ?? ""} placeholder="Asia/Shanghai" onChange={(e) => onChange({ ...entry, time_zone: optional(e.target.value) })} />
          </Field>
        </>
      );
    case "api":
      return <Text type="secondary">{t("journeys.entry.apiHint")}</Text>;
  }
}

const REENTRY_KINDS: readonly Reentry["kind"][] = ["once", "once_per", "always"];

export interface EntryPanelProps {
  definition: JourneyDefinition;
  problems: JourneyProblem[];
  segments: Segment[];
  targets: Target[];
  readOnly: boolean;
  onEntry: (entry: JourneyEntry) => void;
  onJourney: (change: Partial<Pick<JourneyDefinition, "reentry" | "limits" | "goal">>) => void;
  onStart: (target: string) => void;
}

export function EntryPanel({ definition, problems, segments, targets, readOnly, onEntry, onJourney, onStart }: EntryPanelProps) {
  const { t, tEnum } = useI18n();
  const entry = definition.entry;
  const reentry = definition.reentry ?? { kind: "once" };
  const limits = definition.limits ?? {};
  return (
    <Card size="small" data-testid="node-config-panel" title={t("journeys.entry.title")}>
      <ProblemList problems={problems} definition={definition} />
      <Form layout="vertical" size="small" disabled={readOnly} component="div">
        <Field label={t("journeys.field.entryKind")} field="entry.type" problems={problems}>
          <PickSelect<EntryKind>
            testId="entry-kind"
            value={entry.type}
            onChange={(kind) => onEntry(freshEntry(kind))}
            options={ENTRY_KINDS.map((kind) => ({ value: kind, label: tEnum("journeys.entryKind", kind) }))}
          />
        </Field>
        <EntryFields entry={entry} onChange={onEntry} problems={problems} segments={segments} />
        <Divider orientation="left" plain style={{ margin: "8px 0" }}>
          {t("journeys.rules")}
        </Divider>
        <Field label={t("journeys.field.reentry")} field="reentry" problems={problems}>
          <Space.Compact style={{ width: "100%" }}>
            <Select<Reentry["kind"]>
              value={reentry.kind}
              onChange={(kind) => onJourney({ reentry: kind === "once_per" ? { kind, period: "P30D" } : { kind } })}
              options={REENTRY_KINDS.map((kind) => ({ value: kind, label: tEnum("journeys.reentry", kind) }))}
              style={{ width: reentry.kind === "once_per" ? 140 : "100%" }}
              data-testid="entry-reentry"
            />
            {reentry.kind === "once_per" && <DelayInput value={reentry.period} onChange={(period) => onJourney({ reentry: { kind: "once_per", period } })} testId="entry-reentry-period" />}
          </Space.Compact>
        </Field>
        <Space>
          <Field label={t("journeys.field.perPerson")} field="limits.per_person" problems={problems}>
            <InputNumber min={1} precision={0} value={limits.per_person ?? null} onChange={(n) => onJourney({ limits: { ...limits, per_person: n } })} placeholder={t("journeys.noLimit")} />
          </Field>
          <Field label={t("journeys.field.total")} field="limits.total" problems={problems}>
            <InputNumber min={1} precision={0} value={limits.total ?? null} onChange={(n) => onJourney({ limits: { ...limits, total: n } })} placeholder={t("journeys.noLimit")} />
          </Field>
        </Space>
        <Field label={t("journeys.field.goal")} field="goal" problems={problems} extra={t("journeys.field.goalHint")}>
          <Input
            value={definition.goal?.event ?? ""}
            onChange={(e) => onJourney({ goal: e.target.value.trim() === "" ? null : { ...(definition.goal ?? {}), event: e.target.value } })}
            placeholder="order_paid"
            data-testid="entry-goal-input"
          />
        </Field>
        <Divider orientation="left" plain style={{ margin: "8px 0" }}>
          {t("journeys.connections")}
        </Divider>
        <Field label={t("journeys.output.start")} field="start" problems={problems}>
          <OutputSelect value={definition.start} onChange={onStart} targets={targets} testId="node-output-start" label={t("journeys.output.start")} />
        </Field>
      </Form>
    </Card>
  );
}
