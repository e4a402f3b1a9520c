-- Campaigns: incidents of different accounts that share an attacker signal
-- (a sign-in IP, a device, a withdrawal destination) within a window.
--
-- Signal values are personal data. Sightings and heads are deleted, and a
-- campaign's full value cleared (its masked form stays), once the window and
-- the retention period (`campaigns::RETENTION`) have passed.

-- Every signal an alert carried, with its account and incident, seen at
-- the alert's `occurred_at` (windows are about when things happened) and
-- recorded when it arrived (retention counts from then). Recognition reads
-- one signal's sightings around the new ones.
CREATE TABLE campaign_signals (
    kind         TEXT NOT NULL CHECK (kind IN ('ip', 'device', 'destination')),
    value        TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    incident_id  TEXT NOT NULL,
    alert_id     TEXT NOT NULL,
    seen_at      INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    PRIMARY KEY (alert_id, kind)
);
CREATE INDEX campaign_signals_by_value ON campaign_signals (kind, value, seen_at);
CREATE INDEX campaign_signals_by_age ON campaign_signals (recorded_at);

-- One row per signal value: intake batches upsert (and so lock) the rows of
-- their signals in sorted order before deciding anything, which serialises
-- the alerts that complete one campaign across instances. `campaign_id` is
-- the signal's latest campaign.
CREATE TABLE campaign_heads (
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    campaign_id  TEXT,
    touched_at   INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX campaign_heads_by_age ON campaign_heads (touched_at);

CREATE TABLE campaigns (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('ip', 'device', 'destination')),
    -- NULL once the retention period has passed.
    value          TEXT,
    value_masked   TEXT NOT NULL,
    accounts       INTEGER NOT NULL,
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    recognized_at  INTEGER NOT NULL,
    -- When an incident last joined: retention counts from then.
    updated_at     INTEGER NOT NULL
);
CREATE INDEX campaigns_newest ON campaigns (last_seen DESC, id DESC);
CREATE INDEX campaigns_retained ON campaigns (updated_at) WHERE value IS NOT NULL;

-- The incidents of a campaign. An incident may belong to several (one
-- attacker, one IP and one device).
CREATE TABLE campaign_incidents (
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    account_id   TEXT NOT NULL,
    joined_at    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, incident_id)
);
CREATE INDEX campaign_incidents_by_incident ON campaign_incidents (incident_id, joined_at);
