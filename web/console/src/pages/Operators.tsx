// Operators (admin): the list, creating one, changing a role, resetting a password,
// disabling and enabling. API errors go on the field they name.
import { useState, type HTMLAttributes, type ReactNode } from "react";
import { Alert, App, Badge, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography, type FormInstance } from "antd";
import { KeyOutlined, PlusOutlined, ReloadOutlined, StopOutlined, CheckCircleOutlined, SwapOutlined } from "@ant-design/icons";
import type { Rule } from "antd/es/form";
import { api, ApiError, ROLES, type Operator, type Role } from "../api";
import { errorText, formatTime } from "../format";
import { useI18n, type MessageKey, type Translate } from "../i18n";
import { useActiveSession, useSession } from "../session";
import { useLoad } from "../useLoad";
import { ErrorAlert } from "../components/Common";

const { Text } = Typography;
const MIN_PASSWORD = 10;

/** Puts an API error on the form field it names; false when it names none of them. */
function showOnField(form: FormInstance, error: unknown, fields: readonly string[]): boolean {
  if (!(error instanceof ApiError)) return false;
  let field = error.field;
  if (!field && error.code === "already_exists" && fields.includes("login")) field = "login";
  if (!field || !fields.includes(field)) return false;
  form.setFields([{ name: field, errors: [error.message] }]);
  return true;
}

function passwordRules(t: Translate, login?: () => string | undefined): Rule[] {
  return [
    { required: true, message: t("operators.passwordRequired") },
    {
      validator: (_, value: string | undefined) =>
        !value || [...value].length >= MIN_PASSWORD ? Promise.resolve() : Promise.reject(new Error(t("operators.passwordTooShort"))),
    },
    {
      validator: (_, value: string | undefined) => {
        const name = login?.()?.trim().toLowerCase();
        return value && name && value.trim().toLowerCase() === name
          ? Promise.reject(new Error(t("operators.passwordSameAsLogin")))
          : Promise.resolve();
      },
    },
  ];
}

function confirmRules(t: Translate): Rule[] {
  return [
    { required: true, message: t("operators.passwordRequired") },
    ({ getFieldValue }) => ({
      validator: (_, value: string | undefined) =>
        !value || value === getFieldValue("password") ? Promise.resolve() : Promise.reject(new Error(t("operators.passwordMismatch"))),
    }),
  ];
}

function RoleSelect(props: { id?: string; value?: Role; onChange?: (role: Role) => void; testId: string }) {
  const { t } = useI18n();
  return (
    <Select<Role>
      id={props.id}
      value={props.value}
      onChange={props.onChange}
      data-testid={props.testId}
      options={ROLES.map((role) => ({ value: role, label: t(`role.${role}` as MessageKey) }))}
    />
  );
}

type Dialog = { kind: "create" } | { kind: "role"; operator: Operator } | { kind: "password"; operator: Operator } | null;

export function OperatorsPage() {
  const { t, tEnum } = useI18n();
  const { message, modal } = App.useApp();
  const me = useActiveSession().operator;
  const { refresh } = useSession();
  const list = useLoad(() => api.operators(), []);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busyId, setBusyId] = useState<string | null>(null);

  function changed(operator: Operator) {
    list.reload();
    if (operator.id === me.id) void refresh();
  }

  function toggle(operator: Operator) {
    const disabling = !operator.disabled;
    modal.confirm({
      title: disabling ? t("operators.disable") : t("operators.enable"),
      content: t(disabling ? "operators.disableConfirm" : "operators.enableConfirm", { login: operator.login }),
      okText: disabling ? t("operators.disable") : t("operators.enable"),
      okButtonProps: { danger: disabling, "data-testid": "operator-toggle-confirm" },
      cancelText: t("common.cancel"),
      cancelButtonProps: { "data-testid": "operator-toggle-cancel" },
      onOk: async () => {
        setBusyId(operator.id);
        try {
          const updated = await api.changeOperator(operator.id, { disabled: disabling });
          message.success(t(disabling ? "operators.disabledOk" : "operators.enabledOk", { login: updated.login }));
          changed(updated);
        } catch (error) {
          message.error(errorText(error, t));
        } finally {
          setBusyId(null);
        }
      },
    });
  }

  const operators = list.data?.data ?? [];

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("operators.title")}
      </Typography.Title>
      <Card
        extra={
          <Space>
            <Button icon={<ReloadOutlined aria-hidden />} onClick={list.reload} aria-label={t("common.refresh")} title={t("common.refresh")} data-testid="operators-reload" />
            <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => setDialog({ kind: "create" })} data-testid="operator-create">
              {t("operators.create")}
            </Button>
          </Space>
        }
        title={t("operators.title")}
      >
        {list.error !== undefined && (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={list.error} onRetry={list.reload} testId="operators-error" />
          </div>
        )}
        <Table<Operator>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={operators}
          pagination={operators.length > 50 ? { pageSize: 50, showSizeChanger: false } : false}
          data-testid="operators-table"
          scroll={{ x: 900 }}
          onRow={(operator) => ({ "data-testid": `operator-row-${operator.login}` }) as HTMLAttributes<HTMLElement>}
          columns={[
            {
              title: t("operators.login"),
              dataIndex: "login",
              render: (login: string, operator) => (
                <span>
                  <Text className="orbit-mono">{login}</Text>
                  {operator.id === me.id && <Text type="secondary">{t("operators.you")}</Text>}
                </span>
              ),
            },
            { title: t("operators.name"), dataIndex: "name" },
            {
              title: t("operators.role"),
              dataIndex: "role",
              render: (role: Role) => <Tag color={role === "admin" ? "red" : "blue"}>{tEnum("role", role)}</Tag>,
            },
            {
              title: t("operators.status"),
              dataIndex: "disabled",
              render: (disabled: boolean) =>
                disabled ? <Badge status="default" text={t("operators.disabled")} /> : <Badge status="success" text={t("operators.enabled")} />,
            },
            { title: t("operators.created"), dataIndex: "created_at", render: (at: string) => formatTime(at) },
            {
              title: t("common.actions"),
              key: "actions",
              render: (_: unknown, operator) => (
                <Space size="small" wrap>
                  <Button size="small" icon={<SwapOutlined aria-hidden />} onClick={() => setDialog({ kind: "role", operator })} data-testid="operator-change-role">
                    {t("operators.changeRole")}
                  </Button>
                  <Button size="small" icon={<KeyOutlined aria-hidden />} onClick={() => setDialog({ kind: "password", operator })} data-testid="operator-reset-password">
                    {t("operators.resetPassword")}
                  </Button>
                  <Button
                    size="small"
                    danger={!operator.disabled}
                    icon={operator.disabled ? <CheckCircleOutlined aria-hidden /> : <StopOutlined aria-hidden />}
                    loading={busyId === operator.id}
                    onClick={() => toggle(operator)}
                    data-testid="operator-toggle"
                  >
                    {operator.disabled ? t("operators.enable") : t("operators.disable")}
                  </Button>
                </Space>
              ),
            },
          ]}
        />
      </Card>
      {dialog?.kind === "create" && (
        <CreateDialog
          onClose={() => setDialog(null)}
          onDone={(operator) => {
            setDialog(null);
            message.success(t("operators.created.ok", { login: operator.login }));
            changed(operator);
          }}
        />
      )}
      {dialog?.kind === "role" && (
        <RoleDialog
          operator={dialog.operator}
          onClose={() => setDialog(null)}
          onDone={(operator) => {
            setDialog(null);
            message.success(t("operators.roleChanged", { login: operator.login, role: tEnum("role", operator.role) }));
            changed(operator);
          }}
        />
      )}
      {dialog?.kind === "password" && (
        <PasswordDialog
          operator={dialog.operator}
          onClose={() => setDialog(null)}
          onDone={(operator) => {
            setDialog(null);
            message.success(t("operators.passwordReset", { login: operator.login }));
            changed(operator);
          }}
        />
      )}
    </Space>
  );
}

/** A dialog holding one form, its submit, and an error no field is to blame for. */
function FormDialog<V extends object>({
  title,
  form,
  testId,
  onClose,
  submit,
  fields,
  children,
  initialValues,
}: {
  title: string;
  form: FormInstance<V>;
  testId: string;
  onClose: () => void;
  submit: (values: V) => Promise<void>;
  fields: readonly string[];
  children: ReactNode;
  initialValues?: Partial<V>;
}) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(undefined);

  async function finish(values: V) {
    setBusy(true);
    setProblem(undefined);
    try {
      await submit(values);
    } catch (error) {
      if (!showOnField(form, error, fields)) setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open
      title={title}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={busy}
      maskClosable={false}
      okButtonProps={{ "data-testid": `${testId}-submit` }}
      cancelButtonProps={{ "data-testid": `${testId}-cancel` }}
      data-testid={testId}
    >
      {problem !== undefined && (
        <Alert type="error" showIcon role="alert" message={errorText(problem, t)} style={{ marginBottom: 16 }} data-testid={`${testId}-error`} />
      )}
      <Form<V>
        form={form}
        layout="vertical"
        name={testId}
        onFinish={finish}
        initialValues={initialValues}
        onValuesChange={() => setProblem(undefined)}
      >
        {children}
        <button type="submit" style={{ display: "none" }} tabIndex={-1} aria-hidden />
      </Form>
    </Modal>
  );
}

interface CreateValues {
  login: string;
  name?: string;
  role: Role;
  password: string;
  confirm: string;
}

function CreateDialog({ onClose, onDone }: { onClose: () => void; onDone: (operator: Operator) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<CreateValues>();
  return (
    <FormDialog<CreateValues>
      title={t("operators.createTitle")}
      form={form}
      testId="operator-create-dialog"
      onClose={onClose}
      fields={["login", "name", "role", "password"]}
      initialValues={{ role: "marketer" }}
      submit={async (values) => {
        const operator = await api.createOperator({
          login: values.login.trim(),
          name: values.name?.trim() ? values.name.trim() : null,
          role: values.role,
          password: values.password,
        });
        onDone(operator);
      }}
    >
      <Form.Item
        label={t("operators.login")}
        name="login"
        rules={[
          { required: true, whitespace: true, message: t("operators.loginRequired") },
          { pattern: /^\S*$/, message: t("operators.loginNoSpaces") },
          { max: 254 },
        ]}
      >
        <Input placeholder={t("operators.loginPlaceholder")} autoComplete="off" data-testid="operator-login-input" />
      </Form.Item>
      <Form.Item label={t("operators.name")} name="name" rules={[{ max: 200 }]}>
        <Input placeholder={t("operators.namePlaceholder")} autoComplete="off" data-testid="operator-name-input" />
      </Form.Item>
      <Form.Item label={t("operators.role")} name="role" rules={[{ required: true, message: t("operators.roleRequired") }]}>
        <RoleSelect testId="operator-role-select" />
      </Form.Item>
      <Form.Item label={t("operators.password")} name="password" rules={passwordRules(t, () => form.getFieldValue("login"))} hasFeedback>
        <Input.Password autoComplete="new-password" data-testid="operator-password-input" />
      </Form.Item>
      <Form.Item label={t("operators.passwordConfirm")} name="confirm" dependencies={["password"]} rules={confirmRules(t)} hasFeedback>
        <Input.Password autoComplete="new-password" data-testid="operator-password-confirm-input" />
      </Form.Item>
    </FormDialog>
  );
}

function RoleDialog({ operator, onClose, onDone }: { operator: Operator; onClose: () => void; onDone: (operator: Operator) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ role: Role }>();
  return (
    <FormDialog<{ role: Role }>
      title={t("operators.changeRoleTitle", { login: operator.login })}
      form={form}
      testId="operator-role-dialog"
      onClose={onClose}
      fields={["role"]}
      initialValues={{ role: operator.role }}
      submit={async ({ role }) => onDone(await api.changeOperator(operator.id, { role }))}
    >
      <Form.Item label={t("operators.role")} name="role" rules={[{ required: true, message: t("operators.roleRequired") }]}>
        <RoleSelect testId="operator-new-role-select" />
      </Form.Item>
    </FormDialog>
  );
}

function PasswordDialog({ operator, onClose, onDone }: { operator: Operator; onClose: () => void; onDone: (operator: Operator) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ password: string; confirm: string }>();
  return (
    <FormDialog<{ password: string; confirm: string }>
      title={t("operators.resetPasswordTitle", { login: operator.login })}
      form={form}
      testId="operator-password-dialog"
      onClose={onClose}
      fields={["password"]}
      submit={async ({ password }) => onDone(await api.changeOperator(operator.id, { password }))}
    >
      <Typography.Paragraph type="secondary">{t("operators.resetPasswordHint")}</Typography.Paragraph>
      <Form.Item label={t("operators.newPassword")} name="password" rules={passwordRules(t, () => operator.login)} hasFeedback>
        <Input.Password autoComplete="new-password" data-testid="operator-new-password-input" />
      </Form.Item>
      <Form.Item label={t("operators.passwordConfirm")} name="confirm" dependencies={["password"]} rules={confirmRules(t)} hasFeedback>
        <Input.Password autoComplete="new-password" data-testid="operator-new-password-confirm-input" />
      </Form.Item>
    </FormDialog>
  );
}
