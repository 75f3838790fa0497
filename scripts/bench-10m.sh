#!/usr/bin/env bash
# Issue 12's last row: a log of EVENTS (default 10,000,000) events on PostgreSQL. In one run:
#   1 ingest on the empty log: wrk -t2 -c32 for SECS s (after WARMUP s) of WhatConverts "new"
#     webhooks, the lead view running;
#   2 the log filled to EVENTS by scripts/fill (the store's own append, no HTTP), over LEADS leads;
#   3 `leadledger rebuild` and `leadledger verify` of the whole log: rate and peak RSS;
#   4 a server on it (its Merkle tree grown first): scripts/readbench's p99 of a lead's history,
#     an email lookup and a page of events after a random position;
#   5 ingest again, the same load as 1: the ratio to 1.
# Each ingest also prints the database's work per event stored (pg_stat_database: pages found in
# shared buffers and pages read in, WAL bytes) and the CPU per event, to show what the full log
# costs more.
# Loopback only, a fresh schema (bench_10m_<pid>, dropped at the end). 45-60 minutes for 10M
# on 2 cores, 20 GB of PostgreSQL data while it runs.
#   EVENTS=10000000 LEADS=2000000 SECS=20 WARMUP=5 scripts/bench-10m.sh
set -euo pipefail
cd "$(dirname "$0")/.."
events=${EVENTS:-10000000}
leads=${LEADS:-2000000}
secs=${SECS:-20}
warmup=${WARMUP:-5}
source scripts/bench-lib.sh
need wrk wrk
need /usr/bin/time time
bench_setup 10m
go build -o "$work/fill" ./scripts/fill
go build -o "$work/readbench" ./scripts/readbench
addr=127.0.0.1:18191
base=http://$addr
export LEDGER_DATABASE=$pg_bench LEDGER_MASTER_KEY_FILE=$work/master.key LEDGER_LOG_LEVEL=warn
cat >"$work/ledger.yaml" <<YAML
listen: $addr
checkpoint_interval: 1s
tokens:
  - {name: bench-auditor, role: auditor, token: bench-auditor}
sources:
  - {id: whatconverts, vendor: whatconverts, auth: {type: url_token, token: bench-wc-token}}
YAML
fail() { echo "FAILED: $*" >&2; exit 1; }
api() { curl -sf -H 'Authorization: Bearer bench-auditor' "$base$1"; }
serve() {
  "$work/leadledger" serve --config "$work/ledger.yaml" 2>>"$work/serve.log" &
  pid=$!
  wait_ready "$base"
  kill -0 $pid 2>/dev/null || { cat "$work/serve.log" >&2; fail "serve did not start"; }
}
stop() { kill -TERM $pid; wait $pid; }
# ingest TAG: a warm-up, then the measured wrk run; prints its wrk-result line, then what each
# event stored in the measured run cost the database, and the CPU of the ledger and of the rest.
ingest() {
  local head0 db0 m0 l0
  for run in "${1}0:$warmup" "${1}1:$secs"; do
    head0=$(api /v1/status | sed -n 's/.*"head":\([0-9]*\).*/\1/p') db0=$(db_work) m0=$(machine_ticks) l0=$(cpu_ticks $pid)
    wrk -t2 -c32 -d"${run#*:}"s --timeout 5s --latency -s scripts/wrk/whatconverts-new.lua \
      "$base/v1/ingest/whatconverts?token=bench-wc-token" -- "${run%:*}" >"$work/wrk.out" 2>&1 ||
      { cat "$work/wrk.out" >&2; fail wrk; }
  done
  local n=$(($(api /v1/status | sed -n 's/.*"head":\([0-9]*\).*/\1/p') - head0))
  grep '^wrk-result ' "$work/wrk.out" || fail "wrk printed no result"
  echo "  database per event: $(db_work_per_event "$db0" "$(db_work)" $n)"
  local own rest idle
  read -r own rest idle _ <<<"$(cpu_per_event "$m0" "$(machine_ticks)" $n $(($(cpu_ticks $pid) - l0)))"
  echo "  CPU µs per event: ledger $own, the rest (PostgreSQL, wrk) $rest; idle $idle%"
}
# timed NAME COMMAND...: runs COMMAND under /usr/bin/time, printing its output and NAME's seconds and peak RSS.
timed() {
  local name=$1; shift
  /usr/bin/time -f "$name: %e s, peak RSS %M KB" "$@" 2>&1 | grep -v '^{' || fail "$name"
}

echo "== bench-10m: $(nproc) cores, $events events over $leads leads; wrk -t2 -c32 ${secs}s after ${warmup}s"
serve
echo "1. ingest, empty log:"
ingest 1 | sed 's/^/   /'
stop
echo "2. fill: $("$work/fill" -database "$pg_bench" -events "$events" -leads "$leads" -batch 1000 -c 4 | tail -1)"
echo "   PostgreSQL: $(psql "$pg" -Atc "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$bench_schema' AND c.relkind = 'r'") in the schema's tables and indexes"
echo "3. $(timed rebuild "$work/leadledger" rebuild | tr '\n' ' ')"
echo "   $(timed verify "$work/leadledger" verify | tr '\n' ' ')"
serve
head=$(api /v1/status | sed -n 's/.*"head":\([0-9]*\).*/\1/p')
SECONDS=0
until api /v1/checkpoints/latest | grep -q "\"tree_size\":$head"; do
  [ $SECONDS -lt 1800 ] || fail "the Merkle tree did not reach $head in 30 minutes"
  sleep 1
done
echo "4. Merkle tree grown to $head leaves in ${SECONDS} s after start; reads (8 readers, 20 s):"
"$work/readbench" -url "$base" -token bench-auditor -c 8 -d 20s | sed 's/^/   /'
echo "5. ingest, $head events:"
ingest 2 | sed 's/^/   /'
echo "   server peak RSS: $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)"
stop
