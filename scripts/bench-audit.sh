#!/usr/bin/env bash
# The audit trail at scale: a log of EVENTS webhooks (default 1,000,000) filled through the
# ingest API, then `leadledger verify` over it (goal: >= 200,000 events/s, memory flat), the
# Merkle tree built over it and its first checkpoint signed, and inclusion and consistency
# proofs against that checkpoint read through the API (p50/p99). Everything runs on loopback
# and stops by itself.
#
#   scripts/bench-audit.sh                       # 1M events, SQLite
#   EVENTS=100000 DB=postgres scripts/bench-audit.sh
#   BASELINE=<git ref> scripts/bench-audit.sh   # fill with that commit's server, then time this
#                                               # one's `migrate` over the log it wrote
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh # wait_ready

events=${EVENTS:-1000000}
db=${DB:-sqlite}
addr=127.0.0.1:18111
base=http://$addr
auth=(-H 'Authorization: Bearer bench-auditor')
work=$(mktemp -d)
schema=""
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "$schema" ]; then psql "$pg" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
case $db in
  sqlite) database="sqlite:$work/ledger.db" ;;
  postgres)
    pg=$(scripts/ensure-postgres.sh)
    schema=bench_audit_$$
    psql "$pg" -qc "CREATE SCHEMA $schema" >/dev/null
    sep='?'; [[ $pg == *\?* ]] && sep='&'
    database="$pg${sep}search_path=$schema"
    ;;
  *) echo "bench-audit: DB must be sqlite or postgres" >&2; exit 2 ;;
esac
go build -o "$work/leadledger" ./cmd/leadledger
filler=$work/leadledger
if [ -n "${BASELINE:-}" ]; then
  git worktree add -q --detach "$work/baseline-src" "$BASELINE"
  (cd "$work/baseline-src" && go build -o "$work/baseline" ./cmd/leadledger)
  git worktree remove --force "$work/baseline-src"
  filler=$work/baseline
fi
go build -o "$work/loadgen" ./scripts/loadgen
go build -o "$work/readbench" ./scripts/readbench
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

cat >"$work/ledger.yaml" <<YAML
listen: $addr
database: "$database"
master_key_file: $work/master.key
log_level: warn
checkpoint_interval: 1s
tokens: [{name: bench, role: auditor, token: bench-auditor}]
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: bench-secret}}
YAML
serve() { # run_projections [binary]: starts the ledger, sets pid
  LEDGER_RUN_PROJECTIONS=$1 "${2:-$work/leadledger}" serve --config "$work/ledger.yaml" 2>>"$work/server.log" &
  pid=$!
  wait_ready "$base"
}

echo "audit trail: $events events, $db, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
serve false "$filler"
"$work/loadgen" -url "$base" -secret bench-secret -c 32 -d 4h -n "$events" -leads $((events / 5)) >"$work/fill.txt"
kill -TERM "$pid"; wait "$pid" || true
echo "fill:        $(cat "$work/fill.txt")"
if [ -n "${BASELINE:-}" ]; then
  /usr/bin/time -f '%e %M' -o "$work/time" "$work/leadledger" migrate --config "$work/ledger.yaml" >/dev/null
  read -r migrate_secs migrate_kb <"$work/time"
  echo "migrate:     the log written by $BASELINE brought up to this schema in $migrate_secs s, peak RSS $((migrate_kb / 1024)) MB"
fi

# verify: GNU time gives the elapsed time and the peak RSS.
/usr/bin/time -f '%e %M' -o "$work/time" "$work/leadledger" verify --config "$work/ledger.yaml" >"$work/verify.txt"
read -r verify_secs verify_kb <"$work/time"
verify_rate=$(calc "%.0f" "$events / $verify_secs")
echo "verify:      $(cat "$work/verify.txt") in $verify_secs s: $verify_rate events/s, peak RSS $((verify_kb / 1024)) MB"

# The tree over the whole log, and its first checkpoint (the lead view catches up meanwhile).
t0=$EPOCHREALTIME
serve true
until curl -sf "${auth[@]}" "$base/v1/checkpoints/latest" | grep -q "\"tree_size\":$events,"; do sleep 0.2; done
tree_secs=$(calc "%.1f" "$EPOCHREALTIME - $t0")
echo "checkpoint:  the tree over $events events built and signed $tree_secs s after start ($(calc "%.0f" "$events / $tree_secs") events/s)"
# Proofs once the lead view has caught up too: what an auditor meets on a server at rest.
until curl -sf "${auth[@]}" "$base/v1/status" | grep -q '"lag":0'; do sleep 0.5; done
"$work/readbench" -url "$base" -token bench-auditor -proofs -sample 2000 -c 8 -d 10s | sed 's/^/proofs:      /'
kill -TERM "$pid"; wait "$pid" || true
awk '/"level":"(ERROR|WARN)"/' "$work/server.log" | head -n 5
echo "verify goal: >= 200000 events/s: $([ "$verify_rate" -ge 200000 ] && echo met || echo NOT met)"
