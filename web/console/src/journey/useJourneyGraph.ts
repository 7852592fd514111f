// The journey being drawn: its definition (the truth, saved as is) and the canvas's
// boxes (positions and selection, saved as the layout). Every change goes through here
// so the two never disagree: removing a node disconnects what led to it, and edges are
// read from the definition rather than kept beside it.
import { useCallback, useMemo, useState } from "react";
import { MarkerType, useNodesState, type Edge, type EdgeChange, type Node, type NodeChange } from "@xyflow/react";
import type { CanvasPosition, JourneyDefinition, JourneyEntry, JourneyLayout, Step, StepKind } from "../api";
import { ENTRY, START_HANDLE, UNCONNECTED, autoLayout, disconnectFrom, freeSpot, newNodeId, newStep, outputs, withOutput } from "./graph";

function boxes(definition: JourneyDefinition): Node[] {
  const fallback = autoLayout(definition);
  const layout = definition.layout;
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
}

export function useJourneyGraph(initial: JourneyDefinition): JourneyGraph {
  const [definition, setDefinition] = useState<JourneyDefinition>(initial);
  const [nodes, setNodes, applyNodeChanges] = useNodesState<Node>(boxes(initial));
  const [selectedEdges, setSelectedEdges] = useState<Set<string>>(new Set());
  const [dirty, setDirty] = useState(false);

  const change = useCallback((next: (d: JourneyDefinition) => JourneyDefinition) => {
    setDefinition(next);
    setDirty(true);
  }, []);

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
      if (rest.some((c) => c.type === "position" && c.dragging === false)) setDirty(true);
      applyNodeChanges(rest);
    },
    [applyNodeChanges, remove],
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

  const update = useCallback((id: string, step: Step) => change((d) => ({ ...d, nodes: { ...d.nodes, [id]: step } })), [change]);
  const updateEntry = useCallback((entry: JourneyEntry) => change((d) => ({ ...d, entry })), [change]);
  const updateJourney = useCallback<JourneyGraph["updateJourney"]>((partial) => change((d) => ({ ...d, ...partial })), [change]);

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
  };
}
