#!/usr/bin/env bash
# Every speed benchmark of issue 12 in one go (about 10 minutes on 2 cores), ending with ONE
# table: each figure, its ceiling where it has one, the ratio, and the goal. Loopback only; a
# fresh PostgreSQL schema (bench_all_<pid>) and fresh SQLite files; stops by itself.
#   1a HTTP-only ceiling: scripts/httpceiling (the real httpapi stack, source auth and WhatConverts
#      parsing over an in-memory log that acknowledges at once) under the same load as 2 and 3.
#   1b PostgreSQL's single-row commit rate: pgbench -n -c 32 -j 2, one INSERT per transaction
#      into a scratch table of the bench schema.
#   2  PostgreSQL ingest: wrk -t2 -c32 --latency with scripts/wrk/whatconverts-new.lua (WhatConverts
#      "new" webhooks, each a new lead) against a ledger that keeps the lead view and delivers to
#      a webhook sink (scripts/receiver); rate, p50, p99, ratios to 1a and 1b, and the lead view's
#      lag (head - position, GET /v1/status) right when the load stops.
#   3  SQLite ingest: the same.
#   4-6 on one PostgreSQL log of about BACKLOG WhatConverts events, each a new lead, filled by an
#      ingest-only server: the lead view's catch-up on it (bench-catchup.sh's method), `leadledger
#      rebuild` (rate, peak RSS) and a replay into a webhook sink on loopback (bench-replay.sh's).
# Under the table, where the CPU went in each row (from /proc): per event, the ledger's CPU and the
# rest of the machine's, the idle share, and the rate the cores allow at that cost.
# Every wrk run has a warm-up of WARMUP seconds first. Installs wrk (Debian) when missing.
#   SECS=15          seconds of each measured wrk run (1a, 2, 3)
#   WARMUP=3         seconds of the warm-up before each
#   PGBENCH_SECS=10  pgbench's -T
#   BACKLOG=200000   events in the log of rows 4-6 (the rebuild's lead count); rows 4-6 take most
#                    of the time, in proportion to it (9 minutes in all at 1,500 ingests/s)
#   scripts/bench-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-15}
warmup=${WARMUP:-3}
pgbench_secs=${PGBENCH_SECS:-10}
backlog=${BACKLOG:-200000}
source scripts/bench-lib.sh
need wrk wrk
need bc bc
need /usr/bin/time time # the rebuild's peak RSS (the shell's own time keyword cannot tell it)
bench_setup all
need pgbench postgresql
go build -o "$work/httpceiling" ./scripts/httpceiling
go build -o "$work/receiver" ./scripts/receiver

# Ports of their own, so that another bench script running at the same time cannot answer for us.
ceiling_addr=127.0.0.1:18181
addr=127.0.0.1:18182
recv_addr=127.0.0.1:18183
base=http://$addr
wc_token=bench-wc-token
declare -A R # the figures, by name

fail() { echo "FAILED: $*" >&2; exit 1; }
# number NAME VALUE: VALUE, or a failure naming NAME when it is not a number.
number() { [[ $2 =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "$1: no number (got '$2')"; echo "$2"; }
calc() { awk "BEGIN { printf \"%.${2:-0}f\", $1 }"; }
port_free() { ! curl -s -o /dev/null --max-time 1 "http://$1/" || fail "something already listens on $1"; }
# started PID LOG: fails, showing LOG, when PID is gone (it could not listen, say).
started() { kill -0 "$1" 2>/dev/null || { cat "$2" >&2; fail "process $1 did not start"; }; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
status() { curl -sf -H 'Authorization: Bearer bench-auditor' "$base/v1/status"; }
lag() { status | sed -n 's/.*"lag":\([0-9]*\).*/\1/p'; }
# until_true SECONDS COMMAND...: runs COMMAND every 20 ms until it succeeds; fails after SECONDS.
until_true() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $deadline ] || fail "gave up after waiting for: $*"; sleep 0.02; done
}
lag_is_zero() { [ "$(lag)" = 0 ]; }
# Where the CPU goes: cpu_start [PID] remembers the machine's clock ticks and PID's own (none: a
# process started after it); cpu_end NAME EVENTS [PID|TICKS=n] keeps, as R[NAME_cpu], the events
# and cpu_per_event's figures since then.
cpu_start() { cpu_machine0=$(machine_ticks); cpu_own0=0; [ -z "${1:-}" ] || cpu_own0=$(cpu_ticks "$1"); }
cpu_end() {
  local own
  case $3 in TICKS=*) own=${3#TICKS=} ;; *) own=$(($(cpu_ticks "$3") - cpu_own0)) ;; esac
  R[$1_cpu]="$2 $(cpu_per_event "$cpu_machine0" "$(machine_ticks)" "$2" "$own")"
}
fresh() {
  psql "$pg" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $bench_schema CASCADE; CREATE SCHEMA $bench_schema" >/dev/null
  rm -f "$work"/ledger.db*
}

# load ADDR TAG SECONDS: wrk's run, each request a new lead tagged TAG; prints its wrk-result line.
load() {
  wrk -t2 -c32 -d"$3"s --timeout 5s --latency -s scripts/wrk/whatconverts-new.lua \
    "http://$1/v1/ingest/whatconverts?token=$wc_token" -- "$2" >"$work/wrk-$2.out" 2>&1 ||
    { cat "$work/wrk-$2.out" >&2; fail "wrk"; }
  grep '^wrk-result ' "$work/wrk-$2.out" || { cat "$work/wrk-$2.out" >&2; fail "wrk printed no result"; }
}
# field NAME LINE: the value of NAME=... in LINE.
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
# keep PREFIX LINE: the figures of a wrk-result line, as R[PREFIX_rate], _p50 and _p99 (ms), _non2xx.
keep() {
  local n
  R[$1_rate]=$(number "$1 rate" "$(field rate "$2")")
  n=$(number "$1 p50" "$(field p50_us "$2")")
  R[$1_p50]=$(calc "$n / 1000" 1)
  n=$(number "$1 p99" "$(field p99_us "$2")")
  R[$1_p99]=$(calc "$n / 1000" 1)
  R[$1_non2xx]=$(($(field non2xx "$2") + $(field socket_errors "$2")))
}

# serve NAME DATABASE PROJECTIONS: a ledger on $addr with the WhatConverts source; its pid in $pid.
serve() {
  cat >"$work/$1.yaml" <<YAML
listen: $addr
database: "$2"
master_key_file: $work/master.key
log_level: warn
allow_private_sink_urls: true   # the receiver is on loopback
run_projections: $3
tokens:
  - {name: bench-auditor, role: auditor, token: bench-auditor}
  - {name: bench-operator, role: operator, token: bench-operator}
sources:
  - {id: whatconverts, vendor: whatconverts, auth: {type: url_token, token: $wc_token}}
YAML
  port_free $addr
  "$work/leadledger" serve --config "$work/$1.yaml" 2>>"$work/$1.log" &
  pid=$!
  wait_ready "$base"
  started $pid "$work/$1.log"
}
stop() { kill -TERM "$pid"; wait "$pid"; }
# sink: creates a webhook sink delivering to the receiver from now on, and prints its id.
sink() {
  local id
  id=$(curl -sf -H 'Authorization: Bearer bench-operator' \
    -d "{\"name\":\"bench\",\"type\":\"webhook\",\"url\":\"http://$recv_addr/hook\",\"secret\":\"whsec_YmVuY2gtc2lnbmluZy1rZXktMzJieXRlcy4uLi4=\",\"start\":\"now\"}" \
    "$base/v1/sinks" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || fail "could not create a webhook sink"
  echo "$id"
}
received() { curl -sf "http://$recv_addr/count"; }


echo "bench-all: $(nproc) cores, wrk -t2 -c32 ${secs}s (after ${warmup}s of warm-up), pgbench ${pgbench_secs}s, backlog $backlog"
port_free $recv_addr
"$work/receiver" -listen $recv_addr -d 2h 2>"$work/receiver.log" &
recv_pid=$!
until_true 10 received >/dev/null
started $recv_pid "$work/receiver.log"

echo "== 1a HTTP-only ceiling (scripts/httpceiling)"
port_free $ceiling_addr
"$work/httpceiling" -listen $ceiling_addr -token $wc_token 2>"$work/httpceiling.log" &
ceiling_pid=$!
wait_ready "http://$ceiling_addr"
started $ceiling_pid "$work/httpceiling.log"
load $ceiling_addr 1 "$warmup" >/dev/null
cpu_start $ceiling_pid
out=$(load $ceiling_addr 2 "$secs")
echo "$out"
keep http "$out"
cpu_end http "$(field requests "$out")" $ceiling_pid
kill -TERM $ceiling_pid; wait $ceiling_pid

echo "== 1b PostgreSQL single-row commits (pgbench)"
psql "$pg" -qc "CREATE TABLE $bench_schema.commit_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)"
echo "INSERT INTO $bench_schema.commit_probe (note) VALUES ('one row, one commit');" >"$work/commit.sql"
pgbench -n -c 32 -j 2 -T "$pgbench_secs" -f "$work/commit.sql" "$pg" >"$work/pgbench.out" 2>&1 ||
  { cat "$work/pgbench.out" >&2; fail "pgbench"; }
grep -E '^(number of transactions actually processed|latency average|tps)' "$work/pgbench.out"
R[pgbench]=$(number pgbench "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out" | head -1)")

# ingest PREFIX NAME DATABASE: rows 2 and 3.
ingest() {
  echo "== $2 ingest, with the lead view and a webhook sink"
  fresh
  serve "$1" "$3" true
  sink >/dev/null
  load $addr 1 "$warmup" >/dev/null
  local sent out st
  sent=$(received)
  cpu_start $pid
  out=$(load $addr 2 "$secs")
  st=$(status) # right when the load stops
  cpu_end "$1" "$(field requests "$out")" $pid
  echo "$out"
  echo "status when the load stopped: $st"
  echo "webhook sink: $(($(received) - sent)) deliveries during the run; server peak RSS $(peak_rss_mb $pid) MB"
  stop
  keep "$1" "$out"
  local head position
  head=$(number "$1 head" "$(sed -n 's/.*"head":\([0-9]*\).*/\1/p' <<<"$st")")
  position=$(number "$1 view position" "$(sed -n 's/.*"position":\([0-9]*\).*/\1/p' <<<"$st")")
  R[$1_lag]=$((head > position ? head - position : 0))
  R[$1_lag_s]=$(calc "${R[$1_lag]} / ${R[$1_rate]}" 2)
}
ingest pg PostgreSQL "$pg_bench"
ingest sqlite SQLite "sqlite:$work/ledger.db"

echo "== 4-6 on a PostgreSQL log of about $backlog new leads"
fresh
serve fill "$pg_bench" false
# wrk has no count limit: it is stopped (SIGINT, which ends its run early) once the log holds enough.
wrk -t2 -c32 -d30m --timeout 5s -s scripts/wrk/whatconverts-new.lua \
  "http://$addr/v1/ingest/whatconverts?token=$wc_token" -- 3 >"$work/wrk-fill.out" 2>&1 &
wrk_pid=$!
log_head() { status | sed -n 's/.*"head":\([0-9]*\).*/\1/p'; }
until h=$(log_head); [ "${h:-0}" -ge "$backlog" ]; do
  kill -0 $wrk_pid 2>/dev/null || { cat "$work/wrk-fill.out" >&2; fail "wrk (fill) stopped early"; }
  sleep 0.2
done
kill -INT $wrk_pid
wait $wrk_pid || { cat "$work/wrk-fill.out" >&2; fail "wrk (fill)"; }
events=$(number "log head" "$(log_head)")
echo "fill: $events events; $(grep '^wrk-result' "$work/wrk-fill.out")"
stop

echo "-- 4 lead view catch-up"
t0=$EPOCHREALTIME
cpu_start
serve catchup "$pg_bench" true
until_true 600 lag_is_zero
took=$(echo "$EPOCHREALTIME - $t0" | bc)
cpu_end catchup "$events" $pid
R[catchup]=$(calc "$events / $took")
echo "the view caught up on $events events in $(calc "$took" 1) s: ${R[catchup]} events/s; peak RSS $(peak_rss_mb $pid) MB"
stop

echo "-- 5 rebuild"
cpu_start
/usr/bin/time -f 'peak_rss_kb=%M cpu_s=%U+%S' "$work/leadledger" rebuild --config "$work/catchup.yaml" >"$work/rebuild.out" 2>&1 ||
  { cat "$work/rebuild.out" >&2; fail "leadledger rebuild"; }
cat "$work/rebuild.out"
R[rebuild]=$(number "rebuild rate" "$(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$work/rebuild.out")")
R[rebuild_leads]=$(number "rebuild leads" "$(sed -n 's/.*, \([0-9]*\) leads,.*/\1/p' "$work/rebuild.out")")
rss_kb=$(number "rebuild RSS" "$(sed -n 's/^peak_rss_kb=\([0-9]*\).*/\1/p' "$work/rebuild.out")")
R[rebuild_rss]=$(calc "$rss_kb / 1024")
cpu_end rebuild "${R[rebuild_leads]}" "TICKS=$(calc "($(sed -n 's/.*cpu_s=\([0-9.+]*\).*/\1/p' "$work/rebuild.out")) * $(getconf CLK_TCK)")"

echo "-- 6 replay into a webhook sink"
serve replay "$pg_bench" true
until_true 600 lag_is_zero
sink_id=$(sink)
t0=$EPOCHREALTIME
cpu_start $pid
replay=$(curl -sf -H 'Authorization: Bearer bench-operator' -d '{"from_position":0}' "$base/v1/sinks/$sink_id/replays" |
  sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[ -n "$replay" ] || fail "could not start a replay"
replay_done() {
  curl -sf -H 'Authorization: Bearer bench-operator' "$base/v1/replays/$replay" >"$work/replay.json" &&
    grep -q '"status":"completed"' "$work/replay.json"
}
until_true 600 replay_done
took=$(echo "$EPOCHREALTIME - $t0" | bc)
replayed=$(number "replay total" "$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' "$work/replay.json")")
R[replay]=$(calc "$replayed / $took")
cpu_end replay "$replayed" $pid
echo "replay of $replayed events: $(calc "$took" 1) s, ${R[replay]} events/s; $(sed 's/.*"delivered":\([0-9]*\),"failed":\([0-9]*\).*/\1 delivered, \2 failed/' "$work/replay.json"); server peak RSS $(peak_rss_mb $pid) MB"
stop

# The table. meets VALUE OP GOAL: yes or NO.
meets() { awk "BEGIN { if ($1 $2 $3) print \"yes\"; else print \"NO\" }"; }
ratio() { calc "$1 / $2" 2; }
elapsed=$SECONDS # since the start, builds included
{
  printf '%-44s  %-46s  %-22s  %-6s  %-28s  %s\n' figure measured ceiling ratio goal met
  row() { printf '%-44s  %-46s  %-22s  %-6s  %-28s  %s\n' "$@"; }
  row "1a HTTP-only ceiling (no database)" "${R[http_rate]}/s (${R[http_non2xx]} non-2xx), p50 ${R[http_p50]} ms, p99 ${R[http_p99]} ms" - - - -
  row "1b PostgreSQL single-row commits (pgbench)" "$(calc "${R[pgbench]}") tps" - - - -
  row "2  PostgreSQL ingest rate (view + sink)" "${R[pg_rate]}/s (${R[pg_non2xx]} non-2xx)" - - ">= 15000/s" \
    "$(meets "${R[pg_rate]}" '>=' 15000)"
  row "   PostgreSQL ingest vs HTTP ceiling" "${R[pg_rate]}/s" "HTTP ${R[http_rate]}/s" "$(ratio "${R[pg_rate]}" "${R[http_rate]}")" \
    ">= 0.5 of the HTTP ceiling" "$(meets "$(ratio "${R[pg_rate]}" "${R[http_rate]}")" '>=' 0.5)"
  row "   PostgreSQL ingest vs pgbench" "${R[pg_rate]}/s" "pgbench $(calc "${R[pgbench]}") tps" \
    "$(ratio "${R[pg_rate]}" "${R[pgbench]}")" ">= 1.0 of pgbench" "$(meets "$(ratio "${R[pg_rate]}" "${R[pgbench]}")" '>=' 1.0)"
  row "   PostgreSQL ingest latency" "p50 ${R[pg_p50]} ms, p99 ${R[pg_p99]} ms" - - "p99 <= 20 ms" "$(meets "${R[pg_p99]}" '<=' 20)"
  row "   PostgreSQL lead view lag at load stop" "${R[pg_lag]} events = ${R[pg_lag_s]} s" - - "<= 1 s" "$(meets "${R[pg_lag_s]}" '<=' 1)"
  row "3  SQLite ingest rate (view + sink)" "${R[sqlite_rate]}/s (${R[sqlite_non2xx]} non-2xx)" "HTTP ${R[http_rate]}/s" \
    "$(ratio "${R[sqlite_rate]}" "${R[http_rate]}")" ">= 10000/s" "$(meets "${R[sqlite_rate]}" '>=' 10000)"
  row "   SQLite ingest latency" "p50 ${R[sqlite_p50]} ms, p99 ${R[sqlite_p99]} ms" - - "p99 <= 20 ms" "$(meets "${R[sqlite_p99]}" '<=' 20)"
  row "   SQLite lead view lag at load stop" "${R[sqlite_lag]} events = ${R[sqlite_lag_s]} s" - - "(info)" -
  row "4  lead view catch-up ($events-event backlog)" "${R[catchup]} events/s" - - ">= 50000/s" "$(meets "${R[catchup]}" '>=' 50000)"
  row "5  rebuild (${R[rebuild_leads]} leads)" "${R[rebuild]} events/s" - - ">= 100000/s" "$(meets "${R[rebuild]}" '>=' 100000)"
  row "   rebuild peak RSS (${R[rebuild_leads]} leads)" "${R[rebuild_rss]} MB" - - "<= 200 MB at 1M leads" "$(meets "${R[rebuild_rss]}" '<=' 200)"
  row "6  replay to a webhook sink ($replayed events)" "${R[replay]} events/s" - - ">= 30000/s" "$(meets "${R[replay]}" '>=' 30000)"
} >"$work/table"
{
  echo
  echo "where the CPU goes: µs of CPU per event of the ledger (1a: scripts/httpceiling) and of the rest of the"
  echo "machine (PostgreSQL, wrk, the receiver), idle share, and the rate $(nproc) cores allow at that cost"
  printf '%-30s  %8s  %7s  %7s  %5s  %s\n' row events ledger rest idle "CPU-bound rate"
  for r in "1a HTTP-only ceiling:http" "2  PostgreSQL ingest:pg" "3  SQLite ingest:sqlite" "4  lead view catch-up:catchup" \
    "5  rebuild:rebuild" "6  replay:replay"; do
    read -r n own rest idle bound <<<"${R[${r#*:}_cpu]}"
    printf '%-30s  %8s  %7s  %7s  %5s  %s/s\n' "${r%:*}" "$n" "$own" "$rest" "$idle%" "$bound"
  done
} >>"$work/table"
echo
echo "== bench-all: $(nproc) cores, ${secs}s wrk runs (-t2 -c32), rows 4-6 on PostgreSQL; took $((elapsed / 60))m$((elapsed % 60))s"
cat "$work/table"
