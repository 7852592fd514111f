import { useMemo, useState } from "react";
import { Outlet, useLocation, useNavigate } from "react-router";
import { App, Button, Layout, Menu, Space, Tag, Typography, type MenuProps } from "antd";
import { AuditOutlined, FileTextOutlined, LogoutOutlined, NodeIndexOutlined, PartitionOutlined, SettingOutlined, TeamOutlined, UserOutlined } from "@ant-design/icons";
import { access, useActiveSession, useSession } from "../session";
import { useI18n } from "../i18n";
import { errorText } from "../format";
import { LanguageSwitch } from "./LanguageSwitch";

const { Header, Sider, Content } = Layout;

const ROUTES: Record<string, string> = {
  profiles: "/profiles",
  segments: "/segments",
  content: "/content",
  operators: "/settings/operators",
  audit: "/settings/audit",
  journeys: "/journeys",
};

function selectedKey(pathname: string): string {
  if (pathname.startsWith("/settings/operators")) return "operators";
  if (pathname.startsWith("/settings/audit")) return "audit";
  if (pathname.startsWith("/segments")) return "segments";
  if (pathname.startsWith("/content")) return "content";
  if (pathname.startsWith("/journeys")) return "journeys";
  return "profiles";
}

export function Shell() {
  const { t, tEnum } = useI18n();
  const session = useActiveSession();
  const { logout } = useSession();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const location = useLocation();
  const role = session.operator.role;
  const selected = selectedKey(location.pathname);
  const [collapsed, setCollapsed] = useState(false);
  const [leaving, setLeaving] = useState(false);

  const items = useMemo<MenuProps["items"]>(() => {
    const settings: NonNullable<MenuProps["items"]> = [];
    if (access.operators(role)) {
      settings.push({
        key: "operators",
        icon: <TeamOutlined aria-hidden />,
        label: (
          <span data-testid="nav-operators">{t("nav.operators")}</span>
        ),
      });
    }
    if (access.audit(role)) {
      settings.push({
        key: "audit",
        icon: <AuditOutlined aria-hidden />,
        label: (
          <span data-testid="nav-audit">{t("nav.audit")}</span>
        ),
      });
    }
    const top: NonNullable<MenuProps["items"]> = [
      {
        key: "profiles",
        icon: <UserOutlined aria-hidden />,
        label: (
          <span data-testid="nav-profiles">{t("nav.profiles")}</span>
        ),
      },
    ];
    if (access.segments(role)) {
      top.push({
        key: "segments",
        icon: <PartitionOutlined aria-hidden />,
        label: <span data-testid="nav-segments">{t("nav.segments")}</span>,
      });
    }
    if (access.content(role)) {
      top.push({
        key: "content",
        icon: <FileTextOutlined aria-hidden />,
        label: <span data-testid="nav-content">{t("nav.content")}</span>,
      });
    }
    if (access.journeys(role)) {
      top.push({
        key: "journeys",
        icon: <NodeIndexOutlined aria-hidden />,
        label: <span data-testid="nav-journeys">{t("nav.journeys")}</span>,
      });
    }
    if (settings.length > 0) {
      top.push({
        key: "settings",
        icon: <SettingOutlined aria-hidden />,
        label: <span data-testid="nav-settings">{t("nav.settings")}</span>,
        children: settings,
      });
    }
    return top;
  }, [role, t]);

  async function leave() {
    setLeaving(true);
    try {
      await logout();
      message.success(t("header.loggedOut"));
      navigate("/login", { replace: true });
    } catch (error) {
      message.error(errorText(error, t));
    } finally {
      setLeaving(false);
    }
  }

  return (
    <Layout style={{ minHeight: "100%" }}>
      <a href="#orbit-main" className="orbit-skip-link">
        {t("app.skipToMain")}
      </a>
      <Sider collapsible collapsed={collapsed} onCollapse={setCollapsed} breakpoint="lg" width={208}>
        <div className="orbit-logo" data-testid="app-logo">
          {collapsed ? t("app.name").charAt(0) : t("app.name")}
        </div>
        <nav aria-label={t("nav.label")}>
          <Menu
            theme="dark"
            mode="inline"
            selectedKeys={[selected]}
            defaultOpenKeys={["settings"]}
            items={items}
            onClick={({ key }) => {
              const target = ROUTES[key];
              if (target) navigate(target);
            }}
            data-testid="nav-menu"
          />
        </nav>
      </Sider>
      <Layout>
        <Header
          style={{
            background: "#fff",
            padding: "0 24px",
            display: "flex",
            alignItems: "center",
            justifyContent: "flex-end",
            borderBottom: "1px solid #f0f0f0",
          }}
        >
          <Space size="middle" wrap>
            <span data-testid="header-operator" title={t("header.operator")}>
              <Typography.Text strong data-testid="header-operator-name">
                {session.operator.name}
              </Typography.Text>{" "}
              <Tag color={role === "admin" ? "red" : "blue"} data-testid="header-operator-role" style={{ marginInlineEnd: 0 }}>
                {tEnum("role", role)}
              </Tag>
            </span>
            <LanguageSwitch />
            <Button icon={<LogoutOutlined aria-hidden />} onClick={leave} loading={leaving} data-testid="logout">
              {t("header.logout")}
            </Button>
          </Space>
        </Header>
        <Content id="orbit-main" tabIndex={-1} style={{ margin: 24, minWidth: 0 }}>
          <Outlet />
        </Content>
      </Layout>
    </Layout>
  );
}
