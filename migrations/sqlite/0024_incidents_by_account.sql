-- `GET /v1/incidents?account_id=` lists an account's incidents, closed ones
-- included, newest first. Only live incidents had an index by account
-- (`incidents_one_live_per_account`), so with years of closed incidents the
-- list walked `incidents_newest` until it had found a page of the account's.
-- The listing is planned with its parameters (`Database::incidents`), so the
-- account filter reaches this index.
CREATE INDEX incidents_by_account ON incidents (account_id, opened_at DESC, id DESC);
