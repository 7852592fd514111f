// One tag: its name, id, family and kind; a rule tag's ordered values with their
// conditions, an RFM tag's order event, an imported or manual tag's accepted values;
// saving and deleting (roles that may write), and for a saved tag how many hold each
// value and, when imported, a file of values.
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { App, Button, Card, Col, Form, Input, InputNumber, Row, Select, Space, Spin, Table, Tag, Typography } from "antd";
import { ArrowLeftOutlined, DeleteOutlined, SaveOutlined } from "@ant-design/icons";
import { api, ApiError, TAG_FAMILIES, TAG_KINDS, type Tag as TagDefinition, type TagFamily, type TagInput, type TagKind } from "../api";
import { errorText, formatTime } from "../format";
import { useI18n, type MessageKey } from "../i18n";
import { access, useActiveSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";
import { NotFoundResult } from "../components/Results";
import { draftsOf, labelText, newDraft, valueErrorAt, valuesJson, type ValueDraft } from "../tagModel";
import { TagValues, type ValueError } from "./TagValues";
import { TagImport } from "./TagImport";

const { Text } = Typography;
const ID_PATTERN = /^[a-z0-9_-]{1,64}$/;
const FORM_FIELDS = ["name", "id", "description", "family", "kind"] as const;
/** RFM fields in the form, by the API's path. */
const RFM_FIELDS: Record<string, string> = {
  "rfm.order_event": "order_event",
  "rfm.amount_property": "amount_property",
  "rfm.window_days": "window_days",
};

interface FormValues {
  name: string;
  id?: string;
  description?: string;
  family: TagFamily;
  kind: TagKind;
  order_event?: string;
  amount_property?: string;
  window_days?: number | null;
}

export function TagEditorPage() {
  const { id } = useParams();
  if (!id) return <Editor key="new" tag={null} />;
  return <ExistingTag key={id} tagId={id} />;
}

function ExistingTag({ tagId }: { tagId: string }) {
  const loaded = useLoad(() => api.tag(tagId), [tagId]);
  if (loaded.error instanceof ApiError && loaded.error.status === 404) return <NotFoundResult />;
  if (loaded.error !== undefined) return <ErrorAlert error={loaded.error} onRetry={loaded.reload} testId="tag-error" />;
  if (!loaded.data) return <Spin style={{ display: "block", margin: 48 }} />;
  return <Editor key={loaded.data.updated_at} tag={loaded.data} onSaved={loaded.reload} />;
}

function Editor({ tag, onSaved }: { tag: TagDefinition | null; onSaved?: () => void }) {
  const { t, tEnum } = useI18n();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  const role = useActiveSession().operator.role;
  const canWrite = access.tagsWrite(role);
  const [form] = Form.useForm<FormValues>();
  const kind: TagKind = Form.useWatch("kind", form) ?? tag?.kind ?? "rule";
  // An RFM tag's values are its eight fixed groups: not drafts to edit.
  const [drafts, setDrafts] = useState<ValueDraft[]>(() => (tag ? (tag.kind === "rfm" ? [] : draftsOf(tag.values)) : [newDraft()]));
  const [selected, setSelected] = useState(0);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [valueError, setValueError] = useState<ValueError | null>(null);

  function changeDrafts(next: ValueDraft[]) {
    setDrafts(next);
    setValueError(null);
  }

  /** A rule tag needs a first value to fill in; other kinds start with none (any value). */
  function changeKind(next: TagKind) {
    setValueError(null);
    const untouched = drafts.every((draft) => !draft.value.trim() && !draft.zh.trim() && !draft.en.trim() && draft.root.items.length === 0);
    if (next === "rule" && drafts.length === 0) setDrafts([newDraft()]);
    else if (next !== "rule" && untouched) setDrafts([]);
    setSelected(0);
  }

  function input(values: FormValues): TagInput {
    const body: TagInput = {
      name: values.name.trim(),
      description: values.description?.trim() ?? "",
      family: values.family,
      kind: values.kind,
      values: valuesJson(values.kind, drafts),
    };
    if (values.kind === "rfm") {
      body.rfm = {
        order_event: values.order_event?.trim() || undefined,
        amount_property: values.amount_property?.trim() || undefined,
        window_days: values.window_days ?? undefined,
      };
    }
    return body;
  }

  /** Puts an API error where it points: a form field, a value, or the page. */
  function showError(error: unknown) {
    const field = error instanceof ApiError ? error.field : null;
    const at = valueErrorAt(field);
    if (error instanceof ApiError && at) {
      setValueError({ ...at, message: error.message });
      if (kind === "rule") setSelected(at.index);
    } else if (error instanceof ApiError && field && (FORM_FIELDS as readonly string[]).includes(field)) {
      form.setFields([{ name: field as keyof FormValues, errors: [error.message] }]);
    } else if (error instanceof ApiError && field && RFM_FIELDS[field]) {
      form.setFields([{ name: RFM_FIELDS[field] as keyof FormValues, errors: [error.message] }]);
    } else {
      setSaveError(error);
    }
  }

  async function save(values: FormValues) {
    setSaving(true);
    setSaveError(undefined);
    setValueError(null);
    const body = input(values);
    try {
      if (tag) {
        await api.replaceTag(tag.id, { ...body, id: tag.id });
        message.success(t("tags.saved", { name: body.name }));
        onSaved?.();
      } else {
        const created = await api.createTag({ ...body, id: values.id?.trim() ? values.id.trim() : undefined });
        message.success(t("tags.created", { name: created.name }));
        navigate(`/tags/${encodeURIComponent(created.id)}`, { replace: true });
      }
    } catch (error) {
      showError(error);
    } finally {
      setSaving(false);
    }
  }

  function remove() {
    if (!tag) return;
    modal.confirm({
      title: t("tags.delete"),
      content: t("tags.deleteConfirm", { name: tag.name }),
      okText: t("tags.delete"),
      okButtonProps: { danger: true, "data-testid": "tag-delete-confirm" },
      cancelText: t("common.cancel"),
      cancelButtonProps: { "data-testid": "tag-delete-cancel" },
      onOk: async () => {
        try {
          await api.deleteTag(tag.id);
          message.success(t("tags.deleted", { name: tag.name }));
          navigate("/tags", { replace: true });
        } catch (error) {
          message.error(errorText(error, t));
        }
      },
    });
  }

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Link to="/tags" data-testid="tags-back">
        <ArrowLeftOutlined aria-hidden /> {t("tags.back")}
      </Link>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {tag ? tag.name : t("tags.newTitle")}
        {tag && (
          <Tag style={{ marginInlineStart: 12, verticalAlign: "middle" }} color="blue">
            {tEnum("tagKind", tag.kind)}
          </Tag>
        )}
      </Typography.Title>
      {saveError !== undefined && <ErrorAlert error={saveError} testId="tag-save-error" />}
      <Card>
        <Form<FormValues>
          form={form}
          layout="vertical"
          name="tag"
          disabled={!canWrite}
          initialValues={{
            name: tag?.name ?? "",
            id: tag?.id ?? "",
            description: tag?.description ?? "",
            family: tag?.family ?? "business",
            kind: tag?.kind ?? "rule",
            order_event: tag?.rfm?.order_event ?? "",
            amount_property: tag?.rfm?.amount_property ?? "",
            window_days: tag?.rfm?.window_days ?? null,
          }}
          onFinish={save}
          onValuesChange={() => setSaveError(undefined)}
        >
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item label={t("tags.name")} name="name" rules={[{ required: true, whitespace: true, message: t("tags.nameRequired") }, { max: 200 }]}>
                <Input placeholder={t("tags.namePlaceholder")} autoComplete="off" data-testid="tag-name-input" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item label={t("tags.id")} name="id" extra={tag ? undefined : t("tags.idHint")} rules={[{ pattern: ID_PATTERN, message: t("tags.idInvalid") }]}>
                <Input className="orbit-mono" disabled={!!tag || !canWrite} placeholder="vip_level" autoComplete="off" data-testid="tag-id-input" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item label={t("tags.family")} name="family">
                <Select<TagFamily>
                  data-testid="tag-family-select"
                  options={TAG_FAMILIES.map((family) => ({ value: family, label: tEnum("tagFamily", family) }))}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item label={t("tags.kind")} name="kind" extra={t(`tags.kindHint.${kind}` as MessageKey)}>
                <Select<TagKind>
                  data-testid="tag-kind-select"
                  onChange={changeKind}
                  options={TAG_KINDS.map((value) => ({ value, label: tEnum("tagKind", value) }))}
                />
              </Form.Item>
            </Col>
            <Col xs={24}>
              <Form.Item label={t("tags.description")} name="description">
                <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} data-testid="tag-description-input" />
              </Form.Item>
            </Col>
            {kind === "rfm" && <RfmFields />}
          </Row>
        </Form>
      </Card>

      {kind !== "rfm" && (
        <TagValues kind={kind} drafts={drafts} onChange={changeDrafts} selected={selected} onSelect={setSelected} readOnly={!canWrite} error={valueError} />
      )}

      {canWrite && (
        <Space wrap>
          <Button type="primary" icon={<SaveOutlined aria-hidden />} loading={saving} onClick={() => form.submit()} data-testid="tag-save">
            {t("common.save")}
          </Button>
          {tag && (
            <Button danger icon={<DeleteOutlined aria-hidden />} onClick={remove} data-testid="tag-delete">
              {t("tags.delete")}
            </Button>
          )}
        </Space>
      )}

      {tag && <TagCounts tag={tag} />}
      {tag && tag.kind === "imported" && canWrite && <TagImport tagId={tag.id} onImported={() => onSaved?.()} />}
    </Space>
  );
}

function RfmFields() {
  const { t } = useI18n();
  return (
    <>
      <Col xs={24} md={8}>
        <Form.Item label={t("tags.rfmOrderEvent")} name="order_event">
          <Input placeholder="order_paid" className="orbit-mono" data-testid="tag-rfm-event" />
        </Form.Item>
      </Col>
      <Col xs={24} md={8}>
        <Form.Item label={t("tags.rfmAmount")} name="amount_property">
          <Input placeholder="amount" className="orbit-mono" data-testid="tag-rfm-amount" />
        </Form.Item>
      </Col>
      <Col xs={24} md={8}>
        <Form.Item label={t("tags.rfmWindow")} name="window_days">
          <InputNumber min={1} precision={0} placeholder="365" style={{ width: "100%" }} data-testid="tag-rfm-window" />
        </Form.Item>
      </Col>
    </>
  );
}

/** How many people hold the saved tag and each of its values. */
function TagCounts({ tag }: { tag: TagDefinition }) {
  const { t, lang } = useI18n();
  const declared = tag.values ?? [];
  const rows = [
    ...declared.map((value) => ({ value: value.value, label: labelText("", value.label, lang), count: tag.counts[value.value] ?? 0 })),
    // Imported and manual tags may hold values they do not declare.
    ...Object.entries(tag.counts)
      .filter(([value]) => !declared.some((d) => d.value === value))
      .map(([value, count]) => ({ value, label: "", count })),
  ];
  const refreshed = tag.refreshed?.evaluated_at;
  return (
    <Card title={t("tags.countsTitle", { profiles: tag.profiles })} data-testid="tag-counts">
      <Table
        rowKey="value"
        size="small"
        dataSource={rows}
        pagination={false}
        locale={{ emptyText: t("tags.countsEmpty") }}
        columns={[
          { title: t("tags.value"), dataIndex: "value", render: (value: string) => <Text className="orbit-mono">{value}</Text> },
          { title: t("tags.label"), dataIndex: "label" },
          { title: t("tags.holders"), dataIndex: "count", align: "right" },
        ]}
      />
      {refreshed && (
        <Text type="secondary" style={{ display: "block", marginTop: 8 }}>
          {t("tags.refreshed", { time: formatTime(refreshed) })}
        </Text>
      )}
    </Card>
  );
}
