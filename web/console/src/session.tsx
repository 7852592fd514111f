// Who is logged in: read from `GET /v1/session` on start, set by the login, cleared by
// the logout or by any 401 (the API client reports those).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, setCsrfToken, setUnauthorizedHandler, type Role, type Session } from "./api";

type State =
  | { status: "loading" }
  | { status: "anonymous"; ended: boolean; error?: ApiError }
  | { status: "active"; session: Session };

interface SessionContextValue {
  state: State;
  /** Keeps a session the login answered. */
  begin: (session: Session) => void;
  /** Reads the session again (after the operator's own role changed). */
  refresh: () => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: "loading" });

  const begin = useCallback((session: Session) => {
    setCsrfToken(session.csrf_token);
    setState({ status: "active", session });
  }, []);

  const load = useCallback(async () => {
    try {
      begin(await api.session());
    } catch (error) {
      setCsrfToken(null);
      const apiError = error instanceof ApiError ? error : undefined;
      // 401: not logged in. Anything else (the server is down…) also shows the login
      // page, with the reason.
      setState({ status: "anonymous", ended: false, error: apiError && apiError.status !== 401 ? apiError : undefined });
    }
  }, [begin]);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setState((previous) => (previous.status === "active" ? { status: "anonymous", ended: true } : previous));
    });
    void load();
    return () => setUnauthorizedHandler(null);
  }, [load]);

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setCsrfToken(null);
      setState({ status: "anonymous", ended: false });
    }
  }, []);

  const value = useMemo(() => ({ state, begin, refresh: load, logout }), [state, begin, load, logout]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const context = useContext(SessionContext);
  if (!context) throw new Error("useSession outside SessionProvider");
  return context;
}

/** The logged-in session; only under `RequireSession`. */
export function useActiveSession(): Session {
  const { state } = useSession();
  if (state.status !== "active") throw new Error("no active session");
  return state.session;
}

/** What each role may open in the console (the server checks again). */
export const access = {
  operators: (role: Role) => role === "admin",
  audit: (_role: Role) => true,
  profiles: (_role: Role) => true,
  segments: (_role: Role) => true,
  /** Creating, changing and deleting segments (`audiences:write`). */
  segmentsWrite: (role: Role) => role === "admin" || role === "marketer",
  content: (_role: Role) => true,
  /** Creating, changing and deleting templates (`audiences:write`). */
  contentWrite: (role: Role) => role === "admin" || role === "marketer",
  /** Provider accounts, secrets masked (`audiences:read`): campaigns pick one. */
  channels: (_role: Role) => true,
  /** Creating, changing, deleting and test-sending through accounts (admin). */
  channelsWrite: (role: Role) => role === "admin",
  campaigns: (_role: Role) => true,
  /** Creating, launching, pausing and cancelling campaigns (`audiences:write`). */
  campaignsWrite: (role: Role) => role === "admin" || role === "marketer",
  dashboard: (_role: Role) => true,
  tags: (_role: Role) => true,
  /** Creating, changing and deleting tags, imports and installing libraries (`audiences:write`). */
  tagsWrite: (role: Role) => role === "admin" || role === "marketer",
  /** The workspace's settings and keys (`admin`). */
  settings: (role: Role) => role === "admin",
  journeys: (_role: Role) => true,
  /** Drawing, publishing, pausing and archiving journeys (`audiences:write`). */
  journeysWrite: (role: Role) => role === "admin" || role === "marketer",
};
