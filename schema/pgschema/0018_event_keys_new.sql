-- sqlite: 17
--
-- SQLite's 0017 adds event_keys_new, where an ingest appends the keys of
-- its stored lines and merges them into event_keys when it ends. On
-- PostgreSQL writers insert into event_keys itself (its partitions are a
-- month each, and other hosts' writers and readers share them): nothing
-- changes but the version.
SELECT 1;
