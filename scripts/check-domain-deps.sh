#!/usr/bin/env bash
# domain/ may import the standard library and google/uuid only: no watermill, database/sql or mux.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./domain/... |
  grep -v -e '^github.com/leadledger/leadledger/domain' -e '^github.com/google/uuid$' || true)
std_bad=$(go list -deps ./domain/... | grep -x -e 'database/sql' -e 'net/http' || true)
if [ -n "$bad$std_bad" ]; then
  echo "domain/ must stay pure, but it imports:"; echo "$bad$std_bad"; exit 1
fi
echo "domain/ is pure"
