-- 0006_outbox_channel: an outbox item goes to a channel, the tenant's CRM ('crm') or a chat
-- notifier (its name, e.g. 'telegram'), each with a sink and a limiter of its own. Every item
-- of an earlier build went to the CRM's sink.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'crm';
