-- The outbox of 'relaysleuth tail': every alert it decides is written here
-- before the lines that decide it are committed, and marked sent once it
-- has been written out. A restart sends the rows still unsent, so an alert
-- survives a crash between the commit and the send; an alert decided again
-- from lines read again finds its key here and is not sent twice.
--
-- key names what the alert is about: the recipient's key for relay_abuse,
-- kind, client and window for a burst, kind, client and period for a
-- summary. json is the alert as --format json and --exec give it.
CREATE TABLE alerts (
    key         TEXT    PRIMARY KEY,
    json        TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    sent_ms     INTEGER           -- NULL until sent
);
-- Few rows are ever unsent: the start-up look-up reads only those.
CREATE INDEX alerts_unsent ON alerts (created_ms) WHERE sent_ms IS NULL;
