import { useEffect, useState } from "react";
import { useLocation, useNavigate } from "react-router";
import { Alert, Button, Card, Form, Input, Space, Typography } from "antd";
import { LockOutlined, UserOutlined } from "@ant-design/icons";
import { api, ApiError } from "../api";
import { errorText } from "../format";
import { useI18n } from "../i18n";
import { useSession } from "../session";
import { LanguageSwitch } from "./LanguageSwitch";
import type { LoginRedirect } from "../App";

interface LoginForm {
  login: string;
  password: string;
}

type Problem = { kind: "wrong" } | { kind: "throttled"; until: number; login: string } | { kind: "other"; error: unknown };

/** Seconds left until `until` (a Date.now() value), ticking every second. */
function useCountdown(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [until]);
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

export function LoginPage() {
  const { t } = useI18n();
  const { state, begin } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const redirect = (location.state ?? {}) as LoginRedirect;
  const [form] = Form.useForm<LoginForm>();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const waitLeft = useCountdown(problem?.kind === "throttled" ? problem.until : null);
  const typedLogin = Form.useWatch("login", form);
  // The server throttles per account (and per address): another login may be tried.
  const throttled = problem?.kind === "throttled" && waitLeft > 0 && (typedLogin ?? "").trim() === problem.login;
  const startupError = state.status === "anonymous" ? state.error : undefined;

  async function submit(values: LoginForm) {
    setBusy(true);
    setProblem(null);
    try {
      const session = await api.login(values.login.trim(), values.password);
      begin(session);
      const target = redirect.from && redirect.from.startsWith("/") && !redirect.from.startsWith("/login") ? redirect.from : "/dashboard";
      navigate(target, { replace: true });
    } catch (error) {
      form.setFieldValue("password", "");
      if (error instanceof ApiError && error.code === "too_many_attempts") {
        setProblem({ kind: "throttled", until: Date.now() + (error.retryAfter ?? 2) * 1000, login: values.login.trim() });
      } else if (error instanceof ApiError && error.status === 401) {
        setProblem({ kind: "wrong" });
      } else {
        setProblem({ kind: "other", error });
      }
    } finally {
      setBusy(false);
    }
  }

  let alert: string | null = null;
  if (problem?.kind === "wrong") alert = t("login.wrong");
  else if (problem?.kind === "throttled" && waitLeft > 0) alert = t("login.throttled", { seconds: waitLeft });
  else if (problem?.kind === "other") alert = errorText(problem.error, t);
  else if (!problem && startupError) alert = errorText(startupError, t);

  return (
    <main className="orbit-login">
      <Card style={{ width: 400, maxWidth: "100%" }} data-testid="login-card">
        <Space direction="vertical" size="middle" style={{ width: "100%" }}>
          <div style={{ display: "flex", justifyContent: "space-between", alignItems: "center" }}>
            <Typography.Text strong style={{ fontSize: 20 }}>
              {t("app.name")}
            </Typography.Text>
            <LanguageSwitch />
          </div>
          <div>
            <Typography.Title level={1} style={{ fontSize: 20, margin: 0 }}>
              {t("login.title")}
            </Typography.Title>
            <Typography.Text type="secondary">{t("login.subtitle")}</Typography.Text>
          </div>
          {redirect.ended && !problem && <Alert type="info" showIcon message={t("login.sessionEnded")} />}
          {alert && <Alert type="error" showIcon role="alert" message={alert} data-testid="login-error" />}
          <Form<LoginForm>
            form={form}
            layout="vertical"
            requiredMark={false}
            onFinish={submit}
            data-testid="login-form"
            name="login"
          >
            <Form.Item
              label={t("login.login")}
              name="login"
              rules={[{ required: true, whitespace: true, message: t("login.loginRequired") }]}
            >
              <Input
                prefix={<UserOutlined aria-hidden />}
                placeholder={t("login.loginPlaceholder")}
                autoComplete="username"
                autoFocus
                data-testid="login-input"
              />
            </Form.Item>
            <Form.Item
              label={t("login.password")}
              name="password"
              rules={[{ required: true, message: t("login.passwordRequired") }]}
            >
              <Input.Password
                prefix={<LockOutlined aria-hidden />}
                autoComplete="current-password"
                data-testid="password-input"
              />
            </Form.Item>
            <Form.Item style={{ marginBottom: 0 }}>
              <Button
                type="primary"
                htmlType="submit"
                block
                loading={busy}
                disabled={throttled}
                data-testid="login-submit"
              >
                {throttled ? t("login.throttledShort", { seconds: waitLeft }) : t("login.submit")}
              </Button>
            </Form.Item>
          </Form>
        </Space>
      </Card>
    </main>
  );
}
