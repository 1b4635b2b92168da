-- Files followed by 'relaysleuth tail', by the path the user gave. The
-- position itself is the byte_offset of the source with this fingerprint,
-- committed in the same transaction as the events read up to it; this row
-- says which file that was (device and inode: rotation renames a file and
-- reuses its name), so that a restart can tell a file that grew from one
-- that was rotated while relaysleuth was not running, and find the old one.
CREATE TABLE follows (
    path         TEXT    PRIMARY KEY,
    device       INTEGER NOT NULL,
    inode        INTEGER NOT NULL,
    fingerprint  TEXT    NOT NULL, -- '' while the file has no complete line
    updated_ms   INTEGER NOT NULL
) WITHOUT ROWID;
