import { Alert, Button, Space, Typography } from "antd";
import type { Json } from "../api";
import type { Paged } from "../usePaged";
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

/** Under a cursor-paged table: its error, a "load more" button while pages are left, and how many rows are shown. */
export function PagedFooter<T>({ paged, testId }: { paged: Paged<T>; testId: string }) {
  const { t } = useI18n();
  return (
    <>
      {paged.error !== undefined && <ErrorAlert error={paged.error} onRetry={paged.retry} />}
      <Space>
        {!paged.done && paged.items.length > 0 && (
          <Button onClick={paged.loadMore} loading={paged.loading} data-testid={`${testId}-load-more`}>
            {t("common.loadMore")}
          </Button>
        )}
        {paged.items.length > 0 && (
          <Typography.Text type="secondary" data-testid={`${testId}-count`}>
            {t("common.shown", { count: paged.items.length })}
            {paged.done ? ` · ${t("common.noMore")}` : ""}
          </Typography.Text>
        )}
      </Space>
    </>
  );
}
