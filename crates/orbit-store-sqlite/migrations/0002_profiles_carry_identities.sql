-- The engine keeps every profile's timeline and identities in memory (ADR 0005). Random-
-- key indexes and tables cost a B-tree page per event or identity written, and nothing
-- reads them any more: events are found by position, identities by the engine.
DROP INDEX events_by_profile;

-- What the engine reads at start-up to rebuild timelines, without the event bodies. In
-- position order, so it grows at its right edge: appends write few pages.
CREATE INDEX events_placement ON events (seq, workspace_id, profile_id, ts);

-- Identity states move into the profile document they belong to, as `linking`.
UPDATE profiles SET body = json_set(body, '$.linking', (
    SELECT json_group_array(json_object(
        'identity', json_object('type', i.kind, 'value', i.value),
        'seen_with', json(COALESCE(json_extract(i.state, '$.seen_with'), '[]')),
        'shared', json(CASE WHEN json_extract(i.state, '$.shared') THEN 'true' ELSE 'false' END)))
    FROM identities i
    WHERE i.workspace_id = profiles.workspace_id AND i.profile_id = profiles.id AND i.state IS NOT NULL))
WHERE EXISTS (
    SELECT 1 FROM identities i
    WHERE i.workspace_id = profiles.workspace_id AND i.profile_id = profiles.id AND i.state IS NOT NULL);

DROP TABLE identities;
