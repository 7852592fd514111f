-- Date and schedule entries. A date entry read from a trait is worked out again from
-- the profile at start-up; one set to fire a time after an event is stored here, as
-- the event is not read again. A mark per journey says up to when every occurrence
-- has been entered, so a restart neither repeats one nor misses one that came due
-- while the server was down.
CREATE TABLE journey_date_timers (
    workspace_id TEXT NOT NULL,
    journey_id   TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    position     INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    event        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, journey_id, profile_id, position)
) WITHOUT ROWID;

CREATE TABLE journey_entry_marks (
    workspace_id        TEXT NOT NULL,
    journey_id          TEXT NOT NULL,
    done_until          INTEGER NOT NULL,
    -- A schedule's occurrence under way and the last profile it entered, or NULLs.
    progress_at         INTEGER,
    progress_profile_id TEXT,
    PRIMARY KEY (workspace_id, journey_id)
) WITHOUT ROWID;
