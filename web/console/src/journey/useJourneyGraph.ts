// The journey being drawn: its definition (the truth, saved as is) and the canvas's
// boxes (positions and selection, saved as the layout). Every change goes through here
// so the two never disagree: removing a node disconnects what led to it, and edges are
// read from the definition rather than kept beside it. Each change is also a step of
// the undo history (a run of edits to one node's settings, as when typing, is one step).
import { useCallback, useMemo, useRef, useState } from "react";
import { MarkerType, useNodesState, type Edge, type EdgeChange, type Node, type NodeChange, type XYPosition } from "@xyflow/react";
import type { CanvasPosition, JourneyDefinition, JourneyEntry, JourneyLayout, Step, StepKind } from "../api";
import { ENTRY, START_HANDLE, UNCONNECTED, autoLayout, disconnectFrom, freeSpot, newNodeId, newStep, outputs, withOutput } from "./graph";

/** How many steps back undo goes. */
const HISTORY_LIMIT = 100;

/** Edits of one thing this close together are one step of the history. */
const COALESCE_MS = 1_000;

/** What undo restores: the definition and where each box was. */
interface Snapshot {
  definition: JourneyDefinition;
  positions: Record<string, XYPosition>;
}

function boxes(definition: JourneyDefinition, positions?: Record<string, XYPosition>): Node[] {
  const fallback = autoLayout(definition);
  const layout = positions ? { entry: positions[ENTRY], nodes: positions } : definition.layout;
  const entry: Node = {
    id: ENTRY,
    type: "entry",
    position: layout?.entry ?? fallback.entry,
    data: {},
    deletable: false,
  };
  const steps = Object.keys(definition.nodes).map(
    (id): Node => ({ id, type: "step", position: layout?.nodes?.[id] ?? fallback.nodes[id], data: {} }),
  );
  return [entry, ...steps];
}

export interface JourneyGraph {
  definition: JourneyDefinition;
  nodes: Node[];
  edges: Edge[];
  selected: string | null;
  dirty: boolean;
  onNodesChange: (changes: NodeChange[]) => void;
  onEdgesChange: (changes: EdgeChange[]) => void;
  /** Adds a node of `kind` at `position`, or at a free spot right of the selected node. */
  add: (kind: StepKind, position?: CanvasPosition) => string;
  remove: (id: string) => void;
  /** Points the output `handle` of `source` (the entry's is `start`) at `target`. */
  connect: (source: string, handle: string, target: string) => void;
  update: (id: string, step: Step) => void;
  updateEntry: (entry: JourneyEntry) => void;
  updateJourney: (change: Partial<Omit<JourneyDefinition, "nodes" | "entry" | "start" | "layout">>) => void;
  /** The definition with the boxes' positions, as saved. */
  toSave: () => JourneyDefinition;
  markSaved: () => void;
  canUndo: boolean;
  canRedo: boolean;
  /** Goes back one change (of the graph, the entry or the boxes' positions). */
  undo: () => void;
  /** Makes the change undone last again. */
  redo: () => void;
}

export function useJourneyGraph(initial: JourneyDefinition): JourneyGraph {
  const [definition, setDefinition] = useState<JourneyDefinition>(initial);
  const [nodes, setNodes, applyNodeChanges] = useNodesState<Node>(boxes(initial));
  const [selectedEdges, setSelectedEdges] = useState<Set<string>>(new Set());
  const [dirty, setDirty] = useState(false);

  // The history reads what is drawn now without waiting for a render.
  const latest = useRef({ definition, nodes });
  latest.current = { definition, nodes };
  const past = useRef<Snapshot[]>([]);
  const future = useRef<Snapshot[]>([]);
  const lastEdit = useRef<{ key: string; at: number } | null>(null);
  const dragging = useRef(false);
  const [historySize, setHistorySize] = useState({ past: 0, future: 0 });

  const snapshot = useCallback(
    (): Snapshot => ({
      definition: latest.current.definition,
      positions: Object.fromEntries(latest.current.nodes.map((node) => [node.id, node.position])),
    }),
    [],
  );

  /** Keeps what is drawn now as a step back, unless this edit continues the last one (`key`). */
  const record = useCallback(
    (key: string | null) => {
      const now = Date.now();
      const previous = lastEdit.current;
      lastEdit.current = key === null ? null : { key, at: now };
      if (key !== null && previous?.key === key && now - previous.at < COALESCE_MS) return;
      past.current = [...past.current.slice(-(HISTORY_LIMIT - 1)), snapshot()];
      future.current = [];
      setHistorySize({ past: past.current.length, future: 0 });
    },
    [snapshot],
  );

  const change = useCallback(
    (next: (d: JourneyDefinition) => JourneyDefinition, key: string | null = null) => {
      record(key);
      setDefinition(next);
      setDirty(true);
    },
    [record],
  );

  const restore = useCallback(
    (to: Snapshot) => {
      setDefinition(to.definition);
      setNodes(boxes(to.definition, to.positions));
      setDirty(true);
      lastEdit.current = null;
      setHistorySize({ past: past.current.length, future: future.current.length });
    },
    [setNodes],
  );

  const undo = useCallback(() => {
    const to = past.current.pop();
    if (!to) return;
    future.current.push(snapshot());
    restore(to);
  }, [restore, snapshot]);

  const redo = useCallback(() => {
    const to = future.current.pop();
    if (!to) return;
    past.current.push(snapshot());
    restore(to);
  }, [restore, snapshot]);

  const remove = useCallback(
    (id: string) => {
      if (id === ENTRY) return;
      change((d) => {
        const rest = { ...d.nodes };
        delete rest[id];
        return { ...d, start: d.start === id ? UNCONNECTED : d.start, nodes: disconnectFrom(rest, id) };
      });
      setNodes((all) => all.filter((node) => node.id !== id));
    },
    [change, setNodes],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange[]) => {
      for (const c of changes) if (c.type === "remove") remove(c.id);
      const rest = changes.filter((c) => c.type !== "remove");
      // A drag is one step back, to where the boxes were when it started.
      if (!dragging.current && rest.some((c) => c.type === "position" && c.dragging === true)) {
        dragging.current = true;
        record(null);
      }
      if (rest.some((c) => c.type === "position" && c.dragging === false)) {
        dragging.current = false;
        setDirty(true);
      }
      applyNodeChanges(rest);
    },
    [applyNodeChanges, remove, record],
  );

  const connect = useCallback(
    (source: string, handle: string, target: string) => {
      if (target === ENTRY) return;
      change((d) => {
        if (source === ENTRY) return handle === START_HANDLE ? { ...d, start: target } : d;
        const step = d.nodes[source];
        return step ? { ...d, nodes: { ...d.nodes, [source]: withOutput(step, handle, target) } } : d;
      });
    },
    [change],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      setSelectedEdges((current) => {
        const next = new Set(current);
        for (const c of changes) {
          if (c.type === "select") {
            if (c.selected) next.add(c.id);
            else next.delete(c.id);
          } else if (c.type === "remove") {
            next.delete(c.id);
          }
        }
        return next;
      });
      for (const c of changes) {
        if (c.type !== "remove") continue;
        const [source, handle] = c.id.split("|");
        connect(source, handle, UNCONNECTED);
      }
    },
    [connect],
  );

  const edges = useMemo<Edge[]>(() => {
    const all: Edge[] = [];
    const edge = (source: string, handle: string, target: string): Edge => {
      const id = `${source}|${handle}`;
      return {
        id,
        source,
        sourceHandle: handle,
        target,
        type: "smoothstep",
        markerEnd: { type: MarkerType.ArrowClosed },
        selected: selectedEdges.has(id),
      };
    };
    if (definition.nodes[definition.start]) all.push(edge(ENTRY, START_HANDLE, definition.start));
    for (const [id, step] of Object.entries(definition.nodes)) {
      for (const out of outputs(step)) if (definition.nodes[out.target]) all.push(edge(id, out.handle, out.target));
    }
    return all;
  }, [definition.nodes, definition.start, selectedEdges]);

  const selected = nodes.find((node) => node.selected)?.id ?? null;

  const add = useCallback(
    (kind: StepKind, position?: CanvasPosition) => {
      const id = newNodeId(kind, definition.nodes);
      const after = nodes.find((node) => node.selected)?.position;
      const at = position ?? freeSpot(nodes.map((node) => node.position), after);
      change((d) => ({ ...d, nodes: { ...d.nodes, [id]: newStep(kind) } }));
      setNodes((all) => [...all.map((node) => (node.selected ? { ...node, selected: false } : node)), { id, type: "step", position: at, data: {}, selected: true }]);
      return id;
    },
    [change, definition.nodes, nodes, setNodes],
  );

  const update = useCallback((id: string, step: Step) => change((d) => ({ ...d, nodes: { ...d.nodes, [id]: step } }), `node:${id}`), [change]);
  const updateEntry = useCallback((entry: JourneyEntry) => change((d) => ({ ...d, entry }), "entry"), [change]);
  const updateJourney = useCallback<JourneyGraph["updateJourney"]>((partial) => change((d) => ({ ...d, ...partial }), "journey"), [change]);

  const toSave = useCallback((): JourneyDefinition => {
    const layout: JourneyLayout = { nodes: {} };
    for (const node of nodes) {
      const at = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
      if (node.id === ENTRY) layout.entry = at;
      else if (layout.nodes) layout.nodes[node.id] = at;
    }
    return { ...definition, layout };
  }, [definition, nodes]);

  const markSaved = useCallback(() => setDirty(false), []);

  return {
    definition,
    nodes,
    edges,
    selected,
    dirty,
    onNodesChange,
    onEdgesChange,
    add,
    remove,
    connect,
    update,
    updateEntry,
    updateJourney,
    toSave,
    markSaved,
    canUndo: historySize.past > 0,
    canRedo: historySize.future > 0,
    undo,
    redo,
  };
}
