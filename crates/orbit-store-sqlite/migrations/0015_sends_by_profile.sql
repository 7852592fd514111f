-- A person's messages for their 360° view, newest first: without this, reading one
-- person's messages scanned the whole ledger.
CREATE INDEX sends_by_profile ON sends (workspace_id, profile_id, created_at DESC, id DESC);
