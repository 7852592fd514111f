import { useMemo, useState } from "react";
import { Outlet, useLocation, useNavigate } from "react-router";
import { App, Button, Layout, Menu, Space, Tag, Typography, type MenuProps } from "antd";
import { ApiOutlined, DashboardOutlined, FileTextOutlined, LogoutOutlined, NodeIndexOutlined, PartitionOutlined, SendOutlined, SettingOutlined, TagsOutlined, UserOutlined } from "@ant-design/icons";
import { access, useActiveSession, useSession } from "../session";
import { useI18n } from "../i18n";
import { errorText } from "../format";
import { LanguageSwitch } from "./LanguageSwitch";

const { Header, Sider, Content } = Layout;

const ROUTES: Record<string, string> = {
  profiles: "/profiles",
  segments: "/segments",
  content: "/content",
  campaigns: "/campaigns",
  channels: "/channels",
  settings: "/settings",
  dashboard: "/dashboard",
  tags: "/tags",
  journeys: "/journeys",
};

function selectedKey(pathname: string): string {
  if (pathname.startsWith("/settings")) return "settings";
  if (pathname.startsWith("/segments")) return "segments";
  if (pathname.startsWith("/content")) return "content";
  if (pathname.startsWith("/campaigns")) return "campaigns";
  if (pathname.startsWith("/channels")) return "channels";
  if (pathname.startsWith("/dashboard")) return "dashboard";
  if (pathname.startsWith("/tags")) return "tags";
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
    const top: NonNullable<MenuProps["items"]> = [];
    if (access.dashboard(role)) {
      top.push({
        key: "dashboard",
        icon: <DashboardOutlined aria-hidden />,
        label: <span data-testid="nav-dashboard">{t("nav.dashboard")}</span>,
      });
    }
    top.push({
      key: "profiles",
      icon: <UserOutlined aria-hidden />,
      label: (
        <span data-testid="nav-profiles">{t("nav.profiles")}</span>
      ),
    });
    if (access.tags(role)) {
      top.push({
        key: "tags",
        icon: <TagsOutlined aria-hidden />,
        label: <span data-testid="nav-tags">{t("nav.tags")}</span>,
      });
    }
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
    if (access.campaigns(role)) {
      top.push({
        key: "campaigns",
        icon: <SendOutlined aria-hidden />,
        label: <span data-testid="nav-campaigns">{t("nav.campaigns")}</span>,
      });
    }
    if (access.channels(role)) {
      top.push({
        key: "channels",
        icon: <ApiOutlined aria-hidden />,
        label: <span data-testid="nav-channels">{t("nav.channels")}</span>,
      });
    }
    // Settings opens on its first section the role may see (the audit log at least).
    top.push({
      key: "settings",
      icon: <SettingOutlined aria-hidden />,
      label: <span data-testid="nav-settings">{t("nav.settings")}</span>,
    });
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
