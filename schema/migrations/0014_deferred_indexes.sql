-- Indexes that only reports and look-ups read, dropped while a first bulk
-- load fills an empty database and built after it, by a sort (issue 13):
-- inserting rows in random key order into eight indexes cost most of a
-- large ingest. Each row is an index to build again, with the statement
-- that builds it: a load killed before it rebuilt them leaves them here,
-- and the next writer to open the database builds them.
CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY,
    sql  TEXT NOT NULL
);
