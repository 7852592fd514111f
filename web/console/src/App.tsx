import { lazy, Suspense, type ReactNode } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { Spin } from "antd";
import { access, useSession } from "./session";
import type { Role } from "./api";
import { useI18n } from "./i18n";
import { LoginPage } from "./pages/Login";
import { Shell } from "./pages/Shell";
import { ProfileSearchPage } from "./pages/ProfileSearch";
import { ProfilePage } from "./pages/Profile";
import { OperatorsPage } from "./pages/Operators";
import { AuditPage } from "./pages/Audit";
import { SegmentsPage } from "./pages/Segments";
import { SegmentEditorPage } from "./pages/SegmentEditor";
import { SegmentComparePage } from "./pages/SegmentCompare";
import { TemplatesPage } from "./pages/Templates";
import { TemplateEditorPage } from "./pages/TemplateEditor";
import { ForbiddenResult, NotFoundResult } from "./components/Results";
import { ChannelsPage } from "./pages/Channels";
import { CampaignsPage } from "./pages/Campaigns";
import { CampaignWizardPage } from "./pages/CampaignWizard";

// The report draws with ECharts: its chunk loads with the page.
const CampaignReportPage = lazy(() => import("./pages/CampaignReport").then((module) => ({ default: module.CampaignReportPage })));
import { TagsPage } from "./pages/Tags";
import { TagEditorPage } from "./pages/TagEditor";
import { SettingsIndex, SettingsLayout } from "./pages/Settings";
import { SettingsPolicyPage } from "./pages/SettingsPolicy";
import { SettingsRulesPage } from "./pages/SettingsRules";
import { ApiKeysPage } from "./pages/ApiKeys";

// The dashboard draws with ECharts: its chunk loads with the page.
const DashboardPage = lazy(() => import("./pages/Dashboard").then((module) => ({ default: module.DashboardPage })));
import { JourneysPage } from "./pages/Journeys";

// The canvas (@xyflow/react) is loaded with the journey editor only.
const JourneyEditorPage = lazy(() => import("./pages/JourneyEditor"));

export interface LoginRedirect {
  from?: string;
  ended?: boolean;
}

function FullPageSpin() {
  const { t } = useI18n();
  return (
    <div style={{ minHeight: "100%", display: "flex", alignItems: "center", justifyContent: "center" }}>
      <Spin size="large" tip={t("app.loading")}>
        <div style={{ width: 120, height: 80 }} />
      </Spin>
    </div>
  );
}

function RequireSession({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const location = useLocation();
  if (state.status === "loading") return <FullPageSpin />;
  if (state.status === "anonymous") {
    const redirect: LoginRedirect = { from: location.pathname + location.search, ended: state.ended };
    return <Navigate to="/login" replace state={redirect} />;
  }
  return <>{children}</>;
}

function RoleGate({ allow, children }: { allow: (role: Role) => boolean; children: ReactNode }) {
  const { state } = useSession();
  if (state.status !== "active") return null;
  return allow(state.session.operator.role) ? <>{children}</> : <ForbiddenResult />;
}

function LoginRoute() {
  const { state } = useSession();
  if (state.status === "loading") return <FullPageSpin />;
  if (state.status === "active") return <Navigate to="/dashboard" replace />;
  return <LoginPage />;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginRoute />} />
      <Route
        element={
          <RequireSession>
            <Shell />
          </RequireSession>
        }
      >
        <Route index element={<Navigate to="/dashboard" replace />} />
        <Route path="profiles" element={<ProfileSearchPage />} />
        <Route path="profiles/:id" element={<ProfilePage />} />
        <Route
          path="segments"
          element={
            <RoleGate allow={access.segments}>
              <SegmentsPage />
            </RoleGate>
          }
        />
        <Route
          path="segments/new"
          element={
            <RoleGate allow={access.segmentsWrite}>
              <SegmentEditorPage />
            </RoleGate>
          }
        />
        <Route
          path="segments/compare"
          element={
            <RoleGate allow={access.segments}>
              <SegmentComparePage />
            </RoleGate>
          }
        />
        <Route
          path="segments/:id"
          element={
            <RoleGate allow={access.segments}>
              <SegmentEditorPage />
            </RoleGate>
          }
        />
        <Route
          path="content"
          element={
            <RoleGate allow={access.content}>
              <TemplatesPage />
            </RoleGate>
          }
        />
        <Route
          path="content/new"
          element={
            <RoleGate allow={access.contentWrite}>
              <TemplateEditorPage />
            </RoleGate>
          }
        />
        <Route
          path="content/:id"
          element={
            <RoleGate allow={access.content}>
              <TemplateEditorPage />
            </RoleGate>
          }
        />
        <Route path="settings" element={<SettingsLayout />}>
          <Route index element={<SettingsIndex />} />
          <Route
            path="operators"
            element={
              <RoleGate allow={access.operators}>
                <OperatorsPage />
              </RoleGate>
            }
          />
          <Route
            path="audit"
            element={
              <RoleGate allow={access.audit}>
                <AuditPage />
              </RoleGate>
            }
          />
          <Route
            path="policy"
            element={
              <RoleGate allow={access.settings}>
                <SettingsPolicyPage />
              </RoleGate>
            }
          />
          <Route
            path="rules"
            element={
              <RoleGate allow={access.settings}>
                <SettingsRulesPage />
              </RoleGate>
            }
          />
          <Route
            path="keys"
            element={
              <RoleGate allow={access.settings}>
                <ApiKeysPage />
              </RoleGate>
            }
          />
        </Route>
        <Route
          path="journeys"
          element={
            <RoleGate allow={access.journeys}>
              <JourneysPage />
            </RoleGate>
          }
        />
        <Route
          path="journeys/new"
          element={
            <RoleGate allow={access.journeysWrite}>
              <Suspense fallback={<FullPageSpin />}>
                <JourneyEditorPage />
              </Suspense>
            </RoleGate>
          }
        />
        <Route
          path="journeys/:id"
          element={
            <RoleGate allow={access.journeys}>
              <Suspense fallback={<FullPageSpin />}>
                <JourneyEditorPage />
              </Suspense>
            </RoleGate>
          }
        />
        <Route path="settings" element={<Navigate to="/settings/audit" replace />} />
        <Route
          path="dashboard"
          element={
            <RoleGate allow={access.dashboard}>
              <Suspense fallback={<FullPageSpin />}>
                <DashboardPage />
              </Suspense>
            </RoleGate>
          }
        />
        <Route
          path="tags"
          element={
            <RoleGate allow={access.tags}>
              <TagsPage />
            </RoleGate>
          }
        />
        <Route
          path="tags/new"
          element={
            <RoleGate allow={access.tagsWrite}>
              <TagEditorPage />
            </RoleGate>
          }
        />
        <Route
          path="tags/:id"
          element={
            <RoleGate allow={access.tags}>
              <TagEditorPage />
            </RoleGate>
          }
        />
        <Route
          path="channels"
          element={
            <RoleGate allow={access.channels}>
              <ChannelsPage />
            </RoleGate>
          }
        />
        <Route
          path="campaigns"
          element={
            <RoleGate allow={access.campaigns}>
              <CampaignsPage />
            </RoleGate>
          }
        />
        <Route
          path="campaigns/new"
          element={
            <RoleGate allow={access.campaignsWrite}>
              <CampaignWizardPage />
            </RoleGate>
          }
        />
        <Route
          path="campaigns/:id/edit"
          element={
            <RoleGate allow={access.campaignsWrite}>
              <CampaignWizardPage />
            </RoleGate>
          }
        />
        <Route
          path="campaigns/:id"
          element={
            <RoleGate allow={access.campaigns}>
              <Suspense fallback={<FullPageSpin />}>
                <CampaignReportPage />
              </Suspense>
            </RoleGate>
          }
        />
        <Route path="*" element={<NotFoundResult />} />
      </Route>
    </Routes>
  );
}
