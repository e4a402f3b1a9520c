-- Holdfast's history, written straight into a database migrated by
-- `holdfast migrate`, with INSERT … SELECT over generate_series: nothing goes
-- through the API, and the server builds every row itself. Deterministic
-- (every "random" choice is a hash of the row's number). Run by
-- load/history.sh (10 million alerts, 1 million incidents over three years)
-- and load/replay.sh (a month of history); psql variables:
--
--   incidents   how many incidents
--   alerts      how many alerts, spread evenly over the incidents in order
--   accounts    how many accounts the incidents recur on
--   live        how many of the newest incidents are still live (each on an
--               account of its own); every other incident has ended
--   days        the span of the history, ending at `until`
--   until       the end of the history (a timestamptz literal)
--
-- Every incident has its timeline in the audit log (opened, acknowledged,
-- closed), P1 and P2 incidents their holds (lifted once ended). The audit
-- entries carry stand-in hashes: `holdfast audit verify` does not pass on a
-- seeded database; the chains' heads are moved past them so that new entries
-- append after them.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';

-- The secondary indexes are built once at the end, not row by row.
CREATE TEMP TABLE seed_indexes AS
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = 'public' AND tablename IN ('alerts', 'incidents', 'audit_log', 'holds')
      AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'));
SELECT format('DROP INDEX %I', indexname) FROM seed_indexes \gexec

-- u(n, salt): a number in [0, 1) drawn from n.
CREATE FUNCTION pg_temp.u(n bigint, salt bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE AS $$ SELECT (hashint8extended(n, salt) & 2147483647) / 2147483648.0 $$;
SELECT set_config('seed.until', :'until', false), set_config('seed.days', :'days', false),
       set_config('seed.incidents', :'incidents', false), set_config('seed.live', :'live', false),
       set_config('seed.accounts', :'accounts', false) \gset
CREATE FUNCTION pg_temp.opened(k bigint) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT current_setting('seed.until')::timestamptz
           - current_setting('seed.days')::int * interval '1 day'
             * (1 - (k + pg_temp.u(k, 0)) / current_setting('seed.incidents')::double precision)
           - interval '2 hours' $$;
CREATE FUNCTION pg_temp.account(k bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT 'acct-' || lpad(CASE WHEN k >= current_setting('seed.incidents')::bigint - current_setting('seed.live')::bigint
                                THEN k % current_setting('seed.accounts')::bigint
                                ELSE (hashint8extended(k, 1) & 2147483647) % current_setting('seed.accounts')::bigint
                           END::text, 8, '0') $$;

\echo incidents
INSERT INTO incidents (id, account_id, status, priority, opened_priority, score, priority_reasons, opened_at, updated_at,
                       acknowledge_by, contain_by, acknowledge_breached_at, contain_breached_at, assignee,
                       acknowledged_at, contained_at, closed_at, resolution, acknowledge_micros, contain_micros,
                       resolve_micros)
SELECT id, account, status, priority, priority, score, '[]', opened, coalesce(closed, acked, opened),
       opened + ack_within, opened + contain_within,
       CASE WHEN ack_took > ack_within THEN opened + ack_within END,
       CASE WHEN contained IS NOT NULL AND contain_took > contain_within THEN opened + contain_within END,
       CASE WHEN acked IS NOT NULL THEN 'agent' || (k % 40) END,
       acked, contained, closed, CASE WHEN closed IS NOT NULL THEN resolution END,
       CASE WHEN acked IS NOT NULL THEN (extract(epoch FROM ack_took) * 1000000)::bigint END,
       CASE WHEN contained IS NOT NULL THEN (extract(epoch FROM contain_took) * 1000000)::bigint END,
       CASE WHEN closed IS NOT NULL THEN (extract(epoch FROM closed - opened) * 1000000)::bigint END
FROM (
    SELECT k, id, account, priority, score, opened, ack_within, contain_within, ack_took, contain_took, resolution,
           CASE WHEN NOT live OR status <> 'open' THEN opened + ack_took END AS acked,
           CASE WHEN priority IN ('P1', 'P2') AND (NOT live OR status IN ('contained', 'recovering'))
                THEN opened + contain_took END AS contained,
           CASE WHEN NOT live THEN opened + ack_took + interval '1 hour' * (1 + 40 * pg_temp.u(k, 5)) END AS closed,
           CASE WHEN live THEN status WHEN resolution IS NULL THEN 'dismissed' ELSE 'resolved' END AS status
    FROM (
        SELECT k, 'inc-' || lpad(k::text, 8, '0') AS id, pg_temp.account(k) AS account, p.priority,
               p.score, pg_temp.opened(k) AS opened, p.ack_within, p.contain_within,
               p.ack_within * (0.05 + 1.1 * pg_temp.u(k, 3)) AS ack_took,
               p.contain_within * (0.1 + 1.0 * pg_temp.u(k, 4)) AS contain_took,
               k >= (:incidents) - (:live) AS live,
               (ARRAY['open', 'open', 'acknowledged', 'contained', 'recovering'])[1 + k % 5] AS status,
               (ARRAY['confirmed_takeover', 'false_positive', 'false_positive', 'false_positive', 'false_positive',
                      'false_positive', 'user_error', 'user_error', NULL, NULL])[1 + (hashint8extended(k, 6) & 1023) % 10]
                   AS resolution
        FROM generate_series(0::bigint, (:incidents) - 1) AS k,
             LATERAL (SELECT pg_temp.u(k, 2) AS r) AS r,
             LATERAL (SELECT CASE WHEN r < 0.05 THEN 'P1' WHEN r < 0.2 THEN 'P2' WHEN r < 0.7 THEN 'P3' ELSE 'P4' END
                                 AS priority,
                             CASE WHEN r < 0.05 THEN 85 WHEN r < 0.2 THEN 65 WHEN r < 0.7 THEN 40 ELSE 20 END AS score,
                             CASE WHEN r < 0.05 THEN interval '5 min' WHEN r < 0.2 THEN interval '15 min'
                                  WHEN r < 0.7 THEN interval '4 hours' ELSE interval '24 hours' END AS ack_within,
                             CASE WHEN r < 0.05 THEN interval '15 min' WHEN r < 0.2 THEN interval '1 hour'
                                  WHEN r < 0.7 THEN interval '24 hours' ELSE interval '72 hours' END AS contain_within)
                 AS p
    ) AS drawn
) AS i;

\echo monthly partitions
-- Each month of the history has its partitions, as the service would have
-- created them ahead month by month, so rows land in their month rather
-- than in the default partition (bounds at UTC month starts).
SET TIME ZONE 'UTC';
SELECT format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
              t || '_p' || to_char(m, 'YYYYMM'), t, m, m + interval '1 month')
FROM unnest(ARRAY['alerts', 'campaign_signals', 'sign_in_failures', 'audit_log']) AS t,
     generate_series(date_trunc('month', :'until'::timestamptz - :days * interval '1 day'),
                     date_trunc('month', :'until'::timestamptz) + interval '2 months', interval '1 month') AS m
WHERE to_regclass(t || '_p' || to_char(m, 'YYYYMM')) IS NULL \gexec

\echo alerts
-- Alert n belongs to incident n * incidents / alerts: a sign-in first, then
-- sign-ins and withdrawals a few minutes apart. Sign-ins come 1 % from a
-- small pool of attackers' addresses and withdrawals 1 % to a few mule
-- destinations, so campaigns form.
INSERT INTO alerts (alert_id, account_id, kind, occurred_at, received_at, incident_id, body, retained_from)
SELECT alert_id, account, kind, occurred, occurred, 'inc-' || lpad(k::text, 8, '0'),
       CASE WHEN kind = 'suspicious_login' THEN json_build_object(
           'alert_id', alert_id, 'kind', kind, 'account_id', account, 'occurred_at', at, 'risk_score', round(r::numeric, 2),
           'login', json_build_object(
               'ip', CASE WHEN pg_temp.u(n, 11) < 0.01 THEN '198.51.100.' || (1 + n % 40)
                          ELSE '10.' || (n % 256) || '.' || (n / 256 % 256) || '.' || (n / 65536 % 256) END,
               'country', (ARRAY['BR', 'DE', 'KR', 'US', 'NL'])[1 + n % 5], 'device_id', 'd-' || alert_id,
               'new_device', pg_temp.u(n, 12) < 0.5, 'new_country', pg_temp.u(n, 13) < 0.3,
               'impossible_travel', pg_temp.u(n, 14) < 0.05, 'anonymizing_network', pg_temp.u(n, 15) < 0.1,
               'failed_mfa_attempts', (ARRAY[0, 0, 0, 1, 3])[1 + n % 5],
               'credential_change_within_24h', pg_temp.u(n, 16) < 0.05))
       ELSE json_build_object(
           'alert_id', alert_id, 'kind', kind, 'account_id', account, 'occurred_at', at, 'risk_score', round(r::numeric, 2),
           'withdrawal', json_build_object(
               'withdrawal_id', 'w-' || alert_id, 'asset', 'BTC', 'amount', '0.5',
               'usd_value', (ARRAY['1200.00', '8000.00', '20000.00', '60000.00', '250000.00'])[1 + n % 5],
               'destination', CASE WHEN pg_temp.u(n, 17) < 0.01 THEN 'bc1qmule' || lpad((n % 20)::text, 4, '0')
                                   ELSE 'bc1q' || alert_id END,
               'new_destination', pg_temp.u(n, 18) < 0.6))
       END::text, occurred
FROM (
    SELECT n, k, 'al-' || lpad(n::text, 9, '0') AS alert_id, pg_temp.account(k) AS account,
           CASE WHEN j % 3 = 1 THEN 'large_withdrawal' ELSE 'suspicious_login' END AS kind,
           pg_temp.opened(k) + j * interval '3 min' AS occurred,
           to_char((pg_temp.opened(k) + j * interval '3 min') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at,
           pg_temp.u(n, 10) AS r
    FROM generate_series(0::bigint, (:alerts) - 1) AS n,
         LATERAL (SELECT n * (:incidents) / (:alerts) AS k) AS kk,
         LATERAL (SELECT n - (k * (:alerts) + (:incidents) - 1) / (:incidents) AS j) AS jj
) AS a;
-- Each alert's bodiless record: its idempotency key (the partitioned
-- alerts table cannot hold a unique index on alert_id) and its
-- plain-language summary, which intake writes with the alert (the text
-- here follows `Alert::summary`, with country codes for names).
INSERT INTO alert_records (alert_id, incident_id, occurred_at, received_at, summary)
SELECT alert_id, incident_id, occurred_at, received_at,
       CASE WHEN kind = 'suspicious_login' THEN
           'Sign-in from ' || CASE WHEN (b #>> '{login,new_device}')::boolean THEN 'a new device' ELSE 'a known device' END
           || ' in ' || (b #>> '{login,country}') || ', ' || to_char(occurred_at, 'YYYY-MM-DD HH24:MI') || ' UTC'
       ELSE
           'Withdrawal of 0.5 BTC (about ' || (b #>> '{withdrawal,usd_value}') || ' USD) to '
           || CASE WHEN (b #>> '{withdrawal,new_destination}')::boolean THEN 'a new address' ELSE 'a saved address' END
           || ', ' || to_char(occurred_at, 'YYYY-MM-DD HH24:MI') || ' UTC'
       END
FROM (SELECT *, body::jsonb AS b FROM alerts) AS a;

\echo holds and timelines
-- P1 and P2 incidents froze withdrawals; ended ones have lifted it.
INSERT INTO holds (id, account_id, incident_id, scope, reason, placed_by, placed_at, lifted_at, lifted_by)
SELECT 'hold-' || substr(id, 5), account_id, id, 'withdrawal', 'incident ' || id, 'system', opened_at, closed_at,
       CASE WHEN closed_at IS NOT NULL THEN assignee END
FROM incidents WHERE priority IN ('P1', 'P2');

-- The timeline: opened, acknowledged, contained, closed, each in the
-- account's chain (one of sixteen).
INSERT INTO audit_log (chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id)
SELECT chain, seq, at, actor, action, id, account_id, detail, sha256(int8send(seq - 1)), sha256(int8send(seq)), NULL
FROM (
    SELECT (hashtext(account_id) & 15)::smallint AS chain, substr(id, 5)::bigint * 4 + e.step + 1 AS seq, e.*,
           id, account_id
    FROM incidents,
         LATERAL (VALUES
             (0, opened_at, 'system', 'incident.opened',
              json_build_object('priority', priority, 'score', score, 'acknowledge_by', acknowledge_by,
                                'contain_by', contain_by)::text),
             (1, acknowledged_at, assignee, 'incident.acknowledged', '{}'),
             (2, contained_at, assignee, 'incident.contained', '{}'),
             (3, closed_at, assignee, 'incident.' || status,
              json_build_object('resolution', resolution)::text)) AS e(step, at, actor, action, detail)
    WHERE e.at IS NOT NULL
) AS t;
UPDATE audit_chains c SET seq = h.seq, hash = h.hash
FROM (SELECT DISTINCT ON (chain) chain, seq, hash FROM audit_log ORDER BY chain, seq DESC) AS h
WHERE c.chain = h.chain AND h.seq > c.seq;

\echo indexes
-- A partitioned table's index reads back as `ON ONLY <table>`, which would
-- build it on the parent alone; without ONLY it is built on every month.
SELECT replace(indexdef, ' ON ONLY ', ' ON ') FROM seed_indexes \gexec
VACUUM ANALYZE incidents;
VACUUM ANALYZE alerts;
VACUUM ANALYZE holds;
VACUUM ANALYZE audit_log;
VACUUM ANALYZE audit_chains;
