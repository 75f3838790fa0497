#!/usr/bin/env bash
# Makes sure the test PostgreSQL answers, starting or installing one when it does not, and
# prints the URL to use. It fails loudly, naming what is missing, rather than let tests skip.
#   LEDGER_TEST_POSTGRES  the URL to check (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
set -euo pipefail

url=${LEDGER_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
say() { echo "ensure-postgres: $*" >&2; }

answers() { command -v psql >/dev/null && psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

if answers "$url"; then echo "$url"; exit 0; fi

# A server may be installed but stopped (Debian's clusters), or missing altogether.
if ! command -v pg_ctlcluster >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "PostgreSQL is not installed: installing Debian's postgresql package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
  else
    say "FAILED: no PostgreSQL server and no way to install one (need root and apt-get)."
    say "Install PostgreSQL >= 13, or set LEDGER_TEST_POSTGRES to a reachable database."
    exit 1
  fi
fi

for version in $(ls /etc/postgresql 2>/dev/null); do
  say "starting PostgreSQL cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 2>&1 || true
done
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done

if ! answers "$url" && [ -z "${LEDGER_TEST_POSTGRES:-}" ] && [ "$(id -u)" = 0 ]; then
  # A fresh Debian install wants a password over TCP and has no "test" database: give the
  # postgres user a known password and create the database.
  say "configuring the fresh cluster: password for user postgres, database test"
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
  su postgres -c "createdb test" >&2 2>&1 || true
  url=postgres://postgres:postgres@127.0.0.1:5432/test?sslmode=disable
fi

if answers "$url"; then echo "$url"; exit 0; fi
say "FAILED: PostgreSQL does not answer at ${url%%\?*} (psql: $(command -v psql || echo missing))."
exit 1
