#!/usr/bin/env bash
# Chromium for Playwright: Debian's package when we can install it, else Playwright's download.
set -euo pipefail
venv="${1:-.venv}"
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "no /usr/bin/chromium and not root: using Playwright's own browser download"
"$venv/bin/playwright" install chromium
