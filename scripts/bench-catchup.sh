#!/usr/bin/env bash
# How fast the lead view catches up on a backlog, the fault drill that once left it behind for
# good: an ingest-only server (run_projections: false) takes N webhooks from 32 senders (spread
# over 5,000 leads, loadgen's default), then a server that keeps the view starts on that log.
# Prints the fill, the time the view took to reach the head, its rate and the server's peak RSS.
# Fresh PostgreSQL schema and fresh SQLite file; loopback only.
#   scripts/bench-catchup.sh [events]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
base=http://127.0.0.1:18093
source scripts/bench-lib.sh
bench_setup catchup

lag() { curl -s -H 'Authorization: Bearer bench-token' $base/v1/status | sed -n 's/.*"lag":\([0-9]*\).*/\1/p'; }

serve() { # name database projections
  cat >"$work/$1.yaml" <<YAML
listen: 127.0.0.1:18093
database: "$2"
master_key_file: $work/master.key
log_level: warn
run_projections: $3
tokens: [{name: bench, role: auditor, token: bench-token}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
  "$work/leadledger" serve --config "$work/$1.yaml" 2>>"$work/$1.log" &
  pid=$!
  wait_ready $base
}

run() {
  local name=$1 database=$2
  serve "$name" "$database" false
  printf '%-9s fill: ' "$name"
  "$work/loadgen" -url $base -secret bench-secret -c 32 -d 30m -n "$events"
  kill -TERM $pid; wait $pid
  local start=$EPOCHREALTIME
  serve "$name" "$database" true
  until [ "$(lag)" = 0 ]; do sleep 0.02; done
  local took
  took=$(echo "$EPOCHREALTIME - $start" | bc)
  printf '%-9s the view caught up on %d events in %.1f s: %.0f events/s; peak RSS %s\n' "$name" "$events" "$took" \
    "$(echo "$events / $took" | bc -l)" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)"
  kill -TERM $pid; wait $pid
}

echo "lead view catch-up on $events events, $(nproc) cores"
run postgres "$pg_bench"
run sqlite "sqlite:$work/ledger.db"
