#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of every read of the log on a PostgreSQL log of N events, with and
# without table statistics: the pages each touches and its plan. The same test runs in the
# suite on 100,000 events; the pages of a poll or a page must not grow with the log.
#   scripts/explain-reads.sh [events]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
LEDGER_TEST_POSTGRES=$(scripts/ensure-postgres.sh)
export LEDGER_TEST_POSTGRES LEDGER_PLAN_EVENTS=${1:-1000000}
go test -count=1 -timeout 30m -run 'TestReadQueriesWalkIndexes$' -v ./eventstore/ |
  sed -n 's/^ *plans_test.go:[0-9]*: //p'
