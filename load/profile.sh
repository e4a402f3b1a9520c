#!/usr/bin/env bash
# Where the time goes during signed intake of the realistic mix on
# PostgreSQL: samples every process on the machine with perf while wrk
# sends requests holdfast-load signed beforehand (as load/run.sh measures),
# then prints each program's share of the CPU and Holdfast's hottest
# functions. Usage: load/profile.sh [mix] (realistic, p3-new or p1-new).
# Needs linux-perf, wrk and a release build (load/run.sh builds one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MIX=${1:-realistic}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-holdfast_profile}
PORT=${PORT:-18095}
KEY="load=$(head -c 32 /dev/urandom | base64)"
MASTER=$(head -c 32 /dev/urandom | base64)
WORK=$(mktemp -d)
# The generator's 64 connections all come from 127.0.0.1, one client.
export HOLDFAST_MAX_CONNECTIONS_PER_CLIENT=${HOLDFAST_MAX_CONNECTIONS_PER_CLIENT:-4096}
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" ${DB_SETTING:+-c "ALTER DATABASE $DB SET $DB_SETTING"}
(cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$PORT HOLDFAST_DATABASE_URL="$PG/$DB" HOLDFAST_INGEST_KEYS="$KEY" \
    HOLDFAST_MASTER_KEY="$MASTER" HOLDFAST_PRIORITY_RULES="${RULES:-$ROOT/priority.toml}" HOLDFAST_PLAYBOOKS="$ROOT/playbooks" \
    HOLDFAST_DATABASE_MAX_CONNECTIONS=16 HOLDFAST_LOG=warn "$ROOT/target/release/holdfast" serve 2>"$WORK/server.log") &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
curl -sf http://127.0.0.1:$PORT/readyz >/dev/null || { echo "holdfast did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }

# Requests for 25 seconds at up to INTAKE_CEILING (default 10,000) alerts a second.
target/release/holdfast-load --key "$KEY" --write "$WORK/requests.txt" --count $((${INTAKE_CEILING:-10000} * 25)) \
    intake --mix "$MIX" --run prof
WRK_REQUESTS=$WORK/requests.txt WRK_THREADS=2 WRK_MODE=once WRK_ANSWERS=1 wrk -t 2 -c 64 -d 25s --timeout 10s --latency \
    -s load/wrk/presigned.lua http://127.0.0.1:$PORT 2>&1 | tail -n 1 > "$WORK/load.json" &
LOADER=$!
sleep 5
perf record -q -F 499 -a -g -o "$WORK/perf.data" -- sleep 15 2>/dev/null
wait "$LOADER" 2>/dev/null || true
cat "$WORK/load.json"
echo "# CPU by process (holdfast is $SERVER, the load generator wrk, postgres the rest)"
perf report -i "$WORK/perf.data" --no-children --sort pid --stdio -g none 2>/dev/null | grep -E "^ +[0-9]" | head -12
echo "# Holdfast's hottest functions (self time)"
perf report -i "$WORK/perf.data" --no-children --pid "$SERVER" --sort symbol --stdio -g none 2>/dev/null | grep -E "^ +[0-9]" | sed "s/  *-  *-  *$//" | cut -c1-160 | head -25
echo "# PostgreSQL's hottest functions (self time)"
perf report -i "$WORK/perf.data" --no-children --comm postgres --sort symbol --stdio -g none 2>/dev/null | grep -E "^ +[0-9]" | sed "s/  *-  *-  *$//" | cut -c1-160 | head -15
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
