-- Outbound-call tasks for the call centre, one per campaign message.
CREATE TABLE call_tasks (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    phone        TEXT NOT NULL,
    script       TEXT NOT NULL,
    campaign_id  TEXT,
    status       TEXT NOT NULL,
    outcome      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX call_tasks_by_status ON call_tasks (workspace_id, status, seq);
CREATE INDEX call_tasks_by_profile ON call_tasks (workspace_id, profile_id);
