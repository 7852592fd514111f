// A small typed client for the Orbit management API, as the console uses it: same
// origin, the session cookie sent by the browser, the CSRF token on every request that
// is not a read, and error answers turned into `ApiError`.
// Shapes follow the OpenAPI document (crates/orbit-server/src/openapi/snapshots).

export type Role = "admin" | "marketer" | "analyst" | "viewer";
export const ROLES: readonly Role[] = ["admin", "marketer", "analyst", "viewer"];

/** Free-form JSON as the API hands it over (traits, properties, audit snapshots). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Operator {
  id: string;
  login: string;
  name: string;
  role: Role;
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface Session {
  operator: Operator;
  workspace_id: string;
  csrf_token: string;
  expires_at: string;
  idle_timeout_seconds: number;
}

export interface Identity {
  type: string;
  value: string;
}

export interface DataIssue {
  field: string;
  raw: string;
  problem: string;
}

export interface Profile {
  id: string;
  identities: Identity[];
  traits: Record<string, Json>;
  first_seen: string;
  last_seen: string;
  merged_ids: string[];
  issues: DataIssue[];
}

export type EventKind = "track" | "identify" | "page" | "screen" | "alias" | "group";

export interface TimelineEvent {
  position: number;
  type: EventKind;
  event?: string | null;
  message_id: string;
  source: string;
  timestamp: string;
  received_at: string;
  identities: Identity[];
  properties: Record<string, Json>;
  traits: Record<string, Json>;
  context: Record<string, Json>;
}

export interface TimelinePage {
  profile_id: string;
  data: TimelineEvent[];
  next_cursor?: string | null;
}

/** Where a message is in the send ledger. */
export type SendState = "scheduled" | "dispatching" | "accepted" | "failed" | "ambiguous" | "suppressed";

/** A message Orbit sent, or held back, to a person. */
export interface ProfileMessage {
  id: string;
  origin: string;
  campaign?: string | null;
  journey?: string | null;
  variant?: string | null;
  state: SendState;
  suppression?: string | null;
  channel?: string | null;
  account?: string | null;
  address?: string | null;
  last_error?: string | null;
  created_at: string;
  sent_at?: string | null;
  delivered_at?: string | null;
  bounced_at?: string | null;
  opened_at?: string | null;
  clicked_at?: string | null;
}

export interface ProfileMessagePage {
  profile_id: string;
  data: ProfileMessage[];
  next_cursor?: string | null;
}

/** How many members of one segment hold something, and their share of it (0–1). */
export interface SideShare {
  count: number;
  share: number;
}

export interface ValueComparison {
  value: string;
  label?: Label | null;
  a: SideShare;
  b: SideShare;
  difference_pp: number;
  lift?: number | null;
}

export interface TagComparison {
  tag: string;
  name: string;
  kind: string;
  max_difference_pp: number;
  a: SideShare;
  b: SideShare;
  values: ValueComparison[];
}

/** Two segments' tag distributions side by side (`GET /v1/segments/compare`). */
export interface Comparison {
  a: { id: string; name: string; size: number };
  b: { id: string; name: string; size: number };
  evaluated_at: string;
  tags: TagComparison[];
}

export interface SegmentMembership {
  id: string;
  name: string;
  type: "dynamic" | "static";
}

export interface ProfileSegments {
  profile_id: string;
  segments: SegmentMembership[];
  evaluated_at: string;
}

export interface Label {
  zh: string;
  en: string;
}

export interface TagValue {
  value: string;
  label?: Label | null;
}

export interface RfmScores {
  recency_days: number;
  frequency: number;
  monetary: number;
  r: number;
  f: number;
  m: number;
}

export interface ProfileTag {
  tag: string;
  name: string;
  family: string;
  kind: string;
  values: TagValue[];
  rfm?: RfmScores | null;
}

export interface ProfileTags {
  profile_id: string;
  refreshed_at?: string | null;
  tags: ProfileTag[];
}

export type JourneyStanding =
  | { status: "entering" }
  | { status: "waiting"; node: string; until: string; for_event: boolean }
  | { status: "exited"; reason: string; at: string; node?: string | null };

export interface PathStep {
  node: string;
  at: string;
  outcome?: string | null;
}

export interface RunPath {
  steps?: PathStep[];
  omitted?: number;
  exit?: { reason: string; at: string; node?: string | null } | null;
}

export interface ProfileJourney {
  journey: string;
  name: string;
  version: number;
  entry: string;
  key?: string | null;
  profile_id: string;
  entered_at: string;
  state: JourneyStanding;
  path: RunPath;
}

export interface ProfileJourneys {
  profile_id: string;
  journeys: ProfileJourney[];
}

/** A filter on an event's (or a trait's) value, as segment conditions write it. */
export interface PropertyFilter {
  property: string;
  value_type: "string" | "number" | "bool" | "datetime" | "list";
  op: string;
  value?: Json;
  values?: Json[];
  min?: Json;
  max?: Json;
}

export type JourneyCondition =
  | { type: "and" | "or"; conditions: JourneyCondition[] }
  | { type: "not"; condition: JourneyCondition }
  | { type: "profile"; condition: Condition }
  | { type: "entry_event" | "wait_event"; filter: PropertyFilter }
  | { type: "since_entry"; event: string; filters?: PropertyFilter[]; compare: string; count: number };

export interface BranchPath {
  name?: string | null;
  condition: JourneyCondition;
  next: string;
}

export interface WeightedPath {
  name: string;
  weight: number;
  next: string;
}

export type WaitTarget =
  | { kind: "time_of_day"; time: string; days_later?: number }
  | { kind: "trait"; trait: string; offset?: string | null; time?: string | null }
  | { kind: "entry_property"; property: string; offset?: string | null; time?: string | null };

export type ValueSource = { kind: "constant"; value: Json } | { kind: "entry_property"; property: string } | { kind: "now" };

export type StaffAddress =
  | { kind: "email"; address: string }
  | { kind: "webhook"; url: string }
  | { kind: "trait"; trait: string }
  | { kind: "entry_property"; property: string };

/** A journey node, tagged by `type` (docs/journeys.md "Nodes"). */
export type Step =
  | { type: "wait"; duration: string; lateness_limit?: string | null; next: string }
  | { type: "wait_until"; until: WaitTarget; lateness_limit?: string | null; next: string }
  | {
      type: "wait_for_event";
      event: string;
      filters?: PropertyFilter[];
      same_key?: boolean;
      timeout: string;
      on_event: string;
      on_timeout: string;
    }
  | { type: "branch"; paths: BranchPath[]; default: string }
  | { type: "split"; paths: WeightedPath[] }
  | { type: "experiment"; holdout_percent?: number; variants: WeightedPath[] }
  | {
      type: "send";
      messages: { template: string; account?: string | null }[];
      channel_policy?: "priority" | "all";
      class?: TemplateClass;
      topic?: string | null;
      next: string;
    }
  | { type: "set_trait"; trait: string; value: ValueSource; next: string }
  | { type: "add_tag"; tag: string; value: string; next: string }
  | { type: "remove_tag"; tag: string; value?: string | null; next: string }
  | { type: "add_to_segment"; segment: string; next: string }
  | { type: "webhook"; url: string; next: string }
  | { type: "call_task"; purpose: string; next: string }
  | { type: "notify_staff"; to: StaffAddress; subject: string; account?: string | null; next: string }
  | { type: "exit" };

export type StepKind = Step["type"];

export type JourneyEntry =
  | { type: "event"; event: string; filters?: PropertyFilter[]; key?: string | null }
  | { type: "event_count"; event: string; filters?: PropertyFilter[]; threshold: number; per_property?: string | null }
  | { type: "segment"; segment: string; on: "entered" | "exited" }
  | {
      type: "date";
      from: { kind: "trait"; trait: string } | { kind: "event"; event: string; filters?: PropertyFilter[] };
      repeat: "anniversary" | "after";
      offset?: string | null;
      time_of_day: string;
      lateness_limit?: string | null;
    }
  | { type: "schedule"; segment: string; cron: string; time_zone?: string | null }
  | { type: "api" };

export type EntryKind = JourneyEntry["type"];

export type Reentry = { kind: "once" } | { kind: "once_per"; period: string } | { kind: "always" };

export interface CanvasPosition {
  x: number;
  y: number;
}

export interface JourneyLayout {
  entry?: CanvasPosition | null;
  nodes?: Record<string, CanvasPosition>;
}

export interface JourneyDefinition {
  name: string;
  description?: string | null;
  entry: JourneyEntry;
  reentry?: Reentry;
  limits?: { per_person?: number | null; total?: number | null };
  goal?: { event?: string | null; filters?: PropertyFilter[] } | null;
  start: string;
  nodes: Record<string, Step>;
  layout?: JourneyLayout | null;
}

export interface JourneyDraft extends JourneyDefinition {
  id?: string | null;
}

export type JourneyStatus = "draft" | "live" | "paused" | "archived";
export type JourneyAction = "publish" | "pause" | "resume" | "archive";

export interface Journey {
  id: string;
  status: JourneyStatus;
  live_version?: number | null;
  draft: JourneyDefinition;
  versions: { version: number; published_at: string }[];
  created_at: string;
  updated_at: string;
}

export interface JourneyProblem {
  node?: string | null;
  field: string;
  message: string;
}

export interface JourneyValidation {
  valid: boolean;
  problems: JourneyProblem[];
}

export interface NodeReport {
  version: number;
  node: string;
  kind: string;
  entered: number;
  waiting: number;
  outcomes: Record<string, number>;
}

export interface JourneyReport {
  journey: string;
  status: JourneyStatus;
  entered: number;
  converted: number;
  in_journey: number;
  exited: Record<string, number>;
  nodes: NodeReport[];
}

export type ConsentStatus = "subscribed" | "unsubscribed" | "blocked";

export interface ConsentVerdict {
  allowed: boolean;
  status?: ConsentStatus | null;
  reason?: string | null;
}

export interface ConsentRecord {
  at: string;
  status: ConsentStatus;
  channel?: string | null;
  topic?: string | null;
}

export interface ConsentView {
  profile_id: string;
  topic: string;
  records: ConsentRecord[];
  resolved: Record<string, { marketing: ConsentVerdict; transactional: ConsentVerdict }>;
}

export interface AuditActor {
  kind: "operator" | "key" | "anonymous";
  id: string;
  name: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: AuditActor;
  action: string;
  path: string;
  status: number;
  address?: string | null;
  before?: Json;
  after?: Json;
  redacted: boolean;
}

export interface Page<T> {
  data: T[];
  next_cursor?: string | null;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  path?: string;
  profile?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: number;
}

export interface NewOperator {
  login: string;
  name?: string | null;
  role: Role;
  password: string;
}

export interface OperatorChange {
  name?: string;
  role?: Role;
  password?: string;
  disabled?: boolean;
}

export type SegmentKind = "dynamic" | "static";

/** A segment's condition (docs/audiences.md): a JSON tree the console edits or keeps as is. */
export type Condition = { [key: string]: Json };

export interface Segment {
  id: string;
  name: string;
  description: string;
  type: SegmentKind;
  condition?: Condition | null;
  size: number;
  created_at: string;
  updated_at: string;
}

export interface SegmentDraft {
  id?: string | null;
  name: string;
  description?: string;
  type: SegmentKind;
  condition?: Condition | null;
}

export interface SegmentPreview {
  size: number;
  sample: string[];
  took_ms: number;
  evaluated_at: string;
}

export interface SizePoint {
  at: string;
  size: number;
}

export interface MemberRow {
  profile_id: string;
  user_id?: string | null;
  email?: string | null;
  phone?: string | null;
}

export interface MemberPage {
  size: number;
  members: MemberRow[];
  next?: string | null;
}

export type Channel = "email" | "sms" | "push" | "wechat_template" | "mini_program" | "webhook" | "inbox" | "call_task";
export const CHANNELS: readonly Channel[] = ["email", "sms", "push", "wechat_template", "mini_program", "webhook", "inbox", "call_task"];
export type TemplateClass = "marketing" | "transactional";

export interface TemplateParam {
  name: string;
  value: string;
}

/** A template's content, tagged by channel (every string in it is template source). */
export type TemplateContent =
  | { channel: "email"; subject: string; html?: string | null; text: string }
  | { channel: "sms"; text: string; provider_template?: string | null; params?: TemplateParam[] }
  | { channel: "push"; title: string; body: string; data?: Record<string, string> }
  | {
      channel: "wechat_template";
      template_id: string;
      data: Record<string, string>;
      url?: string | null;
      mini_program_appid?: string | null;
      mini_program_page?: string | null;
    }
  | { channel: "mini_program"; template_id: string; page?: string | null; data: Record<string, string> }
  | { channel: "webhook"; body: Json }
  | { channel: "inbox"; title: string; body: string; popup?: boolean; link?: string | null }
  | { channel: "call_task"; script: string };

export interface SmsCost {
  characters: number;
  carrier: { encoding: string; characters: number; parts: number };
  chinese_provider: { encoding: string; characters: number; parts: number; signature?: string | null };
}

export interface Template {
  id: string;
  name: string;
  class: TemplateClass;
  topic?: string | null;
  channel: Channel;
  content: TemplateContent;
  defaults: Record<string, Json>;
  sms?: SmsCost | null;
  created_at: string;
  updated_at: string;
}

export interface TemplateDraft {
  id?: string | null;
  name: string;
  class: TemplateClass;
  topic?: string | null;
  content: TemplateContent;
  defaults: Record<string, Json>;
}

export interface TemplatePreviewRequest {
  content?: TemplateContent;
  defaults?: Record<string, Json>;
  profile?: string;
  identity?: string;
  signature?: string;
}

export interface TemplatePreview {
  template?: string | null;
  profile_id: string;
  channel: Channel;
  content: TemplateContent;
  sms?: SmsCost | null;
}

// Channels and campaigns.

/** How the API shows a secret it keeps: sending it back unchanged keeps the stored value. */
export const SECRET_MASK = "••••••";

export type ProviderName =
  | "smtp"
  | "aliyun_sms"
  | "tencent_sms"
  | "twilio"
  | "webhook"
  | "fcm"
  | "jpush"
  | "wechat_official_account"
  | "wechat_mini_program";

/** A provider account's configuration, tagged by `provider`; secrets arrive as `SECRET_MASK`. */
export type ProviderConfig = { provider: ProviderName } & { [field: string]: Json };

export interface ChannelAccount {
  id: string;
  name: string;
  channel: Channel;
  provider: ProviderName;
  config: ProviderConfig;
  default: boolean;
  rate_per_second?: number | null;
  /** Only admins are shown it. */
  receipt_url?: string | null;
  created_at: string;
  updated_at: string;
}

export interface AccountDraft {
  id?: string | null;
  name: string;
  config: ProviderConfig;
  default: boolean;
  rate_per_second?: number | null;
}

export interface AccountTest {
  to?: string;
  text?: string;
}

export type AccountTestOutcome = "sent" | "retryable" | "permanent" | "ambiguous";

export interface AccountTestResult {
  account: string;
  channel: Channel;
  address?: string | null;
  outcome: AccountTestOutcome;
  provider_message_id?: string | null;
  code?: string | null;
  message?: string | null;
}

export type CampaignState = "draft" | "scheduled" | "running" | "paused" | "completed" | "cancelled";
export type CampaignAction = "launch" | "pause" | "resume" | "cancel";
export type ChannelPolicy = "priority" | "all";

export interface CampaignMessage {
  template: string;
  account?: string | null;
}

export interface CampaignVariant {
  name: string;
  weight: number;
  messages: CampaignMessage[];
}

export type Schedule =
  | { kind: "now" }
  | { kind: "at"; at: string }
  | { kind: "cron"; expression: string; time_zone: string; until?: string | null };

export interface CampaignDraft {
  id?: string | null;
  name: string;
  segment: string;
  class: TemplateClass;
  topic: string;
  control_percent: number;
  variants: CampaignVariant[];
  channel_policy: ChannelPolicy;
  schedule: Schedule;
  throttle_per_minute?: number | null;
}

export interface Campaign extends Omit<CampaignDraft, "id"> {
  id: string;
  state: CampaignState;
  runs: number;
  next_run_at?: string | null;
  created_at: string;
  updated_at: string;
}

export interface Tally {
  targeted: number;
  suppressed: Record<string, number>;
  sent: number;
  failed: number;
  ambiguous: number;
  pending: number;
  delivered: number;
  bounced: number;
  opened: number;
  clicked: number;
}

export interface ChannelTally extends Tally {
  channel: string;
}

export interface VariantTally extends Tally {
  variant: string;
  channels: ChannelTally[];
}

export interface CampaignReport {
  campaign: string;
  state: CampaignState;
  runs: number;
  variants: VariantTally[];
}

/** An error answer of the API (or a failure to reach it: status 0, code `network`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  /** Seconds to wait, from `Retry-After` (a throttled login). */
  readonly retryAfter: number | null;
  /** For a template: the line within `field`. */
  readonly line: number | null;
  /** For a template that does not render: the variable to blame. */
  readonly variable: string | null;

  constructor(
    status: number,
    code: string,
    message: string,
    field: string | null = null,
    retryAfter: number | null = null,
    line: number | null = null,
    variable: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
    this.line = line;
    this.variable = variable;
  }
}

type Query = Record<string, string | number | undefined | null>;

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** Keeps the session's CSRF token (from the login or `GET /v1/session`) in memory. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called on any 401 outside the login itself: the session is over. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

function retryAfterSeconds(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

interface Options {
  query?: Query;
  body?: unknown;
  /** A body sent as it is (a file), with its content type. */
  content?: { type: string; data: Blob | string };
  /** Whether a 401 means "the session ended" (every call but the login). */
  sessionBound?: boolean;
}

async function request<T>(method: string, path: string, options: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.content) headers["Content-Type"] = options.content.type;
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;

  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      body: options.content ? options.content.data : options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (cause) {
    throw new ApiError(0, "network", cause instanceof Error ? cause.message : String(cause));
  }

  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }

  if (!response.ok) {
    const detail = (
      parsed as { error?: { code?: unknown; message?: unknown; field?: unknown; line?: unknown; variable?: unknown } } | undefined
    )?.error;
    const error = new ApiError(
      response.status,
      typeof detail?.code === "string" ? detail.code : `http_${response.status}`,
      typeof detail?.message === "string" ? detail.message : response.statusText || `HTTP ${response.status}`,
      typeof detail?.field === "string" ? detail.field : null,
      retryAfterSeconds(response.headers.get("Retry-After")),
      typeof detail?.line === "number" ? detail.line : null,
      typeof detail?.variable === "string" ? detail.variable : null,
    );
    if (response.status === 401 && options.sessionBound !== false) {
      csrfToken = null;
      onUnauthorized?.();
    }
    throw error;
  }
  if (parsed === undefined) {
    throw new ApiError(response.status, "malformed_answer", "the server's answer is not JSON");
  }
  return parsed as T;
}

const id = encodeURIComponent;

export const api = {
  login: (login: string, password: string) =>
    request<Session>("POST", "/v1/session", { body: { login, password }, sessionBound: false }),
  /** The current session; a 401 here means "not logged in", not "session lost". */
  session: () => request<Session>("GET", "/v1/session", { sessionBound: false }),
  logout: () => request<void>("DELETE", "/v1/session", { sessionBound: false }),

  profileByIdentity: (identity: string) => request<Profile>("GET", "/v1/profiles", { query: { identity } }),
  profile: (profileId: string) => request<Profile>("GET", `/v1/profiles/${id(profileId)}`),
  profileEvents: (profileId: string, cursor?: string | null, limit = 50) =>
    request<TimelinePage>("GET", `/v1/profiles/${id(profileId)}/events`, { query: { cursor, limit } }),
  profileMessages: (profileId: string, cursor?: string | null, limit = 50) =>
    request<ProfileMessagePage>("GET", `/v1/profiles/${id(profileId)}/messages`, { query: { cursor, limit } }),
  profileSegments: (profileId: string) => request<ProfileSegments>("GET", `/v1/profiles/${id(profileId)}/segments`),
  profileTags: (profileId: string) => request<ProfileTags>("GET", `/v1/profiles/${id(profileId)}/tags`),
  profileJourneys: (profileId: string) => request<ProfileJourneys>("GET", `/v1/profiles/${id(profileId)}/journeys`),

  journeys: () => request<{ journeys: Journey[] }>("GET", "/v1/journeys"),
  journey: (journeyId: string) => request<Journey>("GET", `/v1/journeys/${id(journeyId)}`),
  createJourney: (draft: JourneyDraft) => request<Journey>("POST", "/v1/journeys", { body: draft }),
  replaceJourney: (journeyId: string, draft: JourneyDraft) => request<Journey>("PUT", `/v1/journeys/${id(journeyId)}`, { body: draft }),
  deleteJourney: (journeyId: string) => request<void>("DELETE", `/v1/journeys/${id(journeyId)}`),
  validateJourney: (journeyId: string) => request<JourneyValidation>("GET", `/v1/journeys/${id(journeyId)}/validation`),
  actOnJourney: (journeyId: string, action: JourneyAction) => request<Journey>("POST", `/v1/journeys/${id(journeyId)}/${action}`, { body: {} }),
  journeyReport: (journeyId: string) => request<JourneyReport>("GET", `/v1/journeys/${id(journeyId)}/report`),
  profileConsent: (profileId: string) => request<ConsentView>("GET", `/v1/profiles/${id(profileId)}/consent`),

  operators: () => request<Page<Operator>>("GET", "/v1/operators"),
  createOperator: (operator: NewOperator) => request<Operator>("POST", "/v1/operators", { body: operator }),
  changeOperator: (operatorId: string, change: OperatorChange) =>
    request<Operator>("PATCH", `/v1/operators/${id(operatorId)}`, { body: change }),

  audit: (filter: AuditFilter) => request<Page<AuditEntry>>("GET", "/v1/audit", { query: { ...filter } }),
  segments: () => request<{ segments: Segment[] }>("GET", "/v1/segments"),
  compareSegments: (a: string, b: string, tags: string[]) =>
    request<Comparison>("GET", "/v1/segments/compare", { query: { a, b, tags: tags.length > 0 ? tags.join(",") : undefined } }),
  segment: (segmentId: string) => request<Segment>("GET", `/v1/segments/${id(segmentId)}`),
  createSegment: (draft: SegmentDraft) => request<Segment>("POST", "/v1/segments", { body: draft }),
  replaceSegment: (segmentId: string, draft: SegmentDraft) => request<Segment>("PUT", `/v1/segments/${id(segmentId)}`, { body: draft }),
  deleteSegment: (segmentId: string) => request<void>("DELETE", `/v1/segments/${id(segmentId)}`),
  previewSegment: (condition: Condition, sample = 0) => request<SegmentPreview>("POST", "/v1/segments/preview", { body: { condition, sample } }),
  segmentHistory: (segmentId: string) => request<{ points: SizePoint[] }>("GET", `/v1/segments/${id(segmentId)}/history`),
  segmentMembers: (segmentId: string, limit = 20, after?: string | null) =>
    request<MemberPage>("GET", `/v1/segments/${id(segmentId)}/members`, { query: { limit, after } }),

  templates: () => request<{ templates: Template[] }>("GET", "/v1/templates"),
  template: (templateId: string) => request<Template>("GET", `/v1/templates/${id(templateId)}`),
  createTemplate: (draft: TemplateDraft) => request<Template>("POST", "/v1/templates", { body: draft }),
  replaceTemplate: (templateId: string, draft: TemplateDraft) => request<Template>("PUT", `/v1/templates/${id(templateId)}`, { body: draft }),
  deleteTemplate: (templateId: string) => request<void>("DELETE", `/v1/templates/${id(templateId)}`),
  /** Renders unsaved content (and its defaults) for one person. */
  previewContent: (body: TemplatePreviewRequest) => request<TemplatePreview>("POST", "/v1/templates/preview", { body }),
  /** Renders a saved template for one person. */
  previewTemplate: (templateId: string, body: TemplatePreviewRequest) =>
    request<TemplatePreview>("POST", `/v1/templates/${id(templateId)}/preview`, { body }),

  channels: () => request<{ channels: ChannelAccount[] }>("GET", "/v1/channels"),
  createChannel: (draft: AccountDraft) => request<ChannelAccount>("POST", "/v1/channels", { body: draft }),
  replaceChannel: (accountId: string, draft: AccountDraft) => request<ChannelAccount>("PUT", `/v1/channels/${id(accountId)}`, { body: draft }),
  deleteChannel: (accountId: string) => request<void>("DELETE", `/v1/channels/${id(accountId)}`),
  testChannel: (accountId: string, body: AccountTest) => request<AccountTestResult>("POST", `/v1/channels/${id(accountId)}/test`, { body }),

  campaigns: () => request<{ campaigns: Campaign[] }>("GET", "/v1/campaigns"),
  campaign: (campaignId: string) => request<Campaign>("GET", `/v1/campaigns/${id(campaignId)}`),
  createCampaign: (draft: CampaignDraft) => request<Campaign>("POST", "/v1/campaigns", { body: draft }),
  replaceCampaign: (campaignId: string, draft: CampaignDraft) => request<Campaign>("PUT", `/v1/campaigns/${id(campaignId)}`, { body: draft }),
  deleteCampaign: (campaignId: string) => request<void>("DELETE", `/v1/campaigns/${id(campaignId)}`),
  actOnCampaign: (campaignId: string, action: CampaignAction) => request<Campaign>("POST", `/v1/campaigns/${id(campaignId)}/${action}`),
  campaignReport: (campaignId: string) => request<CampaignReport>("GET", `/v1/campaigns/${id(campaignId)}/report`),
  statsOverview: () => request<StatsOverview>("GET", "/v1/stats/overview"),
  tags: () => request<{ tags: Tag[]; refreshed: TagFreshness }>("GET", "/v1/tags"),
  tag: (tagId: string) => request<Tag>("GET", `/v1/tags/${id(tagId)}`),
  createTag: (input: TagInput) => request<Tag>("POST", "/v1/tags", { body: input }),
  replaceTag: (tagId: string, input: TagInput) => request<Tag>("PUT", `/v1/tags/${id(tagId)}`, { body: input }),
  deleteTag: (tagId: string) => request<void>("DELETE", `/v1/tags/${id(tagId)}`),
  /** Sets an imported tag's values from a CSV or JSON-lines file. */
  importTagValues: (tagId: string, file: Blob, format: "csv" | "jsonl", replace: boolean) =>
    request<ImportReport>("POST", `/v1/tags/${id(tagId)}/import`, {
      query: { format, replace: replace ? "true" : undefined },
      content: { type: format === "csv" ? "text/csv" : "application/x-ndjson", data: file },
    }),
  tagLibraries: () => request<{ libraries: LibrarySummary[] }>("GET", "/v1/tag-libraries"),
  tagLibrary: (libraryId: string) => request<LibraryDetail>("GET", `/v1/tag-libraries/${id(libraryId)}`),
  installTagLibrary: (libraryId: string, replace: boolean) =>
    request<InstallReport>("POST", `/v1/tag-libraries/${id(libraryId)}/install`, { query: { replace: replace ? "true" : undefined } }),
  settings: () => request<WorkspaceSettings>("GET", "/v1/settings"),
  replaceSettings: (settings: WorkspaceSettings) => request<WorkspaceSettings>("PUT", "/v1/settings", { body: settings }),
  keys: () => request<{ data: ApiKey[] }>("GET", "/v1/keys"),
  createKey: (key: NewKey) => request<ApiKey>("POST", "/v1/keys", { body: key }),
  revokeKey: (keyId: string) => request<{ id: string; revoked: boolean }>("DELETE", `/v1/keys/${id(keyId)}`),
};

/** Where the browser downloads every member of a segment as CSV (the session cookie is sent). */
export function segmentMembersCsvUrl(segmentId: string): string {
  return `/v1/segments/${id(segmentId)}/members?format=csv`;
}

// The dashboard, tags, workspace settings and keys.

export interface SegmentSize {
  id: string;
  name: string;
  type: SegmentKind;
  size: number;
}

export interface DayMessages {
  date: string;
  sent: number;
  delivered: number;
}

/** `GET /v1/stats/overview`: the dashboard's numbers, days in the workspace's time zone. */
export interface StatsOverview {
  today: string;
  time_zone: string;
  at: string;
  events_today: number;
  new_profiles_today: number;
  profiles_total: number;
  messages_sent_today: number;
  messages_delivered_today: number;
  messages_by_day: DayMessages[];
  active_campaigns: number;
  active_journeys: number;
  segments: SegmentSize[];
}

export type TagKind = "rule" | "rfm" | "imported" | "manual";
export const TAG_KINDS: readonly TagKind[] = ["rule", "rfm", "imported", "manual"];
export type TagFamily =
  | "basic"
  | "behaviour"
  | "orders"
  | "ratings"
  | "rfm"
  | "lifecycle"
  | "preference"
  | "activity"
  | "consumption"
  | "interest"
  | "business";
export const TAG_FAMILIES: readonly TagFamily[] = [
  "basic",
  "behaviour",
  "orders",
  "ratings",
  "rfm",
  "lifecycle",
  "preference",
  "activity",
  "consumption",
  "interest",
  "business",
];

export interface TagValueInput {
  value: string;
  label?: Label | null;
  /** Rule tags: who gets the value. */
  condition?: Condition | null;
}

export interface RfmSpec {
  order_event?: string;
  amount_property?: string;
  window_days?: number;
}

/** A tag as `POST /v1/tags` takes it. */
export interface TagInput {
  id?: string | null;
  name: string;
  description?: string;
  family: TagFamily;
  kind: TagKind;
  values?: TagValueInput[] | null;
  rfm?: RfmSpec | null;
}

export interface TagFreshness {
  evaluated_at?: string | null;
  everyone_evaluated_at?: string | null;
}

export interface Tag extends TagInput {
  id: string;
  computed: boolean;
  profiles: number;
  counts: Record<string, number>;
  created_at: string;
  updated_at: string;
  refreshed?: TagFreshness | null;
}

export interface UnmatchedLine {
  line: number;
  identity: string;
  code: string;
  message: string;
}

export interface ImportReport {
  lines: number;
  assigned: number;
  profiles: number;
  replaced: boolean;
  unmatched_count: number;
  unmatched: UnmatchedLine[];
}

export interface LibrarySummary {
  id: string;
  name: Label;
  description: Label;
  tag_count: number;
  tags: string[];
}

export interface LibraryDetail {
  id: string;
  name: Label;
  description: Label;
  tags: (TagInput & { id: string; computed: boolean })[];
  installed: string[];
}

export interface InstallReport {
  library: string;
  installed: string[];
  replaced: string[];
  skipped: string[];
}

export type TraitRuleKind = "latest" | "first" | "sum" | "max";
export const TRAIT_RULE_KINDS: readonly TraitRuleKind[] = ["latest", "first", "sum", "max"];
export type TraitRule = { rule: "latest" | "first" | "sum" } | { rule: "max"; order?: string[] };

export interface QuietHours {
  start: string;
  end: string;
}

export interface ContactPolicy {
  daily_cap?: number | null;
  channel_caps?: Partial<Record<Channel, number>>;
  quiet_hours?: QuietHours | null;
  opt_in_required?: Channel[];
}

/** `GET /v1/settings`: every default filled in; `PUT` takes the whole document back. */
export interface WorkspaceSettings {
  /** Kept as it is: the console does not edit identity rules. */
  identity_policy: Json;
  trait_rules: Record<string, TraitRule>;
  time_zone: string;
  contact_policy: ContactPolicy;
}

export type KeyKind = "write" | "api";
export type Scope = "profiles:read" | "profiles:write" | "events:write" | "audiences:read" | "audiences:write" | "admin";
export const SCOPES: readonly Scope[] = ["profiles:read", "profiles:write", "events:write", "audiences:read", "audiences:write", "admin"];

export interface ApiKey {
  id: string;
  kind: KeyKind;
  name: string;
  scopes: Scope[];
  source?: string | null;
  created_at_ms: number;
  revoked_at_ms?: number | null;
  /** The secret: only in the answer that minted it. */
  key?: string;
}

export interface NewKey {
  kind: KeyKind;
  name?: string;
  scopes?: Scope[];
  source?: string;
}
