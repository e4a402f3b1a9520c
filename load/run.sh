#!/usr/bin/env bash
# Holdfast's benchmarks on this machine, each beside its baseline in the same
# run:
#   - signed intake of the realistic mix on PostgreSQL (with and without
#     Redis) and SQLite, against pgbench running the minimal intake
#     transaction (load/intake.pgbench) on the same database;
#   - the cheapest and the dearest alert (a P3 sign-in, a P1 withdrawal
#     contained inside the intake), side by side;
#   - intake with campaign recognition switched off, to show what it costs;
#   - the holds check (cold accounts first), against an axum hello-world
#     (load/src/bin/hello.rs) driven by the same load generator;
#   - two and three instances on PostgreSQL + Redis;
#   - resident memory while the history grows.
# Prints one JSON line per measurement, then the ratios; load/REPORT.md
# records a run. Needs PostgreSQL, Redis and pgbench, as scripts/test sets up.
# SECTIONS=baselines,postgres,mixes,campaigns,instances,sqlite (default: all)
# runs only some; HOLDFAST=<binary> measures another build of the server
# (an earlier commit's, say) with the same generator and baselines.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
CONCURRENCY=${CONCURRENCY:-64}
# Every connection of the generator comes from 127.0.0.1: one client, which
# the server otherwise limits to 64 connections (a benchmark measures more).
export HOLDFAST_MAX_CONNECTIONS_PER_CLIENT=${HOLDFAST_MAX_CONNECTIONS_PER_CLIENT:-4096}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=holdfast_load
KEY="load=$(head -c 32 /dev/urandom | base64)"
MASTER=$(head -c 32 /dev/urandom | base64)
WORK=$(mktemp -d)
OUT=${OUT:-$WORK/results.jsonl}
SECTIONS=${SECTIONS:-all}
want() { [[ ",$SECTIONS," == *",all,"* || ",$SECTIONS," == *",$1,"* ]]; }
SERVERS=()
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release -p holdfast -p holdfast-load --bins >/dev/null 2>&1
HOLDFAST=${HOLDFAST:-$PWD/target/release/holdfast}
LOAD=$PWD/target/release/holdfast-load
HELLO=$PWD/target/release/hello

# The rules with campaign recognition switched off.
sed 's/^enabled = true$/enabled = false/' priority.toml > "$WORK/no-campaigns.toml"

# serve <instances> <database-url> [redis-url] [rules-file]: instances on ports 18090, 18091, …
serve() {
    local instances=$1 database=$2 redis=${3:-} rules=${4:-$PWD/priority.toml} prefix="load:$RANDOM:"
    SERVERS=()
    for i in $(seq 0 $((instances - 1))); do
        (cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$((18090 + i)) HOLDFAST_DATABASE_URL="$database" \
            ${redis:+HOLDFAST_REDIS_URL=$redis} HOLDFAST_REDIS_PREFIX="$prefix" HOLDFAST_INGEST_KEYS="$KEY" \
            HOLDFAST_MASTER_KEY="$MASTER" HOLDFAST_PRIORITY_RULES="$rules" HOLDFAST_PLAYBOOKS="$ROOT/playbooks" \
            HOLDFAST_DATABASE_MAX_CONNECTIONS=16 HOLDFAST_LOG=warn "$HOLDFAST" serve 2>>"$WORK/server.log") &
        SERVERS+=($!)
        for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$((18090 + i))/readyz >/dev/null && break; sleep 0.2; done
        curl -sf http://127.0.0.1:$((18090 + i))/readyz >/dev/null || { echo "holdfast did not start" >&2; tail "$WORK/server.log" >&2; exit 1; }
    done
}
stop() {
    kill "${SERVERS[@]}"
    for server in "${SERVERS[@]}"; do wait "$server" 2>/dev/null || true; done
}
urls() { local list=""; for i in $(seq 0 $(($1 - 1))); do list+="${list:+,}http://127.0.0.1:$((18090 + i))"; done; echo "$list"; }
load() { "$LOAD" --key "$KEY" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" "$@"; }
# record <label> <json line>
record() { local line; line=$(jq -c --arg name "$1" '{"label": $name} + .' <<<"$2"); echo "$line" | tee -a "$OUT"; }
rss() { record "$1" "{\"rss_kib\": $(ps -o rss= -p "${SERVERS[0]}" | tr -d ' ')}"; }
# A fresh database, and a checkpoint first, so no run starts with another's
# dirty pages still to write.
fresh_pg() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" -c "CHECKPOINT"; }
# warm <urls> <mix>: a measurement on PostgreSQL starts from a database in
# its steady state, as in production: WARM_SECONDS (default 5) of the same
# traffic, then ANALYZE. Without it, each connection's cached plans are
# chosen while the tables are still empty (sequential scans), and nothing
# re-plans them within a run: autovacuum looks only once a minute. Which
# statements keep such a plan differs from run to run (load/REPORT.md).
warm() {
    "$LOAD" --key "$KEY" --concurrency "$CONCURRENCY" --seconds "${WARM_SECONDS:-5}" intake --url "$1" --mix "$2" --run "warm$RANDOM" >/dev/null
    psql -q "$PG/$DB" -c "ANALYZE"
}
pgbench_tps() { # clients
    pgbench -n -M prepared -c "$1" -j 2 -T "$SECONDS_PER_RUN" -f load/intake.pgbench "$PG/$DB" 2>>"$WORK/pgbench.log" |
        awk -v c="$1" '/^tps/ {tps=$3} /latency average/ {lat=$4} END {printf "{\"clients\": %d, \"per_second\": %.0f, \"latency_ms_average\": %s}\n", c, tps, lat == "" ? "null" : lat}'
    grep -h "aborted\|ERROR" "$WORK/pgbench.log" >&2 || true
}

if want baselines; then
echo "# baseline: pgbench, the minimal intake transaction (Holdfast's schema)"
fresh_pg
(cd "$WORK" && HOLDFAST_DATABASE_URL="$PG/$DB" HOLDFAST_MASTER_KEY="$MASTER" "$HOLDFAST" migrate >/dev/null)
psql -q "$PG/$DB" -f load/baseline.sql
pgbench -n -M prepared -c 16 -j 2 -T "${WARM_SECONDS:-5}" -f load/intake.pgbench "$PG/$DB" >/dev/null 2>&1
psql -q "$PG/$DB" -c "ANALYZE"
record "pgbench minimal, 16 clients" "$(pgbench_tps 16)"
record "pgbench minimal, 64 clients" "$(pgbench_tps 64)"
fi

if want baselines; then
echo "# baseline: axum hello-world, same load generator"
"$HELLO" 127.0.0.1:18099 & HELLO_PID=$!
sleep 0.5
record "hello-world" "$("$LOAD" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" holds --url http://127.0.0.1:18099 --accounts 10000)"
kill $HELLO_PID; wait $HELLO_PID 2>/dev/null || true
fi

if want postgres; then
echo "# PostgreSQL: realistic intake, P3 and P1 alone, holds (cold first)"
fresh_pg; serve 1 "$PG/$DB"
record "holds, PostgreSQL, cold accounts" "$(load holds --url "$(urls 1)" --prefix cold-acct- --accounts 1000000)"
# Warm: 10,000 accounts, before any intake leaves background work (runs,
# deliveries) behind.
record "holds, PostgreSQL" "$(load holds --url "$(urls 1)" --prefix pg-acct- --accounts 10000)"
warm "$(urls 1)" realistic
record "intake realistic, PostgreSQL" "$(load intake --url "$(urls 1)" --mix realistic --run pg)"
rss "after realistic intake"
# Memory as history grows: more rounds of the realistic mix.
for round in $(seq 2 "${MEMORY_ROUNDS:-8}"); do
    load intake --url "$(urls 1)" --mix realistic --run "pg$round" >/dev/null
    rss "after realistic round $round"
done
stop
fi

if want mixes; then
echo "# PostgreSQL: the cheapest and the dearest alert, each on a fresh server"
for mix in p3-new p1-new; do
    fresh_pg; serve 1 "$PG/$DB"; warm "$(urls 1)" "$mix"
    record "intake ${mix%%-new} new accounts, PostgreSQL" "$(load intake --url "$(urls 1)" --mix "$mix" --run "$mix")"
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
        fresh_pg; serve 1 "$PG/$DB" "" "$rules"; warm "$(urls 1)" realistic
        record "intake realistic, PostgreSQL, campaigns $recognition, pair $pair" \
            "$(load intake --url "$(urls 1)" --mix realistic --run "c$recognition$pair")"
        stop
    done
done
fi

if want instances; then
echo "# PostgreSQL + Redis: one, two and three instances"
for instances in 1 2 3; do
    fresh_pg; redis-cli --scan --pattern 'load:*' | xargs -r redis-cli del >/dev/null
    serve "$instances" "$PG/$DB" "redis://127.0.0.1:6379"
    if [ "$instances" = 1 ]; then
        record "holds, PostgreSQL + Redis" "$(load holds --url "$(urls 1)" --prefix r-acct- --accounts 10000)"
    fi
    warm "$(urls "$instances")" realistic
    record "intake realistic, PostgreSQL + Redis, $instances instance(s)" "$(load intake --url "$(urls "$instances")" --mix realistic --run "r$instances")"
    stop
done
fi

if want sqlite; then
echo "# SQLite"
serve 1 "sqlite://$WORK/holdfast.db"
record "holds, SQLite" "$(load holds --url "$(urls 1)" --prefix sq-acct- --accounts 10000)"
record "intake realistic, SQLite" "$(load intake --url "$(urls 1)" --mix realistic --run sq)"
stop
fi

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

echo "# ratios"
jq -rs '
  def rate(l): (map(select(.label == l)) | first | .per_second) // 0;
  def p99(l): (map(select(.label == l)) | first | .latency_ms.p99) // 0;
  def ratio(a; b): if b > 0 then (a / b * 100 | round / 100) else null end;
  def median(prefix): [.[] | select(.label | startswith(prefix)) | .per_second] | sort
    | if length == 0 then 0 elif length % 2 == 0 then (.[length / 2 - 1] + .[length / 2]) / 2 else .[length / 2 | floor] end;
  {
    "intake realistic PostgreSQL / pgbench minimal (16 clients)": ratio(rate("intake realistic, PostgreSQL"); rate("pgbench minimal, 16 clients")),
    "intake realistic PostgreSQL p99 ms": p99("intake realistic, PostgreSQL"),
    "intake realistic SQLite alerts/s": rate("intake realistic, SQLite"),
    "P3 rate / P1 rate (a P1 costs this many P3s)": ratio(rate("intake p3 new accounts, PostgreSQL"); rate("intake p1 new accounts, PostgreSQL")),
    "campaign recognition on / off (medians of alternating pairs)": ratio(median("intake realistic, PostgreSQL, campaigns on"); median("intake realistic, PostgreSQL, campaigns off")),
    "holds PostgreSQL / hello-world": ratio(rate("holds, PostgreSQL"); rate("hello-world")),
    "holds cold PostgreSQL / hello-world": ratio(rate("holds, PostgreSQL, cold accounts"); rate("hello-world")),
    "holds PostgreSQL p99 ms": p99("holds, PostgreSQL"),
    "holds cold p99 ms": p99("holds, PostgreSQL, cold accounts"),
    "2 instances / 1 (PostgreSQL + Redis)": ratio(rate("intake realistic, PostgreSQL + Redis, 2 instance(s)"); rate("intake realistic, PostgreSQL + Redis, 1 instance(s)")),
    "3 instances / 1 (PostgreSQL + Redis)": ratio(rate("intake realistic, PostgreSQL + Redis, 3 instance(s)"); rate("intake realistic, PostgreSQL + Redis, 1 instance(s)"))
  }' "$OUT"
