#!/usr/bin/env bash
# Durable ingest throughput and latency at 32 concurrent senders, on PostgreSQL and on SQLite,
# with the server's peak RSS: first an ingest-only server (run_projections: false), then one
# that also keeps the lead view, with the view's lag when the load stops. Everything runs on
# loopback and stops by itself.
#   scripts/bench-ingest.sh [seconds] [senders]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
senders=${2:-32}
source scripts/bench-lib.sh
bench_setup ingest

run() {
  local name=$1 database=$2 projections=$3
  cat >"$work/$name.yaml" <<YAML
listen: 127.0.0.1:18089
database: "$database"
log_level: warn
run_projections: $projections
tokens: [{name: bench, role: auditor, token: bench-token}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
  "$work/leadledger" serve --config "$work/$name.yaml" 2>"$work/$name.log" &
  local pid=$!
  wait_ready http://127.0.0.1:18089
  "$work/loadgen" -url http://127.0.0.1:18089 -secret bench-secret -c "$senders" -d 3s >/dev/null # warm-up
  printf '%-9s projections=%-5s ' "$name" "$projections"
  "$work/loadgen" -url http://127.0.0.1:18089 -secret bench-secret -c "$senders" -d "${secs}s"
  printf '%-9s peak RSS %s; status %s\n' "$name" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)" \
    "$(curl -s -H 'Authorization: Bearer bench-token' http://127.0.0.1:18089/v1/status)"
  kill -TERM $pid; wait $pid
}

echo "durable ingest, $senders senders, ${secs}s, $(nproc) cores"
for projections in false true; do
  psql "$pg" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $bench_schema CASCADE; CREATE SCHEMA $bench_schema" >/dev/null
  rm -f "$work"/ledger.db*
  run postgres "$pg_bench" $projections
  run sqlite "sqlite:$work/ledger.db" $projections
done
