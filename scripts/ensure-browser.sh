#!/usr/bin/env bash
# Chromium for Playwright: Debian's package when we can install it (root + apt), else
# Playwright's download. Debian's ffmpeg too, for the e2e videos of failed flows (optional:
# without it the flows run with video off; e2e/conftest.py wires it into Playwright).
set -euo pipefail
venv="${1:-.venv}"
have_chromium() { [ -x /usr/bin/chromium ]; }
have_ffmpeg() { command -v ffmpeg >/dev/null; }
if have_chromium && have_ffmpeg; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  if ! have_chromium; then
    echo "installing Debian's chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if ! have_ffmpeg; then
    echo "installing Debian's ffmpeg (apt-get), for videos of failed e2e flows"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg \
      >/dev/null || echo "warning: no ffmpeg; e2e videos will be off" >&2
  fi
  exit 0
fi
if ! have_chromium; then
  echo "no /usr/bin/chromium and not root: using Playwright's own browser download"
  "$venv/bin/playwright" install chromium
fi
if ! have_ffmpeg; then
  "$venv/bin/playwright" install ffmpeg || echo "warning: no ffmpeg; e2e videos will be off" >&2
fi
