-- 0007_inbox_fetch: the fetch stage. An item that needs the CRM's API before it can be applied
-- (elements that carry only ids; a body naming what the tenant's CRM directory lacks) waits for
-- the fetch worker, which tries it with backoff and stores what it fetched with the item.
--   state:   stored | waiting | fetched (complete: the writer applies it next, so processed_at is
--            NULL again, as for a stored item) | applied | ignored | failed
--   reason:  waiting, fetched and applied items that went through the fetch stage say what for:
--            fetch (elements from the API) or directory (the CRM directory); failed items also
--            fetch_failed, fetch_timeout, no_fetcher; ignored ones gone (the CRM no longer has
--            what the body named)
--   attempts, next_attempt_at: the fetch worker's tries of a waiting item, and when it tries next
--   fetch_error: why the last try failed (the item waits on)
--   fetched_at, fetched: when it was fetched and what, the complete events (JSON, see
--            src/storage/fetched.hpp); NULL for an item to decode again from its body (the
--            directory it waited for has loaded). Cleared once the item settles.
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE inbox ADD COLUMN fetch_error TEXT;
ALTER TABLE inbox ADD COLUMN fetched_at INTEGER;
ALTER TABLE inbox ADD COLUMN fetched TEXT;
UPDATE inbox SET next_attempt_at = processed_at WHERE state = 'waiting';

-- The items someone acts on (the fetch worker, /api/v1/inbox, `inbox retry`), by index.
DROP INDEX inbox_unsettled;
CREATE INDEX inbox_unsettled ON inbox (state, tenant, seq)
    WHERE state IN ('waiting', 'fetched', 'failed');

-- Applied and ignored items per tenant and reason: the counts of the states too large to count
-- row by row (/api/v1/inbox, /metrics). The triggers keep it; nothing else writes it.
CREATE TABLE inbox_settled (
    tenant TEXT    NOT NULL,
    state  TEXT    NOT NULL,
    reason TEXT    NOT NULL,
    items  INTEGER NOT NULL,
    PRIMARY KEY (tenant, state, reason)
) STRICT, WITHOUT ROWID;
INSERT INTO inbox_settled (tenant, state, reason, items)
    SELECT tenant, state, COALESCE(reason, ''), COUNT(*) FROM inbox
    WHERE state IN ('applied', 'ignored') GROUP BY tenant, state, COALESCE(reason, '');

CREATE TRIGGER inbox_settled_in AFTER UPDATE OF state, reason ON inbox
    WHEN NEW.state IN ('applied', 'ignored')
     AND (NEW.state IS NOT OLD.state OR NEW.reason IS NOT OLD.reason)
BEGIN
    INSERT INTO inbox_settled (tenant, state, reason, items)
        VALUES (NEW.tenant, NEW.state, COALESCE(NEW.reason, ''), 1)
        ON CONFLICT (tenant, state, reason) DO UPDATE SET items = items + 1;
END;
CREATE TRIGGER inbox_settled_out AFTER UPDATE OF state, reason ON inbox
    WHEN OLD.state IN ('applied', 'ignored')
     AND (NEW.state IS NOT OLD.state OR NEW.reason IS NOT OLD.reason)
BEGIN
    UPDATE inbox_settled SET items = items - 1
        WHERE tenant = OLD.tenant AND state = OLD.state AND reason = COALESCE(OLD.reason, '');
END;
CREATE TRIGGER inbox_settled_deleted AFTER DELETE ON inbox
    WHEN OLD.state IN ('applied', 'ignored')
BEGIN
    UPDATE inbox_settled SET items = items - 1
        WHERE tenant = OLD.tenant AND state = OLD.state AND reason = COALESCE(OLD.reason, '');
END;
