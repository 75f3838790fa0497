#!/usr/bin/env bash
# Projection lag (ingest-to-view latency) under a steady load, on PostgreSQL and on SQLite: a
# server that keeps the lead view (run_projections: true) gets webhooks at a fixed rate while
# loadgen's probe times how long each acknowledged probe webhook takes to reach the view's
# position (GET /v1/status). Fresh PostgreSQL schema and fresh SQLite file; loopback only;
# stops by itself.
#   scripts/bench-lag.sh [seconds] [rate]   (default 30 s at 1000 webhooks/s)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
rate=${2:-1000}
senders=32
base=http://127.0.0.1:18091
source scripts/bench-lib.sh
bench_setup lag

status() { curl -s -H 'Authorization: Bearer bench-token' $base/v1/status; }

run() {
  local name=$1 database=$2
  cat >"$work/$name.yaml" <<YAML
listen: 127.0.0.1:18091
database: "$database"
master_key_file: $work/master.key
log_level: warn
run_projections: true
tokens: [{name: bench, role: auditor, token: bench-token}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
  "$work/leadledger" serve --config "$work/$name.yaml" 2>"$work/$name.log" &
  local pid=$!
  wait_ready $base
  # Warm-up at the same steady rate, then let the view catch up so the run starts with no backlog.
  "$work/loadgen" -url $base -secret bench-secret -c $senders -rate "$rate" -d 3s >/dev/null
  for _ in $(seq 1 300); do status | grep -q '"lag":0' && break; sleep 0.1; done
  printf '%-9s ' "$name"
  "$work/loadgen" -url $base -secret bench-secret -c $senders -rate "$rate" -d "${secs}s" -lag-token bench-token |
    sed "2s/^/$(printf '%-9s ' "$name")/"
  printf '%-9s peak RSS %s; status %s\n' "$name" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)" "$(status)"
  kill -TERM $pid; wait $pid
}

echo "projection lag at a steady $rate webhooks/s ($senders senders), ${secs}s, $(nproc) cores"
run postgres "$pg_bench"
run sqlite "sqlite:$work/ledger.db"
