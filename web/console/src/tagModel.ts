// The tag editor's model: a tag's values as drafts (value, label, and for rule tags a
// condition in the builder's own model), the JSON the API takes, and where an API
// error about a value points.
import type { Condition, Label, TagKind, TagValueInput } from "./api";
import { nextKey, parseCondition, toCondition, type Group } from "./condition";
import type { Lang } from "./i18n";

export interface ValueDraft {
  key: number;
  value: string;
  /** The label in Chinese and in English; empty for none. */
  zh: string;
  en: string;
  /** Rule tags: who gets the value. */
  root: Group;
}

/** A label in the console's language, or `fallback` when there is none. */
export function labelText(fallback: string, label: Label | null | undefined, lang: Lang): string {
  if (!label) return fallback;
  return (lang === "en" ? label.en : label.zh) || fallback;
}

export function newDraft(): ValueDraft {
  return { key: nextKey(), value: "", zh: "", en: "", root: parseCondition(null) };
}

export function draftsOf(values: TagValueInput[] | null | undefined): ValueDraft[] {
  return (values ?? []).map((value) => ({
    key: nextKey(),
    value: value.value,
    zh: value.label?.zh ?? "",
    en: value.label?.en ?? "",
    root: parseCondition(value.condition ?? null),
  }));
}

function labelOf(draft: ValueDraft): Label | null {
  const zh = draft.zh.trim();
  const en = draft.en.trim();
  if (!zh && !en) return null;
  // The API wants both; a label given in one language stands for both.
  return { zh: zh || en, en: en || zh };
}

/**
 * The `values` a tag of `kind` is saved with: a rule tag's in order with their
 * conditions; an imported or manual tag's accepted values (none: any value); none
 * for RFM, whose eight groups are fixed.
 */
export function valuesJson(kind: TagKind, drafts: ValueDraft[]): TagValueInput[] | null {
  if (kind === "rfm") return null;
  if (kind !== "rule" && drafts.length === 0) return null;
  return drafts.map((draft) => {
    const value: TagValueInput = { value: draft.value.trim() };
    const label = labelOf(draft);
    if (label) value.label = label;
    if (kind === "rule") value.condition = toCondition(draft.root) as Condition | null;
    return value;
  });
}

/** Which value an API error's field names (`values[2].condition.window`), and the rest of its path. */
export function valueErrorAt(field: string | null | undefined): { index: number; rest: string } | null {
  const match = /^values\[(\d+)\](?:\.(.*))?$/.exec(field ?? "");
  if (!match) return null;
  return { index: Number(match[1]), rest: match[2] ?? "" };
}
