-- 0008_chat: what the chat core knows beyond the config. A person links their own chat with a
-- one-time code (Telegram's /start CODE), which replaces the configured address; addresses the
-- service refused for good, or moved, are remembered, and so is when each address last got a
-- message (cooldown survives a restart). Addresses of channels whose addresses are credentials
-- (webhook URLs) are stored only as a digest (`sha256:<hex>`), with `shown` their redacted form.
CREATE TABLE chat_link (
    tenant    TEXT    NOT NULL,
    channel   TEXT    NOT NULL,
    crm_user  TEXT    NOT NULL,
    address   TEXT    NOT NULL,
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, channel, crm_user)
) STRICT;
CREATE TABLE chat_link_code (
    code       TEXT    PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    crm_user   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX chat_link_code_person ON chat_link_code (tenant, crm_user) WHERE used_at IS NULL;
CREATE TABLE chat_broken (
    tenant  TEXT    NOT NULL,
    channel TEXT    NOT NULL,
    address TEXT    NOT NULL,
    shown   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (tenant, channel, address)
) STRICT;
CREATE TABLE chat_moved (
    tenant       TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    from_address TEXT    NOT NULL,
    to_address   TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (tenant, channel, from_address)
) STRICT;
CREATE TABLE chat_last_sent (
    tenant  TEXT    NOT NULL,
    channel TEXT    NOT NULL,
    address TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (tenant, channel, address)
) STRICT;
-- A channel listener's position in the service's update stream (Telegram's getUpdates offset).
CREATE TABLE chat_cursor (
    tenant  TEXT NOT NULL,
    channel TEXT NOT NULL,
    cursor  TEXT NOT NULL,
    PRIMARY KEY (tenant, channel)
) STRICT;
-- The morning summaries planned, one row per tenant and local day: at most one run a day,
-- whatever the restarts.
CREATE TABLE chat_summary_done (
    tenant  TEXT    NOT NULL,
    day     TEXT    NOT NULL,
    done_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, day)
) STRICT;
