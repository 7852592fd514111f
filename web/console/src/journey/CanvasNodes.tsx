// The boxes on the canvas: the entry and one per node, each with its outputs as
// labelled handles, its problems written on it (not only in a tooltip) and, once
// published, its live counts. They read the journey from context, so the canvas's own
// node list only carries positions and selection.
import { createContext, useContext, useEffect, useMemo } from "react";
import { Handle, Position, useUpdateNodeInternals, type NodeProps } from "@xyflow/react";
import { Tooltip, Typography } from "antd";
import { ExclamationCircleFilled } from "@ant-design/icons";
import type { JourneyDefinition, JourneyProblem } from "../api";
import { useI18n } from "../i18n";
import { START_HANDLE, outputs, waits, type PinnedProblems } from "./graph";
import { outputLabel, problemText, summarize, summarizeEntry } from "./summary";

const { Text } = Typography;

/** Per node, summed over every version: who reached it and who waits there now. */
export interface NodeCount {
  entered: number;
  waiting: number;
}

export interface CanvasState {
  definition: JourneyDefinition;
  pinned: PinnedProblems;
  /** Null until the journey is published. */
  counts: Map<string, NodeCount> | null;
  entered: number | null;
  templates: Map<string, string>;
}

export const CanvasContext = createContext<CanvasState | null>(null);

function useCanvas(): CanvasState {
  const state = useContext(CanvasContext);
  if (!state) throw new Error("canvas node outside CanvasContext");
  return state;
}

function Problems({ testId, problems }: { testId: string; problems: JourneyProblem[] }) {
  const { t } = useI18n();
  const { definition } = useCanvas();
  const texts = problems.map((problem) => problemText(problem, definition, t));
  return (
    <Tooltip title={texts.join("\n")}>
      <div className="orbit-node-errors" data-testid={testId} role="alert">
        {texts.map((text, i) => (
          <div key={i}>
            <ExclamationCircleFilled aria-hidden /> {text}
          </div>
        ))}
      </div>
    </Tooltip>
  );
}

function Count({ testId, count, stops }: { testId: string; count: NodeCount; stops: boolean }) {
  const { t } = useI18n();
  return (
    <div className="orbit-node-count" data-testid={testId} aria-live="polite">
      <span>
        {t("journeys.count.entered")} <b data-testid={`${testId}-entered`}>{count.entered.toLocaleString()}</b>
      </span>
      {stops && (
        <span>
          {t("journeys.count.waiting")} <b data-testid={`${testId}-waiting`}>{count.waiting.toLocaleString()}</b>
        </span>
      )}
    </div>
  );
}

export function EntryNode({ selected }: NodeProps) {
  const { t, tEnum } = useI18n();
  const { definition, pinned, entered } = useCanvas();
  const invalid = pinned.entry.length > 0;
  return (
    <div className={`orbit-node orbit-node-entry${selected ? " selected" : ""}${invalid ? " invalid" : ""}`} data-testid="entry-node">
      <div className="orbit-node-title">
        {t("journeys.entry.title")} · {tEnum("journeys.entryKind", definition.entry.type)}
      </div>
      <Text type="secondary" ellipsis className="orbit-node-summary">
        {summarizeEntry(definition.entry, t)}
      </Text>
      {invalid && <Problems testId="entry-error" problems={pinned.entry} />}
      {entered !== null && <Count testId="entry-count" count={{ entered, waiting: 0 }} stops={false} />}
      <Handle type="source" id={START_HANDLE} position={Position.Right} className="orbit-handle" />
    </div>
  );
}

export function StepNode({ id, selected }: NodeProps) {
  const { t, tEnum } = useI18n();
  const { definition, pinned, counts, templates } = useCanvas();
  const step = definition.nodes[id];
  const updateInternals = useUpdateNodeInternals();
  const outs = useMemo(() => (step ? outputs(step) : []), [step]);
  const handles = outs.map((out) => out.handle).join(" ");
  // Handles are measured once; a branch that gains a path must be measured again.
  useEffect(() => updateInternals(id), [handles, id, updateInternals]);
  if (!step) return null;
  const problems = pinned.nodes.get(id) ?? [];
  const count = counts?.get(id);
  const single = outs.length === 1 && outs[0].label.kind === "next";
  return (
    <div
      className={`orbit-node orbit-node-${step.type}${selected ? " selected" : ""}${problems.length > 0 ? " invalid" : ""}`}
      data-testid={`node-${id}`}
    >
      <Handle type="target" position={Position.Left} className="orbit-handle" />
      <div className="orbit-node-title">
        {tEnum("journeys.kind", step.type)} <span className="orbit-node-id">{id}</span>
      </div>
      <Text type="secondary" ellipsis className="orbit-node-summary">
        {summarize(step, templates, t)}
      </Text>
      {problems.length > 0 && <Problems testId={`node-error-${id}`} problems={problems} />}
      {counts !== null && <Count testId={`node-count-${id}`} count={count ?? { entered: 0, waiting: 0 }} stops={waits(step.type)} />}
      {single ? (
        <Handle type="source" id="next" position={Position.Right} className="orbit-handle" />
      ) : (
        outs.map((out) => (
          <div key={out.handle} className="orbit-node-output">
            {outputLabel(out, t)}
            <Handle type="source" id={out.handle} position={Position.Right} className="orbit-handle" />
          </div>
        ))
      )}
    </div>
  );
}

export const NODE_TYPES = { entry: EntryNode, step: StepNode };
