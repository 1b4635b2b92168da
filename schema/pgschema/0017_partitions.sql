-- sqlite: 16
--
-- The stored lines by month (issue 18): event_blocks, event_keys and
-- events become tables partitioned by range of time, a partition a UTC
-- month, so that a year of a fleet's lines stays a dozen tables of a
-- month each, and prune drops a month whole instead of deleting it row by
-- row. The SQLite schema has no such change: the marker above says which
-- SQLite version this PostgreSQL version still matches (pg_test.go).
--
-- - event_blocks by max_ts_ms, its newest event: prune deletes the blocks
--   whose newest event is older than the cutoff, so a month whose end is
--   before the cutoff is exactly the blocks prune would delete.
-- - event_keys by block_max_ts_ms, a copy of its block's max_ts_ms: a key
--   lives and goes in the same month as its block, and the look-up of a
--   block by its key names the block's partition.
-- - events (the sparse ones) by ts_ms.
-- PostgreSQL wants the partition column in every primary key and unique
-- constraint: (id, max_ts_ms), (key, block_id, block_max_ts_ms),
-- (id, ts_ms). The ids still come from one sequence per table.
--
-- recipients and messages are not partitioned: they are upserted by their
-- key and their ts_ms may change on a later upsert (a key names no fixed
-- month; see README, "Many servers").
--
-- A month's partition is made on demand by relaysleuth_partition (the
-- writers call it before a batch that needs one, here for the months the
-- version 16 tables hold): under an advisory lock, a new table like its
-- parent, then ATTACH PARTITION, which takes a lock on the parent that
-- does not wait for, nor stop, the writers' inserts (CREATE TABLE ...
-- PARTITION OF would wait for every open transaction that used the
-- parent). prune drops a month by relaysleuth_drop_partition. Both run
-- with the rights of the tables' owner (SECURITY DEFINER): a role that
-- may only read and write rows (README: rs_writer) may not create or
-- drop tables; only those granted EXECUTE on them may call them, and
-- they find tables in relaysleuth's schema only (pg_temp last).

SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_catalog, pg_temp', true);

CREATE FUNCTION relaysleuth_partition(parent text, ts_ms bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    m    timestamp := date_trunc('month', to_timestamp(ts_ms / 1000.0) AT TIME ZONE 'UTC');
    lo   bigint := (extract(epoch FROM m) * 1000)::bigint;
    hi   bigint := (extract(epoch FROM m + interval '1 month') * 1000)::bigint;
    name text := parent || '_' || to_char(m, 'YYYYMM');
BEGIN
    IF parent NOT IN ('event_blocks', 'event_keys', 'events') THEN
        RAISE EXCEPTION 'relaysleuth_partition: % is not partitioned by month', parent;
    END IF;
    -- 0x7061727473: "parts". Held to the end of the caller's transaction.
    PERFORM pg_advisory_xact_lock(482671228019);
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = parent::regclass AND c.relname = name) THEN
        RETURN name;
    END IF;
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RAISE EXCEPTION 'table % exists and is not a partition of %: a month detached to be archived? rename or drop it', name, parent;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)', name, parent);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', parent, name, lo, hi);
    RETURN name;
END
$$;

CREATE FUNCTION relaysleuth_drop_partition(parent text, part text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    n bigint;
BEGIN
    IF parent NOT IN ('event_blocks', 'event_keys', 'events') THEN
        RAISE EXCEPTION 'relaysleuth_drop_partition: % is not partitioned by month', parent;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = parent::regclass AND c.relname = part) THEN
        RAISE EXCEPTION 'relaysleuth_drop_partition: % is not a partition of %', part, parent;
    END IF;
    EXECUTE format('SELECT count(*) FROM %I', part) INTO n;
    EXECUTE format('DROP TABLE %I', part);
    RETURN n;
END
$$;

REVOKE ALL ON FUNCTION relaysleuth_partition(text, bigint), relaysleuth_drop_partition(text, text) FROM PUBLIC;

-- The version 16 tables step aside with their indexes' and sequences'
-- names; their rows move into the partitioned tables, then they go.
ALTER TABLE events RENAME TO events_v16;
ALTER TABLE events_v16 RENAME CONSTRAINT events_pkey TO events_v16_pkey;
ALTER SEQUENCE events_id_seq RENAME TO events_v16_id_seq;
DROP INDEX events_sasl_user_ts, events_auth_failed, events_server_ts;
ALTER TABLE event_blocks RENAME TO event_blocks_v16;
ALTER TABLE event_blocks_v16 RENAME CONSTRAINT event_blocks_pkey TO event_blocks_v16_pkey;
ALTER SEQUENCE event_blocks_id_seq RENAME TO event_blocks_v16_id_seq;
DROP INDEX event_blocks_source, event_blocks_max_ts;
ALTER TABLE event_keys RENAME TO event_keys_v16;
ALTER TABLE event_keys_v16 RENAME CONSTRAINT event_keys_pkey TO event_keys_v16_pkey;

CREATE TABLE events (
    id             bigint GENERATED BY DEFAULT AS IDENTITY,
    source_id      bigint NOT NULL REFERENCES sources (id),
    line           bigint NOT NULL,
    byte_offset    bigint NOT NULL,
    seq            bigint NOT NULL,
    ts_ms          bigint NOT NULL,
    format         text   COLLATE "C" NOT NULL,
    host           text   COLLATE "C" NOT NULL,
    daemon         text   COLLATE "C" NOT NULL,
    kind           text   COLLATE "C" NOT NULL,
    queue_id       text   COLLATE "C" NOT NULL,
    next_queue_id  text   COLLATE "C" NOT NULL,
    prev_queue_id  text   COLLATE "C" NOT NULL,
    message_id     text   COLLATE "C" NOT NULL,
    client_ip      text   COLLATE "C" NOT NULL,
    client_name    text   COLLATE "C" NOT NULL,
    sasl_method    text   COLLATE "C" NOT NULL,
    sasl_user      text   COLLATE "C" NOT NULL,
    raw            text   COLLATE "C" NOT NULL,
    detail         bytea  NOT NULL,
    PRIMARY KEY (id, ts_ms)
) PARTITION BY RANGE (ts_ms);
CREATE INDEX events_sasl_user_ts ON events (sasl_user, ts_ms) WHERE sasl_user <> '';
CREATE INDEX events_auth_failed ON events (client_ip, ts_ms, daemon, format, host, sasl_method, sasl_user)
 WHERE kind = 'auth_failed';
CREATE INDEX events_server_ts ON events (ts_ms) WHERE kind = 'server';

CREATE TABLE event_blocks (
    id            bigint GENERATED BY DEFAULT AS IDENTITY,
    source_id     bigint NOT NULL REFERENCES sources (id),
    first_offset  bigint NOT NULL,
    min_ts_ms     bigint NOT NULL,
    max_ts_ms     bigint NOT NULL,
    n             bigint NOT NULL,
    data          bytea  NOT NULL,
    PRIMARY KEY (id, max_ts_ms)
) PARTITION BY RANGE (max_ts_ms);
CREATE INDEX event_blocks_source ON event_blocks (source_id, first_offset);
CREATE INDEX event_blocks_max_ts ON event_blocks (max_ts_ms);

CREATE TABLE event_keys (
    key              text   COLLATE "C" NOT NULL,
    block_id         bigint NOT NULL,
    min_ts_ms        bigint NOT NULL,
    max_ts_ms        bigint NOT NULL,
    block_max_ts_ms  bigint NOT NULL,
    PRIMARY KEY (key, block_id, block_max_ts_ms)
) PARTITION BY RANGE (block_max_ts_ms);

SELECT relaysleuth_partition('events', min(ts_ms)) FROM events_v16
 GROUP BY date_trunc('month', to_timestamp(ts_ms / 1000.0) AT TIME ZONE 'UTC');
SELECT relaysleuth_partition(p.parent, min(b.max_ts_ms))
 FROM event_blocks_v16 b CROSS JOIN (VALUES ('event_blocks'), ('event_keys')) AS p (parent)
 GROUP BY p.parent, date_trunc('month', to_timestamp(b.max_ts_ms / 1000.0) AT TIME ZONE 'UTC');

INSERT INTO events SELECT * FROM events_v16;
INSERT INTO event_blocks SELECT * FROM event_blocks_v16;
-- A key whose block is gone (none should be: IntegrityCheck) has no month
-- and goes with the version 16 table.
INSERT INTO event_keys (key, block_id, min_ts_ms, max_ts_ms, block_max_ts_ms)
SELECT k.key, k.block_id, k.min_ts_ms, k.max_ts_ms, b.max_ts_ms FROM event_keys_v16 k JOIN event_blocks_v16 b ON b.id = k.block_id;

-- The ids go on from where the version 16 sequences were.
SELECT setval(pg_get_serial_sequence('events', 'id'), last_value, is_called) FROM events_v16_id_seq;
SELECT setval(pg_get_serial_sequence('event_blocks', 'id'), last_value, is_called) FROM event_blocks_v16_id_seq;
-- The rights given on the version 16 tables and sequences (README: the
-- writer's and the reader's roles) go to the new ones.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT t.new, a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
        FROM (VALUES ('events_v16', 'events'), ('event_blocks_v16', 'event_blocks'), ('event_keys_v16', 'event_keys'),
                     ('events_v16_id_seq', pg_get_serial_sequence('events', 'id')),
                     ('event_blocks_v16_id_seq', pg_get_serial_sequence('event_blocks', 'id'))) AS t (old, new)
        JOIN pg_class c ON c.oid = t.old::regclass
        CROSS JOIN LATERAL aclexplode(c.relacl) AS a
        LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON %s TO %s', g.privilege_type, g.new::regclass, g.grantee);
    END LOOP;
END
$$;

DROP TABLE events_v16, event_blocks_v16, event_keys_v16;
ANALYZE events, event_blocks, event_keys;
