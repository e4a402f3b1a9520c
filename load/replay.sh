#!/usr/bin/env bash
# The what-if replay on a month of history (SPEC §14): seeds a fresh
# PostgreSQL database with ALERTS stored alerts (default 1,000,000) and their
# incidents through load/seed.sql (INSERT … SELECT on the server), then
# times `holdfast rules replay` over them with a candidate that makes a new
# device weigh more. Prints the report and the
# time; the database is dropped afterwards unless KEEP=1.
#
#   load/replay.sh                        # 1,000,000 alerts
#   ALERTS=100000 load/replay.sh          # a quicker run
#   HOLDFAST_BIN=target/release/holdfast load/replay.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ALERTS=${ALERTS:-1000000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
BIN=${HOLDFAST_BIN:-target/debug/holdfast}
DB=holdfast_replay_$$
URL="$PG/$DB"
WORK=$(mktemp -d)
cleanup() {
    rm -rf "$WORK"
    [ "${KEEP:-0}" = 1 ] || psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
}
trap cleanup EXIT

psql -q "$PG/postgres" -c "CREATE DATABASE $DB"
HOLDFAST_DATABASE_URL=$URL "$BIN" migrate >/dev/null

seed_start=$(date +%s.%N)
# A month of history ending 2026-12-01: three incidents for every four
# alerts (one in three holds a sign-in and a withdrawal, the rest a sign-in),
# each on an account of its own, the newest fifth still live.
INCIDENTS=$((ALERTS * 3 / 4))
psql -q "$URL" -v incidents="$INCIDENTS" -v alerts="$ALERTS" -v accounts="$INCIDENTS" -v live=$((INCIDENTS / 5)) \
    -v days=30 -v until=2026-12-01T00:00:00Z -f load/seed.sql >/dev/null
seed_end=$(date +%s.%N)
echo "seeded $(psql -tA "$URL" -c 'SELECT COUNT(*) FROM alerts') alerts of $(psql -tA "$URL" -c 'SELECT COUNT(*) FROM incidents') incidents in $(echo "$seed_end - $seed_start" | bc) s"

sed 's/^when = { new_device = true }$/&/; /^id = "new_device"/,/^points/ s/^points = 15$/points = 40/' priority.toml >"$WORK/candidate.toml"
if cmp -s priority.toml "$WORK/candidate.toml"; then
    echo "the candidate is the same as priority.toml" >&2
    exit 1
fi

start=$(date +%s.%N)
"$BIN" rules replay --rules "$WORK/candidate.toml" --current priority.toml \
    --since 30d --until 2026-12-01T00:00:00Z --database-url "$URL" </dev/null
end=$(date +%s.%N)
echo "replayed in $(echo "$end - $start" | bc) s ($BIN)"
