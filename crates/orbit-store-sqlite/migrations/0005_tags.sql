-- Tags: definitions (the source, with its rules, as JSON) and the values that imports
-- and people assign to profiles. Rule and RFM values are computed by the engine and
-- kept in its audience index, never stored here.
CREATE TABLE tags (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    family       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

-- One row per (profile, value); a profile id may since have been merged into another,
-- which the engine resolves when it applies the values.
CREATE TABLE tag_values (
    workspace_id TEXT NOT NULL,
    tag_id       TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, tag_id, profile_id, value)
) WITHOUT ROWID;

-- Erasure finds a person's values across every tag.
CREATE INDEX tag_values_by_profile ON tag_values (workspace_id, profile_id);
