-- `report summary` without a time range or client counts every first hop's
-- verdict per host and MTA: on a year of logs that is millions of index
-- entries to read. Triggers keep the counts as recipients are written, so
-- the summary reads a few rows (issue 8: under 200 ms on 5M lines).
CREATE TABLE recipient_counts (
    verdict  TEXT    NOT NULL,
    host     TEXT    NOT NULL,
    mta      TEXT    NOT NULL,
    hop      INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (verdict, host, mta, hop)
) WITHOUT ROWID;

INSERT INTO recipient_counts (verdict, host, mta, hop, n)
SELECT verdict, host, mta, hop, count(*) FROM recipients GROUP BY verdict, host, mta, hop;

CREATE TRIGGER recipients_count_insert AFTER INSERT ON recipients BEGIN
    INSERT INTO recipient_counts (verdict, host, mta, hop, n) VALUES (new.verdict, new.host, new.mta, new.hop, 1)
    ON CONFLICT (verdict, host, mta, hop) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER recipients_count_update AFTER UPDATE OF verdict, host, mta, hop ON recipients
WHEN old.verdict IS NOT new.verdict OR old.host IS NOT new.host OR old.mta IS NOT new.mta OR old.hop IS NOT new.hop
BEGIN
    UPDATE recipient_counts SET n = n - 1
    WHERE verdict = old.verdict AND host = old.host AND mta = old.mta AND hop = old.hop;
    INSERT INTO recipient_counts (verdict, host, mta, hop, n) VALUES (new.verdict, new.host, new.mta, new.hop, 1)
    ON CONFLICT (verdict, host, mta, hop) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER recipients_count_delete AFTER DELETE ON recipients BEGIN
    UPDATE recipient_counts SET n = n - 1
    WHERE verdict = old.verdict AND host = old.host AND mta = old.mta AND hop = old.hop;
END;
