-- report auth lists every failed login by client (authFailures in
-- report.go): with the client's name, the line and its file in the failed
-- logins' index too, it reads that index alone instead of an events row
-- per failure, scattered among the authenticated submissions (on a
-- 20M-line database, 106,000 failures: a third of the report's time in
-- row reads). The look-ups by client and time keep using its first
-- columns.
DROP INDEX IF EXISTS events_auth_failed;
CREATE INDEX events_auth_failed ON events (client_ip, ts_ms, daemon, format, host, sasl_method, sasl_user, client_name, line,
 source_id) WHERE kind = 'auth_failed';
