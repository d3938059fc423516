#!/usr/bin/env bash
# CI: make sure a headless Chromium is installed, for the browser tests of the HTML report
# (tests/test_report_html_browser.py: render reports, check console errors, figures and
# tables, keep screenshots).  The tests find the browser themselves (PBR_CHROMIUM, then
# chromium, chromium-browser, google-chrome in PATH) and skip with the reason when none
# is installed; this script installs the distribution's package (Debian/Ubuntu: apt-get
# install chromium, or chromium-browser on older Ubuntu; macOS: brew install --cask
# chromium) when none is found.  Nothing is started here.
set -euo pipefail

found() {
    local b
    for b in "${PBR_CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
        if [ -n "$b" ] && command -v "$b" >/dev/null 2>&1; then
            command -v "$b"
            return 0
        fi
    done
    return 1
}

if b="$(found)"; then
    echo "chromium.sh: $b ($("$b" --version 2>/dev/null | head -n 1))"
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq chromium >/dev/null 2>&1 \
        || $sudo apt-get install -y -qq chromium-browser >/dev/null
elif command -v brew >/dev/null 2>&1; then
    brew install --cask chromium
else
    echo "chromium.sh: no Chromium and no apt-get or brew to install it; the browser" \
         "tests of the HTML report will be skipped" >&2
    exit 1
fi
b="$(found)" || { echo "chromium.sh: installed, but no chromium in PATH" >&2; exit 1; }
echo "chromium.sh: $b ($("$b" --version 2>/dev/null | head -n 1))"
