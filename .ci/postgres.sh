#!/usr/bin/env bash
# CI: make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed, for
# the database tests (tests/db/test_db_postgres.py).  The tests start and stop their own
# throwaway server (tests/db/conftest.py: initdb into a temporary directory, a free port,
# as the postgres user when run as root); nothing is started here.
# Looks in PATH, /usr/local/bin and /usr/lib/postgresql/*/bin; installs the distribution's
# package (Debian/Ubuntu: apt-get install postgresql) when none is found.
set -euo pipefail

found() {
    local d
    for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" \
             /usr/local/bin /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

if dir="$(found)"; then
    echo "postgres.sh: PostgreSQL binaries in $dir ($("$dir/postgres" --version))"
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq postgresql >/dev/null
    # Debian's package starts a cluster of its own; the tests do not use it
    $sudo service postgresql stop >/dev/null 2>&1 || true
elif command -v brew >/dev/null 2>&1; then
    brew install postgresql
else
    echo "postgres.sh: no PostgreSQL and no apt-get or brew to install it; the PostgreSQL" \
         "tests will be skipped" >&2
    exit 1
fi
dir="$(found)" || { echo "postgres.sh: installed, but initdb not found" >&2; exit 1; }
echo "postgres.sh: PostgreSQL binaries in $dir ($("$dir/postgres" --version))"
