#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl) exist for the tests'
# throwaway cluster (tests/servers.py). Idempotent: does nothing when they are there.
set -euo pipefail

have_initdb() {
    local d
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        echo "postgres.sh: initdb found in PATH: $(command -v initdb)"
        return 0
    fi
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "postgres.sh: initdb found in $d"
            return 0
        fi
    done
    return 1
}

if have_initdb; then
    exit 0
fi

echo "postgres.sh: PostgreSQL server binaries not found; installing the Debian package 'postgresql'"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "postgres.sh: ERROR: no apt-get here; install the PostgreSQL server (initdb, pg_ctl) yourself" >&2
    exit 1
fi
# `env` carries DEBIAN_FRONTEND through sudo, and keeps the array non-empty for `set -u`.
APT=(env DEBIAN_FRONTEND=noninteractive apt-get)
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "postgres.sh: ERROR: need root (or sudo) to run apt-get install postgresql" >&2
        exit 1
    fi
    APT=(sudo -n "${APT[@]}")
fi
if ! { "${APT[@]}" update -qq && "${APT[@]}" install -y -qq postgresql; }; then
    echo "postgres.sh: ERROR: 'apt-get update && apt-get install -y postgresql' failed (no package index access?)" >&2
    exit 1
fi
if ! have_initdb; then
    echo "postgres.sh: ERROR: installed 'postgresql' but still no initdb/pg_ctl in PATH or /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
