// Campaigns as the console reads and writes them: the commands each state allows, the
// wizard's draft and the campaign it becomes, where the API's errors belong, and the
// numbers the list and the report show.
import dayjs, { type Dayjs } from "dayjs";
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

/** States in which a campaign may still be edited (the API's rule). */
export function editable(state: CampaignState): boolean {
  return state === "draft" || state === "scheduled";
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

/**
 * The wizard's answers that make a saved campaign, so it can be edited: the channels
 * are those of the first variant's templates, in its order, with their accounts.
 */
export function fromCampaign(campaign: Campaign, templates: ReadonlyMap<string, Template>, timeZone: string): WizardDraft {
  const first = campaign.variants[0]?.messages ?? [];
  const lanes: Lane[] = [];
  for (const message of first) {
    const channel = templates.get(message.template)?.channel;
    if (channel && !lanes.some((lane) => lane.channel === channel)) {
      lanes.push({ key: nextKey(), channel, account: message.account ?? null });
    }
  }
  const schedule = campaign.schedule;
  return {
    name: campaign.name,
    id: campaign.id,
    segment: campaign.segment,
    lanes,
    channelPolicy: campaign.channel_policy,
    variants: campaign.variants.map((variant) => {
      const chosen: Partial<Record<Channel, string>> = {};
      for (const message of variant.messages) {
        const channel = templates.get(message.template)?.channel;
        if (channel && chosen[channel] === undefined) chosen[channel] = message.template;
      }
      return { key: nextKey(), name: variant.name, weight: variant.weight ?? 1, templates: chosen };
    }),
    controlPercent: campaign.control_percent,
    scheduleKind: schedule.kind,
    at: schedule.kind === "at" ? dayjs(schedule.at) : null,
    cronExpression: schedule.kind === "cron" ? schedule.expression : "",
    cronTimeZone: schedule.kind === "cron" ? schedule.time_zone : timeZone,
    cronUntil: schedule.kind === "cron" && schedule.until ? dayjs(schedule.until) : null,
    klass: campaign.class,
    topic: campaign.topic,
    throttle: campaign.throttle_per_minute ?? null,
  };
}

/** Whether a saved campaign's variants send one channel through different accounts, which the wizard's one account per channel cannot show. */
export function mixedAccounts(campaign: Campaign, templates: ReadonlyMap<string, Template>): boolean {
  const seen = new Map<string, string | null>();
  for (const variant of campaign.variants) {
    for (const message of variant.messages) {
      const channel = templates.get(message.template)?.channel;
      if (!channel) continue;
      const account = message.account ?? null;
      if (seen.has(channel) && seen.get(channel) !== account) return true;
      seen.set(channel, account);
    }
  }
  return false;
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
