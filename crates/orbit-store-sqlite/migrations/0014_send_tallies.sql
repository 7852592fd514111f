-- Messages sent and delivered per workspace and quarter hour (epoch milliseconds
-- divided by 900,000), for the dashboard's counts per day: a day reads 96 rows rather
-- than every message of the day. Triggers keep them in the transaction that changes
-- the ledger row, and only on the row's first acceptance or delivery, so a tally is
-- exactly as durable as the rows it counts and never counts one twice.
CREATE TABLE send_tallies (
    workspace_id TEXT NOT NULL,
    quarter      INTEGER NOT NULL,
    sent         INTEGER NOT NULL DEFAULT 0,
    delivered    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, quarter)
) WITHOUT ROWID;

CREATE TRIGGER send_tallies_sent AFTER UPDATE OF accepted_at ON sends
WHEN OLD.accepted_at IS NULL AND NEW.accepted_at IS NOT NULL
BEGIN
    INSERT INTO send_tallies (workspace_id, quarter, sent)
    VALUES (NEW.workspace_id, NEW.accepted_at / 900000, 1)
    ON CONFLICT (workspace_id, quarter) DO UPDATE SET sent = sent + 1;
END;

CREATE TRIGGER send_tallies_delivered AFTER UPDATE OF delivered_at ON sends
WHEN OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL
BEGIN
    INSERT INTO send_tallies (workspace_id, quarter, delivered)
    VALUES (NEW.workspace_id, NEW.delivered_at / 900000, 1)
    ON CONFLICT (workspace_id, quarter) DO UPDATE SET delivered = delivered + 1;
END;

-- The ledger as it stands, counted once.
INSERT INTO send_tallies (workspace_id, quarter, sent, delivered)
SELECT workspace_id, quarter, SUM(sent), SUM(delivered) FROM (
    SELECT workspace_id, accepted_at / 900000 AS quarter, 1 AS sent, 0 AS delivered
    FROM sends WHERE accepted_at IS NOT NULL
    UNION ALL
    SELECT workspace_id, delivered_at / 900000, 0, 1
    FROM sends WHERE delivered_at IS NOT NULL)
GROUP BY workspace_id, quarter;
