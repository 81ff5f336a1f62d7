#!/usr/bin/env bash
# The outside pairs (issue 16): two implementations of one API nobody here wrote, from the
# package registries, pinned, under .outside/. Node.js and npm come from Debian's packages
# when they are missing and we can install them (root + apt).
set -euo pipefail
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "outside pairs: installing Debian's nodejs and npm (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "outside pairs: no npm and not root: install Node.js and npm, then rerun" >&2
    exit 1
  fi
fi
bash examples/json-server/install.sh
bash examples/httpbin/install.sh
