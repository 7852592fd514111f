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
import { TemplatesPage } from "./pages/Templates";
import { TemplateEditorPage } from "./pages/TemplateEditor";
import { ForbiddenResult, NotFoundResult } from "./components/Results";
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
  if (state.status === "active") return <Navigate to="/profiles" replace />;
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
        <Route index element={<Navigate to="/profiles" replace />} />
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
          path="settings/operators"
          element={
            <RoleGate allow={access.operators}>
              <OperatorsPage />
            </RoleGate>
          }
        />
        <Route
          path="settings/audit"
          element={
            <RoleGate allow={access.audit}>
              <AuditPage />
            </RoleGate>
          }
        />
        <Route path="*" element={<NotFoundResult />} />
      </Route>
    </Routes>
  );
}
