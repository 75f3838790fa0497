# Shared setup of the bench scripts; source it from the repository root.
#   bench_setup NAME   a work directory, a fresh PostgreSQL schema bench_NAME_<pid> (dropped on
#                      exit, with every background job killed), and the ledger and loadgen built
#                      there. Sets: work, pg (the server's URL), pg_bench (the URL on the schema).
#   wait_ready URL     waits (10 s at most) until the ledger at URL answers /readyz.
#   need CMD PACKAGE   installs Debian's PACKAGE when CMD is missing (as root), or fails naming it.
bench_setup() {
  work=$(mktemp -d)
  pg=$(scripts/ensure-postgres.sh)
  bench_schema=bench_$1_$$
  trap 'kill $(jobs -p) 2>/dev/null || true; psql "$pg" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $bench_schema CASCADE" >/dev/null; rm -rf "$work"' EXIT
  psql "$pg" -qc "CREATE SCHEMA $bench_schema" >/dev/null
  local sep='?'; [[ $pg == *\?* ]] && sep='&'
  pg_bench="$pg${sep}search_path=$bench_schema"
  go build -o "$work/leadledger" ./cmd/leadledger
  go build -o "$work/loadgen" ./scripts/loadgen
}

wait_ready() {
  for _ in $(seq 1 100); do curl -sf "$1/readyz" >/dev/null && return; sleep 0.1; done
}

# need COMMAND PACKAGE: installs Debian's PACKAGE when COMMAND is missing (as root), or fails
# naming it. scripts/test.sh uses it too.
need() {
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq "$2" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; } ||
      { echo "FAILED: could not install Debian's $2"; exit 1; }
  else
    echo "FAILED: $1 is missing (Debian: apt-get install $2)"; exit 1
  fi
}

# What a run cost, read before and after it:
#   machine_ticks   busy and idle clock ticks of all cores so far (/proc/stat)
#   cpu_ticks PID   the process's user + system clock ticks so far
#   db_work         the database's counters so far, one line: commits, tuples inserted, updated,
#                   deleted, fetched, returned, buffer pages found in shared buffers, pages read
#                   in (from the OS cache or the disk), WAL bytes
#   db_work_per_event BEFORE AFTER EVENTS   the difference of two db_work lines, per event, as words
#   cpu_per_event BEFORE AFTER EVENTS TICKS  from two machine_ticks lines and a process's clock
#                   ticks between them: "OWN REST IDLE BOUND", µs of CPU per event of the process
#                   and of the rest of the machine, the idle share in %, and the events/s the
#                   cores would allow at that cost
machine_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
db_work() {
  psql "$pg" -Atc "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_fetched, tup_returned,
    blks_hit, blks_read, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint
    FROM pg_stat_database WHERE datname = current_database()" | tr '|' ' '
}
db_work_per_event() {
  awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {
    split(a, x, " "); split(b, y, " "); for (i = 1; i <= 9; i++) d[i] = (y[i] - x[i]) / n
    printf "commits %.2f, tuples written %.2f, fetched %.1f, returned %.1f, pages hit %.1f, pages read %.2f, WAL %.0f B\n",
      d[1], d[2] + d[3] + d[4], d[5], d[6], d[7], d[8], d[9]
  }'
}
cpu_per_event() {
  awk -v a="$1" -v b="$2" -v n="$3" -v own="$4" -v hz="$(getconf CLK_TCK)" -v cores="$(nproc)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]; us = 1e6 / hz / n
    printf "%.0f %.0f %.0f %.0f\n", own * us, (busy - own) * us, 100 * idle / (busy + idle), cores * 1e6 / (busy * us)
  }'
}
