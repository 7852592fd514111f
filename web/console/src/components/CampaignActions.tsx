// The commands a campaign's state allows (launch, pause, resume, cancel; deleting a
// draft that never ran), each asking first when it cannot be undone.
import { useState, type ReactNode } from "react";
import { App, Button, Space } from "antd";
import { CaretRightOutlined, DeleteOutlined, PauseOutlined, RocketOutlined, StopOutlined } from "@ant-design/icons";
import { api, type Campaign, type CampaignAction } from "../api";
import { errorText } from "../format";
import { useI18n, type MessageKey } from "../i18n";
import { ACTIONS } from "../campaign";

const ICONS: Record<CampaignAction, ReactNode> = {
  launch: <RocketOutlined aria-hidden />,
  pause: <PauseOutlined aria-hidden />,
  resume: <CaretRightOutlined aria-hidden />,
  cancel: <StopOutlined aria-hidden />,
};

/** Commands that cannot be taken back: launching sends, cancelling suppresses what is left. */
const CONFIRMED: readonly CampaignAction[] = ["launch", "cancel"];

export function CampaignActions({
  campaign,
  onChanged,
  onDeleted,
  size = "small",
}: {
  campaign: Campaign;
  onChanged: (campaign: Campaign) => void;
  onDeleted?: () => void;
  size?: "small" | "middle";
}) {
  const { t } = useI18n();
  const { message, modal } = App.useApp();
  const [busy, setBusy] = useState<CampaignAction | null>(null);

  async function act(action: CampaignAction) {
    setBusy(action);
    try {
      const changed = await api.actOnCampaign(campaign.id, action);
      message.success(t(`campaigns.done.${action}` as MessageKey, { name: campaign.name }));
      onChanged(changed);
    } catch (error) {
      message.error(errorText(error, t));
    } finally {
      setBusy(null);
    }
  }

  function ask(action: CampaignAction) {
    if (!CONFIRMED.includes(action)) {
      void act(action);
      return;
    }
    modal.confirm({
      title: t(`campaigns.action.${action}` as MessageKey),
      content: t(`campaigns.confirm.${action}` as MessageKey, { name: campaign.name }),
      okText: t(`campaigns.action.${action}` as MessageKey),
      okButtonProps: { danger: action === "cancel", "data-testid": `campaign-${action}-confirm` },
      cancelText: t("common.cancel"),
      onOk: () => act(action),
    });
  }

  function remove() {
    modal.confirm({
      title: t("campaigns.delete"),
      content: t("campaigns.deleteConfirm", { name: campaign.name }),
      okText: t("campaigns.delete"),
      okButtonProps: { danger: true, "data-testid": "campaign-delete-confirm" },
      cancelText: t("common.cancel"),
      onOk: async () => {
        try {
          await api.deleteCampaign(campaign.id);
          message.success(t("campaigns.deleted", { name: campaign.name }));
          onDeleted?.();
        } catch (error) {
          message.error(errorText(error, t));
        }
      },
    });
  }

  return (
    <Space size={4} wrap>
      {ACTIONS[campaign.state].map((action) => (
        <Button
          key={action}
          size={size}
          type={action === "launch" ? "primary" : "default"}
          danger={action === "cancel"}
          icon={ICONS[action]}
          loading={busy === action}
          disabled={busy !== null}
          onClick={() => ask(action)}
          data-testid={`campaign-${action}-${campaign.id}`}
        >
          {t(`campaigns.action.${action}` as MessageKey)}
        </Button>
      ))}
      {onDeleted && campaign.state === "draft" && campaign.runs === 0 && (
        <Button size={size} danger icon={<DeleteOutlined aria-hidden />} onClick={remove} data-testid={`campaign-delete-${campaign.id}`}>
          {t("campaigns.delete")}
        </Button>
      )}
    </Space>
  );
}
