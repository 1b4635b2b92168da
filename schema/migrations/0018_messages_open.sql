-- Messages not yet removed, by queue id: what the correlator's resolver
-- asks for (Resolver.MessageByQueueID: queue_id = ? AND removed = 0), in a
-- partial index that holds only the messages still open when a batch was
-- stored, a few in each (most are received and removed within one batch).
-- It replaces messages_queue_id, which nothing else read (investigate
-- finds a queue id's recipients by recipients_queue_id) and whose every
-- message's entry went where its queue id sorts, in no order: past a few
-- million lines, a page of it dirtied per message stored (issue 13).
CREATE INDEX messages_open ON messages (queue_id, ts_ms) WHERE removed = 0;
DROP INDEX messages_queue_id;
