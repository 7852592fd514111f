// Formatting shared by the pages: times in the browser's zone, JSON as text, API
// errors as sentences.
import dayjs from "dayjs";
import { ApiError, type Json } from "./api";
import type { Translate } from "./i18n";

/** The browser's time zone (`Asia/Shanghai`), when it tells. */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  } catch {
    return "";
  }
}

/** `2024-05-01 14:03:22 UTC+08:00`: local time, with the zone's offset. */
export function formatTime(value: string | null | undefined): string {
  if (!value) return "";
  const time = dayjs(value);
  if (!time.isValid()) return value;
  return `${time.format("YYYY-MM-DD HH:mm:ss")} UTC${time.format("Z")}`;
}

/** JSON as indented text, for a `<pre>`; never rendered as HTML. */
export function formatJson(value: Json | undefined): string {
  if (value === undefined) return "";
  return JSON.stringify(value, null, 2);
}

/** JSON with one line per top-level key or item, nested values kept on their line. */
export function formatJsonCompact(value: Json | undefined): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => `  ${JSON.stringify(item)}`).join(",\n")}\n]`;
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) return "{}";
    return `{\n${keys.map((key) => `  ${JSON.stringify(key)}: ${JSON.stringify(value[key])}`).join(",\n")}\n}`;
  }
  return JSON.stringify(value);
}

/** A trait's or a property's value as one line of text. */
export function formatValue(value: Json | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

export function isEmptyJson(value: Json | undefined): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

/** What to tell the operator about a failed call. */
export function errorText(error: unknown, t: Translate): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  switch (error.code) {
    case "network":
      return t("error.network");
    case "unavailable":
      return t("error.unavailable");
    case "forbidden":
      return t("error.forbidden", { message: error.message });
    case "csrf_refused":
      return t("error.csrf");
    default:
      if (error.status >= 500) return t("error.server", { status: error.status, message: error.message });
      return error.message;
  }
}
