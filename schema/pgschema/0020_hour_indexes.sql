-- sqlite: 19
--
-- SQLite's 0019 begins the recipients' look-up indexes by client address,
-- queue id, sender, recipient and Message-ID with the row's hour, so that
-- a load into a big database writes into the hours it covers instead of
-- everywhere in them. PostgreSQL keeps its indexes (its writers insert
-- into shared B-trees with a buffer pool of their own, and its queries
-- have their own text, pgsql.go): nothing changes but the version.
SELECT 1;
