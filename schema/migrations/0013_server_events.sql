-- The MTA's own events (issue 17: parsers.KindServer, a start, stop,
-- reload, configuration file, warning or error) are kept a row each in
-- events, like failed logins, and report timeline reads them by time
-- through this partial index: a handful of rows among millions of lines.
-- Lines read before this version were counted as unsupported and not
-- stored; reading their files into a new database stores them.
CREATE INDEX events_server_ts ON events (ts_ms) WHERE kind = 'server';
