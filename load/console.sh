#!/usr/bin/env bash
# The console's queue with 100,000 open incidents on PostgreSQL: seeds them
# (each with an alert) straight into a fresh database, signs a lead in to the
# console as a browser would, and times the queue page, one request at a
# time, for the first page, a page deep in the queue, and each filter.
# Prints the query plan of the first page and one JSON line per page:
# {"page", "requests", "p50_ms", "p99_ms", "max_ms"}. load/REPORT.md
# ("Console") records a run. Needs PostgreSQL, psql and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
INCIDENTS=${INCIDENTS:-100000}
REQUESTS=${REQUESTS:-200}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=holdfast_console_load
URL=http://127.0.0.1:18091
MASTER=$(head -c 32 /dev/urandom | base64)
INGEST="load=$(head -c 32 /dev/urandom | base64)"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release -p holdfast >/dev/null 2>&1
HOLDFAST=$PWD/target/release/holdfast
export HOLDFAST_DATABASE_URL=$PG/$DB HOLDFAST_MASTER_KEY=$MASTER HOLDFAST_INGEST_KEYS=$INGEST HOLDFAST_LOG=warn

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$HOLDFAST" migrate >/dev/null

echo "# seeding $INCIDENTS open incidents" >&2
psql -q "$PG/$DB" <<SQL
-- Priorities, statuses and claims spread as in a bad hour: a quarter of each
-- priority, most incidents open, one in five claimed by one of twenty agents.
INSERT INTO incidents (id, account_id, status, priority, score, priority_reasons, opened_at, updated_at,
                       acknowledge_by, contain_by, assignee)
SELECT 'load-' || lpad(n::text, 7, '0'), 'acct-load-' || n,
       (ARRAY['open', 'open', 'open', 'acknowledged', 'contained', 'recovering'])[1 + n % 6],
       'P' || (1 + n % 4), 40, '[]', opened, opened,
       opened + (ARRAY[interval '5 min', interval '15 min', interval '4 h', interval '24 h'])[1 + n % 4],
       opened + (ARRAY[interval '15 min', interval '1 h', interval '24 h', interval '72 h'])[1 + n % 4],
       CASE WHEN n % 5 = 0 THEN 'agent' || (n % 20) END
FROM generate_series(1, $INCIDENTS) AS n, LATERAL (SELECT now() - n * interval '1 second' AS opened) AS t;
INSERT INTO alerts (alert_id, account_id, kind, occurred_at, received_at, incident_id, body, retained_from)
SELECT 're-load-' || n, 'acct-load-' || n, 'suspicious_login', now() - n * interval '1 second',
       now() - n * interval '1 second', 'load-' || lpad(n::text, 7, '0'),
       json_build_object('alert_id', 're-load-' || n, 'kind', 'suspicious_login', 'account_id', 'acct-load-' || n,
                         'occurred_at', to_char(now() - n * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                         'login', json_build_object('ip', '203.0.113.9', 'country', 'BR', 'new_device', true,
                             'new_country', true, 'impossible_travel', false, 'anonymizing_network', false,
                             'failed_mfa_attempts', 0, 'credential_change_within_24h', false))::text,
       now() - n * interval '1 second'
FROM generate_series(1, $INCIDENTS) AS n;
INSERT INTO alert_records (alert_id, incident_id, occurred_at, received_at)
SELECT alert_id, incident_id, occurred_at, received_at FROM alerts WHERE alert_id LIKE 're-load-%';
VACUUM ANALYZE incidents;
VACUUM ANALYZE alerts;
SQL

echo "# the first page's plan" >&2
psql -q "$PG/$DB" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
  SELECT id, (SELECT a.body FROM alerts a WHERE a.incident_id = incidents.id
              ORDER BY a.occurred_at DESC, a.alert_id DESC LIMIT 1)
  FROM incidents WHERE status NOT IN ('resolved', 'dismissed')
  ORDER BY priority, acknowledge_by, id LIMIT 51" >&2

(cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:18091 HOLDFAST_DATABASE_MAX_CONNECTIONS=16 "$HOLDFAST" serve \
    2>>"$WORK/server.log") &
for _ in $(seq 1 50); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.2; done

# A lead signs in to the console with password and TOTP code, as a browser would.
agent=$("$HOLDFAST" agent add --username load-lead --role lead --json)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$agent" "$1"; }
code=$("$HOLDFAST" otp --secret "$(field totp_secret)")
# Every form carries a double-submit token: the sign-in page's cookie and field.
form=$(curl -s -c "$WORK/jar" "$URL/console/login")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$form" | head -1)
cookie=$(curl -s -o /dev/null -D - -b "$WORK/jar" "$URL/console/login" --data-urlencode "username=load-lead" \
    --data-urlencode "password=$(field password)" --data-urlencode "otp=$code" --data-urlencode "csrf=$csrf" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(holdfast_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }

# A cursor half-way down the queue, made as the console makes it.
deep=$(psql -At "$PG/$DB" -c "SELECT priority || ':' || (extract(epoch FROM acknowledge_by) * 1000000)::bigint || ':' || id
    FROM incidents WHERE status NOT IN ('resolved', 'dismissed')
    ORDER BY priority, acknowledge_by, id OFFSET $((INCIDENTS / 2)) LIMIT 1" | base64 -w0 | tr '+/' '-_' | tr -d '=')

measure() { # name path
    local times="$WORK/times"
    : >"$times"
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "cookie: $cookie" "$URL$2")
    [ "$status" = 200 ] || { echo "$2 answered $status" >&2; exit 1; }
    for _ in $(seq 1 "$REQUESTS"); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "cookie: $cookie" "$URL$2" >>"$times"
    done
    sort -n "$times" | awk -v name="$1" -v n="$REQUESTS" '{ t[NR] = $1 * 1000 }
        END { printf "{\"page\": \"%s\", \"requests\": %d, \"p50_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f}\n",
              name, n, t[int(n * 0.5)], t[int(n * 0.99)], t[n] }'
}

measure "queue, first page" "/console/"
measure "queue, page half-way down" "/console/?cursor=$deep"
measure "priority P3" "/console/?priority=P3"
measure "status recovering" "/console/?status=recovering"
measure "claimed by nobody" "/console/?claimed=unclaimed"
measure "claimed by me (none)" "/console/?claimed=mine"
measure "poll (queue.json)" "/console/queue.json"
