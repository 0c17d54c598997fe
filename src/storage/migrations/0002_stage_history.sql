-- 0002_stage_history: the stage history as a table, for funnel analytics in plain SQL
-- (conversion, time in stage). The deal document (deals.doc) stays the copy the rules read; this
-- table mirrors its history and is rewritten for a deal whenever that history changes, which
-- happens only on stage transitions. Rows hold CRM time; `own` marks funnelguard's reverts.
CREATE TABLE stage_history (
    tenant   TEXT    NOT NULL,
    deal_id  TEXT    NOT NULL,
    seq      INTEGER NOT NULL,  -- position in the deal's history, from 0
    at       INTEGER NOT NULL,
    own      INTEGER NOT NULL CHECK (own IN (0, 1)),
    pipeline TEXT    NOT NULL,
    stage    TEXT    NOT NULL,
    PRIMARY KEY (tenant, deal_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX stage_history_at ON stage_history (tenant, at);
