-- Recognition no longer locks a head row per signal (PostgreSQL takes an
-- advisory lock per signal instead; SQLite has one writer): a head now
-- exists only for a signal that has formed a campaign, and names its latest
-- one. The heads of signals that never formed a campaign go.
DELETE FROM campaign_heads WHERE campaign_id IS NULL;
