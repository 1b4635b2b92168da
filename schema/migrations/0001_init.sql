-- Every input read, so that reading it again adds nothing. A source is known
-- by its content (a hash of its first line), not its name: rotation renames
-- mail.log to mail.log.1 and mail.log.2.gz (the same source), and creates a
-- new mail.log (another first line, another source).
CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    path            TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    format          TEXT    NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    byte_offset     INTEGER NOT NULL DEFAULT 0, -- read up to here (uncompressed)
    lines           INTEGER NOT NULL DEFAULT 0,
    events          INTEGER NOT NULL DEFAULT 0,
    unsupported     INTEGER NOT NULL DEFAULT 0,
    malformed       INTEGER NOT NULL DEFAULT 0,
    complete        INTEGER NOT NULL DEFAULT 0, -- read to its end
    first_ts_ms     INTEGER,
    last_ts_ms      INTEGER,
    ingested_ms     INTEGER NOT NULL,
    UNIQUE (fingerprint)
);

-- One fact from one log line, with its evidence.
CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES sources (id),
    line           INTEGER NOT NULL,
    byte_offset    INTEGER NOT NULL,
    seq            INTEGER NOT NULL DEFAULT 0, -- events of one line: 0, 1, ...
    ts_ms          INTEGER NOT NULL,
    format         TEXT    NOT NULL,
    host           TEXT    NOT NULL,
    daemon         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    session        TEXT    NOT NULL,
    queue_id       TEXT    NOT NULL,
    next_queue_id  TEXT    NOT NULL,
    prev_queue_id  TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    client_ip      TEXT    NOT NULL,
    client_name    TEXT    NOT NULL,
    helo           TEXT    NOT NULL,
    proto          TEXT    NOT NULL,
    sasl_method    TEXT    NOT NULL,
    sasl_user      TEXT    NOT NULL,
    sender         TEXT    NOT NULL,
    rcpt           TEXT    NOT NULL,
    orig_rcpt      TEXT    NOT NULL,
    relay          TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    dsn            TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    size           INTEGER NOT NULL,
    nrcpt          INTEGER NOT NULL DEFAULT 0,
    orig_client_ip   TEXT  NOT NULL DEFAULT '', -- XFORWARD orig_client, Exchange original-client-ip
    orig_client_name TEXT  NOT NULL DEFAULT '',
    raw            TEXT    NOT NULL,
    UNIQUE (source_id, byte_offset, seq)
);
CREATE INDEX events_queue_id ON events (queue_id) WHERE queue_id <> '';
CREATE INDEX events_message_id ON events (message_id) WHERE message_id <> '';
-- Failed logins are few among the events: a partial index on them alone
-- (queries name kind = 'auth_failed' literally, so SQLite can use it).
CREATE INDEX events_auth_failed ON events (client_ip, ts_ms) WHERE kind = 'auth_failed';

-- One queue file, as the correlator joined it.
CREATE TABLE messages (
    key          TEXT PRIMARY KEY,
    format       TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    queue_id     TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    ts_ms        INTEGER NOT NULL,
    client_ip    TEXT    NOT NULL,
    client_name  TEXT    NOT NULL,
    helo         TEXT    NOT NULL,
    auth_user    TEXT    NOT NULL,
    auth_method  TEXT    NOT NULL,
    origin       TEXT    NOT NULL,
    sender       TEXT    NOT NULL,
    parent_key   TEXT    NOT NULL,
    via          TEXT    NOT NULL,
    removed      INTEGER NOT NULL,
    rejected     TEXT    NOT NULL,
    evidence     TEXT    NOT NULL -- JSON list of "file:line"
);
CREATE INDEX messages_queue_id ON messages (queue_id);
CREATE INDEX messages_message_id ON messages (message_id) WHERE message_id <> '';

-- One recipient the client gave, with its verdict.
CREATE TABLE recipients (
    key              TEXT PRIMARY KEY,
    message_key      TEXT    NOT NULL,
    ts_ms            INTEGER NOT NULL,
    mta              TEXT    NOT NULL,
    host             TEXT    NOT NULL,
    queue_id         TEXT    NOT NULL,
    message_id       TEXT    NOT NULL,
    client_ip        TEXT    NOT NULL,
    client_name      TEXT    NOT NULL,
    helo             TEXT    NOT NULL,
    authenticated    INTEGER NOT NULL,
    auth_user        TEXT    NOT NULL,
    sender           TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    deliveries       TEXT    NOT NULL, -- JSON
    verdict          TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    hop              INTEGER NOT NULL,
    origin_queue_id  TEXT    NOT NULL,
    evidence         TEXT    NOT NULL  -- JSON list of "file:line"
);
-- recipients and messages keep a rowid: their secondary indexes then hold
-- an 8-byte rowid per entry, not the long text key (measured: index writes
-- were most of the ingest time).
CREATE INDEX recipients_verdict_ts ON recipients (verdict, ts_ms);
CREATE INDEX recipients_ts ON recipients (ts_ms);
CREATE INDEX recipients_message_key ON recipients (message_key);
CREATE INDEX recipients_client ON recipients (client_ip, ts_ms);
CREATE INDEX recipients_queue_id ON recipients (queue_id);
CREATE INDEX recipients_message_id ON recipients (message_id) WHERE message_id <> '';
