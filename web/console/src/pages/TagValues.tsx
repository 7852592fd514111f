// A tag's values as the editor shows them: for a rule tag, the ordered layers (the
// first whose condition holds wins) with the chosen one's condition in the segment
// condition builder; for an imported or manual tag, the values it accepts.
import { Alert, Button, Card, Input, Space, Tag, Typography } from "antd";
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, EditOutlined, PlusOutlined } from "@ant-design/icons";
import type { TagKind } from "../api";
import { conditionPath, hasRaw, type Group } from "../condition";
import { useI18n } from "../i18n";
import { newDraft, type ValueDraft } from "../tagModel";
import { ConditionBuilder } from "../components/ConditionBuilder";

const { Text } = Typography;
/** What a rule may name: traits, behaviour and other tags, never a segment. */
const RULE_KINDS = ["trait", "event", "sequence", "tag"] as const;

/** The API's complaint about one value: which, where inside it, and what. */
export interface ValueError {
  index: number;
  rest: string;
  message: string;
}

interface Props {
  kind: TagKind;
  drafts: ValueDraft[];
  onChange: (drafts: ValueDraft[]) => void;
  /** The value whose condition is being edited (rule tags). */
  selected: number;
  onSelect: (index: number) => void;
  readOnly: boolean;
  /** The API's complaint about a value, shown where it points. */
  error: ValueError | null;
}

export function TagValues({ kind, drafts, onChange, selected, onSelect, readOnly, error }: Props) {
  const { t } = useI18n();
  const isRule = kind === "rule";

  function change(index: number, next: Partial<ValueDraft>) {
    onChange(drafts.map((draft, i) => (i === index ? { ...draft, ...next } : draft)));
  }

  function move(index: number, by: -1 | 1) {
    const next = [...drafts];
    const [moved] = next.splice(index, 1);
    next.splice(index + by, 0, moved);
    onChange(next);
    if (selected === index) onSelect(index + by);
  }

  function remove(index: number) {
    onChange(drafts.filter((_, i) => i !== index));
    if (selected >= index && selected > 0) onSelect(selected - 1);
  }

  function add() {
    onChange([...drafts, newDraft()]);
    if (isRule) onSelect(drafts.length);
  }

  const current = isRule ? drafts[selected] : undefined;
  const conditionError =
    error && isRule && error.index === selected && error.rest.startsWith("condition")
      ? { path: conditionPath(error.rest) ?? "", message: error.message }
      : null;

  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Card
        title={isRule ? t("tags.ruleValues") : t("tags.acceptedValues")}
        data-testid="tag-values"
        extra={
          !readOnly && (
            <Button size="small" icon={<PlusOutlined aria-hidden />} onClick={add} data-testid="tag-value-add">
              {t("tags.addValue")}
            </Button>
          )
        }
      >
        <Text type="secondary" style={{ display: "block", marginBottom: 12 }}>
          {isRule ? t("tags.ruleValuesHint") : t("tags.acceptedValuesHint")}
        </Text>
        {drafts.map((draft, i) => (
          <ValueRow
            key={draft.key}
            draft={draft}
            index={i}
            count={drafts.length}
            isRule={isRule}
            chosen={isRule && i === selected}
            readOnly={readOnly}
            error={error && error.index === i && !(isRule && error.rest.startsWith("condition")) ? error.message : null}
            onChange={(next) => change(i, next)}
            onChoose={() => onSelect(i)}
            onMove={(by) => move(i, by)}
            onRemove={() => remove(i)}
          />
        ))}
      </Card>
      {current && (
        <Card
          title={t("tags.conditionOf", { value: current.value.trim() || t("tags.valueNumber", { n: selected + 1 }) })}
          data-testid="tag-condition"
        >
          {hasRaw(current.root) && <Alert type="warning" showIcon message={t("condition.rawPresent")} style={{ marginBottom: 12 }} />}
          <ConditionBuilder
            key={current.key}
            root={current.root}
            onChange={(root: Group) => change(selected, { root })}
            readOnly={readOnly}
            segmentIds={[]}
            kinds={RULE_KINDS}
            error={conditionError}
          />
          {/* An error about the whole condition shows on its row when it has exactly one. */}
          {conditionError?.path === "" && current.root.items.length !== 1 && (
            <Text type="danger" role="alert" data-testid="tag-condition-error">
              {conditionError.message}
            </Text>
          )}
        </Card>
      )}
    </Space>
  );
}

function ValueRow({
  draft,
  index,
  count,
  isRule,
  chosen,
  readOnly,
  error,
  onChange,
  onChoose,
  onMove,
  onRemove,
}: {
  draft: ValueDraft;
  index: number;
  count: number;
  isRule: boolean;
  chosen: boolean;
  readOnly: boolean;
  error: string | null;
  onChange: (next: Partial<ValueDraft>) => void;
  onChoose: () => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}) {
  const { t } = useI18n();
  const testId = `tag-value-${index}`;
  return (
    <Card size="small" style={{ marginBottom: 8, borderColor: error ? "#ff4d4f" : chosen ? "#1677ff" : undefined }} data-testid={testId}>
      <Space wrap align="start">
        {isRule && <Tag color={chosen ? "blue" : "default"}>{index + 1}</Tag>}
        <Input
          value={draft.value}
          disabled={readOnly}
          placeholder={t("tags.valuePlaceholder")}
          aria-label={t("tags.value")}
          style={{ width: 160 }}
          onChange={(event) => onChange({ value: event.target.value })}
          data-testid={`${testId}-value`}
        />
        <Input
          value={draft.zh}
          disabled={readOnly}
          placeholder={t("tags.labelZh")}
          aria-label={t("tags.labelZh")}
          style={{ width: 140 }}
          onChange={(event) => onChange({ zh: event.target.value })}
          data-testid={`${testId}-label-zh`}
        />
        <Input
          value={draft.en}
          disabled={readOnly}
          placeholder={t("tags.labelEn")}
          aria-label={t("tags.labelEn")}
          style={{ width: 140 }}
          onChange={(event) => onChange({ en: event.target.value })}
          data-testid={`${testId}-label-en`}
        />
        {isRule && (
          <Button type={chosen ? "primary" : "default"} icon={<EditOutlined aria-hidden />} onClick={onChoose} data-testid={`${testId}-edit`}>
            {t("tags.editCondition")}
          </Button>
        )}
        {!readOnly && (
          <>
            {isRule && (
              <>
                <Button icon={<ArrowUpOutlined aria-hidden />} disabled={index === 0} onClick={() => onMove(-1)} aria-label={t("tags.moveUp")} title={t("tags.moveUp")} data-testid={`${testId}-up`} />
                <Button icon={<ArrowDownOutlined aria-hidden />} disabled={index === count - 1} onClick={() => onMove(1)} aria-label={t("tags.moveDown")} title={t("tags.moveDown")} data-testid={`${testId}-down`} />
              </>
            )}
            <Button danger icon={<DeleteOutlined aria-hidden />} onClick={onRemove} aria-label={t("tags.removeValue")} title={t("tags.removeValue")} data-testid={`${testId}-remove`} />
          </>
        )}
      </Space>
      {error && (
        <div style={{ marginTop: 8 }}>
          <Text type="danger" role="alert" data-testid={`${testId}-error`}>
            {error}
          </Text>
        </div>
      )}
    </Card>
  );
}
