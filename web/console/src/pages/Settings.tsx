// Settings: one page of tabs, each its own route — the workspace's contact policy and
// time zone, trait merge rules and keys (admin), operators (admin) and the audit log.
import { Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { Tabs } from "antd";
import type { Role } from "../api";
import { access, useActiveSession } from "../session";
import { useI18n, type MessageKey } from "../i18n";

interface Section {
  key: string;
  label: MessageKey;
  allow: (role: Role) => boolean;
}

const SECTIONS: readonly Section[] = [
  { key: "policy", label: "settings.tabPolicy", allow: access.settings },
  { key: "rules", label: "settings.tabRules", allow: access.settings },
  { key: "keys", label: "settings.tabKeys", allow: access.settings },
  { key: "operators", label: "nav.operators", allow: access.operators },
  { key: "audit", label: "nav.audit", allow: access.audit },
];

function sectionsFor(role: Role): Section[] {
  return SECTIONS.filter((section) => section.allow(role));
}

export function SettingsLayout() {
  const { t } = useI18n();
  const role = useActiveSession().operator.role;
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const sections = sectionsFor(role);
  const active = sections.find((section) => pathname.startsWith(`/settings/${section.key}`))?.key;
  return (
    <>
      {sections.length > 1 && (
        <Tabs
          activeKey={active}
          onChange={(key) => navigate(`/settings/${key}`)}
          data-testid="settings-tabs"
          items={sections.map((section) => ({
            key: section.key,
            label: <span data-testid={`settings-tab-${section.key}`}>{t(section.label)}</span>,
          }))}
        />
      )}
      <Outlet />
    </>
  );
}

/** `/settings` opens the first section the role may see. */
export function SettingsIndex() {
  const role = useActiveSession().operator.role;
  const first = sectionsFor(role)[0]?.key ?? "audit";
  return <Navigate to={`/settings/${first}`} replace />;
}
