-- 0001_init: the first schema. Append-only: change it with a new numbered file, never by editing.
-- Times are INTEGER UTC epoch seconds; ids are TEXT as the CRM sends them. Tables read in key order
-- are WITHOUT ROWID; small columns come first and long text last.

-- Webhook bodies as received. A (tenant, crm, dedupe_key) is stored once.
CREATE TABLE inbox (
    seq          INTEGER PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    crm          TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    error        TEXT,
    body         TEXT    NOT NULL,
    UNIQUE (tenant, crm, dedupe_key)
) STRICT;
CREATE INDEX inbox_pending ON inbox (seq, received_at) WHERE processed_at IS NULL;

-- Event ids already applied to the mirror.
CREATE TABLE events_seen (
    tenant   TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (tenant, event_id)
) STRICT, WITHOUT ROWID;

-- The mirror: one row per deal. The card is the newest deal.upserted's (updated_at = its CRM
-- time; NULL while no card has been seen); deleted_at is the newest deal.deleted's CRM time, and
-- deleted = (deleted_at >= updated_at): a deletion wins a tie, a newer upsert restores the deal.
-- A row without card or deletion holds tasks or notes that arrived before their deal.
-- The deal's stage history, tasks and notes are one binary document, `doc`, so that a sweep reads
-- one row per deal. Empty: a zero-length blob. Otherwise: byte 1 (the format version), then
--   history: count, then per change: at, own (byte), pipeline, stage      -- CRM time order
--   tasks:   count, then per task: id, flags (byte: 1 done, 2 deleted, 4 own, 8 has due,
--            16 has closed_at), [due], created_at, updated_at, [closed_at], reschedules,
--            responsible, text                                            -- by id
--   notes:   count, then per note: id, at, own (byte), text               -- by (at, id)
-- where counts and reschedules are unsigned LEB128 varints, times zigzag varints of epoch seconds,
-- and text a varint byte length followed by UTF-8.
CREATE TABLE deals (
    tenant      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    created_at  INTEGER,
    updated_at  INTEGER,
    deleted_at  INTEGER,
    wake_at     INTEGER,
    pipeline    TEXT    NOT NULL DEFAULT '',
    stage       TEXT    NOT NULL DEFAULT '',
    responsible TEXT    NOT NULL DEFAULT '',
    title       TEXT    NOT NULL DEFAULT '',
    fields      TEXT    NOT NULL DEFAULT '{}',  -- JSON object, string values
    doc         BLOB    NOT NULL DEFAULT X'',
    PRIMARY KEY (tenant, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX deals_wake ON deals (wake_at) WHERE wake_at IS NOT NULL;

-- Which deal each task is in (task ids are unique within a tenant; a task may move). deal_id is
-- '' for a deletion seen before the task itself, with its CRM time in deleted_at.
CREATE TABLE task_deals (
    tenant     TEXT    NOT NULL,
    task_id    TEXT    NOT NULL,
    deal_id    TEXT    NOT NULL,
    deleted_at INTEGER,
    PRIMARY KEY (tenant, task_id)
) STRICT, WITHOUT ROWID;

-- What funnelguard asked the CRM to do, so that the echo is recognised (and consumed) once.
CREATE TABLE own_writes (
    tenant      TEXT    NOT NULL,
    deal_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('revert', 'task', 'note')),
    fingerprint TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX own_writes_match ON own_writes (tenant, deal_id, kind, fingerprint);
CREATE INDEX own_writes_expiry ON own_writes (expires_at);

-- Violations are history: never deleted. At most one is open per (tenant, rule, deal, key).
CREATE TABLE violations (
    id           INTEGER PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    deal_id      TEXT    NOT NULL,
    rule         TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    responsible  TEXT    NOT NULL,
    opened_at    INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolution   TEXT,
    escalated_at INTEGER,
    details      TEXT    NOT NULL DEFAULT '{}',  -- JSON
    message      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX violations_deal ON violations (tenant, deal_id);
CREATE UNIQUE INDEX violations_open ON violations (tenant, rule, deal_id, key)
    WHERE resolved_at IS NULL;

-- Write-backs and messages to send, at least once, each under its own idempotency key.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    tenant          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    violation_id    INTEGER,
    status          TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER,  -- when it became done or dead
    last_error      TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status);
CREATE INDEX outbox_violation ON outbox (violation_id) WHERE violation_id IS NOT NULL;

-- Small per-tenant state (sync cursors, schedule bookkeeping); tenant '' is global.
CREATE TABLE meta (
    tenant TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
) STRICT, WITHOUT ROWID;
