#!/usr/bin/env bash
# The fault drills of issue 13 against a real build: kill -9, SIGTERM, PostgreSQL stopped, a sink
# receiver down, a full disk, failover of a sink between two processes. One line per drill with
# how many webhooks were acknowledged, how many of those are in the log afterwards, and how many
# were lost; exit status 1 if any drill lost one or failed another check (scripts/chaos). About
# 3 minutes on 2 cores; every drill has its own deadline. Loopback only.
#   Each drill on PostgreSQL gets a database of its own on the shared server (ensure-postgres.sh),
#   dropped at the end; pg-stop starts and stops a private cluster in a temporary directory
#   instead (as the postgres user when run as root), never the shared one.
#   scripts/chaos.sh                       every drill
#   scripts/chaos.sh -only kill-9,pg-stop  some of them
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
need prlimit util-linux
need psql postgresql-client
pg=$(scripts/ensure-postgres.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/leadledger" ./cmd/leadledger
go build -o "$work/receiver" ./scripts/receiver
go build -o "$work/chaos" ./scripts/chaos
"$work/chaos" -bin "$work/leadledger" -receiver "$work/receiver" -pg "$pg" "$@"
