-- sqlite: 18
--
-- SQLite's 0018 replaces messages_queue_id by messages_open, a partial
-- index of the messages not yet removed by queue id (the resolver's
-- look-up), so that a load no longer inserts every message's queue id in
-- no order. PostgreSQL keeps messages_queue_id (its indexes are shared by
-- every host's writers, and no load there is a bulk load into an empty
-- database): nothing changes but the version.
SELECT 1;
