// A test send through one account: one message to an address typed here, through the
// provider, and what the provider answered — taken, refused (with its words) or silent.
import { useState } from "react";
import { Alert, Form, Input, Modal, Typography } from "antd";
import { api, type AccountTestResult, type ChannelAccount } from "../api";
import { errorText } from "../format";
import { useI18n, type MessageKey } from "../i18n";

const { Text } = Typography;

/** What the address field asks for, per channel; a webhook posts to its own URL. */
const ADDRESS_HINT: Partial<Record<ChannelAccount["channel"], MessageKey>> = {
  email: "channels.testToEmail",
  sms: "channels.testToPhone",
  push: "channels.testToPush",
};

export function ChannelTestSend({ account, onClose }: { account: ChannelAccount; onClose: () => void }) {
  const { t } = useI18n();
  const [to, setTo] = useState("");
  const [text, setText] = useState(() => t("channels.testDefaultText", { name: account.name }));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<AccountTestResult | null>(null);
  const [failure, setFailure] = useState<unknown>(undefined);
  const hint = ADDRESS_HINT[account.channel];

  async function send() {
    setBusy(true);
    setResult(null);
    setFailure(undefined);
    try {
      setResult(await api.testChannel(account.id, { to: hint ? to.trim() : undefined, text: text.trim() || undefined }));
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open
      title={t("channels.testTitle", { name: account.name })}
      onCancel={onClose}
      onOk={() => void send()}
      okText={t("channels.testSend")}
      cancelText={t("channels.close")}
      confirmLoading={busy}
      maskClosable={false}
      okButtonProps={{ "data-testid": "channel-test-send" }}
      cancelButtonProps={{ "data-testid": "channel-test-close" }}
    >
      <Form layout="vertical" component="div">
        {hint && (
          <Form.Item label={t("channels.testTo")} required htmlFor="channel-test-to">
            <Input
              id="channel-test-to"
              value={to}
              onChange={(event) => setTo(event.target.value)}
              placeholder={t(hint)}
              autoComplete="off"
              data-testid="channel-test-to"
            />
          </Form.Item>
        )}
        <Form.Item label={t("channels.testText")} htmlFor="channel-test-text">
          <Input.TextArea
            id="channel-test-text"
            value={text}
            onChange={(event) => setText(event.target.value)}
            autoSize={{ minRows: 2, maxRows: 6 }}
            maxLength={1000}
            data-testid="channel-test-text"
          />
        </Form.Item>
      </Form>
      <div aria-live="polite" data-testid="channel-test-result">
        {failure !== undefined && <Alert type="error" showIcon role="alert" message={errorText(failure, t)} />}
        {result && <Outcome result={result} />}
      </div>
    </Modal>
  );
}

function Outcome({ result }: { result: AccountTestResult }) {
  const { t, tEnum } = useI18n();
  if (result.outcome === "sent") {
    return (
      <Alert
        type="success"
        showIcon
        message={result.address ? t("channels.testSentTo", { address: result.address }) : t("channels.testSent")}
        description={
          result.provider_message_id ? (
            <span>
              {t("channels.testProviderId")} <Text code>{result.provider_message_id}</Text>
            </span>
          ) : undefined
        }
      />
    );
  }
  return (
    <Alert
      type={result.outcome === "retryable" ? "warning" : "error"}
      showIcon
      role="alert"
      message={tEnum("testOutcome", result.outcome)}
      description={
        <span>
          {result.code && <Text code>{result.code}</Text>} {result.message}
        </span>
      }
    />
  );
}
