#!/usr/bin/env bash
# Instructions per holds check, Holdfast's beside the hello-world's, counted
# by callgrind: the same count on a quiet machine or a busy one, so a change
# can be judged by it while other work shares the cores (wrk's throughput
# moves with them). Each server runs under callgrind with instrumentation
# off until it is ready; then REQUESTS_WARM checks (not counted), the
# counters zeroed, REQUESTS checks sent by wrk (1 thread, 16 connections,
# requests signed beforehand), and the counters dumped. Holdfast runs on
# PostgreSQL (the database of load/holds.sh's runs), and the checks are of
# accounts never seen (the path nearly every check takes) and, with
# SEEDED=1, of 2,000 accounts each with an incident (a frozen or a P3
# account's cached holds). Prints instructions per request for each.
# Needs valgrind, wrk and a release build (BIN, default target/release);
# HOLDFAST=<binary> counts another build of the server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REQUESTS=${REQUESTS:-20000}
REQUESTS_WARM=${REQUESTS_WARM:-2000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-holdfast_instructions}
PORT=${PORT:-18390}
KEY="load=$(head -c 32 /dev/urandom | base64)"
MASTER=$(head -c 32 /dev/urandom | base64)
WORK=$(mktemp -d)
BIN=${BIN:-$ROOT/target/release}
HOLDFAST=${HOLDFAST:-$BIN/holdfast}
LOAD=$BIN/holdfast-load
HELLO=$BIN/hello
export HOLDFAST_MAX_CONNECTIONS_PER_CLIENT=4096
# KEEP=<directory> keeps the dumps there, for callgrind_annotate.
trap 'kill $(jobs -p) 2>/dev/null || true; [ -z "${KEEP:-}" ] || cp "$WORK"/callgrind.out.* "$KEEP"/ 2>/dev/null; rm -rf "$WORK"' EXIT

# send <url> <requests file> <count>: exactly <count> requests, once each
# (wrk's one thread stops when it runs out and leaves a mark; wrk itself
# waits out its duration, so it is interrupted then).
send() {
    rm -f "$2.done"
    WRK_REQUESTS=$2 WRK_THREADS=1 WRK_MODE=once wrk -t 1 -c 16 -d 3600s --timeout 60s -s load/wrk/presigned.lua "$1" \
        >"$WORK/wrk.out" 2>&1 &
    local sender=$!
    while [ ! -e "$2.done" ]; do
        kill -0 "$sender" 2>/dev/null || { echo "wrk ended before sending $3:" >&2; cat "$WORK/wrk.out" >&2; exit 1; }
        sleep 0.5
    done
    kill -INT "$sender"; wait "$sender" 2>/dev/null || true
    rm -f "$2" "$2.done" "$2.ready"
}
# count <label> <pid> <url> <prefix> <accounts>: instructions per request.
count() {
    local label=$1 pid=$2 url=$3 prefix=$4 accounts=$5
    callgrind_control -i on "$pid" >/dev/null
    "$LOAD" --key "$KEY" --concurrency 16 --count "$REQUESTS_WARM" --write "$WORK/warm.txt" holds --accounts "$accounts" --prefix "warm-$prefix"
    send "$url" "$WORK/warm.txt" "$REQUESTS_WARM"
    "$LOAD" --key "$KEY" --concurrency 16 --count "$REQUESTS" --write "$WORK/requests.txt" holds --accounts "$accounts" --prefix "$prefix"
    callgrind_control -z "$pid" >/dev/null
    send "$url" "$WORK/requests.txt" "$REQUESTS"
    callgrind_control -d "$label" "$pid" >/dev/null
    callgrind_control -i off "$pid" >/dev/null
    local total
    # The dump just written is the newest file.
    total=$(awk '/^(summary|totals):/ {print $2; exit}' "$(ls -t "$WORK"/callgrind.out.* | head -n 1)")
    printf '%s: %d instructions per request (%d requests)\n' "$label" $((total / REQUESTS)) "$REQUESTS"
}
# wait_for <url>: up to five minutes (startup under callgrind is slow).
wait_for() {
    for _ in $(seq 1 1500); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
    echo "$1 did not answer" >&2; exit 1
}

valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out.hello.%p" \
    "$HELLO" "127.0.0.1:$((PORT + 9))" 2>"$WORK/hello.log" &
HELLO_PID=$!
wait_for "http://127.0.0.1:$((PORT + 9))/v1/accounts/a/holds"
count "hello-world" "$HELLO_PID" "http://127.0.0.1:$((PORT + 9))" "cold-acct-" 1000000
kill "$HELLO_PID"; wait "$HELLO_PID" 2>/dev/null || true

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
serve_env=(HOLDFAST_LISTEN=127.0.0.1:$PORT HOLDFAST_DATABASE_URL="$PG/$DB" HOLDFAST_INGEST_KEYS="$KEY"
    HOLDFAST_MASTER_KEY="$MASTER" HOLDFAST_PRIORITY_RULES="$ROOT/priority.toml" HOLDFAST_PLAYBOOKS="$ROOT/playbooks"
    HOLDFAST_DATABASE_MAX_CONNECTIONS=16 HOLDFAST_LOG=warn)
if [ "${SEEDED:-0}" = 1 ]; then
    # Seeded by an uninstrumented server first, so the count sees only checks.
    (cd "$WORK" && exec env "${serve_env[@]}" "$HOLDFAST" serve 2>>"$WORK/server.log") &
    SEEDER=$!
    wait_for "http://127.0.0.1:$PORT/readyz"
    "$LOAD" --key "$KEY" seed --url "http://127.0.0.1:$PORT" --prefix seeded-acct- --accounts 2000 --every 1 >/dev/null
    kill "$SEEDER"; wait "$SEEDER" 2>/dev/null || true
fi
(cd "$WORK" && exec env "${serve_env[@]}" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$WORK/callgrind.out.holdfast.%p" "$HOLDFAST" serve 2>>"$WORK/server.log") &
SERVER=$!
wait_for "http://127.0.0.1:$PORT/readyz"
count "holdfast, accounts never seen" "$SERVER" "http://127.0.0.1:$PORT" "cold-acct-" 1000000
if [ "${SEEDED:-0}" = 1 ]; then
    count "holdfast, accounts with incidents" "$SERVER" "http://127.0.0.1:$PORT" "seeded-acct-" 2000
fi
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
