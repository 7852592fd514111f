-- Workspaces: one brand each; every other row carries a workspace_id.
CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);
INSERT INTO workspaces (id, name, settings, created_at) VALUES ('default', 'Default', '{}', 0);

-- The event log. AUTOINCREMENT so a position is never reused, even after erasure
-- deletes the newest events. The body holds the whole event; the columns beside it are
-- what queries filter on.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    name         TEXT,
    ts           INTEGER NOT NULL,
    profile_id   TEXT,
    body         TEXT NOT NULL
);
CREATE INDEX events_by_profile ON events (workspace_id, profile_id, ts DESC, seq DESC)
    WHERE profile_id IS NOT NULL;

-- Message ids claimed, as 128-bit digests of (workspace, source, message id), in the
-- order received. The store keeps them all in memory as the unique key (see ADR 0004);
-- this table makes that key durable. Pruned after the retention window.
CREATE TABLE message_ids (
    digest       BLOB NOT NULL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX message_ids_by_age ON message_ids (received_at);

-- Profiles as documents: identities, traits (with their times), merged ids, issues.
CREATE TABLE profiles (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

CREATE TABLE identities (
    workspace_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    state        TEXT,
    PRIMARY KEY (workspace_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_by_profile ON identities (workspace_id, profile_id);

-- Ids of merged-away profiles, pointing at the live survivor.
CREATE TABLE profile_aliases (
    workspace_id TEXT NOT NULL,
    merged_id    TEXT NOT NULL,
    survivor_id  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, merged_id)
) WITHOUT ROWID;
CREATE INDEX profile_aliases_by_survivor ON profile_aliases (workspace_id, survivor_id);

-- Every merge with its reason; root_id follows later merges to the live profile.
CREATE TABLE profile_merges (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    root_id      TEXT NOT NULL,
    survivor_id  TEXT NOT NULL,
    merged_id    TEXT NOT NULL,
    linked_by    TEXT NOT NULL,
    position     INTEGER NOT NULL,
    at           INTEGER NOT NULL
);
CREATE INDEX profile_merges_by_root ON profile_merges (workspace_id, root_id);

-- Links refused by a guard rail, for review.
CREATE TABLE identity_conflicts (
    id               INTEGER PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    profile_id       TEXT NOT NULL,
    other_profile_id TEXT,
    body             TEXT NOT NULL,
    position         INTEGER NOT NULL,
    at               INTEGER NOT NULL
);
CREATE INDEX identity_conflicts_by_profile ON identity_conflicts (workspace_id, profile_id);
CREATE INDEX identity_conflicts_by_other ON identity_conflicts (workspace_id, other_profile_id);

-- Write keys and API keys, as HMAC digests.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    digest       TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    source_id    TEXT,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id);
