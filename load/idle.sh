#!/usr/bin/env bash
# What an idle instance costs its database: transactions a minute, by task.
#
#   load/idle.sh                     # PostgreSQL, then PostgreSQL + Redis
#   HOLDFAST=/path/to/holdfast load/idle.sh    # another build (a baseline)
#
# For each configuration: a fresh database, one instance serving nothing
# (no requests, no scrapes), IDLE_SETTLE seconds to settle, then
# `xact_commit + xact_rollback` of that database in `pg_stat_database` at t0
# and, after the instance stopped at t0 + IDLE_SECONDS, once more (nothing
# else touches the database). A backend publishes its counts when it ends a
# statement or exits, so the count is read after the instance has exited.
#
# The control. A connection that only LISTENs runs no statement, yet its
# backend runs a transaction each time PostgreSQL wakes it to read the
# server-wide notification queue, which NOTIFYs in *other* databases fill
# (on a shared server: other test suites); those counts are published only
# when it exits. So beside each instance a bare `LISTEN` connection sits on
# a second fresh database for the same seconds, ended at the same moment,
# and is counted the same way: what it shows is the server's, not the
# instance's (`control_per_minute`).
#
# The instance logs every statement (`HOLDFAST_LOG=sqlx::query=debug`); the
# statements logged between t0 and t1 are attributed to the task that runs
# them (the patterns below), a transaction counted once: an explicit one at
# its COMMIT (given to the task of the statement before it), any other
# statement on its own. The by-task figures are the log's; the total is the
# database's.
#
# Needs PostgreSQL (and psql) and Redis as `scripts/test` sets them up.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379}
DB=${DB:-holdfast_idle_$$}
PORT=${PORT:-18190}
IDLE_SETTLE=${IDLE_SETTLE:-30}
IDLE_SECONDS=${IDLE_SECONDS:-60}
HOLDFAST=${HOLDFAST:-$PWD/target/release/holdfast}
[ -x "$HOLDFAST" ] || cargo build --release --bin holdfast
WORK=$(mktemp -d)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${DB}_control WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

transactions() { psql -qAt "$PG/postgres" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'"; }

# by_task <log> <t0> <t1>: transactions of the window, by task, as JSON.
by_task() {
    python3 - "$@" <<'EOF'
import collections, json, re, sys
log, t0, t1 = sys.argv[1:4]
# (task, pattern, in a transaction): a statement in a transaction counts at
# its COMMIT; one outside counts on its own.
TASKS = [
    ("outbox", r"UPDATE outbox SET attempts", True),
    ("outbox", r"MIN\(next_attempt_at\)", False),
    ("run sweeper", r"FROM runs WHERE status = 'running'", False),
    ("SLA watcher", r"acknowledge_breached_at IS NULL AND acknowledge_by <=", True),
    ("SLA watcher", r"MIN\(due\)", False),
    ("gauges", r"FROM incidents WHERE status NOT IN \('resolved', 'dismissed'\) AND priority", False),
    ("gauges", r"COUNT\(\*\) FROM outbox", False),
    ("unfreeze expiry", r"FROM unfreeze_flows WHERE .*expires_at <=", True),
    ("unfreeze expiry", r"MIN\(expires_at\) FROM unfreeze_flows", False),
    ("drill sweep", r"FROM incidents WHERE account_id LIKE \$1 AND opened_at <", True),
    ("forgetting (sign-ins, campaigns)", r"sign_in_failures|campaign_signals|campaign_heads|UPDATE campaigns SET value", False),
    ("hold index reload", r"FROM holds WHERE lifted_at IS NULL", False),
    ("listener", r"^(UN)?LISTEN", False),
]
line_re = re.compile(r'^(\S+Z) .*sqlx::query: summary="((?:[^"\\]|\\.)*)" db\.statement="((?:[^"\\]|\\.)*)"')
counts = collections.Counter()
pending = None
with open(log) as f:
    for raw in f:
        raw = re.sub(r"\x1b\[[0-9;]*m", "", raw)
        m = line_re.match(raw)
        if not m or not (t0 <= m.group(1) < t1):
            continue
        statement = " ".join((m.group(3) or m.group(2)).replace("\\n", " ").split())
        if statement in ("COMMIT", "ROLLBACK"):
            counts[pending or "other"] += 1
            pending = None
            continue
        for task, pattern, in_tx in TASKS:
            if re.search(pattern, statement):
                if in_tx:
                    pending = task
                else:
                    counts[task] += 1
                break
        else:
            # Part of a transaction whose task was named before, or unknown.
            if pending is None:
                counts["other: " + statement[:60]] += 1
print(json.dumps(dict(counts.most_common())))
EOF
}

# The floor: the same migrated database with no instance at all. What it
# counts is PostgreSQL's own (its autovacuum workers visit every database
# once each `autovacuum_naptime`), and is in every figure below too.
psql -q "$PG/postgres" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
HOLDFAST_DATABASE_URL="$PG/$DB" HOLDFAST_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" HOLDFAST_LOG=warn "$HOLDFAST" migrate >/dev/null
sleep "$IDLE_SETTLE"
before=$(transactions); sleep "$IDLE_SECONDS"; after=$(transactions)
jq -nc --argjson t $((after - before)) --argjson s "$IDLE_SECONDS" --argjson settle "$IDLE_SETTLE" \
    '{"label": "no instance (the migrated database alone)", settle_seconds: $settle, seconds: $s, transactions: $t, per_minute: ($t * 60 / $s | round)}'

CONTROL=${DB}_control
control_transactions() { psql -qAt "$PG/postgres" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$CONTROL'"; }
for redis in "" "$REDIS"; do
    psql -q "$PG/postgres" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" \
        -c "DROP DATABASE IF EXISTS $CONTROL WITH (FORCE)" -c "CREATE DATABASE $CONTROL" >/dev/null
    (cd "$WORK" && exec env HOLDFAST_LISTEN=127.0.0.1:$PORT HOLDFAST_DATABASE_URL="$PG/$DB" \
        ${redis:+HOLDFAST_REDIS_URL=$redis} HOLDFAST_REDIS_PREFIX="idle:$$:$RANDOM:" \
        HOLDFAST_INGEST_KEYS="load=$(head -c 32 /dev/urandom | base64)" \
        HOLDFAST_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" HOLDFAST_PRIORITY_RULES="$ROOT/priority.toml" \
        HOLDFAST_PLAYBOOKS="$ROOT/playbooks" HOLDFAST_LOG=warn,sqlx::query=debug NO_COLOR=1 \
        "$HOLDFAST" serve >"$WORK/server.log" 2>&1) &
    SERVER=$!
    (echo "LISTEN holdfast_work;"; sleep $((IDLE_SETTLE + IDLE_SECONDS + 30))) | psql -q "$PG/$CONTROL" &
    LISTENER=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
    curl -sf http://127.0.0.1:$PORT/readyz >/dev/null || { echo "holdfast did not start" >&2; tail "$WORK/server.log" >&2; exit 1; }
    sleep "$IDLE_SETTLE"
    t0=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ); before=$(transactions); control_before=$(control_transactions)
    sleep "$IDLE_SECONDS"
    t1=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    psql -q "$PG/postgres" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$CONTROL'" >/dev/null
    kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null || true
    sleep 2
    after=$(transactions); control_after=$(control_transactions)
    jq -nc --arg name "idle, PostgreSQL${redis:+ + Redis}" --argjson t $((after - before)) --argjson s "$IDLE_SECONDS" \
        --argjson c $((control_after - control_before)) \
        --argjson settle "$IDLE_SETTLE" --argjson tasks "$(by_task "$WORK/server.log" "$t0" "$t1")" \
        '{"label": $name, settle_seconds: $settle, seconds: $s, transactions: $t, per_minute: ($t * 60 / $s | round), control_per_minute: ($c * 60 / $s | round), by_task_per_minute: ($tasks | map_values(. * 60 / $s | round))}'
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $CONTROL WITH (FORCE)" >/dev/null
done
