#!/usr/bin/env bash
# The holds check against an axum hello-world, in one sitting: a release
# build; the hello-world (load/src/bin/hello.rs) and Holdfast on PostgreSQL,
# PostgreSQL + Redis and SQLite, each seeded with HOLDS_ACCOUNTS accounts of
# which every fourth has an incident (every eighth frozen by a P1
# withdrawal); then, ROUNDS times for each database, alternating: the
# hello-world, Holdfast over the seeded accounts (warm), Holdfast over
# COLD_ACCOUNTS accounts never seen, each checked once (cold). wrk drives
# every run (THREADS threads, CONCURRENCY connections, requests signed
# beforehand by holdfast-load and sent by load/wrk/presigned.lua). Once, at
# the start, the hello-world is also driven by holdfast-load's own sender,
# to show what the change of generator is worth.
#
# Prints one JSON line per run, then a table: checks/s, p50, p99 and the
# ratio to the hello-world run just before. A run that saw failures says so
# and has no ratio. Needs PostgreSQL and Redis as scripts/test sets up, and
# wrk (Debian's package). Knobs: SECONDS_PER_RUN (default 10), ROUNDS (3),
# DATABASES=postgres,redis,sqlite (default all), HOLDFAST=<binary> to
# measure another build with the same generator and baseline, BUILD=0 to
# use the release binaries as they are (BIN, default target/release).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-64}
THREADS=${THREADS:-2}
WARM_SECONDS=${WARM_SECONDS:-5}
HOLDS_ACCOUNTS=${HOLDS_ACCOUNTS:-20000}
HOLDS_FROZEN_EVERY=${HOLDS_FROZEN_EVERY:-2}
COLD_ACCOUNTS=${COLD_ACCOUNTS:-1000000}
DATABASES=${DATABASES:-postgres,redis,sqlite}
# Every connection of the generator comes from 127.0.0.1: one client, which
# the server otherwise limits to 64 connections.
export HOLDFAST_MAX_CONNECTIONS_PER_CLIENT=${HOLDFAST_MAX_CONNECTIONS_PER_CLIENT:-4096}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-holdfast_load_holds}
PORT=${PORT:-18290}
HELLO_URL=http://127.0.0.1:$((PORT + 9))
URL=http://127.0.0.1:$PORT
REDIS=redis://127.0.0.1:6379
KEY="load=$(head -c 32 /dev/urandom | base64)"
MASTER=$(head -c 32 /dev/urandom | base64)
WORK=$(mktemp -d)
OUT=${OUT:-$WORK/results.jsonl}
SERVER=""
HELLO_PID=""
REDIS_PREFIX=""
trap 'kill $(jobs -p) 2>/dev/null || true; forget_redis; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "load/holds.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
[ "${BUILD:-1}" = 0 ] || cargo build --release -p holdfast -p holdfast-load --bins >/dev/null 2>&1
BIN=${BIN:-$PWD/target/release}
HOLDFAST=${HOLDFAST:-$BIN/holdfast}
LOAD=$BIN/holdfast-load
HELLO=$BIN/hello
WRK_SCRIPT=$ROOT/load/wrk/presigned.lua
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), holdfast $(git rev-parse --short HEAD)"

# serve <database-url> [redis-url]: one instance on PORT.
serve() {
    local database=$1 redis=${2:-}
    REDIS_PREFIX="load:$$:$RANDOM:"
    (cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$PORT HOLDFAST_DATABASE_URL="$database" \
        ${redis:+HOLDFAST_REDIS_URL=$redis} HOLDFAST_REDIS_PREFIX="$REDIS_PREFIX" HOLDFAST_INGEST_KEYS="$KEY" \
        HOLDFAST_MASTER_KEY="$MASTER" HOLDFAST_PRIORITY_RULES="$ROOT/priority.toml" HOLDFAST_PLAYBOOKS="$ROOT/playbooks" \
        HOLDFAST_DATABASE_MAX_CONNECTIONS=16 HOLDFAST_LOG=warn "$HOLDFAST" serve 2>>"$WORK/server.log") &
    SERVER=$!
    for _ in $(seq 1 100); do curl -sf "$URL/readyz" >/dev/null && return 0; sleep 0.2; done
    echo "holdfast did not start" >&2; tail "$WORK/server.log" >&2; exit 1
}
stop() {
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
    forget_redis
}
# This run's keys only: another run may share the Redis server.
forget_redis() {
    [ -n "$REDIS_PREFIX" ] || return 0
    redis-cli --scan --pattern "$REDIS_PREFIX*" | xargs -r redis-cli del >/dev/null || true
    REDIS_PREFIX=""
}
record() { # <label> <json line>
    local line
    line=$(jq -c --arg name "$1" '{"label": $name} + .' <<<"$2")
    echo "$line" | tee -a "$OUT"
    jq -e '(.problems // []) | length == 0' <<<"$line" >/dev/null ||
        echo "# $1: $(jq -r '.problems | join("; ")' <<<"$line"): not counted" >&2
}
presign() { local file=$1; shift; "$LOAD" --key "$KEY" --concurrency "$CONCURRENCY" --write "$file" "$@"; }
# drive <seconds> <once|cycle> <requests file> <url>: wrk's JSON line.
drive() {
    WRK_REQUESTS=$3 WRK_THREADS=$THREADS WRK_MODE=$2 \
        wrk -t "$THREADS" -c "$CONCURRENCY" -d "$1s" --timeout 10s --latency -s "$WRK_SCRIPT" "$4" >"$WORK/wrk.out" 2>&1 || true
    rm -f "$3" "$3.ready"
    tail -n 1 "$WORK/wrk.out" | jq -ce --argjson c "$CONCURRENCY" '{connections: $c} + .' 2>/dev/null ||
        { echo "wrk failed:" >&2; cat "$WORK/wrk.out" >&2; echo '{"problems": ["wrk failed"]}'; }
}
# Waits (up to a minute) until the instance has no push to the exchange left.
drained() {
    for _ in $(seq 1 300); do
        curl -sf "$URL/metrics" | awk '/^holdfast_outbox_pending / { exit ($2 != 0) }' && return 0
        sleep 0.2
    done
    echo "# the outbox did not drain within a minute" >&2
}
hello_run() { # <label>
    presign "$WORK/hello.txt" holds --accounts "$HOLDS_ACCOUNTS" --prefix hello-acct-
    record "$1" "$(drive "$SECONDS_PER_RUN" cycle "$WORK/hello.txt" "$HELLO_URL")"
}
# measure <database label>: seeds the instance at PORT, warms it, then
# ROUNDS rounds of hello-world, warm, cold.
measure() {
    local where=$1 prefix="h$RANDOM-acct-"
    "$LOAD" --key "$KEY" --concurrency "$CONCURRENCY" seed --url "$URL" --prefix "$prefix" \
        --accounts "$HOLDS_ACCOUNTS" --every 4 --frozen-every "$HOLDS_FROZEN_EVERY" >"$WORK/seed.json"
    jq -e '.failed == 0' "$WORK/seed.json" >/dev/null || { echo "seeding failed: $(cat "$WORK/seed.json")" >&2; exit 1; }
    echo "# seeded $where: $(jq -c '.by_answer | map_values(.count)' "$WORK/seed.json")"
    drained
    presign "$WORK/warm.txt" holds --accounts "$HOLDS_ACCOUNTS" --prefix "$prefix"
    drive "$WARM_SECONDS" cycle "$WORK/warm.txt" "$URL" >/dev/null
    [[ "$where" == PostgreSQL* ]] && psql -q "$PG/$DB" -c "ANALYZE"
    for round in $(seq 1 "$ROUNDS"); do
        hello_run "hello-world, $where, round $round"
        presign "$WORK/holds.txt" holds --accounts "$HOLDS_ACCOUNTS" --prefix "$prefix"
        record "holds, $where, warm, round $round" "$(drive "$SECONDS_PER_RUN" cycle "$WORK/holds.txt" "$URL")"
        presign "$WORK/cold.txt" holds --accounts "$COLD_ACCOUNTS" --prefix "cold$round-$RANDOM-acct-"
        record "holds, $where, cold, round $round" "$(drive "$SECONDS_PER_RUN" once "$WORK/cold.txt" "$URL")"
    done
}
fresh_pg() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" -c "CHECKPOINT"; }

"$HELLO" "127.0.0.1:$((PORT + 9))" &
HELLO_PID=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "$HELLO_URL/v1/accounts/a/holds" && break; sleep 0.1; done

echo "# the generators, once: the hello-world driven by holdfast-load's own sender, then by wrk"
record "hello-world, holdfast-load" "$("$LOAD" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" holds --url "$HELLO_URL" --accounts "$HOLDS_ACCOUNTS")"
hello_run "hello-world, wrk"

if [[ ",$DATABASES," == *",postgres,"* ]]; then
    fresh_pg; serve "$PG/$DB"; measure PostgreSQL; stop
fi
if [[ ",$DATABASES," == *",redis,"* ]]; then
    fresh_pg; serve "$PG/$DB" "$REDIS"; measure "PostgreSQL + Redis"; stop
fi
if [[ ",$DATABASES," == *",sqlite,"* ]]; then
    serve "sqlite://$WORK/holdfast.db"; measure SQLite; stop
fi
kill "$HELLO_PID"; wait "$HELLO_PID" 2>/dev/null || true
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

echo "# checks/s, p50 and p99 (ms), and the ratio to the hello-world run just before (same database, same round)"
jq -rs '
  def ok: (.problems // []) | length == 0;
  (map(select(.label | startswith("hello-world, ") and (test("round") | not)))
     | map("\(.label): \(.per_second)/s, p50 \(.latency_ms.p50 // "-") ms, p99 \(.latency_ms.p99 // "-") ms")[]),
  (. as $all | map(select(.label | startswith("holds, ")))[]
     | . as $run
     | ($run.label | capture("^holds, (?<where>.*), (?<kind>warm|cold), round (?<round>[0-9]+)$")) as $m
     | ($all | map(select(.label == "hello-world, \($m.where), round \($m.round)")) | first) as $hello
     | "\($run.label): \($run.per_second)/s, p50 \($run.latency_ms.p50) ms, p99 \($run.latency_ms.p99) ms, "
       + (if ($run | ok) and $hello != null and ($hello | ok) and $hello.per_second > 0
          then "\($run.per_second / $hello.per_second * 100 | round / 100)× the hello-world (\($hello.per_second)/s, p99 \($hello.latency_ms.p99) ms)"
          else "not counted: \(($run.problems // []) + (($hello // {}).problems // []) | join("; "))" end))
' "$OUT"
