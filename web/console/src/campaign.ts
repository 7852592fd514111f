// Campaigns as the console reads and writes them: the commands each state allows, the
// wizard's draft and the campaign it becomes, where the API's errors belong, and the
// numbers the list and the report show.
import type { Dayjs } from "dayjs";
import type { Campaign, CampaignAction, CampaignDraft, CampaignState, Channel, ChannelPolicy, Schedule, Tally, Template, TemplateClass } from "./api";
import { formatTime } from "./format";
import type { Translate } from "./i18n";

/** The commands the API takes in each state (a draft may also be deleted). */
export const ACTIONS: Record<CampaignState, readonly CampaignAction[]> = {
  draft: ["launch"],
  scheduled: ["cancel"],
  running: ["pause", "cancel"],
  paused: ["resume", "cancel"],
  completed: [],
  cancelled: [],
};

/** The colour of each state's tag. */
export const STATE_COLORS: Record<CampaignState, string> = {
  draft: "default",
  scheduled: "purple",
  running: "processing",
  paused: "warning",
  completed: "success",
  cancelled: "error",
};

/** When a campaign's runs open, in words. */
export function scheduleText(schedule: Schedule, t: Translate): string {
  switch (schedule.kind) {
    case "now":
      return t("wizard.schedule.now");
    case "at":
      return t("wizard.schedule.atTime", { time: formatTime(schedule.at) });
    case "cron":
      return t("wizard.schedule.cronText", { expression: schedule.expression, zone: schedule.time_zone });
  }
}

/** States in which the report still changes by itself. */
export function live(state: CampaignState): boolean {
  return state === "scheduled" || state === "running" || state === "paused";
}

/** The channels a campaign sends on, in priority order, read from its templates. */
export function channelsOf(campaign: Pick<Campaign, "variants">, templates: ReadonlyMap<string, Template>): Channel[] {
  const channels: Channel[] = [];
  for (const variant of campaign.variants) {
    for (const message of variant.messages) {
      const channel = templates.get(message.template)?.channel;
      if (channel && !channels.includes(channel)) channels.push(channel);
    }
  }
  return channels;
}

/** Every message the report counts as not sent, whatever the reason. */
export function suppressedTotal(tally: Tally): number {
  return Object.values(tally.suppressed).reduce((sum, count) => sum + count, 0);
}

export const ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

/** One channel of the campaign, in priority order, with the account it goes through. */
export interface Lane {
  key: number;
  channel: Channel;
  /** None: the channel's default (or only) account. */
  account: string | null;
}

export interface VariantDraft {
  key: number;
  name: string;
  weight: number;
  templates: Partial<Record<Channel, string>>;
}

export type ScheduleKind = Schedule["kind"];

/** Everything the wizard asks for. */
export interface WizardDraft {
  name: string;
  id: string;
  segment: string | null;
  lanes: Lane[];
  channelPolicy: ChannelPolicy;
  variants: VariantDraft[];
  controlPercent: number;
  scheduleKind: ScheduleKind;
  at: Dayjs | null;
  cronExpression: string;
  cronTimeZone: string;
  cronUntil: Dayjs | null;
  klass: TemplateClass;
  topic: string;
  throttle: number | null;
}

let keys = 0;
/** A key for a new row of the wizard's lists. */
export function nextKey(): number {
  keys += 1;
  return keys;
}

export function emptyDraft(timeZone: string): WizardDraft {
  return {
    name: "",
    id: "",
    segment: null,
    lanes: [],
    channelPolicy: "priority",
    variants: [{ key: nextKey(), name: "a", weight: 1, templates: {} }],
    controlPercent: 10,
    scheduleKind: "now",
    at: null,
    cronExpression: "",
    cronTimeZone: timeZone,
    cronUntil: null,
    klass: "marketing",
    topic: "promotions",
    throttle: null,
  };
}

/** The campaign the wizard's answers make, as the API takes it. */
export function toCampaign(draft: WizardDraft): CampaignDraft {
  let schedule: Schedule = { kind: "now" };
  if (draft.scheduleKind === "at" && draft.at) schedule = { kind: "at", at: draft.at.toISOString() };
  if (draft.scheduleKind === "cron") {
    schedule = {
      kind: "cron",
      expression: draft.cronExpression.trim(),
      time_zone: draft.cronTimeZone.trim(),
      until: draft.cronUntil ? draft.cronUntil.toISOString() : null,
    };
  }
  return {
    id: draft.id.trim() || undefined,
    name: draft.name.trim(),
    segment: draft.segment ?? "",
    class: draft.klass,
    topic: draft.topic.trim() || "promotions",
    control_percent: draft.controlPercent,
    channel_policy: draft.channelPolicy,
    variants: draft.variants.map((variant) => ({
      name: variant.name.trim(),
      weight: variant.weight,
      messages: draft.lanes.map((lane) => ({ template: variant.templates[lane.channel] ?? "", account: lane.account })),
    })),
    schedule,
    throttle_per_minute: draft.throttle,
  };
}

/** The wizard's steps, in order. */
export const STEPS = ["segment", "content", "split", "schedule", "review"] as const;
export type Step = (typeof STEPS)[number];

/** The step where the field an API error names is asked for. */
export function stepOf(field: string | null): number | null {
  if (!field) return null;
  if (field === "name" || field === "id" || field === "segment") return 0;
  if (field === "channel_policy") return 1;
  const message = /^variants\[(\d+)\]\.messages/.exec(field);
  if (message) return message[1] === "0" ? 1 : 2;
  if (field === "control_percent" || field.startsWith("variants")) return 2;
  if (field.startsWith("schedule") || field === "class" || field === "topic" || field === "throttle_per_minute") return 3;
  return null;
}
