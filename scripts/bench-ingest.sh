#!/usr/bin/env bash
# Durable ingest throughput and latency at 32 concurrent senders, on PostgreSQL and on SQLite,
# with the server's peak RSS: first an ingest-only server (run_projections: false), then one
# that also keeps the lead view, with the view's lag when the load stops. Everything runs on
# loopback and stops by itself.
#   scripts/bench-ingest.sh [seconds] [senders]
#   BASELINE=<git ref> scripts/bench-ingest.sh   also runs that commit's server right before each
#                                               run, and prints this one's rate as a share of it
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
senders=${2:-32}
source scripts/bench-lib.sh
bench_setup ingest
if [ -n "${BASELINE:-}" ]; then
  git worktree add -q --detach "$work/baseline-src" "$BASELINE"
  (cd "$work/baseline-src" && go build -o "$work/baseline" ./cmd/leadledger)
  git worktree remove --force "$work/baseline-src"
fi

# run NAME DATABASE PROJECTIONS [BINARY]: one measured run; the rate it printed is left in $rate.
run() {
  local name=$1 database=$2 projections=$3 bin=${4:-$work/leadledger}
  cat >"$work/$name.yaml" <<YAML
listen: 127.0.0.1:18089
database: "$database"
master_key_file: $work/master.key
log_level: warn
run_projections: $projections
tokens: [{name: bench, role: auditor, token: bench-token}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
  "$bin" serve --config "$work/$name.yaml" 2>"$work/$name.log" &
  local pid=$!
  wait_ready http://127.0.0.1:18089
  "$work/loadgen" -url http://127.0.0.1:18089 -secret bench-secret -c "$senders" -d 3s >/dev/null # warm-up
  printf '%-9s projections=%-5s %s' "$name" "$projections" "$([ "$bin" = "$work/baseline" ] && echo "(baseline $BASELINE) ")"
  local out
  out=$("$work/loadgen" -url http://127.0.0.1:18089 -secret bench-secret -c "$senders" -d "${secs}s")
  echo "$out"
  rate=$(echo "$out" | sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p')
  printf '%-9s peak RSS %s; status %s\n' "$name" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)" \
    "$(curl -s -H 'Authorization: Bearer bench-token' http://127.0.0.1:18089/v1/status)"
  kill -TERM $pid; wait $pid
}

echo "durable ingest, $senders senders, ${secs}s, $(nproc) cores"
fresh() {
  psql "$pg" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $bench_schema CASCADE; CREATE SCHEMA $bench_schema" >/dev/null
  rm -f "$work"/ledger.db*
}
# measure NAME DATABASE PROJECTIONS: a run on a fresh database, after the baseline's if any.
measure() {
  local base=""
  if [ -n "${BASELINE:-}" ]; then
    fresh
    run "$@" "$work/baseline"
    base=$rate
  fi
  fresh
  run "$@"
  if [ -n "$base" ]; then
    printf '%-9s projections=%-5s this build / baseline: %s/s / %s/s = %s\n' "$1" "$3" "$rate" "$base" \
      "$(awk "BEGIN { printf \"%.3f\", $rate / $base }")"
  fi
}

for projections in false true; do
  measure postgres "$pg_bench" $projections
  measure sqlite "sqlite:$work/ledger.db" $projections
done
