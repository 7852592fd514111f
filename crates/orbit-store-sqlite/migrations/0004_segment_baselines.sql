-- Where a dynamic segment's enter/exit events start from: the log position its members
-- (kept in segment_members, as a static segment's are) were evaluated at when its
-- definition was saved. Transition events after the position replay over them.
CREATE TABLE segment_baselines (
    workspace_id TEXT NOT NULL,
    segment_id   TEXT NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, segment_id)
) WITHOUT ROWID;
