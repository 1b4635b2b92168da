-- Fewer index entries per stored line (issue 8).
-- No query looks messages up by Message-ID (investigate reads recipients
-- and events for that).
DROP INDEX IF EXISTS messages_message_id;
-- A third of the events (connections, HELO, logins, rejections before a
-- queue file) have no queue id: the queries by queue id say "<> ''", so a
-- partial index serves them without those entries.
DROP INDEX IF EXISTS events_queue_id_ts;
CREATE INDEX events_queue_id_ts ON events (queue_id, ts_ms) WHERE queue_id <> '';
