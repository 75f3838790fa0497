#!/usr/bin/env bash
# The CRM sinks' acceptance benchmark: a replay of a large log (by default 1,000,000 webhooks
# about 200,000 leads) into the fake HubSpot of scripts/fakecrm, first with every rate limit
# off (goal: >= 50,000 leads/s written, >= 2,000 batch calls/s), then at HubSpot's real limit,
# 100 calls per rolling 10 s, enforced by the fake too (goal: within 5 % of the floor the limit
# sets, calls needed / 10 per s, and no 429). The limit-off figure is printed beside its ceiling
# on this machine: the client and the fake alone, without the ledger's database work. Then
# ingest alone and with limit-off replays running (goal: >= 90 % of its rate). The server's RSS
# is sampled every 0.5 s throughout (goal: <= 300 MB). Everything runs on loopback and stops by
# itself.
#
#   scripts/bench-crm.sh                                  # 1M events, 200k leads, SQLite
#   EVENTS=20000 LEADS=4000 scripts/bench-crm.sh          # a quick try (about a minute)
#   DB=postgres scripts/bench-crm.sh                      # a fresh schema in $LEDGER_TEST_POSTGRES
#
# Environment: EVENTS, LEADS, DB (sqlite | postgres), SENDERS (loadgen's, 32), INGEST_SECS (15),
# LIMIT_REQUESTS / LIMIT_SECONDS (the real limit, 100 / 10), KEEP=1 keeps the work directory
# (logs, database) and prints where it is, PROFILE=1 keeps it with CPU profiles of the limit-off
# replay and of both ingest runs in it (replay-off.pprof, ingest-alone.pprof,
# ingest-during.pprof: go tool pprof -top leadledger replay-off.pprof).
#
# The log is filled the way vendors fill it, through the ingest API (loadgen, an ingest-only
# server); a second server, the measured one, keeps the lead view and first brings it to the
# log's head, since a CRM sink writes leads as the view holds them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh # wait_ready

events=${EVENTS:-1000000}
leads=${LEADS:-200000}
db=${DB:-sqlite}
senders=${SENDERS:-32}
ingest_secs=${INGEST_SECS:-15}
limit_requests=${LIMIT_REQUESTS:-100}
limit_seconds=${LIMIT_SECONDS:-10}
# Ports of their own, so this runs beside the other bench scripts.
ledger_addr=127.0.0.1:18101
debug_addr=127.0.0.1:18104 # the profiler, with PROFILE=1
fake_off_addr=127.0.0.1:18102
fake_limit_addr=127.0.0.1:18103
base=http://$ledger_addr
auth=(-H 'Authorization: Bearer bench-operator')

work=$(mktemp -d)
pids=() # every process started here, stopped by cleanup
schema=""
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$schema" ]; then
    psql "$pg" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null || true
  fi
  if [ $rc != 0 ] && [ -f "$work/server.log" ]; then
    echo "bench-crm: failed; the server log ends with:" >&2
    tail -n 20 "$work/server.log" >&2
  fi
  if [ "${KEEP:-}" = 1 ] || [ "${PROFILE:-}" = 1 ]; then echo "bench-crm: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM # through cleanup

case $db in
  sqlite) database="sqlite:$work/ledger.db" ;;
  postgres)
    pg=$(scripts/ensure-postgres.sh)
    schema=bench_crm_$$
    psql "$pg" -qc "CREATE SCHEMA $schema" >/dev/null
    sep='?'; [[ $pg == *\?* ]] && sep='&'
    database="$pg${sep}search_path=$schema"
    ;;
  *) echo "bench-crm: DB must be sqlite or postgres, not $db" >&2; exit 2 ;;
esac

go build -o "$work/leadledger" ./cmd/leadledger
go build -o "$work/loadgen" ./scripts/loadgen
go build -o "$work/fakecrm" ./scripts/fakecrm

# calc FORMAT EXPR: awk's arithmetic, printed with FORMAT (bash has no floating point).
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
json_num() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" | head -n 1; }
json_str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1; }
status() { curl -sf "${auth[@]}" "$base/v1/status"; }

serve() { # projections(true|false): starts the ledger, sets server_pid
  cat >"$work/ledger.yaml" <<YAML
listen: $ledger_addr
database: "$database"
master_key_file: $work/master.key
log_level: warn
allow_private_sink_urls: true   # the fake CRM is on loopback
run_projections: $1
debug_listen: "$([ "${PROFILE:-}" = 1 ] && echo $debug_addr)"
tokens: [{name: bench, role: operator, token: bench-operator}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
  "$work/leadledger" serve --config "$work/ledger.yaml" 2>>"$work/server.log" &
  server_pid=$!
  pids+=("$server_pid")
  wait_ready "$base"
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
}

# The RSS sampler writes "time kB" lines; peak_rss FROM TO reads the highest between two times,
# so each phase gets its own figure.
sample_rss() {
  while kill -0 "$1" 2>/dev/null; do
    echo "$EPOCHREALTIME $(awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)"
    sleep 0.5
  done >>"$work/rss"
}
peak_rss() {
  awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b && $2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$work/rss"
}

fake() { # addr flags...: starts a fakecrm
  local addr=$1; shift
  "$work/fakecrm" -listen "$addr" "$@" >>"$work/fakecrm.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://$addr/stats" >/dev/null && return; sleep 0.1; done
  echo "bench-crm: fakecrm did not start on $addr" >&2; exit 1
}
fake_stat() { curl -sf "http://$1/stats" | sed 's/.*"hubspot":{\([^}]*\)}.*/\1/' | json_num "$2"; }

# profile NAME SECONDS: with PROFILE=1, a CPU profile of the server from now on, in NAME.pprof;
# wait_profile waits for it.
profile_pid=""
profile() {
  if [ "${PROFILE:-}" = 1 ]; then
    curl -sf -o "$work/$1.pprof" "http://$debug_addr/debug/pprof/profile?seconds=$2" &
    profile_pid=$!
  fi
}
wait_profile() { if [ -n "$profile_pid" ]; then wait "$profile_pid"; profile_pid=""; fi; }

create_sink() { # name fake_addr requests per_seconds: prints the sink's id
  curl -sf "${auth[@]}" -d "{\"name\":\"$1\",\"type\":\"hubspot\",\"start\":\"now\",
    \"config\":{\"base_url\":\"http://$2/hubspot\",\"token\":\"bench-hubspot-token\",\"id_property\":\"ledger_key\"},
    \"rate_limit\":{\"requests\":$3,\"per_seconds\":$4}}" "$base/v1/sinks" | json_str id
}
start_replay() { curl -sf "${auth[@]}" -d '{"from_position":0}' "$base/v1/sinks/$1/replays" | json_str id; }
replay_json() { curl -sf "${auth[@]}" "$base/v1/replays/$1"; }
wait_replay() { # id: polls until the replay is completed, leaves its last state in $work/replay.json
  while replay_json "$1" >"$work/replay.json"; grep -q '"status":"running"' "$work/replay.json"; do sleep 0.2; done
  grep -q '"status":"completed"' "$work/replay.json" || { echo "bench-crm: replay ended: $(cat "$work/replay.json")" >&2; exit 1; }
}
# The replay's own duration, from the server's timestamps: the polling adds nothing to it.
replay_seconds() {
  local created finished
  created=$(json_str created_at <"$work/replay.json")
  finished=$(json_str finished_at <"$work/replay.json")
  calc "%.3f" "$(date -d "$finished" +%s.%N) - $(date -d "$created" +%s.%N)"
}

loadgen_rate() { sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p'; }

echo "CRM replay into the fake HubSpot: $events events about $leads leads, $db, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Fill the log through the ingest API, as vendors do, on an ingest-only server.
serve false
t0=$EPOCHREALTIME
"$work/loadgen" -url "$base" -secret bench-secret -c "$senders" -d 4h -n "$events" -leads "$leads" >"$work/fill.txt"
fill_secs=$(calc "%.1f" "$EPOCHREALTIME - $t0")
fill_rss=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$server_pid/status")
stop_server
printf 'fill:       %s in %s s; ingest-only server peak RSS %s MB\n' "$(cat "$work/fill.txt")" "$fill_secs" "$fill_rss"
grep -q "acked=$events " "$work/fill.txt" || { echo "bench-crm: the fill was not all acknowledged" >&2; exit 1; }

# 2. The measured server: the lead view catches up on the whole log first.
serve true
sample_rss "$server_pid" &
pids+=($!)
t0=$EPOCHREALTIME
until status | grep -q '"lag":0'; do sleep 0.2; done
t1=$EPOCHREALTIME
head=$(status | json_num head)
catchup_secs=$(calc "%.1f" "$t1 - $t0")
catchup_rss=$(peak_rss "$t0" "$t1")
printf 'lead view:  caught up on %d events in %s s (%s events/s), peak RSS %s MB\n' "$head" "$catchup_secs" \
  "$(calc "%.0f" "$head / ($t1 - $t0)")" "$catchup_rss"

# 3. Limit off: the sink unlimited, the fake too. First the ceiling: the HubSpot client writing
# into the fake over loopback, 8 calls in flight, no database (BenchmarkUpsertCeiling).
go test -c -o "$work/hubspot.test" ./adapters/sinks/hubspot
ceiling=$("$work/hubspot.test" -test.run '^$' -test.bench UpsertCeiling -test.benchtime 5s | sed -n 's/.* \([0-9.]*\) contacts\/s.*/\1/p')
ceiling=$(calc "%.0f" "$ceiling")
printf 'ceiling:    client and fake HubSpot alone, no database: %s contacts/s\n' "$ceiling"
fake "$fake_off_addr" -hubspot-token bench-hubspot-token
sink_off=$(create_sink bench-unlimited "$fake_off_addr" 0 0)
calls0=$(fake_stat "$fake_off_addr" calls)
t0=$EPOCHREALTIME
id=$(start_replay "$sink_off")
profile replay-off "${PROFILE_SECS:-30}" # the replay's first 30 s; idle time adds no samples
wait_replay "$id"
wait_profile
t1=$EPOCHREALTIME
off_secs=$(replay_seconds)
off_records=$(json_num records_written <"$work/replay.json")
off_delivered=$(json_num delivered <"$work/replay.json")
off_calls=$(( $(fake_stat "$fake_off_addr" calls) - calls0 ))
off_contacts=$(fake_stat "$fake_off_addr" contacts)
off_leads_s=$(calc "%.0f" "$off_records / $off_secs")
off_calls_s=$(calc "%.0f" "$off_calls / $off_secs")
off_rss=$(peak_rss "$t0" "$t1")
printf 'limit off:  %d events, %d records written (%d contacts in the fake) in %s s: %s leads/s, %s events/s, %d calls (%s calls/s), peak RSS %s MB\n' \
  "$off_delivered" "$off_records" "$off_contacts" "$off_secs" "$off_leads_s" "$(calc "%.0f" "$off_delivered / $off_secs")" \
  "$off_calls" "$off_calls_s" "$off_rss"

# 4. The real limit: a second sink at LIMIT_REQUESTS per LIMIT_SECONDS, into a fake that
# enforces the same over a rolling window (a fresh fake: every contact is created again).
fake "$fake_limit_addr" -hubspot-token bench-hubspot-token -hubspot-rate "$limit_requests" -hubspot-window "${limit_seconds}s"
sink_limit=$(create_sink bench-limited "$fake_limit_addr" "$limit_requests" "$limit_seconds")
calls0=$(fake_stat "$fake_limit_addr" calls)
t0=$EPOCHREALTIME
id=$(start_replay "$sink_limit")
wait_replay "$id"
t1=$EPOCHREALTIME
lim_secs=$(replay_seconds)
lim_records=$(json_num records_written <"$work/replay.json")
lim_calls=$(( $(fake_stat "$fake_limit_addr" calls) - calls0 ))
lim_429=$(fake_stat "$fake_limit_addr" throttled)
lim_needed=$(( (lim_records + 99) / 100 )) # HubSpot takes 100 contacts a batch call
lim_floor=$(calc "%.1f" "$lim_needed * $limit_seconds / $limit_requests")
lim_ratio=$(calc "%.3f" "$lim_secs / $lim_floor")
lim_rss=$(peak_rss "$t0" "$t1")
printf 'real limit: %d records written in %s s with %d calls (%d needed): floor %s s, ratio %s; 429s %d; peak RSS %s MB\n' \
  "$lim_records" "$lim_secs" "$lim_calls" "$lim_needed" "$lim_floor" "$lim_ratio" "$lim_429" "$lim_rss"
# Its live delivery would spend calls during the ingest below: pause it.
curl -sf "${auth[@]}" -X POST "$base/v1/sinks/$sink_limit/pause" >/dev/null

# 5. Ingest alone, then with limit-off replays running back to back the whole time (one
# replay may end before the load does).
"$work/loadgen" -url "$base" -secret bench-secret -c "$senders" -d 3s -leads "$leads" >/dev/null # warm-up
t0=$EPOCHREALTIME
profile ingest-alone "$ingest_secs"
alone=$("$work/loadgen" -url "$base" -secret bench-secret -c "$senders" -d "${ingest_secs}s" -leads "$leads")
t1=$EPOCHREALTIME
wait_profile
alone_rate=$(echo "$alone" | loadgen_rate)
printf 'ingest alone:          %s\n' "$alone"
alone_rss=$(peak_rss "$t0" "$t1")

touch "$work/replaying"
replays() {
  local n=0 id
  while [ -f "$work/replaying" ]; do
    id=$(start_replay "$sink_off")
    echo "$id" >"$work/current-replay"
    while [ -f "$work/replaying" ] && replay_json "$id" | grep -q '"status":"running"'; do sleep 0.2; done
    n=$((n + 1))
  done
  echo "$n" >"$work/replays-done"
}
replays &
replays_pid=$!
pids+=("$replays_pid")
sleep 1 # the replay under way before the load starts
calls0=$(fake_stat "$fake_off_addr" calls)
t0=$EPOCHREALTIME
profile ingest-during "$ingest_secs"
during=$("$work/loadgen" -url "$base" -secret bench-secret -c "$senders" -d "${ingest_secs}s" -leads "$leads")
t1=$EPOCHREALTIME
wait_profile
during_calls_s=$(calc "%.0f" "($(fake_stat "$fake_off_addr" calls) - $calls0) / ($t1 - $t0)")
rm "$work/replaying"
curl -sf "${auth[@]}" -X POST "$base/v1/replays/$(cat "$work/current-replay")/cancel" >/dev/null || true
wait "$replays_pid"
during_rate=$(echo "$during" | loadgen_rate)
during_rss=$(peak_rss "$t0" "$t1")
ingest_ratio=$(calc "%.0f" "100 * $during_rate / $alone_rate")
printf 'ingest during replay:  %s\n' "$during"
printf 'ingest: %s/s alone, %s/s during replays (%s %%); replays meanwhile: %s started, %s CRM calls/s\n' \
  "$alone_rate" "$during_rate" "$ingest_ratio" "$(cat "$work/replays-done")" "$during_calls_s"

hwm=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$server_pid/status")
stop_server

verdict() { awk "BEGIN { print ($1) ? \"yes\" : \"NO\" }"; }
echo
echo "CRM replay benchmark, $db, $events events, $leads leads, $(nproc) cores, load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-40s %-14s %-16s %s\n' measure goal measured met
printf '%-40s %-14s %-16s %s\n' "limit off: leads written/s" ">= 50000" "$off_leads_s" "$(verdict "$off_leads_s >= 50000")"
printf '%-40s %-14s %-16s %s\n' "limit off: batch calls/s" ">= 2000" "$off_calls_s" "$(verdict "$off_calls_s >= 2000")"
printf '%-40s %-14s %-16s %s\n' "limit off: share of the ceiling ($ceiling/s)" "" "$(calc "%.2f" "$off_leads_s / $ceiling")" ""
printf '%-40s %-14s %-16s %s\n' "limit off: seconds" "" "$off_secs" ""
printf '%-40s %-14s %-16s %s\n' "real limit: seconds (floor $lim_floor s)" "<= 1.05 floor" "$lim_secs" "$(verdict "$lim_ratio <= 1.05")"
printf '%-40s %-14s %-16s %s\n' "real limit: 429s from the fake" "0" "$lim_429" "$(verdict "$lim_429 == 0")"
printf '%-40s %-14s %-16s %s\n' "ingest during replays / alone" ">= 90 %" "$ingest_ratio %" "$(verdict "$ingest_ratio >= 90")"
printf '%-40s %-14s %-16s %s\n' "server peak RSS: fill (ingest only)" "<= 300 MB" "$fill_rss MB" "$(verdict "$fill_rss <= 300")"
printf '%-40s %-14s %-16s %s\n' "server peak RSS: lead view catch-up" "<= 300 MB" "$catchup_rss MB" "$(verdict "$catchup_rss <= 300")"
printf '%-40s %-14s %-16s %s\n' "server peak RSS: replay, limit off" "<= 300 MB" "$off_rss MB" "$(verdict "$off_rss <= 300")"
printf '%-40s %-14s %-16s %s\n' "server peak RSS: replay, real limit" "<= 300 MB" "$lim_rss MB" "$(verdict "$lim_rss <= 300")"
printf '%-40s %-14s %-16s %s\n' "server peak RSS: ingest alone / during" "<= 300 MB" "$alone_rss / $during_rss MB" "$(verdict "$alone_rss <= 300 && $during_rss <= 300")"
printf '%-40s %-14s %-16s %s\n' "server peak RSS: whole run (VmHWM)" "<= 300 MB" "$hwm MB" "$(verdict "$hwm <= 300")"
