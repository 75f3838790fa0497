#!/usr/bin/env bash
# Where an ingested webhook's cost goes, on PostgreSQL: three wrk runs of WhatConverts "new"
# webhooks (32 senders, each a new lead), ingest only, then with the lead view, then with the
# lead view and a webhook sink delivering to scripts/receiver. For each it prints the rate, the
# database work per event stored (pg_stat_database and WAL: commits, tuples written and read,
# buffer pages touched, WAL bytes) and the CPU per event of each process on the machine (the
# ledger, wrk, the receiver, and the rest, which is PostgreSQL), from /proc, plus idle time.
#   scripts/bench-dbwork.sh [seconds]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
source scripts/bench-lib.sh
need wrk wrk
bench_setup dbwork
go build -o "$work/receiver" ./scripts/receiver
addr=127.0.0.1:18195
recv_addr=127.0.0.1:18196
base=http://$addr

"$work/receiver" -listen $recv_addr -d 2h 2>"$work/receiver.log" &
recv_pid=$!

head_of() { curl -sf -H 'Authorization: Bearer dbwork-auditor' "$base/v1/status" | sed -n 's/.*"head":\([0-9]*\).*/\1/p'; }

# run NAME PROJECTIONS SINK: one measured run: its rate, the database's work and the CPU per event.
run() {
  psql "$pg" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $bench_schema CASCADE; CREATE SCHEMA $bench_schema"
  cat >"$work/$1.yaml" <<YAML
listen: $addr
database: "$pg_bench"
master_key_file: $work/master.key
log_level: warn
allow_private_sink_urls: true
run_projections: $2
tokens:
  - {name: dbwork-auditor, role: auditor, token: dbwork-auditor}
  - {name: dbwork-operator, role: operator, token: dbwork-operator}
sources:
  - {id: whatconverts, vendor: whatconverts, auth: {type: url_token, token: dbwork-token}}
YAML
  "$work/leadledger" serve --config "$work/$1.yaml" 2>"$work/$1.log" &
  local pid=$!
  wait_ready "$base"
  if [ "$3" = sink ]; then
    curl -sf -o /dev/null -H 'Authorization: Bearer dbwork-operator' \
      -d "{\"name\":\"dbwork\",\"type\":\"webhook\",\"url\":\"http://$recv_addr/hook\",\"secret\":\"whsec_YmVuY2gtc2lnbmluZy1rZXktMzJieXRlcy4uLi4=\",\"start\":\"now\"}" \
      "$base/v1/sinks"
  fi
  local url="$base/v1/ingest/whatconverts?token=dbwork-token"
  wrk -t2 -c32 -d3s -s scripts/wrk/whatconverts-new.lua "$url" -- 1 >/dev/null # warm-up
  sleep 1                                                                       # the view and sink catch up
  local h0 d0 m0 l0 r0
  h0=$(head_of) d0=$(db_work) m0=$(machine_ticks) l0=$(cpu_ticks $pid) r0=$(cpu_ticks $recv_pid)
  wrk -t2 -c32 -d"${secs}s" --timeout 5s -s scripts/wrk/whatconverts-new.lua "$url" -- 2 >"$work/$1.wrk" &
  local wrk_pid=$! w=0
  while kill -0 $wrk_pid 2>/dev/null; do w=$(cpu_ticks $wrk_pid 2>/dev/null || echo "$w"); sleep 0.5; done
  wait $wrk_pid
  sleep 1 # the view and the sink finish what the load left them
  local h1 d1 m1 l1 r1
  h1=$(head_of) d1=$(db_work) m1=$(machine_ticks) l1=$(cpu_ticks $pid) r1=$(cpu_ticks $recv_pid)
  kill -TERM $pid; wait $pid
  local n=$((h1 - h0))
  echo "$1: $(sed -n 's/.* rate=\([0-9]*\).*/\1/p' "$work/$1.wrk")/s, $n events stored"
  echo "  database per event: $(db_work_per_event "$d0" "$d1" $n)"
  local ledger rest idle wrk_us recv_us
  read -r ledger rest idle _ <<<"$(cpu_per_event "$m0" "$m1" $n $((l1 - l0)))"
  read -r wrk_us _ <<<"$(cpu_per_event "$m0" "$m1" $n "$w")"
  read -r recv_us _ <<<"$(cpu_per_event "$m0" "$m1" $n $((r1 - r0)))"
  echo "  CPU µs per event: ledger $ledger, PostgreSQL and the kernel $((rest - wrk_us - recv_us)), wrk $wrk_us, receiver $recv_us; idle $idle%"
}

echo "bench-dbwork: $(nproc) cores, wrk -t2 -c32 ${secs}s of WhatConverts \"new\" webhooks on PostgreSQL"
run ingest-only false none
run lead-view true none
run view+sink true sink
