-- Reaching people: templates, provider accounts, campaigns, consent and the send ledger.

-- A template's name, class, content and defaults as one JSON document: the content's
-- shape depends on its channel and is only ever read whole.
CREATE TABLE message_templates (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    document     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

-- Provider accounts. The configuration is sealed (encrypted and authenticated) as a
-- whole by the engine; the masked copy is what the API shows.
CREATE TABLE channel_accounts (
    workspace_id    TEXT NOT NULL,
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    provider        TEXT NOT NULL,
    sealed_config   BLOB NOT NULL,
    masked_config   TEXT NOT NULL,
    is_default      INTEGER NOT NULL,
    rate_per_second INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

CREATE TABLE campaigns (
    workspace_id      TEXT NOT NULL,
    id                TEXT NOT NULL,
    definition        TEXT NOT NULL,
    state             TEXT NOT NULL,
    runs              INTEGER NOT NULL,
    next_run_at       INTEGER,
    materialized_runs INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

-- Consent changes are appended, never updated: the latest covering record decides,
-- and the history is what a regulator asks for.
CREATE TABLE consents (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    channel      TEXT,
    topic        TEXT,
    status       TEXT NOT NULL,
    at           INTEGER NOT NULL
);
CREATE INDEX consents_by_profile ON consents (workspace_id, profile_id);

-- The send ledger. The id is derived from (workspace, origin, profile, lane), so the
-- primary key is the rule that a message goes to a person at most once.
CREATE TABLE sends (
    id                  TEXT PRIMARY KEY NOT NULL,
    workspace_id        TEXT NOT NULL,
    origin              TEXT NOT NULL,
    campaign_id         TEXT,
    profile_id          TEXT NOT NULL,
    lane                TEXT NOT NULL,
    variant             TEXT,
    marketing           INTEGER NOT NULL,
    state               TEXT NOT NULL,
    held                INTEGER NOT NULL DEFAULT 0,
    suppression         TEXT,
    channel             TEXT,
    account             TEXT,
    address             TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    not_before          INTEGER NOT NULL,
    next_attempt_at     INTEGER NOT NULL,
    last_error          TEXT,
    provider_message_id TEXT,
    accepted_at         INTEGER,
    delivered_at        INTEGER,
    bounced_at          INTEGER,
    opened_at           INTEGER,
    clicked_at          INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX sends_due ON sends (next_attempt_at) WHERE state = 'scheduled' AND held = 0;
CREATE INDEX sends_in_flight ON sends (state) WHERE state = 'dispatching';
CREATE INDEX sends_by_origin ON sends (workspace_id, origin, state);
CREATE INDEX sends_by_campaign ON sends (workspace_id, campaign_id);
CREATE INDEX sends_by_provider_id ON sends (provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX sends_marketing_accepted ON sends (accepted_at) WHERE marketing = 1 AND accepted_at IS NOT NULL;
CREATE INDEX sends_failed ON sends (workspace_id, updated_at) WHERE state = 'failed';
