// The node kinds of the model, to drag onto the canvas or, from the keyboard, to add
// with a click beside the selected node.
import type { DragEvent } from "react";
import { Button, Card, Space, Typography } from "antd";
import type { StepKind } from "../api";
import { useI18n, type MessageKey } from "../i18n";
import { PALETTE, kebab } from "./graph";

/** The drag's payload type: a node kind. */
export const DRAG_TYPE = "application/x-orbit-journey-node";

const GROUP_KEYS: Record<(typeof PALETTE)[number]["group"], MessageKey> = {
  wait: "journeys.palette.wait",
  branch: "journeys.palette.branch",
  act: "journeys.palette.act",
  end: "journeys.palette.end",
};

export function Palette({ onAdd, disabled }: { onAdd: (kind: StepKind) => void; disabled: boolean }) {
  const { t, tEnum } = useI18n();
  function drag(event: DragEvent, kind: StepKind) {
    event.dataTransfer.setData(DRAG_TYPE, kind);
    event.dataTransfer.effectAllowed = "copy";
  }
  return (
    <Card size="small" title={t("journeys.palette.title")} data-testid="journey-palette" styles={{ body: { padding: 8 } }}>
      <Space direction="vertical" size={8} style={{ width: "100%" }}>
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {t("journeys.palette.hint")}
        </Typography.Text>
        {PALETTE.map(({ group, kinds }) => (
          <div key={group} role="group" aria-label={t(GROUP_KEYS[group])}>
            <Typography.Text strong style={{ fontSize: 12 }}>
              {t(GROUP_KEYS[group])}
            </Typography.Text>
            {kinds.map((kind) => (
              <Button
                key={kind}
                size="small"
                type="text"
                className="orbit-palette-item"
                draggable={!disabled}
                disabled={disabled}
                onDragStart={(event) => drag(event, kind)}
                onClick={() => onAdd(kind)}
                title={t("journeys.palette.add", { kind: tEnum("journeys.kind", kind) })}
                data-testid={`palette-${kebab(kind)}`}
              >
                {tEnum("journeys.kind", kind)}
              </Button>
            ))}
          </div>
        ))}
      </Space>
    </Card>
  );
}
