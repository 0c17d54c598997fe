-- 0005_outbox_cancelled: an outbox item can be cancelled: its violation was acknowledged before
-- the action was delivered, so it is not sent (again). done_at holds when it was cancelled and
-- last_error why. SQLite cannot change a CHECK constraint in place: the table is rebuilt with
-- its rows (ids kept) and its indexes.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    tenant          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    violation_id    INTEGER,
    status          TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'done', 'dead', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER,  -- when it became done, dead or cancelled
    last_error      TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL
) STRICT;
INSERT INTO outbox_new (id, tenant, kind, idempotency_key, violation_id, status, attempts,
                        next_attempt_at, created_at, done_at, last_error, payload)
    SELECT id, tenant, kind, idempotency_key, violation_id, status, attempts, next_attempt_at,
           created_at, done_at, last_error, payload
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status);
CREATE INDEX outbox_violation ON outbox (violation_id) WHERE violation_id IS NOT NULL;
