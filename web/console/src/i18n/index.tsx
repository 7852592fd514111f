// Translations: a typed `t(key, values)`, the language chosen (remembered in
// localStorage, Chinese by default), and antd's and dayjs's locales to match.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ConfigProvider, App as AntApp } from "antd";
import type { Locale } from "antd/es/locale";
import antdZhCN from "antd/locale/zh_CN";
import antdEnUS from "antd/locale/en_US";
import dayjs from "dayjs";
import "dayjs/locale/zh-cn";
import zhCN, { type MessageKey, type Messages } from "./zh-CN";
import en from "./en";

export type { MessageKey } from "./zh-CN";

export type Lang = "zh-CN" | "en";
export const LANGS: readonly Lang[] = ["zh-CN", "en"];

const STORAGE_KEY = "orbit.console.lang";

const TABLES: Record<Lang, Messages> = { "zh-CN": zhCN, en };
const ANTD: Record<Lang, Locale> = { "zh-CN": antdZhCN, en: antdEnUS };
const DAYJS: Record<Lang, string> = { "zh-CN": "zh-cn", en: "en" };

export type Values = Record<string, string | number>;
export type Translate = (key: MessageKey, values?: Values) => string;

/** Fills `{name}` placeholders; an unknown placeholder is left as it is. */
export function format(text: string, values?: Values): string {
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
  );
}

function storedLang(): Lang {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved === "zh-CN" || saved === "en") return saved;
  } catch {
    // Storage may be refused (private mode): keep the default.
  }
  return "zh-CN";
}

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: Translate;
  /** A translated name for a value of an API enum (`channel.sms`), or the value itself. */
  tEnum: (prefix: string, value: string | null | undefined) => string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(storedLang);

  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      window.localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Not remembered, still switched.
    }
  }, []);

  const value = useMemo<I18n>(() => {
    const table = TABLES[lang];
    const t: Translate = (key, values) => format(table[key] ?? key, values);
    const tEnum = (prefix: string, raw: string | null | undefined) => {
      if (raw === null || raw === undefined) return "";
      const key = `${prefix}.${raw}`;
      return Object.prototype.hasOwnProperty.call(table, key) ? table[key as MessageKey] : raw;
    };
    return { lang, setLang, t, tEnum };
  }, [lang, setLang]);

  dayjs.locale(DAYJS[lang]);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = TABLES[lang]["app.title"];
  }, [lang]);

  return (
    <I18nContext.Provider value={value}>
      <ConfigProvider locale={ANTD[lang]} theme={{ token: { colorPrimary: "#1677ff" } }} button={{ autoInsertSpace: false }}>
        <AntApp className="orbit-app">{children}</AntApp>
      </ConfigProvider>
    </I18nContext.Provider>
  );
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error("useI18n outside I18nProvider");
  return context;
}
