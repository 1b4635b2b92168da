-- Indexes for `relaysleuth investigate`: each correlation key it looks a
-- complaint up by is one indexed equality, plus a time range.

-- A message's trail: the parent's delivery line names the child
-- ("queued as", "forwarded as", a bounce's notification).
CREATE INDEX events_next_queue_id ON events (next_queue_id) WHERE next_queue_id <> '';

-- Where an account logged in from, and its failed logins.
CREATE INDEX events_sasl_user_ts ON events (sasl_user, ts_ms) WHERE sasl_user <> '';

-- The blast radius of an account or a sender, and the nearest candidates
-- for a recipient. Addresses are compared case-insensitively.
CREATE INDEX recipients_auth_user_ts ON recipients (auth_user, ts_ms) WHERE auth_user <> '';
CREATE INDEX recipients_sender_ts ON recipients (sender COLLATE NOCASE, ts_ms);
CREATE INDEX recipients_recipient_nocase ON recipients (recipient COLLATE NOCASE, ts_ms);
