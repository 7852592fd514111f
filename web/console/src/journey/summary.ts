// What a node says about itself on the canvas, in words: durations, events, templates;
// and a problem's text, with the console's own words for an output left unconnected.
import type { JourneyDefinition, JourneyEntry, JourneyProblem, Step } from "../api";
import type { MessageKey, Translate } from "../i18n";
import { outputs, type Output, UNCONNECTED } from "./graph";

/** ISO 8601 designators, in the date part and in the time part (`M` is both). */
const DATE_UNITS: Record<string, MessageKey> = {
  Y: "journeys.unit.years",
  M: "journeys.unit.months",
  W: "journeys.unit.weeks",
  D: "journeys.unit.days",
};
const TIME_UNITS: Record<string, MessageKey> = {
  H: "journeys.unit.hours",
  M: "journeys.unit.minutes",
  S: "journeys.unit.seconds",
};

const OUTPUT_KEYS: Record<"next" | "on_event" | "on_timeout" | "default", MessageKey> = {
  next: "journeys.output.next",
  on_event: "journeys.output.onEvent",
  on_timeout: "journeys.output.onTimeout",
  default: "journeys.output.default",
};

/** `P1D` → "1 day", `-P1D` → "1 day before", `PT30M` → "30 minutes"; other forms as written. */
export function formatDelay(raw: string | null | undefined, t: Translate): string {
  if (!raw) return "";
  const match = /^(-?)P(?:(\d+)([YMWD]))?(?:T(\d+)([HMS]))?$/.exec(raw.trim().toUpperCase());
  if (!match || (match[2] && match[4]) || (!match[2] && !match[4])) return raw;
  const key = match[2] ? DATE_UNITS[match[3]] : TIME_UNITS[match[5]];
  const text = t(key, { n: Number(match[2] ?? match[4]) });
  return match[1] ? t("journeys.before", { span: text }) : text;
}

/** One line under the node's title. */
export function summarize(step: Step, templates: Map<string, string>, t: Translate): string {
  switch (step.type) {
    case "wait":
      return formatDelay(step.duration, t);
    case "wait_until": {
      const until = step.until;
      if (until.kind === "time_of_day") return t("journeys.summary.timeOfDay", { time: until.time, days: until.days_later ?? 0 });
      const from = until.kind === "trait" ? until.trait : until.property;
      return [from, formatDelay(until.offset, t), until.time ?? ""].filter(Boolean).join(" · ");
    }
    case "wait_for_event":
      return step.event ? t("journeys.summary.within", { event: step.event, span: formatDelay(step.timeout, t) }) : "";
    case "branch":
      return t("journeys.summary.paths", { count: step.paths.length });
    case "split":
      return step.paths.map((p) => `${p.name} ${p.weight}`).join(" / ");
    case "experiment":
      return t("journeys.summary.holdout", { percent: step.holdout_percent ?? 0, count: step.variants.length });
    case "send":
      return step.messages.map((m) => templates.get(m.template) ?? m.template).join(" → ");
    case "set_trait":
      return step.trait;
    case "add_tag":
      return step.tag && step.value ? `${step.tag} = ${step.value}` : step.tag;
    case "remove_tag":
      return step.value ? `${step.tag} = ${step.value}` : step.tag;
    case "add_to_segment":
      return step.segment;
    case "webhook":
      return step.url;
    case "call_task":
      return step.purpose;
    case "notify_staff":
      return step.subject;
    case "exit":
      return "";
  }
}

export function summarizeEntry(entry: JourneyEntry, t: Translate): string {
  switch (entry.type) {
    case "event":
      return entry.event;
    case "event_count":
      return entry.event ? `${entry.event} ≥ ${entry.threshold}` : "";
    case "segment":
    case "schedule":
      return entry.segment;
    case "date":
      return entry.from.kind === "trait" ? entry.from.trait : entry.from.event;
    case "api":
      return t("journeys.entry.apiSummary");
  }
}

/** An output's name as the canvas writes it. */
export function outputLabel(output: Output, t: Translate): string {
  const label = output.label;
  if (label.kind === "path") return label.name ? label.name : t("journeys.output.path", { n: label.index + 1 });
  return t(OUTPUT_KEYS[label.kind]);
}

/** A problem in words: the server's, except for an output the console left unconnected. */
export function problemText(problem: JourneyProblem, definition: JourneyDefinition, t: Translate): string {
  if (!problem.node && problem.field === "start" && definition.start === UNCONNECTED) {
    return t("journeys.problem.unconnected", { output: t("journeys.output.start") });
  }
  const step = problem.node ? definition.nodes[problem.node] : undefined;
  const output = step ? outputs(step).find((out) => out.handle === problem.field) : undefined;
  if (output && output.target === UNCONNECTED) return t("journeys.problem.unconnected", { output: outputLabel(output, t) });
  return problem.field ? `${problem.field}: ${problem.message}` : problem.message;
}
