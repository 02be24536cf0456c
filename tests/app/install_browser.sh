#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the browser end-to-end test (tests/app/test_browser.py).
#
# Used by CI on a fresh machine (running as root) and by the test itself when /usr/bin/chromium is missing.
# It never runs `playwright install`: Playwright's own browser downloads are not used by this project.
# Exit status: 0 when /usr/bin/chromium is there afterwards, non-zero (with one line on stderr) otherwise.
set -euo pipefail

CHROMIUM="${EQDISCO_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "chromium already installed: $CHROMIUM"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_browser.sh: $CHROMIUM is missing and installing it needs root (apt-get install -y chromium)" >&2
    exit 2
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: $CHROMIUM is missing and apt-get is not available on this system" >&2
    exit 3
fi

export DEBIAN_FRONTEND=noninteractive
# Wait (up to 5 minutes) for another apt/dpkg run to release its lock instead of failing at once.
APT_OPTS=(-o DPkg::Lock::Timeout=300)
apt-get "${APT_OPTS[@]}" update
apt-get "${APT_OPTS[@]}" install -y --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser.sh: apt-get finished but $CHROMIUM is still missing" >&2
    exit 4
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
