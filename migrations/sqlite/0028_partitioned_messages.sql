-- The column PostgreSQL partitions holder messages by (its 0028): when
-- retention starts counting. SQLite keeps a plain table and never carries
-- a message forward, so it is the message's arrival; its batched deletes
-- of messages past HOLDFAST_RETENTION_MESSAGES go by it, and the
-- statements that write messages are the same on both databases.
ALTER TABLE case_messages ADD COLUMN retained_from INTEGER NOT NULL DEFAULT 0;
UPDATE case_messages SET retained_from = created_at;
CREATE INDEX case_messages_by_age ON case_messages (retained_from);
