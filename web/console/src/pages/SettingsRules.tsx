// Trait merge rules (admin): how two values of one trait are settled when profiles
// merge — latest (the default), first, sum (points) or max (tiers, by a ranked list) —
// one row per trait, saved into the whole settings document (`PUT /v1/settings`).
import { useState } from "react";
import { Alert, App, Button, Card, Input, Select, Space, Spin, Table, Typography } from "antd";
import { DeleteOutlined, PlusOutlined, SaveOutlined } from "@ant-design/icons";
import { api, ApiError, TRAIT_RULE_KINDS, type TraitRule, type TraitRuleKind, type WorkspaceSettings } from "../api";
import { nextKey } from "../condition";
import { errorText } from "../format";
import { useI18n, type MessageKey, type Translate } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";

const { Text } = Typography;

interface RuleRow {
  key: number;
  trait: string;
  rule: TraitRuleKind;
  /** Ranks of text values, lowest first (max only). */
  order: string[];
}

function rowsOf(settings: WorkspaceSettings): RuleRow[] {
  return Object.entries(settings.trait_rules)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([trait, rule]) => ({ key: nextKey(), trait, rule: rule.rule, order: rule.rule === "max" ? (rule.order ?? []) : [] }));
}

function rulesOf(rows: RuleRow[]): Record<string, TraitRule> {
  const rules: Record<string, TraitRule> = {};
  for (const row of rows) {
    rules[row.trait.trim()] = row.rule === "max" ? { rule: "max", order: row.order } : { rule: row.rule };
  }
  return rules;
}

/** What is wrong with the rows before they are sent: a blank or repeated trait name. */
function problemOf(rows: RuleRow[], t: Translate): string | null {
  const seen = new Set<string>();
  for (const row of rows) {
    const name = row.trait.trim();
    if (!name) return t("settings.ruleTraitRequired");
    if (seen.has(name)) return t("settings.ruleTraitRepeated", { trait: name });
    seen.add(name);
  }
  return null;
}

export function SettingsRulesPage() {
  const { t } = useI18n();
  const loaded = useLoad(() => api.settings(), []);
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("settings.rulesTitle")}
      </Typography.Title>
      {loaded.error !== undefined && <ErrorAlert error={loaded.error} onRetry={loaded.reload} testId="settings-error" />}
      {loaded.data ? <RulesEditor settings={loaded.data} /> : loaded.error === undefined && <Spin style={{ display: "block", margin: 48 }} />}
    </Space>
  );
}

function RulesEditor({ settings }: { settings: WorkspaceSettings }) {
  const { t, tEnum } = useI18n();
  const { message } = App.useApp();
  const [saved, setSaved] = useState(settings);
  const [rows, setRows] = useState<RuleRow[]>(() => rowsOf(settings));
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<unknown>(undefined);

  function change(key: number, next: Partial<RuleRow>) {
    setRows(rows.map((row) => (row.key === key ? { ...row, ...next } : row)));
    setProblem(null);
    setSaveError(undefined);
  }

  async function save() {
    const found = problemOf(rows, t);
    if (found) {
      setProblem(found);
      return;
    }
    setSaving(true);
    setSaveError(undefined);
    try {
      const answer = await api.replaceSettings({ ...saved, trait_rules: rulesOf(rows) });
      setSaved(answer);
      setRows(rowsOf(answer));
      message.success(t("settings.saved"));
    } catch (error) {
      setSaveError(error);
    } finally {
      setSaving(false);
    }
  }

  const fieldOfError = saveError instanceof ApiError ? saveError.field : null;
  return (
    <Card
      title={t("settings.rulesCard")}
      extra={
        <Button
          size="small"
          icon={<PlusOutlined aria-hidden />}
          onClick={() => setRows([...rows, { key: nextKey(), trait: "", rule: "latest", order: [] }])}
          data-testid="settings-rules-add"
        >
          {t("settings.ruleAdd")}
        </Button>
      }
    >
      <Space direction="vertical" size="middle" style={{ width: "100%" }}>
        <Text type="secondary">{t("settings.rulesHint")}</Text>
        {problem && <Alert type="error" showIcon role="alert" message={problem} data-testid="settings-rules-problem" />}
        {saveError !== undefined && (
          <Alert
            type="error"
            showIcon
            role="alert"
            data-testid="settings-rules-error"
            message={errorText(saveError, t)}
            description={fieldOfError ? <Text code>{fieldOfError}</Text> : undefined}
          />
        )}
        <Table<RuleRow>
          rowKey="key"
          size="small"
          dataSource={rows}
          pagination={false}
          data-testid="settings-rules-table"
          locale={{ emptyText: t("settings.rulesEmpty") }}
          columns={[
            {
              title: t("settings.ruleTrait"),
              dataIndex: "trait",
              render: (trait: string, row, i) => (
                <Input
                  value={trait}
                  placeholder="points"
                  aria-label={t("settings.ruleTrait")}
                  onChange={(event) => change(row.key, { trait: event.target.value })}
                  data-testid={`settings-rule-${i}-trait`}
                />
              ),
            },
            {
              title: t("settings.ruleKind"),
              dataIndex: "rule",
              width: 200,
              render: (rule: TraitRuleKind, row, i) => (
                <Select<TraitRuleKind>
                  value={rule}
                  style={{ width: "100%" }}
                  aria-label={t("settings.ruleKind")}
                  onChange={(next) => change(row.key, { rule: next })}
                  options={TRAIT_RULE_KINDS.map((kind) => ({ value: kind, label: tEnum("traitRule", kind) }))}
                  data-testid={`settings-rule-${i}-rule`}
                />
              ),
            },
            {
              title: t("settings.ruleOrder"),
              dataIndex: "order",
              render: (order: string[], row, i) =>
                row.rule === "max" ? (
                  <Select
                    mode="tags"
                    open={false}
                    value={order}
                    style={{ width: "100%" }}
                    placeholder={t("settings.ruleOrderPlaceholder")}
                    aria-label={t("settings.ruleOrder")}
                    tokenSeparators={[",", "，"]}
                    onChange={(next: string[]) => change(row.key, { order: next })}
                    data-testid={`settings-rule-${i}-order`}
                  />
                ) : (
                  <Text type="secondary">{t(`settings.ruleHint.${row.rule}` as MessageKey)}</Text>
                ),
            },
            {
              title: t("common.actions"),
              key: "remove",
              width: 80,
              render: (_: unknown, row, i) => (
                <Button
                  danger
                  icon={<DeleteOutlined aria-hidden />}
                  onClick={() => setRows(rows.filter((other) => other.key !== row.key))}
                  aria-label={t("settings.ruleRemove")}
                  title={t("settings.ruleRemove")}
                  data-testid={`settings-rule-${i}-remove`}
                />
              ),
            },
          ]}
        />
        <Button type="primary" icon={<SaveOutlined aria-hidden />} loading={saving} onClick={() => void save()} data-testid="settings-rules-save">
          {t("common.save")}
        </Button>
      </Space>
    </Card>
  );
}
