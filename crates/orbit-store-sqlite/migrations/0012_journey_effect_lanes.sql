-- Effects that leave Orbit (webhooks, staff notices) are done by their own worker, so
-- a receiver that is slow or down holds up no message, trait or tag change: each lane
-- takes its own pending effects, oldest first.
ALTER TABLE journey_effects ADD COLUMN outbound INTEGER NOT NULL DEFAULT 0;
UPDATE journey_effects SET outbound = 1
    WHERE json_extract(effect, '$.action.action') IN ('webhook', 'notify_staff');
DROP INDEX journey_effects_pending;
CREATE INDEX journey_effects_pending ON journey_effects (outbound, created_at) WHERE done_at IS NULL;
