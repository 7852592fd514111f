// The flow canvas (@xyflow/react) between the palette and the selected box's panel:
// boxes snap to a grid, outputs connect by dragging a handle onto a node, kinds dropped
// from the palette land where they are dropped, the selected box or edge is deleted with
// Delete or Backspace, and the whole graph can be zoomed and fitted to the screen.
import { useEffect, useMemo, useRef, type DragEvent, type ReactNode } from "react";
import { Col, Row } from "antd";
import { Background, Controls, ReactFlow, useNodesInitialized, useReactFlow, type AriaLabelConfig, type Connection } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./canvas.css";
import type { StepKind } from "../api";
import { useI18n } from "../i18n";
import { CanvasContext, NODE_TYPES, type CanvasState } from "./CanvasNodes";
import { ENTRY, GRID, STEP_KINDS } from "./graph";
import { DRAG_TYPE, Palette } from "./Palette";
import type { JourneyGraph } from "./useJourneyGraph";

/** The palette, the canvas and the selected box's panel, side by side. */
export function Workbench({ graph, state, readOnly, panel }: { graph: JourneyGraph; state: CanvasState; readOnly: boolean; panel: ReactNode }) {
  const flow = useReactFlow();
  // A node added from the keyboard lands out of sight as often as not: show it.
  function add(kind: StepKind) {
    graph.add(kind);
    void flow.fitView({ maxZoom: 1 });
  }
  return (
    <Row gutter={[12, 12]} wrap={false} style={{ alignItems: "flex-start" }}>
      <Col flex="150px">
        <Palette disabled={readOnly} onAdd={add} />
      </Col>
      <Col flex="auto" style={{ minWidth: 0 }}>
        <Canvas graph={graph} state={state} readOnly={readOnly} />
      </Col>
      <Col flex="340px" style={{ maxHeight: 720, overflow: "auto" }}>
        {panel}
      </Col>
    </Row>
  );
}

function Canvas({ graph, state, readOnly }: { graph: JourneyGraph; state: CanvasState; readOnly: boolean }) {
  const { t } = useI18n();
  const flow = useReactFlow();
  const measured = useNodesInitialized();
  const fitted = useRef(false);

  // Fitted once every box has its size: the `fitView` prop can fire while only some do,
  // and leaves a loaded journey half out of sight.
  useEffect(() => {
    if (!measured || fitted.current) return;
    fitted.current = true;
    void flow.fitView({ maxZoom: 1 });
  }, [measured, flow]);

  const labels = useMemo<Partial<AriaLabelConfig>>(
    () => ({
      "node.a11yDescription.default": t("journeys.canvas.nodeHelp"),
      "node.a11yDescription.keyboardDisabled": t("journeys.canvas.nodeHelp"),
      "edge.a11yDescription.default": t("journeys.canvas.edgeHelp"),
      "controls.ariaLabel": t("journeys.canvas.controls"),
      "controls.zoomIn.ariaLabel": t("journeys.canvas.zoomIn"),
      "controls.zoomOut.ariaLabel": t("journeys.canvas.zoomOut"),
      "controls.fitView.ariaLabel": t("journeys.canvas.fitView"),
      "handle.ariaLabel": t("journeys.canvas.handle"),
    }),
    [t],
  );

  function drop(event: DragEvent) {
    const kind = event.dataTransfer.getData(DRAG_TYPE) as StepKind;
    if (readOnly || !STEP_KINDS.includes(kind)) return;
    event.preventDefault();
    const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
    graph.add(kind, { x: Math.round(at.x / GRID) * GRID, y: Math.round(at.y / GRID) * GRID });
  }

  function connect(connection: Connection) {
    graph.connect(connection.source, connection.sourceHandle ?? "next", connection.target);
  }

  return (
    <CanvasContext.Provider value={state}>
      <div
        className="orbit-canvas"
        data-testid="journey-canvas"
        onDragOver={(event) => {
          if (!readOnly && event.dataTransfer.types.includes(DRAG_TYPE)) {
            event.preventDefault();
            event.dataTransfer.dropEffect = "copy";
          }
        }}
        onDrop={drop}
      >
        <ReactFlow
          nodes={graph.nodes}
          edges={graph.edges}
          nodeTypes={NODE_TYPES}
          onNodesChange={graph.onNodesChange}
          onEdgesChange={graph.onEdgesChange}
          onConnect={connect}
          isValidConnection={(c) => c.target !== ENTRY && c.source !== c.target}
          nodesDraggable={!readOnly}
          nodesConnectable={!readOnly}
          deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
          snapToGrid
          snapGrid={[GRID, GRID]}
          minZoom={0.2}
          ariaLabelConfig={labels}
        >
          <Background gap={GRID} />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
    </CanvasContext.Provider>
  );
}
