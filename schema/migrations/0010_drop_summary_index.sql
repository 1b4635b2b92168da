-- report summary without a range reads recipient_counts (0008): the index
-- that covered its count of every recipient is one index entry per
-- recipient written for nothing.
DROP INDEX IF EXISTS recipients_verdict_host_mta_hop;
