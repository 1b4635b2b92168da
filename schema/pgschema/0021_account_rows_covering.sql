-- sqlite: 20
--
-- SQLite's 0020 puts every column the accounts pass reads in the account
-- index. PostgreSQL keeps its index (see 0020): nothing changes but the
-- version.
SELECT 1;
