-- One row per SASL account, as the accounts pass judged it (issue 15; see
-- analysis.AccountJudge and schema/account.go): its verdict, the signals and
-- abusive sessions behind it, and a summary of its usual use. Rewritten by
-- every pass in the transaction that changes its recipients' verdicts.
CREATE TABLE accounts (
    account         TEXT    PRIMARY KEY,
    verdict         TEXT    NOT NULL, -- compromised, suspicious, ok
    signals         TEXT    NOT NULL, -- JSON list of words
    first_abuse_ms  INTEGER,          -- NULL when nothing was abusive
    last_abuse_ms   INTEGER,
    client_ips      TEXT    NOT NULL, -- JSON list: the abusive sessions' clients
    recipients      INTEGER NOT NULL, -- account_abuse recipients (first hops)
    messages        INTEGER NOT NULL,
    baseline        TEXT    NOT NULL,
    evidence        TEXT    NOT NULL, -- JSON list of "file:line"
    first_ms        INTEGER NOT NULL, -- the account's first and last message
    last_ms         INTEGER NOT NULL,
    total           INTEGER NOT NULL, -- its recipients (first hops)
    sessions        TEXT    NOT NULL  -- JSON list of the sessions judged
) WITHOUT ROWID;
