-- In-app inbox messages, kept until the person's app fetches them (and for a while
-- after, so a reinstalled app still shows recent ones).
CREATE TABLE inbox_messages (
    id           TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    campaign_id  TEXT,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    popup        INTEGER NOT NULL,
    link         TEXT,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER
);
CREATE INDEX inbox_by_time ON inbox_messages (created_at);
CREATE INDEX inbox_by_profile ON inbox_messages (workspace_id, profile_id);
