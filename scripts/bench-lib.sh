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
