-- Journeys: the editable draft and status of each, and its published versions.

-- The draft is one JSON document, read and written whole. The name is copied out of it
-- so that lists can be ordered and filtered without decoding every draft.
CREATE TABLE journeys (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    draft        TEXT NOT NULL,
    live_version INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

-- A published version never changes: people part-way through a journey keep moving
-- through the graph they entered, whatever is published after it.
CREATE TABLE journey_versions (
    workspace_id TEXT NOT NULL,
    journey_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, journey_id, version)
) WITHOUT ROWID;
