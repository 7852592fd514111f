// A journey's graph as the canvas edits it: the node kinds of the model (docs/journeys.md),
// each node's outputs named as the server names them in its problems (`next`,
// `on_timeout`, `paths[1].next`…), fresh nodes with the defaults that save, and a layout
// for journeys drawn without one.
import type { BranchPath, CanvasPosition, JourneyDefinition, JourneyProblem, Step, StepKind, WeightedPath } from "../api";

/**
 * Where an output not yet connected leads. Node ids starting with `_` are reserved, so
 * no such node exists: the draft saves, and validation names the output.
 */
export const UNCONNECTED = "_unconnected";

/** The canvas id of the entry's box (reserved like the above, so never a node's id). */
export const ENTRY = "_entry";

/** The handle of the entry's only output: it sets `start`. */
export const START_HANDLE = "start";

export const STEP_KINDS: readonly StepKind[] = [
  "wait",
  "wait_until",
  "wait_for_event",
  "branch",
  "split",
  "experiment",
  "send",
  "call_task",
  "notify_staff",
  "webhook",
  "set_trait",
  "add_tag",
  "remove_tag",
  "add_to_segment",
  "exit",
];

/** The palette's sections, in the order a flow is usually drawn. */
export const PALETTE: readonly { group: "wait" | "branch" | "act" | "end"; kinds: readonly StepKind[] }[] = [
  { group: "wait", kinds: ["wait", "wait_until", "wait_for_event"] },
  { group: "branch", kinds: ["branch", "split", "experiment"] },
  { group: "act", kinds: ["send", "call_task", "notify_staff", "webhook", "set_trait", "add_tag", "remove_tag", "add_to_segment"] },
  { group: "end", kinds: ["exit"] },
];

/** Kinds people stop at until time passes or an event arrives. */
export function waits(kind: string): boolean {
  return kind === "wait" || kind === "wait_until" || kind === "wait_for_event";
}

/** `wait_for_event` → `wait-for-event`, for ids and test ids. */
export function kebab(raw: string): string {
  return raw.replace(/[_.[\]]+/g, "-").replace(/-+$/, "");
}

/** One way out of a node: its handle (the field naming the target) and where it leads. */
export interface Output {
  handle: string;
  target: string;
  /** What the canvas writes beside it: a fixed kind of output, or a path's name. */
  label: { kind: "next" | "on_event" | "on_timeout" | "default" } | { kind: "path"; index: number; name?: string | null };
}

function weighted(field: "paths" | "variants", paths: WeightedPath[]): Output[] {
  return paths.map((path, index) => ({ handle: `${field}[${index}].next`, target: path.next, label: { kind: "path", index, name: path.name } }));
}

/** The node's outputs in the order the server lists them. */
export function outputs(step: Step): Output[] {
  switch (step.type) {
    case "exit":
      return [];
    case "wait_for_event":
      return [
        { handle: "on_event", target: step.on_event, label: { kind: "on_event" } },
        { handle: "on_timeout", target: step.on_timeout, label: { kind: "on_timeout" } },
      ];
    case "branch":
      return [
        ...step.paths.map((path, index): Output => ({ handle: `paths[${index}].next`, target: path.next, label: { kind: "path", index, name: path.name } })),
        { handle: "default", target: step.default, label: { kind: "default" } },
      ];
    case "split":
      return weighted("paths", step.paths);
    case "experiment":
      return weighted("variants", step.variants);
    default:
      return [{ handle: "next", target: step.next, label: { kind: "next" } }];
  }
}

function setPath<T extends { next: string }>(paths: T[], index: number, target: string): T[] {
  return paths.map((path, i) => (i === index ? { ...path, next: target } : path));
}

/** The step with the output at `handle` leading to `target`. */
export function withOutput(step: Step, handle: string, target: string): Step {
  const indexed = /^(paths|variants)\[(\d+)\]\.next$/.exec(handle);
  if (indexed) {
    const index = Number(indexed[2]);
    if (step.type === "branch" && indexed[1] === "paths") return { ...step, paths: setPath<BranchPath>(step.paths, index, target) };
    if (step.type === "split" && indexed[1] === "paths") return { ...step, paths: setPath(step.paths, index, target) };
    if (step.type === "experiment" && indexed[1] === "variants") return { ...step, variants: setPath(step.variants, index, target) };
    return step;
  }
  if (step.type === "wait_for_event" && (handle === "on_event" || handle === "on_timeout")) return { ...step, [handle]: target };
  if (step.type === "branch" && handle === "default") return { ...step, default: target };
  if (handle === "next" && step.type !== "exit" && "next" in step) return { ...step, next: target };
  return step;
}

/** Every output that led to `removed` now leads nowhere. */
export function disconnectFrom(nodes: Record<string, Step>, removed: string): Record<string, Step> {
  const next: Record<string, Step> = {};
  for (const [id, step] of Object.entries(nodes)) {
    next[id] = outputs(step).reduce((s, out) => (out.target === removed ? withOutput(s, out.handle, UNCONNECTED) : s), step);
  }
  return next;
}

/** `wait-1`, `wait-2`…: the first free id for a new node of `kind`. */
export function newNodeId(kind: StepKind, taken: Record<string, unknown>): string {
  const base = kebab(kind);
  for (let n = 1; ; n += 1) {
    const id = `${base}-${n}`;
    if (!Object.prototype.hasOwnProperty.call(taken, id)) return id;
  }
}

/** A new node: every field the shape requires, with a default that saves; what only
 * the author can choose (an event, a template) is left for validation to ask for. */
export function newStep(kind: StepKind): Step {
  const next = UNCONNECTED;
  switch (kind) {
    case "wait":
      return { type: kind, duration: "P1D", next };
    case "wait_until":
      return { type: kind, until: { kind: "time_of_day", time: "10:00", days_later: 0 }, next };
    case "wait_for_event":
      return { type: kind, event: "", filters: [], timeout: "P1D", on_event: next, on_timeout: next };
    case "branch":
      return {
        type: kind,
        paths: [{ condition: { type: "wait_event", filter: { property: "", value_type: "string", op: "eq", value: "" } }, next }],
        default: next,
      };
    case "split":
      return {
        type: kind,
        paths: [
          { name: "a", weight: 50, next },
          { name: "b", weight: 50, next },
        ],
      };
    case "experiment":
      return { type: kind, holdout_percent: 10, variants: [{ name: "a", weight: 1, next }] };
    case "send":
      return { type: kind, messages: [], channel_policy: "priority", class: "marketing", next };
    case "set_trait":
      return { type: kind, trait: "", value: { kind: "now" }, next };
    case "add_tag":
      return { type: kind, tag: "", value: "", next };
    case "remove_tag":
      return { type: kind, tag: "", next };
    case "add_to_segment":
      return { type: kind, segment: "", next };
    case "webhook":
      return { type: kind, url: "", next };
    case "call_task":
      return { type: kind, purpose: "", next };
    case "notify_staff":
      return { type: kind, to: { kind: "email", address: "" }, subject: "", next };
    case "exit":
      return { type: kind };
  }
}

export const GRID = 20;
const COLUMN = 260;
const ROW = 140;

/** Columns by the longest way from the start (so a flow reads left to right, each node
 * after everything that leads to it), rows in order of discovery: a readable first
 * drawing for a journey written through the API. Unreachable nodes go in a last column. */
export function autoLayout(definition: JourneyDefinition): { entry: CanvasPosition; nodes: Record<string, CanvasPosition> } {
  const ids = Object.keys(definition.nodes);
  const depth = new Map<string, number>();
  if (definition.nodes[definition.start]) depth.set(definition.start, 1);
  // Longest paths by relaxation; a loop would grow without end, so depth is capped.
  for (let pass = 0, changed = true; changed && pass < ids.length; pass += 1) {
    changed = false;
    for (const [id, d] of [...depth]) {
      for (const out of outputs(definition.nodes[id])) {
        if (!definition.nodes[out.target] || (depth.get(out.target) ?? 0) >= d + 1 || d + 1 > ids.length) continue;
        depth.set(out.target, d + 1);
        changed = true;
      }
    }
  }
  const last = Math.max(0, ...depth.values()) + 1;
  const rows = new Map<number, number>();
  const nodes: Record<string, CanvasPosition> = {};
  for (const id of ids) {
    const column = depth.get(id) ?? last;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    nodes[id] = { x: column * COLUMN, y: row * ROW };
  }
  return { entry: { x: 0, y: 0 }, nodes };
}

/** A free spot for a node added without dragging: right of `after`, else right of
 * everything, moved down until it overlaps nothing. */
export function freeSpot(taken: CanvasPosition[], after?: CanvasPosition): CanvasPosition {
  const x = after ? after.x + COLUMN : taken.reduce((max, p) => Math.max(max, p.x + COLUMN), 0);
  let y = after ? after.y : 0;
  while (taken.some((p) => Math.abs(p.x - x) < COLUMN / 2 && Math.abs(p.y - y) < ROW / 2)) y += ROW;
  return { x, y };
}

/** Problems by where the canvas pins them: on a node, on the entry, or on the journey. */
export interface PinnedProblems {
  nodes: Map<string, JourneyProblem[]>;
  entry: JourneyProblem[];
  journey: JourneyProblem[];
}

/** Whether a problem is the entry's: how people enter, or the first node. */
export function onEntry(problem: JourneyProblem): boolean {
  return !problem.node && (problem.field === "start" || problem.field === "entry" || problem.field.startsWith("entry."));
}

export function pinProblems(problems: JourneyProblem[], nodeIds: Set<string>): PinnedProblems {
  const pinned: PinnedProblems = { nodes: new Map(), entry: [], journey: [] };
  for (const problem of problems) {
    if (problem.node) {
      // A node deleted since the check takes its problems with it.
      if (nodeIds.has(problem.node)) pinned.nodes.set(problem.node, [...(pinned.nodes.get(problem.node) ?? []), problem]);
    } else if (onEntry(problem)) {
      pinned.entry.push(problem);
    } else {
      pinned.journey.push(problem);
    }
  }
  return pinned;
}

/** An API error's field turned into a problem the canvas can pin (`nodes.send-1.messages`
 * → on node `send-1`, field `messages`). */
export function problemAt(field: string, message: string): JourneyProblem {
  const match = /^nodes\.([a-z0-9_-]{1,64})(?:\.(.*))?$/.exec(field);
  if (match) return { node: match[1], field: match[2] ?? "", message };
  return { field, message };
}

/** Whether a problem lies at `field` of its node (the field itself or inside it). */
export function within(problem: JourneyProblem, field: string): boolean {
  return problem.field === field || problem.field.startsWith(`${field}.`) || problem.field.startsWith(`${field}[`);
}
