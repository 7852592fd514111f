-- The journey runner's state: each person's entries into journeys, the effects they
-- decided (an outbox), the tallies of nodes passed and how far the event log has been
-- matched. One runner step writes all four in one transaction.

-- The run is one JSON document, read and written whole; the columns beside it are
-- copied out of it so that the runner's queries (active runs, a person's runs, entry
-- summaries) neither decode nor scan every document.
CREATE TABLE journey_runs (
    workspace_id TEXT NOT NULL,
    journey_id   TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    entry        TEXT NOT NULL,
    version      INTEGER NOT NULL,
    entry_key    TEXT,
    status       TEXT NOT NULL,
    node         TEXT,
    due_at       INTEGER,
    state        TEXT NOT NULL,
    entered_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, journey_id, profile_id, entry)
) WITHOUT ROWID;

-- Exited runs are kept (for re-entry rules and a person's history) and soon outnumber
-- the active ones, which the runner loads at start-up and an archived journey ends.
CREATE INDEX journey_runs_active ON journey_runs (workspace_id, journey_id)
    WHERE status != 'exited';
-- A person's runs, newest entry first. The entry time never changes once a run is
-- stored, so moving a run leaves this index alone.
CREATE INDEX journey_runs_by_profile ON journey_runs (workspace_id, profile_id, entered_at);

-- The id is derived from (workspace, origin, person), so inserting an effect again on a
-- replayed step keeps the first.
CREATE TABLE journey_effects (
    id           TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL,
    journey_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    profile_id   TEXT NOT NULL,
    effect       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    done_at      INTEGER
) WITHOUT ROWID;

-- Only the few effects not yet done are looked for; a WITHOUT ROWID index carries the
-- primary key, so this one is in (created_at, id) order, as they are taken.
CREATE INDEX journey_effects_pending ON journey_effects (created_at) WHERE done_at IS NULL;

-- Tallies are added to, never rewritten: a step adds how many passed each way.
CREATE TABLE journey_node_counts (
    workspace_id TEXT NOT NULL,
    journey_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    node         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, journey_id, version, node, outcome)
) WITHOUT ROWID;

-- One row at most: the log position up to which every event has been matched.
CREATE TABLE journey_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 0),
    position INTEGER NOT NULL
);
