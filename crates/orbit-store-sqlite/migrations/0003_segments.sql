-- Segments: a dynamic one is its condition (membership lives in the engine's index and
-- in the segment_entered / segment_exited events of the log); a static one also lists
-- its members here.
CREATE TABLE segments (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    condition    TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

CREATE TABLE segment_members (
    workspace_id TEXT NOT NULL,
    segment_id   TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, segment_id, profile_id)
) WITHOUT ROWID;

-- Sizes taken on a schedule, for the size-over-time chart.
CREATE TABLE segment_sizes (
    workspace_id TEXT NOT NULL,
    segment_id   TEXT NOT NULL,
    at           INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, segment_id, at)
) WITHOUT ROWID;
