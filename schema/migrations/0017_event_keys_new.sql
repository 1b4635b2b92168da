-- Keys of stored lines not yet in event_keys (issue 13). event_keys is
-- keyed by queue id and Message-ID, values in no order: a load inserting
-- each key where it belongs dirtied a page of it per key, and past a few
-- million lines that was most of a load's writes. An ingest appends its
-- keys here instead, in the order stored, and merges them into event_keys
-- sorted, in one pass, when it ends; a run killed before that leaves them
-- here and the next ingest's end merges them. Readers look in both.
CREATE TABLE event_keys_new (
    key        TEXT    NOT NULL,
    block_id   INTEGER NOT NULL,
    min_ts_ms  INTEGER NOT NULL,
    max_ts_ms  INTEGER NOT NULL
);
