-- sqlite: 21
--
-- SQLite's 0021 puts the client's name, the line and its file in the
-- failed logins' index. PostgreSQL keeps its index (see 0020): nothing
-- changes but the version.
SELECT 1;
