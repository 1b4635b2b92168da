-- The recipients' look-up indexes by values that come in no order (client
-- address, queue id, sender, recipient, Message-ID) begin with the hour of
-- the row (issue 13). Keyed by the value alone, every row a load stored
-- went where its value sorts, anywhere in indexes far bigger than the
-- page cache: an ingest into a database that already held millions of
-- rows (a day's logs added to the months before, or tail) read and wrote
-- a page of each index per recipient. By hour first, a load's rows go
-- into the hours it covers, a few pages that stay in the cache. Readers
-- search each hour of their range that holds a recipient (a look-up per
-- hour: investigate.go, hoursIn).
--
-- The old indexes are dropped and the new ones listed as deferred: Open
-- builds them right after this migration, by a sort, one at a time.
DROP INDEX IF EXISTS recipients_client;
DROP INDEX IF EXISTS recipients_queue_id;
DROP INDEX IF EXISTS recipients_sender_ts;
DROP INDEX IF EXISTS recipients_recipient_nocase;
DROP INDEX IF EXISTS recipients_message_id_ts;
INSERT OR REPLACE INTO deferred_indexes (name, sql) VALUES
 ('recipients_client', 'CREATE INDEX recipients_client ON recipients (ts_ms / 3600000, client_ip, ts_ms)'),
 ('recipients_queue_id', 'CREATE INDEX recipients_queue_id ON recipients (ts_ms / 3600000, queue_id, ts_ms)'),
 ('recipients_sender_ts', 'CREATE INDEX recipients_sender_ts ON recipients (ts_ms / 3600000, sender COLLATE NOCASE, ts_ms)'),
 ('recipients_recipient_nocase', 'CREATE INDEX recipients_recipient_nocase ON recipients (ts_ms / 3600000, recipient COLLATE NOCASE, ts_ms)'),
 ('recipients_message_id_ts', 'CREATE INDEX recipients_message_id_ts ON recipients (ts_ms / 3600000, message_id, ts_ms)');
