#!/usr/bin/env bash
# History at scale (SPEC §15): seeds a fresh PostgreSQL database with
# ALERTS alerts (default 10,000,000) and INCIDENTS incidents (default
# 1,000,000, all but LIVE closed) over three years on ACCOUNTS recurring
# accounts, through load/seed.sql (INSERT … SELECT, not the API); prints how
# long that took and the disk each table takes; then serves it and times, one
# request at a time, an account's incidents, the console's queue, an incident
# page (console and API) and the overview. One JSON line per endpoint:
# {"endpoint", "requests", "p50_ms", "p99_ms", "max_ms"}. load/REPORT.md
# ("History at scale") records a run. The database is dropped afterwards
# unless KEEP=1; DB=<name> SEED=0 measures an already seeded one again.
# INTAKE=1 then also compares intake (the realistic mix) and the holds check
# on that database with the same on an empty one, ROUNDS times alternating
# (holdfast-load sends them for INTAKE_SECONDS each, after 5 seconds of
# warm-up and an ANALYZE): one JSON line per measurement. RECLAIM=1 then
# shows what retention reclaims: the disk of each data class, one pass with
# SPEC §15's defaults, and the disk again (one JSON line per table and
# moment). Until then the server keeps everything (its alerts' retention is
# RETAIN_ALERTS, longer than the history), so what is measured is stored.
#
#   load/history.sh
#   ALERTS=1000000 INCIDENTS=100000 load/history.sh       # a quicker run
#   HOLDFAST=target/debug/holdfast load/history.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ALERTS=${ALERTS:-10000000}
INCIDENTS=${INCIDENTS:-1000000}
ACCOUNTS=${ACCOUNTS:-200000}
LIVE=${LIVE:-2000}
REQUESTS=${REQUESTS:-200}
SEED=${SEED:-1}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-holdfast_history_$$}
PORT=${PORT:-18092}
URL=http://127.0.0.1:$PORT
HOLDFAST=$(realpath "${HOLDFAST:-target/release/holdfast}")
MASTER=$(head -c 32 /dev/urandom | base64)
INGEST="load=$(head -c 32 /dev/urandom | base64)"
WORK=$(mktemp -d)
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    rm -rf "$WORK"
    [ "${KEEP:-0}" = 1 ] || psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
}
trap cleanup EXIT
export HOLDFAST_DATABASE_URL=$PG/$DB HOLDFAST_MASTER_KEY=$MASTER HOLDFAST_INGEST_KEYS=$INGEST HOLDFAST_LOG=warn

if [ "$SEED" = 1 ]; then
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    "$HOLDFAST" migrate >/dev/null
    start=$(date +%s.%N)
    psql -q "$PG/$DB" -v incidents="$INCIDENTS" -v alerts="$ALERTS" -v accounts="$ACCOUNTS" -v live="$LIVE" \
        -v days=1095 -v until="$(date -u +%FT%TZ)" -f load/seed.sql >&2
    echo "# seeded $ALERTS alerts and $INCIDENTS incidents in $(echo "$(date +%s.%N) - $start" | bc) s" >&2
fi
psql -q "$PG/$DB" -c "SELECT relname AS table, n_live_tup AS rows,
        pg_size_pretty(pg_total_relation_size(relid)) AS total,
        pg_size_pretty(pg_relation_size(relid)) AS heap,
        pg_size_pretty(pg_indexes_size(relid)) AS indexes
    FROM pg_stat_user_tables WHERE pg_total_relation_size(relid) > 1000000 ORDER BY pg_total_relation_size(relid) DESC" >&2

(cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$PORT HOLDFAST_DATABASE_MAX_CONNECTIONS=16 \
    HOLDFAST_RETENTION_ALERTS="${RETAIN_ALERTS:-10y}" "$HOLDFAST" serve 2>>"$WORK/server.log") &
for _ in $(seq 1 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.2; done

# Two leads sign in: one to the console as a browser would, one to the API
# (a TOTP code is accepted once).
lead() { # username -> JSON of the new agent
    "$HOLDFAST" agent add --username "$1" --role lead --json
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
browser=$(lead "history-console-$$")
form=$(curl -s -c "$WORK/jar" "$URL/console/login")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$form" | head -1)
cookie=$(curl -s -o /dev/null -D - -b "$WORK/jar" "$URL/console/login" --data-urlencode "username=history-console-$$" \
    --data-urlencode "password=$(field "$browser" password)" --data-urlencode "csrf=$csrf" \
    --data-urlencode "otp=$("$HOLDFAST" otp --secret "$(field "$browser" totp_secret)")" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(holdfast_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "console sign-in failed" >&2; exit 1; }
client=$(lead "history-api-$$")
token=$(curl -s "$URL/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"history-api-$$\",\"password\":\"$(field "$client" password)\",\"otp\":\"$("$HOLDFAST" otp --secret "$(field "$client" totp_secret)")\"}" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")

# An account with years of closed incidents, and one of its incidents.
account=$(psql -At "$PG/$DB" -c "SELECT account_id FROM incidents WHERE closed_at IS NOT NULL ORDER BY id LIMIT 1")
incident=$(psql -At "$PG/$DB" -c "SELECT id FROM incidents WHERE account_id = '$account' ORDER BY opened_at LIMIT 1")

measure() { # name path header
    local times="$WORK/times"
    : >"$times"
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "$3" "$URL$2")
    [ "$status" = 200 ] || { echo "$2 answered $status" >&2; exit 1; }
    for _ in $(seq 1 "$REQUESTS"); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "$3" "$URL$2" >>"$times"
    done
    sort -n "$times" | awk -v name="$1" -v n="$REQUESTS" '{ t[NR] = $1 * 1000 }
        END { printf "{\"endpoint\": \"%s\", \"requests\": %d, \"p50_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f}\n",
              name, n, t[int(n * 0.5)], t[int(n * 0.99)], t[n] }'
}

measure "GET /v1/incidents?account_id=" "/v1/incidents?account_id=$account" "authorization: Bearer $token"
measure "GET /v1/incidents (newest)" "/v1/incidents" "authorization: Bearer $token"
measure "console queue (/console/)" "/console/" "cookie: $cookie"
measure "console queue poll (/console/queue.json)" "/console/queue.json" "cookie: $cookie"
measure "console incident page" "/console/incidents/$incident" "cookie: $cookie"
measure "GET /v1/incidents/{id}" "/v1/incidents/$incident" "authorization: Bearer $token"
measure "GET /v1/overview" "/v1/overview" "authorization: Bearer $token"
measure "console overview (/console/overview)" "/console/overview" "cookie: $cookie"

kill $(jobs -p) 2>/dev/null || true
wait 2>/dev/null || true

if [ "${RECLAIM:-0}" = 1 ]; then
    sizes() { # moment: one JSON line per table (partitions summed into their parent)
        psql -At "$PG/$DB" -v moment="$1" <<'SQL'
SELECT json_build_object('moment', :'moment', 'table', t, 'rows', r,
                         'bytes', COALESCE((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(t::regclass)),
                                           pg_total_relation_size(t::regclass)))
FROM (VALUES ('alerts', (SELECT count(*) FROM alerts)),
             ('alert_records', (SELECT count(*) FROM alert_records)),
             ('campaign_signals', (SELECT count(*) FROM campaign_signals)),
             ('audit_log', (SELECT count(*) FROM audit_log)),
             ('incidents', (SELECT count(*) FROM incidents)),
             ('holds', (SELECT count(*) FROM holds))) AS v (t, r);
SELECT json_build_object('moment', :'moment', 'table', 'database', 'bytes', pg_database_size(current_database()));
SQL
    }
    sizes before
    leaves() { psql -At "$PG/$DB" -c "SELECT count(*) FROM pg_partition_tree('alerts') WHERE isleaf"; }
    partitions=$(leaves)
    start=$(date +%s.%N)
    (cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$PORT HOLDFAST_LOG=info "$HOLDFAST" serve \
        2>>"$WORK/reclaim.log") &
    server=$!
    # The pass runs at start and logs when it is done.
    until grep -q "retention pass done" "$WORK/reclaim.log" 2>/dev/null; do
        kill -0 "$server" 2>/dev/null || { echo "the server stopped before its pass:" >&2; tail "$WORK/reclaim.log" >&2; exit 1; }
        sleep 1
    done
    last=$(leaves)
    echo "# retention dropped $((partitions - last)) of $partitions alerts partitions in $(echo "$(date +%s.%N) - $start" | bc) s" >&2
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    sizes after
fi

[ "${INTAKE:-0}" = 1 ] || exit 0
LOAD=$(realpath "${LOAD:-target/release/holdfast-load}")
EMPTY=${DB}_empty
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $EMPTY WITH (FORCE)" -c "CREATE DATABASE $EMPTY"
HOLDFAST_DATABASE_URL=$PG/$EMPTY "$HOLDFAST" migrate >/dev/null
trap 'cleanup; psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $EMPTY WITH (FORCE)" >/dev/null' EXIT
compare() { # label database
    # Keeping everything, as the latency run does: a pass with the default
    # limits at start would drop the history being measured against.
    (cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$PORT HOLDFAST_DATABASE_URL="$PG/$2" \
        HOLDFAST_RETENTION_ALERTS="${RETAIN_ALERTS:-10y}" HOLDFAST_MAX_CONNECTIONS_PER_CLIENT=4096 \
        "$HOLDFAST" serve 2>>"$WORK/server.log") &
    local server=$!
    for _ in $(seq 1 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.2; done
    "$LOAD" --key "$INGEST" --url "$URL" --seconds 5 intake --run "warm$RANDOM" >/dev/null
    psql -q "$PG/$2" -c "ANALYZE"
    local intake holds
    intake=$("$LOAD" --key "$INGEST" --url "$URL" --seconds "${INTAKE_SECONDS:-15}" intake --run "r$RANDOM")
    holds=$("$LOAD" --key "$INGEST" --url "$URL" --seconds "${INTAKE_SECONDS:-15}" holds --accounts 10000 --prefix acct-0001)
    jq -cn --arg db "$1" --argjson i "$intake" --argjson h "$holds" '{database: $db,
        intake_per_second: $i.per_second, intake_p50_ms: $i.latency_ms.p50, intake_p99_ms: $i.latency_ms.p99,
        intake_failed: $i.failed, holds_per_second: $h.per_second, holds_p50_ms: $h.latency_ms.p50,
        holds_p99_ms: $h.latency_ms.p99, holds_failed: $h.failed}'
    kill "$server"
    wait "$server" 2>/dev/null || true
}
for _ in $(seq 1 "${ROUNDS:-2}"); do
    compare empty "$EMPTY"
    compare "$ALERTS alerts" "$DB"
done
