-- The engine keeps every profile's timeline and identities in memory (ADR 0005):
-- these indexes cost a random B-tree page per event written and nothing reads them.
DROP INDEX events_by_profile;
DROP INDEX identities_by_profile;
