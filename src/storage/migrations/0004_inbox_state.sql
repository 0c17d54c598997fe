-- 0004_inbox_state: every inbox item's state is explicit, with a reason code where it failed or
-- waits, so that /api/v1/inbox, /metrics and `funnelguard inbox retry` can find them by index.
--   state:  stored (not processed yet) | waiting (for the CRM directory) | applied | ignored
--           (nothing the rules judge) | failed (kept with `error`, the reason in words)
--   reason: for failed and waiting items, a short code (bad_element, directory,
--           directory_timeout, decoder, tenant_removed)
--   waiting_since: when it was first parked for the directory (kept while it is requeued after
--           a refresh, so that a refreshed directory that still lacks the id fails it)
ALTER TABLE inbox ADD COLUMN state TEXT NOT NULL DEFAULT 'stored';
ALTER TABLE inbox ADD COLUMN reason TEXT;
ALTER TABLE inbox ADD COLUMN waiting_since INTEGER;

UPDATE inbox SET
    state = CASE
        WHEN processed_at IS NULL THEN 'stored'
        WHEN error IS NULL THEN 'applied'
        WHEN substr(error, 1, 31) = 'waiting for the CRM directory: ' THEN 'waiting'
        ELSE 'failed' END;
UPDATE inbox SET reason = 'directory', waiting_since = processed_at, error = substr(error, 32)
    WHERE state = 'waiting';
UPDATE inbox SET reason = 'decoder' WHERE state = 'failed';

CREATE INDEX inbox_unsettled ON inbox (state, tenant, seq) WHERE state IN ('waiting', 'failed');
