#!/usr/bin/env bash
# Holdfast's benchmarks on this machine, each beside its baseline in the same
# run:
#   - signed intake of the realistic mix on PostgreSQL (with and without
#     Redis) and SQLite, against pgbench running the minimal intake
#     transaction (load/intake.pgbench) on the same database;
#   - the cheapest and the dearest alert (a P3 sign-in, a P1 withdrawal
#     contained inside the intake), side by side;
#   - intake with campaign recognition switched off, to show what it costs;
#   - the holds check over accounts of which a quarter have incidents, and
#     over a million never seen, against an axum hello-world
#     (load/src/bin/hello.rs) answering the same path;
#   - two and three instances on PostgreSQL + Redis;
#   - resident memory while the history grows;
#   - what an idle instance costs its database: transactions a minute.
# wrk drives every HTTP measurement: holdfast-load writes the requests,
# signed, to a file just before each run (signatures hold for 300 s), and
# load/wrk/presigned.lua sends them. The hello-world is also measured once
# with holdfast-load's own sender, to show what the change of generator is
# worth. Prints one JSON line per measurement, then the ratios; a
# measurement that saw failures says so and has no ratio. load/REPORT.md
# records a run. Needs PostgreSQL (and its pgbench) and Redis, as
# scripts/test sets up, and wrk (Debian's package). Knobs (load/README.md):
# SECTIONS=baselines,postgres,mixes,campaigns,instances,sqlite,idle (default:
# all) runs only some; HOLDFAST=<binary> measures another build of the server
# (an earlier commit's, say) with the same generator and baselines;
# PLAYBOOKS=<dir> runs other playbooks; MIXES="p3-new p1-new realistic" sets
# what the `mixes` section measures.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
CONCURRENCY=${CONCURRENCY:-64}
# Every connection of the generator comes from 127.0.0.1: one client, which
# the server otherwise limits to 64 connections (a benchmark measures more).
export HOLDFAST_MAX_CONNECTIONS_PER_CLIENT=${HOLDFAST_MAX_CONNECTIONS_PER_CLIENT:-4096}
THREADS=${THREADS:-2}
WARM_SECONDS=${WARM_SECONDS:-5}
# The request files are written for this many alerts a second at most; a run
# that sends them all is reported as having run out, not counted.
INTAKE_CEILING=${INTAKE_CEILING:-10000}
HOLDS_ACCOUNTS=${HOLDS_ACCOUNTS:-20000}
# Of the seeded accounts (every fourth), every HOLDS_FROZEN_EVERY-th is
# frozen by a P1 withdrawal, the others get a P3 sign-in (0: none frozen).
HOLDS_FROZEN_EVERY=${HOLDS_FROZEN_EVERY:-2}
COLD_ACCOUNTS=${COLD_ACCOUNTS:-1000000}
IDLE_SETTLE=${IDLE_SETTLE:-10}
IDLE_SECONDS=${IDLE_SECONDS:-60}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-holdfast_load}
# Instances listen on PORT, PORT+1, PORT+2; the hello-world on PORT+9.
PORT=${PORT:-18090}
HELLO_URL=http://127.0.0.1:$((PORT + 9))
REDIS=redis://127.0.0.1:6379
KEY="load=$(head -c 32 /dev/urandom | base64)"
MASTER=$(head -c 32 /dev/urandom | base64)
WORK=$(mktemp -d)
OUT=${OUT:-$WORK/results.jsonl}
SECTIONS=${SECTIONS:-all}
# The playbooks the servers run (another set shows what a change to them is worth).
PLAYBOOKS=${PLAYBOOKS:-$ROOT/playbooks}
# The mixes the `mixes` section measures, each on a fresh server.
MIXES=${MIXES:-p3-new p1-new}
want() { [[ ",$SECTIONS," == *",all,"* || ",$SECTIONS," == *",$1,"* ]]; }
SERVERS=()
REDIS_PREFIX=""
trap 'kill $(jobs -p) 2>/dev/null || true; forget_redis; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "load/run.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release -p holdfast -p holdfast-load --bins >/dev/null 2>&1
HOLDFAST=${HOLDFAST:-$PWD/target/release/holdfast}
LOAD=$PWD/target/release/holdfast-load
HELLO=$PWD/target/release/hello
WRK_SCRIPT=$ROOT/load/wrk/presigned.lua

# The rules with campaign recognition switched off.
sed 's/^enabled = true$/enabled = false/' priority.toml > "$WORK/no-campaigns.toml"

# serve <instances> <database-url> [redis-url] [rules-file]: instances on PORT, PORT+1, …
serve() {
    local instances=$1 database=$2 redis=${3:-} rules=${4:-$PWD/priority.toml}
    REDIS_PREFIX="load:$$:$RANDOM:"
    SERVERS=()
    for i in $(seq 0 $((instances - 1))); do
        (cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$((PORT + i)) HOLDFAST_DATABASE_URL="$database" \
            ${redis:+HOLDFAST_REDIS_URL=$redis} HOLDFAST_REDIS_PREFIX="$REDIS_PREFIX" HOLDFAST_INGEST_KEYS="$KEY" \
            HOLDFAST_MASTER_KEY="$MASTER" HOLDFAST_PRIORITY_RULES="$rules" HOLDFAST_PLAYBOOKS="$PLAYBOOKS" \
            HOLDFAST_DATABASE_MAX_CONNECTIONS=16 HOLDFAST_LOG=warn "$HOLDFAST" serve 2>>"$WORK/server.log") &
        SERVERS+=($!)
        for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$((PORT + i))/readyz >/dev/null && break; sleep 0.2; done
        curl -sf http://127.0.0.1:$((PORT + i))/readyz >/dev/null || { echo "holdfast did not start" >&2; tail "$WORK/server.log" >&2; exit 1; }
    done
}
stop() {
    kill "${SERVERS[@]}"
    for server in "${SERVERS[@]}"; do wait "$server" 2>/dev/null || true; done
    forget_redis
}
# This run's keys only: another run may share the Redis server.
forget_redis() {
    [ -n "$REDIS_PREFIX" ] || return 0
    redis-cli --scan --pattern "$REDIS_PREFIX*" | xargs -r redis-cli del >/dev/null || true
    REDIS_PREFIX=""
}
url() { echo "http://127.0.0.1:$((PORT + ${1:-0}))"; }
urls() { local list=""; for i in $(seq 0 $(($1 - 1))); do list+="${list:+,}$(url "$i")"; done; echo "$list"; }
# record <label> <json line>
record() {
    local line
    line=$(jq -c --arg name "$1" '{"label": $name} + .' <<<"$2")
    echo "$line" | tee -a "$OUT"
    jq -e '(.problems // []) | length == 0' <<<"$line" >/dev/null ||
        echo "# $1: $(jq -r '.problems | join("; ")' <<<"$line"): not counted" >&2
}
rss() { record "$1" "{\"rss_kib\": $(ps -o rss= -p "${SERVERS[0]}" | tr -d ' ')}"; }
# A fresh database, and a checkpoint first, so no run starts with another's
# dirty pages still to write.
fresh_pg() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" -c "CHECKPOINT"; }

# Requests, signed now, for wrk: presign <file> <holdfast-load arguments…>
presign() { local file=$1; shift; "$LOAD" --key "$KEY" --concurrency "$CONCURRENCY" --write "$file" "$@"; }
presign_intake() { # <file> <mix> <run> <seconds>
    presign "$1" --count $((INTAKE_CEILING * $4)) intake --mix "$2" --run "$3"
}
# drive <seconds> <once|cycle> <requests file> <instances> [answers]: wrk
# sends the file's requests to the instances (threads take them in turn,
# so three instances get three threads) and prints its JSON line.
drive() {
    local seconds=$1 mode=$2 requests=$3 instances=$4 answers=${5:-0} threads=$THREADS target=${6:-}
    [ -n "$target" ] || target=$(url)
    threads=$(((threads + instances - 1) / instances * instances))
    local targets=""
    [ "$instances" -gt 1 ] && targets=$(urls "$instances" | sed 's#http://##g')
    WRK_REQUESTS=$requests WRK_THREADS=$threads WRK_MODE=$mode WRK_ANSWERS=$answers WRK_TARGETS=$targets \
        wrk -t "$threads" -c "$CONCURRENCY" -d "${seconds}s" --timeout "${WRK_TIMEOUT:-10}s" --latency \
        -s "$WRK_SCRIPT" "$target" >"$WORK/wrk.out" 2>&1 || true
    rm -f "$requests" "$requests.ready"
    tail -n 1 "$WORK/wrk.out" | jq -ce --argjson c $((CONCURRENCY / threads * threads)) --argjson i "$instances" \
        '{instances: $i, connections: $c} + .' 2>/dev/null ||
        { echo "wrk failed:" >&2; cat "$WORK/wrk.out" >&2; echo '{"problems": ["wrk failed"]}'; }
}
# measure_intake <instances> <mix> <run>: the mix's requests, written just
# before wrk sends them.
measure_intake() {
    presign_intake "$WORK/intake.txt" "$2" "$3" "$SECONDS_PER_RUN"
    drive "$SECONDS_PER_RUN" once "$WORK/intake.txt" "$1" 1
}
# warm <instances> <mix>: a measurement on PostgreSQL starts from a database
# in its steady state, as in production: WARM_SECONDS of the same traffic,
# then ANALYZE. Without it, each connection's cached plans are chosen while
# the tables are still empty (sequential scans), and nothing re-plans them
# within a run: autovacuum looks only once a minute. Which statements keep
# such a plan differs from run to run (load/REPORT.md).
warm() {
    presign_intake "$WORK/warm.txt" "$2" "warm$RANDOM" "$WARM_SECONDS"
    drive "$WARM_SECONDS" once "$WORK/warm.txt" "$1" >/dev/null
    analyze
}
analyze() { psql -q "$PG/$DB" -c "ANALYZE"; }
# holds <database label> [cold]: the holds check on the instance at PORT.
# HOLDS_ACCOUNTS accounts of which every fourth has an incident (by
# default every eighth a P1 withdrawal, so frozen; the rest a P3 sign-in),
# posted through signed intake; the outbox drained; WARM_SECONDS of checks
# (and ANALYZE on PostgreSQL); then, with `cold`, COLD_ACCOUNTS never seen,
# each checked once; then the seeded accounts again and again.
holds() {
    local where=$1 cold=${2:-} prefix="h$RANDOM-acct-"
    "$LOAD" --key "$KEY" --concurrency "$CONCURRENCY" seed --url "$(url)" --prefix "$prefix" \
        --accounts "$HOLDS_ACCOUNTS" --every 4 --frozen-every "$HOLDS_FROZEN_EVERY" >"$WORK/seed.json"
    jq -e '.failed == 0' "$WORK/seed.json" >/dev/null || { echo "seeding failed: $(cat "$WORK/seed.json")" >&2; exit 1; }
    echo "# seeded $where: $(jq -c '.by_answer | map_values(.count)' "$WORK/seed.json")"
    drained
    presign "$WORK/holds.txt" holds --accounts "$HOLDS_ACCOUNTS" --prefix "$prefix"
    drive "$WARM_SECONDS" cycle "$WORK/holds.txt" 1 >/dev/null
    [[ "$where" == PostgreSQL* ]] && analyze
    if [ "$cold" = cold ]; then
        presign "$WORK/cold.txt" holds --accounts "$COLD_ACCOUNTS" --prefix "cold$RANDOM-acct-"
        record "holds, $where, cold accounts" "$(drive "$SECONDS_PER_RUN" once "$WORK/cold.txt" 1)"
    fi
    presign "$WORK/holds.txt" holds --accounts "$HOLDS_ACCOUNTS" --prefix "$prefix"
    record "holds, $where" "$(drive "$SECONDS_PER_RUN" cycle "$WORK/holds.txt" 1)"
}
# Waits (up to a minute) until the instance at PORT has no push to the
# exchange left to make, so the seeded containments are done.
drained() {
    for _ in $(seq 1 300); do
        curl -sf "$(url)/metrics" | awk '/^holdfast_outbox_pending / { exit ($2 != 0) }' && return 0
        sleep 0.2
    done
    echo "# the outbox did not drain within a minute" >&2
}
pgbench_tps() { # clients
    pgbench -n -M prepared -c "$1" -j 2 -T "$SECONDS_PER_RUN" -f load/intake.pgbench "$PG/$DB" 2>>"$WORK/pgbench.log" |
        awk -v c="$1" '/^tps/ {tps=$3} /latency average/ {lat=$4} END {printf "{\"clients\": %d, \"per_second\": %.0f, \"latency_ms_average\": %s}\n", c, tps, lat == "" ? "null" : lat}'
    grep -h "aborted\|ERROR" "$WORK/pgbench.log" >&2 || true
}
# Transactions committed or rolled back in this run's database so far, read
# from another database so that reading them is not one of them.
transactions() { psql -qAt "$PG/postgres" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'"; }

if want baselines; then
echo "# baseline: pgbench, the minimal intake transaction (Holdfast's schema)"
fresh_pg
(cd "$WORK" && HOLDFAST_DATABASE_URL="$PG/$DB" HOLDFAST_MASTER_KEY="$MASTER" "$HOLDFAST" migrate >/dev/null)
psql -q "$PG/$DB" -f load/baseline.sql
pgbench -n -M prepared -c 16 -j 2 -T "$WARM_SECONDS" -f load/intake.pgbench "$PG/$DB" >/dev/null 2>&1
psql -q "$PG/$DB" -c "ANALYZE"
record "pgbench minimal, 16 clients" "$(pgbench_tps 16)"
record "pgbench minimal, 64 clients" "$(pgbench_tps 64)"
fi

if want baselines; then
echo "# baseline: axum hello-world, driven by holdfast-load's own sender, then by wrk"
"$HELLO" "127.0.0.1:$((PORT + 9))" & HELLO_PID=$!
sleep 0.5
record "hello-world, holdfast-load" "$("$LOAD" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" holds --url "$HELLO_URL" --accounts "$HOLDS_ACCOUNTS")"
presign "$WORK/holds.txt" holds --accounts "$HOLDS_ACCOUNTS" --prefix hello-acct-
record "hello-world" "$(drive "$SECONDS_PER_RUN" cycle "$WORK/holds.txt" 1 0 "$HELLO_URL")"
kill $HELLO_PID; wait $HELLO_PID 2>/dev/null || true
fi

if want postgres; then
echo "# PostgreSQL: holds (accounts never seen, then the seeded ones), realistic intake, memory"
fresh_pg; serve 1 "$PG/$DB"
holds PostgreSQL cold
warm 1 realistic
record "intake realistic, PostgreSQL" "$(measure_intake 1 realistic pg)"
rss "after realistic intake"
# Memory as history grows: more rounds of the realistic mix.
for round in $(seq 2 "${MEMORY_ROUNDS:-8}"); do
    measure_intake 1 realistic "pg$round" >/dev/null
    rss "after realistic round $round"
done
stop
fi

if want mixes; then
echo "# PostgreSQL: the cheapest and the dearest alert, each on a fresh server"
for mix in $MIXES; do
    fresh_pg; serve 1 "$PG/$DB"; warm 1 "$mix"
    record "intake ${mix%%-new} new accounts, PostgreSQL" "$(measure_intake 1 "$mix" "$mix")"
    stop
done
fi

if want campaigns; then
echo "# PostgreSQL: realistic intake with and without campaign recognition, in alternating pairs"
# The realistic mix varies from run to run (when P1s arrive, what the runner
# has left to do): PAIRS (default 6) pairs on fresh servers, compared by
# their medians. Which goes first alternates (on off, off on, …), so neither
# gains from its place in the run.
for pair in $(seq 1 "${PAIRS:-6}"); do
    order="on off"; [ $((pair % 2)) = 0 ] && order="off on"
    for recognition in $order; do
        rules=$ROOT/priority.toml
        [ "$recognition" = off ] && rules=$WORK/no-campaigns.toml
        fresh_pg; serve 1 "$PG/$DB" "" "$rules"; warm 1 realistic
        record "intake realistic, PostgreSQL, campaigns $recognition, pair $pair" \
            "$(measure_intake 1 realistic "c$recognition$pair")"
        stop
    done
done
fi

if want instances; then
echo "# PostgreSQL + Redis: one, two and three instances"
for instances in 1 2 3; do
    fresh_pg
    serve "$instances" "$PG/$DB" "$REDIS"
    if [ "$instances" = 1 ]; then
        holds "PostgreSQL + Redis" cold
    fi
    warm "$instances" realistic
    record "intake realistic, PostgreSQL + Redis, $instances instance(s)" "$(measure_intake "$instances" realistic "r$instances")"
    stop
done
fi

if want sqlite; then
echo "# SQLite"
serve 1 "sqlite://$WORK/holdfast.db"
holds SQLite
record "intake realistic, SQLite" "$(measure_intake 1 realistic sq)"
stop
fi

if want idle; then
echo "# Idle: database transactions a minute of an instance with nothing to do"
# After IDLE_SETTLE seconds from start, the delta of the database's
# committed and rolled-back transactions over IDLE_SECONDS. PostgreSQL
# publishes a backend's counts when it goes idle, at most once a second and
# at the latest 10 s later, so a count may land a few seconds late at
# either end.
for redis in "" "$REDIS"; do
    fresh_pg; serve 1 "$PG/$DB" "$redis"
    sleep "$IDLE_SETTLE"
    before=$(transactions); sleep "$IDLE_SECONDS"; after=$(transactions)
    record "idle, PostgreSQL${redis:+ + Redis}" "$(jq -nc --argjson t $((after - before)) --argjson s "$IDLE_SECONDS" \
        --argjson settle "$IDLE_SETTLE" '{settle_seconds: $settle, seconds: $s, transactions: $t, per_minute: ($t * 60 / $s | round)}')"
    stop
done
fi

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

echo "# ratios (wrk's; a measurement with problems has none)"
jq -rs '
  def line(l): map(select(.label == l)) | first;
  def rate(l): line(l) | if . == null or ((.problems // []) | length > 0) then null else .per_second end;
  def p99(l): line(l) | if . == null or ((.problems // []) | length > 0) then null else .latency_ms.p99 end;
  def ratio(a; b): if a != null and b != null and b > 0 then (a / b * 100 | round / 100) else null end;
  def median(prefix): [.[] | select((.label | startswith(prefix)) and ((.problems // []) | length == 0)) | .per_second] | sort
    | if length == 0 then null elif length % 2 == 0 then (.[length / 2 - 1] + .[length / 2]) / 2 else .[length / 2 | floor] end;
  {
    "hello-world: wrk / holdfast-load (the generators)": ratio(rate("hello-world"); rate("hello-world, holdfast-load")),
    "intake realistic PostgreSQL / pgbench minimal (16 clients)": ratio(rate("intake realistic, PostgreSQL"); rate("pgbench minimal, 16 clients")),
    "intake realistic PostgreSQL / pgbench minimal (64 clients)": ratio(rate("intake realistic, PostgreSQL"); rate("pgbench minimal, 64 clients")),
    "intake realistic PostgreSQL p99 ms": p99("intake realistic, PostgreSQL"),
    "intake realistic SQLite alerts/s": rate("intake realistic, SQLite"),
    "P3 rate / P1 rate (a P1 costs this many P3s)": ratio(rate("intake p3 new accounts, PostgreSQL"); rate("intake p1 new accounts, PostgreSQL")),
    "campaign recognition on / off (medians of alternating pairs)": ratio(median("intake realistic, PostgreSQL, campaigns on"); median("intake realistic, PostgreSQL, campaigns off")),
    "holds PostgreSQL / hello-world": ratio(rate("holds, PostgreSQL"); rate("hello-world")),
    "holds cold PostgreSQL / hello-world": ratio(rate("holds, PostgreSQL, cold accounts"); rate("hello-world")),
    "holds PostgreSQL p99 ms": p99("holds, PostgreSQL"),
    "holds cold p99 ms": p99("holds, PostgreSQL, cold accounts"),
    "holds PostgreSQL + Redis / hello-world": ratio(rate("holds, PostgreSQL + Redis"); rate("hello-world")),
    "holds cold PostgreSQL + Redis / hello-world": ratio(rate("holds, PostgreSQL + Redis, cold accounts"); rate("hello-world")),
    "holds PostgreSQL + Redis p99 ms, warm and cold": [p99("holds, PostgreSQL + Redis"), p99("holds, PostgreSQL + Redis, cold accounts")],
    "2 instances / 1 (PostgreSQL + Redis)": ratio(rate("intake realistic, PostgreSQL + Redis, 2 instance(s)"); rate("intake realistic, PostgreSQL + Redis, 1 instance(s)")),
    "3 instances / 1 (PostgreSQL + Redis)": ratio(rate("intake realistic, PostgreSQL + Redis, 3 instance(s)"); rate("intake realistic, PostgreSQL + Redis, 1 instance(s)")),
    "idle PostgreSQL: transactions a minute": (line("idle, PostgreSQL") | .per_minute?),
    "idle PostgreSQL + Redis: transactions a minute": (line("idle, PostgreSQL + Redis") | .per_minute?),
    "measurements with problems (not counted)": [.[] | select((.problems // []) | length > 0) | .label]
  }' "$OUT"
