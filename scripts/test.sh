#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, staticcheck, the domain's purity, and
# every Go test with the race detector against a real PostgreSQL and real SQLite files.
set -euo pipefail
cd "$(dirname "$0")/.."

LEDGER_TEST_POSTGRES=$(scripts/ensure-postgres.sh)
export LEDGER_TEST_POSTGRES

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "not gofmt-formatted:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
go tool staticcheck ./...

echo "== domain imports only the standard library and google/uuid"
scripts/check-domain-deps.sh

source scripts/bench-lib.sh # need COMMAND PACKAGE: installs a Debian package when missing

echo "== docker-compose config (there is no Docker engine to run it: the file is validated)"
need docker-compose docker-compose
docker-compose config -q

echo "== nats-server (the NATS sink's tests start their own, with JetStream)"
need nats-server nats-server

echo "== chromium (the web UI's tests drive it headless)"
need chromium chromium

echo "== prlimit (the disk-full test lowers a running server's file size limit with it)"
need prlimit util-linux

echo "== npm ci scripts/swverify (the Standard Webhooks reference library, to check sink signatures)"
command -v npm >/dev/null || { echo "FAILED: npm is missing (Debian: apt-get install nodejs npm)"; exit 1; }
npm ci --prefix scripts/swverify --no-audit --no-fund --loglevel=error

echo "== fuzz: every target for ${FUZZTIME:=5s} (a longer run: FUZZTIME=5m scripts/test.sh)"
# fuzz PKG NAME: one target's run. Go 1.26's fuzzer can end a run that found nothing with a bare
# "context deadline exceeded" when its time is up while a worker is busy (go.dev/issue/75804,
# fixed in Go 1.27): such a run is tried once more. A real failure writes its input to
# testdata/fuzz and says so, and is never retried.
fuzz() {
  local out
  out=$(go test "./$1" -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" 2>&1) ||
    if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
      echo "$2: the fuzzer's deadline race (go.dev/issue/75804), no failing input; once more" >&2
      out=$(go test "./$1" -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" 2>&1)
    else
      false
    fi || { echo "$out"; echo "FAILED: fuzz $2"; return 1; }
  echo "$2: $(grep -o 'execs: [0-9]*' <<<"$out" | tail -1)"
}
for target in adapters/vendors:FuzzConversica adapters/vendors:FuzzWhatConverts adapters/vendors:FuzzLeadFlo \
  adapters/vendors:FuzzSensei adapters/vendors:FuzzPlainString adapters/standardwebhooks:FuzzVerify \
  adapters/config:FuzzLoad eventstore:FuzzDecodeData projections:FuzzEncodeLead; do
  fuzz "${target%%:*}" "${target##*:}" || exit 1
done

echo "== go test -race"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -race -count=1 -timeout 15m -v ./... >"$log" 2>&1 || status=$?
# Package results, and every failure with its output; the whole log only when something failed.
grep -E '^(ok|FAIL|---|panic:)|^\s+--- FAIL' "$log" | grep -v -- '--- PASS' || true
[ "$status" = 0 ] || { echo "== full go test output"; cat "$log"; }
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
echo "tests: $passed passed, $failed failed"
exit "$status"
