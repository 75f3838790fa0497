#!/usr/bin/env bash
# Rebuild rate of the lead view: fills a fresh log with N webhooks through an ingest-only
# server, times `leadledger rebuild`, then measures the read API over the rebuilt view (a
# lead's history, an email lookup), on PostgreSQL and on SQLite. Loopback only.
#   scripts/bench-rebuild.sh [events]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
source scripts/bench-lib.sh
bench_setup rebuild
go build -o "$work/readbench" ./scripts/readbench

bench() {
  local name=$1 database=$2
  cat >"$work/$name.yaml" <<YAML
listen: 127.0.0.1:18092
database: "$database"
master_key_file: $work/master.key
log_level: warn
run_projections: false
tokens: [{name: bench, role: auditor, token: bench-token}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
  "$work/leadledger" serve --config "$work/$name.yaml" 2>"$work/$name.log" &
  local pid=$!
  wait_ready http://127.0.0.1:18092
  printf '%-9s fill: ' "$name"
  "$work/loadgen" -url http://127.0.0.1:18092 -secret bench-secret -c 32 -d 30m -n "$events" -leads $((events / 5))
  kill -TERM $pid; wait $pid
  printf '%-9s ' "$name"
  /usr/bin/time -f 'peak RSS %M KB' "$work/leadledger" rebuild --config "$work/$name.yaml" 2>&1 | tr '\n' ' '
  echo
  "$work/leadledger" serve --config "$work/$name.yaml" 2>>"$work/$name.log" &
  pid=$!
  wait_ready http://127.0.0.1:18092
  "$work/readbench" -url http://127.0.0.1:18092 -token bench-token -c 8 -d 15s | sed "s/^/$name  /"
  kill -TERM $pid; wait $pid
}

echo "lead view rebuild, $events events, $(nproc) cores"
bench postgres "$pg_bench"
bench sqlite "sqlite:$work/ledger.db"
