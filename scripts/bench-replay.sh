#!/usr/bin/env bash
# Live delivery latency on an idle server, then a replay into a local receiver that acknowledges
# at once: events/s and the server's peak RSS, then ingest throughput without and with a replay
# running, on PostgreSQL and on SQLite.
# Everything runs on loopback and stops by itself.
#   scripts/bench-replay.sh [events] [ingest seconds]   (default 100000 events, 15 s)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
secs=${2:-15}
source scripts/bench-lib.sh
bench_setup replay
go build -o "$work/receiver" ./scripts/receiver
go build -o "$work/sinklag" ./scripts/sinklag
"$work/receiver" -listen 127.0.0.1:18095 -d 2h &
base=http://127.0.0.1:18093
auth=(-H 'Authorization: Bearer bench-operator')

# replay SINK_ID: starts a replay of the whole log and prints its id.
replay() {
  curl -sf "${auth[@]}" -d '{"from_position":0}' "$base/v1/sinks/$1/replays" | sed 's/.*"id":"\([^"]*\)".*/\1/'
}
replay_status() { curl -sf "${auth[@]}" "$base/v1/replays/$1"; }

bench() {
  local name=$1 database=$2
  cat >"$work/$name.yaml" <<YAML
listen: 127.0.0.1:18093
database: "$database"
master_key_file: $work/master.key
log_level: warn
allow_private_sink_urls: true   # the receiver is on loopback
tokens: [{name: bench, role: operator, token: bench-operator}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
  LEDGER_RUN_PROJECTIONS=false "$work/leadledger" serve --config "$work/$name.yaml" 2>"$work/$name.log" &
  local pid=$!
  wait_ready $base
  "$work/loadgen" -url $base -secret bench-secret -c 32 -d 30m -n "$events" -leads $((events / 5)) >/dev/null
  kill -TERM $pid; wait $pid

  "$work/leadledger" serve --config "$work/$name.yaml" 2>>"$work/$name.log" &
  pid=$!
  wait_ready $base
  # Let the lead view catch up first, so the replay is measured alone.
  for _ in $(seq 1 600); do
    curl -sf "${auth[@]}" $base/v1/status | grep -q '"lag":0' && break; sleep 1
  done
  printf '%-9s idle, live ' "$name"
  "$work/sinklag" -url $base -token bench-operator -secret bench-secret -n 100
  local sink
  sink=$(curl -sf "${auth[@]}" -d '{"name":"bench","type":"webhook","url":"http://127.0.0.1:18095/hook","secret":"whsec_YmVuY2gtc2lnbmluZy1rZXktMzJieXRlcy4uLi4=","start":"now"}' \
    $base/v1/sinks | sed 's/.*"id":"\([^"]*\)".*/\1/')
  local start id
  start=$(date +%s.%N)
  id=$(replay "$sink")
  until replay_status "$id" | grep -q '"status":"completed"'; do sleep 0.2; done
  local took
  took=$(echo "$(date +%s.%N) - $start" | bc)
  printf '%-9s replay of %s events: %.1f s, %.0f events/s, server peak RSS %s\n' "$name" "$events" "$took" \
    "$(echo "$events / $took" | bc -l)" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)"

  printf '%-9s ingest alone:          ' "$name"
  "$work/loadgen" -url $base -secret bench-secret -c 32 -d "${secs}s"
  id=$(replay "$sink")
  printf '%-9s ingest during replay:  ' "$name"
  "$work/loadgen" -url $base -secret bench-secret -c 32 -d "${secs}s"
  printf '%-9s replay during ingest: %s\n' "$name" "$(replay_status "$id" | sed 's/.*"total":\([0-9]*\),"delivered":\([0-9]*\).*/\2 of \1 delivered/')"
  printf '%-9s server peak RSS %s\n' "$name" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)"
  kill -TERM $pid; wait $pid
}

echo "replay into a local receiver, $events events, $(nproc) cores"
bench postgres "$pg_bench"
bench sqlite "sqlite:$work/ledger.db"
