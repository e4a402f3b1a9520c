-- Dispositions to the risk engine (SPEC §14).
--
-- What the account holder said about an incident's activity: null until they
-- said something that counts, 'not_mine' once they said so anywhere (it
-- sticks), 'mine' only after a verified unfreeze flow in which every
-- activity was theirs. Written only by `feedback::record_holder_said`.
ALTER TABLE incidents ADD COLUMN holder_said TEXT CHECK (holder_said IN ('mine', 'not_mine'));

-- The outbox gains a third destination: the risk engine's feedback endpoint
-- (`HOLDFAST_RISK_FEEDBACK_URL`), signed with its own key. SQLite cannot
-- change a CHECK constraint: the table is rebuilt with the same columns.
CREATE TABLE outbox_with_feedback (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    destination      TEXT NOT NULL CHECK (destination IN ('account_control', 'notify', 'risk_feedback')),
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    delivered_at     INTEGER,
    response         TEXT,
    run_id           TEXT,
    traceparent      TEXT
);
INSERT INTO outbox_with_feedback (id, idempotency_key, destination, body, created_at, status, attempts,
                                  next_attempt_at, last_error, delivered_at, response, run_id, traceparent)
    SELECT id, idempotency_key, destination, body, created_at, status, attempts,
           next_attempt_at, last_error, delivered_at, response, run_id, traceparent
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_with_feedback RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
