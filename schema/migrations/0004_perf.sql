-- Indexes the report and investigate queries can use (schema/plan_test.go
-- checks the plan of each).
--
-- A partial index (WHERE queue_id <> '') serves only a query whose WHERE
-- implies its condition; "queue_id = ?" with a bound value does not, so
-- SQLite read all of events for every investigate look-up by queue id, next
-- queue id or Message-ID. Full indexes replace them, each with the time the
-- queries bound and order by after the key.
DROP INDEX IF EXISTS events_queue_id;
DROP INDEX IF EXISTS events_next_queue_id;
DROP INDEX IF EXISTS events_message_id;
DROP INDEX IF EXISTS recipients_message_id;
CREATE INDEX events_queue_id_ts ON events (queue_id, ts_ms);
-- Most events carry no next queue id and no Message-ID: partial indexes
-- keep them small, and the queries say "<> ''" so that SQLite uses them.
CREATE INDEX events_next_queue_id_ts ON events (next_queue_id, ts_ms) WHERE next_queue_id <> '';
CREATE INDEX events_message_id_ts ON events (message_id, ts_ms) WHERE message_id <> '';
DROP INDEX IF EXISTS events_sasl_user_ts;
CREATE INDEX events_sasl_user_ts ON events (sasl_user, ts_ms) WHERE sasl_user <> '';
CREATE INDEX recipients_message_id_ts ON recipients (message_id, ts_ms);

-- report summary counts the first hops' verdicts per host and MTA: this
-- index covers the count and is in its GROUP BY order, so it reads the
-- index, not the rows, and sorts nothing. (hop comes last: an index that
-- began with it would draw the planner to "hop = 1", which is nearly every
-- row, instead of a time range.)
CREATE INDEX recipients_verdict_host_mta_hop ON recipients (verdict, host, mta, hop);
