-- Events in blocks (issue 8; see schema/blocks.go): a row per log line was
-- most of the cost of an ingest. The events of up to 2048 lines in a row of
-- one source are one event_blocks row; event_keys finds the blocks that
-- hold a queue id (q), a "queued as" id (n) or a Message-ID (m). The events
-- table keeps, a row each, only the failed logins and authenticated
-- submissions that report and investigate look up by client and account.
CREATE TABLE event_blocks (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources (id),
    first_offset  INTEGER NOT NULL,
    min_ts_ms     INTEGER NOT NULL,
    max_ts_ms     INTEGER NOT NULL,
    n             INTEGER NOT NULL, -- events
    data          BLOB    NOT NULL  -- records, see blocks.go
);
CREATE INDEX event_blocks_source ON event_blocks (source_id, first_offset);
CREATE INDEX event_blocks_max_ts ON event_blocks (max_ts_ms);

CREATE TABLE event_keys (
    key        TEXT    NOT NULL, -- 'q', 'n' or 'm', then the value
    block_id   INTEGER NOT NULL,
    min_ts_ms  INTEGER NOT NULL, -- of the block's events with this key
    max_ts_ms  INTEGER NOT NULL,
    PRIMARY KEY (key, block_id)
) WITHOUT ROWID;

-- The stored events as records (appendEvent's encoding), numbered into
-- blocks per source.
CREATE TABLE events_to_blocks AS
SELECT source_id, byte_offset, seq, ts_ms, queue_id, next_queue_id, message_id, blk,
    CAST(length(CAST(r AS BLOB)) AS TEXT) || ':' || r AS rec
FROM (SELECT source_id, byte_offset, seq, ts_ms, queue_id, next_queue_id, message_id,
        (row_number() OVER (PARTITION BY source_id ORDER BY byte_offset, seq) - 1) / 2048 AS blk,
        CAST(
        length(CAST(line AS TEXT)) || ':' || CAST(line AS TEXT) ||
        length(CAST(byte_offset AS TEXT)) || ':' || CAST(byte_offset AS TEXT) ||
        length(CAST(ts_ms AS TEXT)) || ':' || CAST(ts_ms AS TEXT) ||
        length(CAST(format AS BLOB)) || ':' || format ||
        length(CAST(host AS BLOB)) || ':' || host ||
        length(CAST(daemon AS BLOB)) || ':' || daemon ||
        length(CAST(kind AS BLOB)) || ':' || kind ||
        length(CAST(queue_id AS BLOB)) || ':' || queue_id ||
        length(CAST(next_queue_id AS BLOB)) || ':' || next_queue_id ||
        length(CAST(prev_queue_id AS BLOB)) || ':' || prev_queue_id ||
        length(CAST(message_id AS BLOB)) || ':' || message_id ||
        length(CAST(client_ip AS BLOB)) || ':' || client_ip ||
        length(CAST(client_name AS BLOB)) || ':' || client_name ||
        length(CAST(sasl_method AS BLOB)) || ':' || sasl_method ||
        length(CAST(sasl_user AS BLOB)) || ':' || sasl_user ||
        length(CAST(raw AS BLOB)) || ':' || raw ||
        detail AS BLOB) AS r
    FROM events);

INSERT INTO event_blocks (source_id, first_offset, min_ts_ms, max_ts_ms, n, data)
SELECT source_id, min(byte_offset), min(ts_ms), max(ts_ms), count(*),
    CAST(group_concat(rec, '' ORDER BY byte_offset, seq) AS BLOB)
FROM events_to_blocks GROUP BY source_id, blk ORDER BY source_id, blk;

-- A block starts at its first event's offset: that joins a block back to
-- its events. "placed" is materialized once for the three kinds of key
-- (evaluated three times, the conversion took 75% longer).
CREATE INDEX events_to_blocks_blk ON events_to_blocks (source_id, blk);
INSERT INTO event_keys (key, block_id, min_ts_ms, max_ts_ms)
WITH starts AS (
    SELECT source_id, blk, min(byte_offset) AS first_offset FROM events_to_blocks GROUP BY source_id, blk
), placed AS MATERIALIZED (
    SELECT b.id, e.ts_ms, e.queue_id, e.next_queue_id, e.message_id FROM events_to_blocks e
    JOIN starts g ON g.source_id = e.source_id AND g.blk = e.blk
    JOIN event_blocks b ON b.source_id = g.source_id AND b.first_offset = g.first_offset
)
SELECT k, id, min(ts_ms), max(ts_ms) FROM (
    SELECT 'q' || queue_id AS k, id, ts_ms FROM placed WHERE queue_id <> ''
    UNION ALL SELECT 'n' || next_queue_id, id, ts_ms FROM placed WHERE next_queue_id <> ''
    UNION ALL SELECT 'm' || message_id, id, ts_ms FROM placed WHERE message_id <> '')
GROUP BY k, id;
DROP TABLE events_to_blocks;

-- The events table keeps the sparse events only (see sparse in blocks.go).
DELETE FROM events WHERE NOT (kind = 'auth_failed' OR (kind = 'client' AND sasl_user <> ''));
DROP INDEX IF EXISTS events_queue_id_ts;
DROP INDEX IF EXISTS events_next_queue_id_ts;
DROP INDEX IF EXISTS events_message_id_ts;
