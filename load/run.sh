#!/usr/bin/env bash
# Holdfast's benchmarks on this machine: signed intake (PostgreSQL, with and
# without Redis, and SQLite) against pgbench running the same transaction,
# the holds check, and memory as history grows. Prints one JSON line per
# measurement; load/REPORT.md records a run. Needs PostgreSQL, Redis and
# pgbench (postgresql-contrib), as scripts/test sets up.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
CONCURRENCY=${CONCURRENCY:-64}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=holdfast_load
KEY="load=$(head -c 32 /dev/urandom | base64)"
MASTER=$(head -c 32 /dev/urandom | base64)
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release -p holdfast -p holdfast-load >/dev/null 2>&1
HOLDFAST=$PWD/target/release/holdfast
LOAD=$PWD/target/release/holdfast-load

serve() { # database-url redis-url(or empty)
    (cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:18090 HOLDFAST_DATABASE_URL="$1" ${2:+HOLDFAST_REDIS_URL=$2} \
        HOLDFAST_REDIS_PREFIX="load:$RANDOM:" HOLDFAST_INGEST_KEYS="$KEY" HOLDFAST_MASTER_KEY="$MASTER" \
        HOLDFAST_DATABASE_MAX_CONNECTIONS=16 HOLDFAST_LOG=warn "$HOLDFAST" serve 2>>"$WORK/server.log") &
    SERVER=$!
    for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18090/readyz >/dev/null && return; sleep 0.2; done
    echo "holdfast did not start" >&2; exit 1
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; while curl -sf http://127.0.0.1:18090/healthz >/dev/null; do sleep 0.2; done; }
rss() { echo "{\"rss_kib\": $(ps -o rss= -p "$SERVER" | tr -d ' '), \"after\": \"$1\"}"; }
fresh_pg() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"; }

echo "# intake, PostgreSQL"
fresh_pg; serve "$PG/$DB" ""
"$LOAD" intake --url http://127.0.0.1:18090 --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --run pg1
rss "intake run 1"
# Memory as history grows: keep posting new alerts (new accounts, new
# incidents) and watch the resident size level off once the bounded caches
# are full.
for run in $(seq 2 "${MEMORY_ROUNDS:-8}"); do
    "$LOAD" intake --url http://127.0.0.1:18090 --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --run pg$run >/dev/null
    rss "intake run $run"
done
echo "# holds check, PostgreSQL, in-process cache"
"$LOAD" holds --url http://127.0.0.1:18090 --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --prefix pg1-acct- --accounts 10000
rss "holds"
stop

echo "# pgbench: the same transaction, one alert per transaction"
pgbench -n -c "$CONCURRENCY" -j 2 -T "$SECONDS_PER_RUN" -f load/intake.pgbench "$PG/$DB" 2>/dev/null | grep -E "^tps|latency average"

echo "# intake and holds, PostgreSQL + Redis"
fresh_pg; serve "$PG/$DB" "redis://127.0.0.1:6379"
"$LOAD" intake --url http://127.0.0.1:18090 --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --run pr
"$LOAD" holds --url http://127.0.0.1:18090 --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --prefix pr-acct- --accounts 10000
rss "redis runs"
stop

echo "# intake, SQLite"
serve "sqlite://$WORK/holdfast.db" ""
"$LOAD" intake --url http://127.0.0.1:18090 --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --run sq
"$LOAD" holds --url http://127.0.0.1:18090 --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --prefix sq-acct- --accounts 10000
rss "sqlite runs"
stop
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
