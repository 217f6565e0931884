#!/usr/bin/env bash
# Make sure Debian's chromium is at /usr/bin/chromium for the report's browser test
# (tests/test_report_browser.py drives it through Playwright, which cannot download its
# own browser here). Idempotent: does nothing when it is there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

have_chromium() {
    if [ -x "$CHROMIUM" ]; then
        echo "chromium.sh: found $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
        return 0
    fi
    return 1
}

if have_chromium; then
    exit 0
fi

echo "chromium.sh: $CHROMIUM not found; installing the Debian package 'chromium'"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: ERROR: no apt-get here; install chromium yourself so that $CHROMIUM exists" >&2
    exit 1
fi
# `env` carries DEBIAN_FRONTEND through sudo, and keeps the array non-empty for `set -u`.
APT=(env DEBIAN_FRONTEND=noninteractive apt-get)
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "chromium.sh: ERROR: need root (or sudo) to run apt-get install chromium" >&2
        exit 1
    fi
    APT=(sudo -n "${APT[@]}")
fi
if ! { "${APT[@]}" update -qq && "${APT[@]}" install -y -qq chromium; }; then
    echo "chromium.sh: ERROR: 'apt-get update && apt-get install -y chromium' failed (no package index access?)" >&2
    exit 1
fi
if ! have_chromium; then
    echo "chromium.sh: ERROR: installed 'chromium' but $CHROMIUM is still missing" >&2
    exit 1
fi
