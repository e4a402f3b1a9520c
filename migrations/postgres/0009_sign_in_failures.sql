-- Failed sign-in and step-up attempts, per username and source (the
-- client's address, as its rate limits key it), for a sliding-window lockout
-- that one client cannot use to lock every agent out. Usernames that do not
-- exist are counted too, so a lock reveals nothing. Rows older than the
-- longest lock are deleted as new failures arrive and by a periodic sweep.
CREATE TABLE sign_in_failures (
    username  TEXT NOT NULL,
    source    TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_failures_by_username ON sign_in_failures (username, at);
CREATE INDEX sign_in_failures_by_age ON sign_in_failures (at);

-- The fixed-window counters these replace.
ALTER TABLE agents DROP COLUMN failed_attempts;
ALTER TABLE agents DROP COLUMN failure_window_started_at;
ALTER TABLE agents DROP COLUMN locked_until;
