-- Compact events (issue 8: every bound value is a cgo call, and events are
-- one row per log line). The columns the queries filter, join or report on
-- stay columns; the rest of the parsed fields go into one "detail" value:
-- for each field in a fixed order (see detailFields in ingest.go), its
-- length in bytes in decimal, ':', and its bytes. The UNIQUE index on
-- (source_id, byte_offset, seq) goes too: Writer.Commit skips lines another
-- writer has already stored, using the source's committed offset.
CREATE TABLE events_compact (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES sources (id),
    line           INTEGER NOT NULL,
    byte_offset    INTEGER NOT NULL,
    seq            INTEGER NOT NULL, -- events of one line: 0, 1, ...
    ts_ms          INTEGER NOT NULL,
    format         TEXT    NOT NULL,
    host           TEXT    NOT NULL,
    daemon         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    queue_id       TEXT    NOT NULL,
    next_queue_id  TEXT    NOT NULL,
    prev_queue_id  TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    client_ip      TEXT    NOT NULL,
    client_name    TEXT    NOT NULL,
    sasl_method    TEXT    NOT NULL,
    sasl_user      TEXT    NOT NULL,
    raw            TEXT    NOT NULL,
    detail         BLOB    NOT NULL
);

INSERT INTO events_compact (id, source_id, line, byte_offset, seq, ts_ms, format, host, daemon, kind, queue_id,
    next_queue_id, prev_queue_id, message_id, client_ip, client_name, sasl_method, sasl_user, raw, detail)
SELECT id, source_id, line, byte_offset, seq, ts_ms, format, host, daemon, kind, queue_id,
    next_queue_id, prev_queue_id, message_id, client_ip, client_name, sasl_method, sasl_user, raw,
    CAST(
        length(CAST(session AS BLOB)) || ':' || session ||
        length(CAST(helo AS BLOB)) || ':' || helo ||
        length(CAST(proto AS BLOB)) || ':' || proto ||
        length(CAST(sender AS BLOB)) || ':' || sender ||
        length(CAST(rcpt AS BLOB)) || ':' || rcpt ||
        length(CAST(orig_rcpt AS BLOB)) || ':' || orig_rcpt ||
        length(CAST(relay AS BLOB)) || ':' || relay ||
        length(CAST(status AS BLOB)) || ':' || status ||
        length(CAST(dsn AS BLOB)) || ':' || dsn ||
        length(CAST(reason AS BLOB)) || ':' || reason ||
        length(CAST(size AS TEXT)) || ':' || CAST(size AS TEXT) ||
        length(CAST(nrcpt AS TEXT)) || ':' || CAST(nrcpt AS TEXT) ||
        length(CAST(orig_client_ip AS BLOB)) || ':' || orig_client_ip ||
        length(CAST(orig_client_name AS BLOB)) || ':' || orig_client_name
    AS BLOB)
FROM events;

DROP TABLE events;
ALTER TABLE events_compact RENAME TO events;

CREATE INDEX events_queue_id_ts ON events (queue_id, ts_ms);
CREATE INDEX events_next_queue_id_ts ON events (next_queue_id, ts_ms) WHERE next_queue_id <> '';
CREATE INDEX events_message_id_ts ON events (message_id, ts_ms) WHERE message_id <> '';
CREATE INDEX events_sasl_user_ts ON events (sasl_user, ts_ms) WHERE sasl_user <> '';
CREATE INDEX events_auth_failed ON events (client_ip, ts_ms) WHERE kind = 'auth_failed';
