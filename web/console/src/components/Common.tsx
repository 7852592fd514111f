import { Alert, Button } from "antd";
import type { Json } from "../api";
import { errorText, formatJson, formatJsonCompact } from "../format";
import { useI18n } from "../i18n";

/** A call's failure, in words, with an optional retry. */
export function ErrorAlert({ error, onRetry, testId }: { error: unknown; onRetry?: () => void; testId?: string }) {
  const { t } = useI18n();
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      data-testid={testId}
      message={errorText(error, t)}
      action={
        onRetry ? (
          <Button size="small" onClick={onRetry}>
            {t("common.retry")}
          </Button>
        ) : undefined
      }
    />
  );
}

/** JSON shown as indented text: user data is never rendered as HTML. */
export function JsonBlock({
  value,
  inline,
  compact,
  label,
  testId,
}: {
  value: Json | undefined;
  inline?: boolean;
  /** One line per top-level key, nested values on that line. */
  compact?: boolean;
  label?: string;
  testId?: string;
}) {
  return (
    <pre
      className={inline ? "orbit-json orbit-json-inline" : "orbit-json"}
      aria-label={label}
      tabIndex={0}
      data-testid={testId}
    >
      {compact ? formatJsonCompact(value) : formatJson(value)}
    </pre>
  );
}
