import { Segmented } from "antd";
import { LANGS, useI18n, type Lang } from "../i18n";

/** 中文 / English; the choice is remembered in localStorage. */
export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <Segmented<Lang>
      size="small"
      value={lang}
      onChange={(value) => setLang(value)}
      aria-label={t("lang.label")}
      data-testid="lang-switch"
      options={LANGS.map((value) => ({
        value,
        label: (
          <span data-testid={`lang-${value}`}>
            {value === "zh-CN" ? t("lang.zh") : t("lang.en")}
          </span>
        ),
      }))}
    />
  );
}
