-- The accounts pass reads every first-hop recipient of each account, in
-- time order (accountRows in account.go). Through the old index, (auth_user,
-- ts_ms), each of those rows was a look-up in the recipients table, where
-- an account's mail lies scattered among everyone else's: on a 20M-line
-- database about 945,000 random page reads (issue 13). With every column
-- that query reads in the account index, the pass reads the index alone,
-- in order. The index keeps its name (deferred by a bulk load like
-- before); a definition a killed load left in deferred_indexes is dropped,
-- since the index is built here.
DROP INDEX IF EXISTS recipients_auth_user_ts;
DELETE FROM deferred_indexes WHERE name = 'recipients_auth_user_ts';
CREATE INDEX recipients_auth_user_ts ON recipients (auth_user, ts_ms, message_key, hop, client_ip, sender, recipient, status)
 WHERE auth_user <> '';
-- The pass also counts, for a session from a new network, the addresses
-- that failed to log in as the account the day before (failingAddresses).
-- By events_sasl_user_ts that read every login and submission of the
-- account in the day, a row look-up each: 5 ms a question, 747 questions
-- on that database, most of what was left of the pass. The failed logins
-- by account, with their address, answer it from a small index alone.
CREATE INDEX events_auth_failed_user ON events (sasl_user, ts_ms, client_ip) WHERE kind = 'auth_failed';
