-- Console operators, their sessions, and the audit log of changes made through the
-- console or the management API.

-- The login is unique on the whole server, not per workspace: it is all a login form
-- asks for, so it alone must find the operator.
CREATE TABLE operators (
    id            TEXT PRIMARY KEY NOT NULL,
    workspace_id  TEXT NOT NULL,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);
CREATE INDEX operators_by_workspace ON operators (workspace_id, created_at);

-- Sessions by the digest of their token, which every console request looks up.
CREATE TABLE operator_sessions (
    digest       TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    address      TEXT
) WITHOUT ROWID;
-- Disabling an operator or changing their password ends all their sessions at once.
CREATE INDEX operator_sessions_by_operator ON operator_sessions (workspace_id, operator_id);

-- Appended, never edited but for redaction. AUTOINCREMENT so that an id, which pages
-- are read by, is never reused. `before` and `after` are JSON documents, NULL when the
-- change had none or a person's erasure redacted them.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    at           INTEGER NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    path         TEXT NOT NULL,
    status       INTEGER NOT NULL,
    before       TEXT,
    after        TEXT,
    address      TEXT,
    redacted     INTEGER NOT NULL DEFAULT 0
);
-- A workspace's log is read newest first, a page below a cursor at a time.
CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, id);

-- The people each entry touched: erasing a person finds what to redact here, and the
-- log can be read for one person.
CREATE TABLE audit_profiles (
    entry_id     INTEGER NOT NULL,
    workspace_id TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, profile_id, entry_id)
) WITHOUT ROWID;
-- Each entry read carries its people: without this, finding them would walk every link
-- of the workspace.
CREATE INDEX audit_profiles_by_entry ON audit_profiles (entry_id);
