#!/usr/bin/env bash
# Installs the json-server outside pair from the package registries, pinned:
#   reference  json-server 0.17.4 (npm, Express)  -> .outside/json-server/node_modules
#   candidate  json-server-py 0.1.11 (PyPI, aiohttp) -> .outside/json-server-py/venv
# Idempotent: a stamp (hash of the pin files) skips a step that is already done, so a
# second run takes well under a second. PARITY_OUTSIDE_DIR moves .outside elsewhere.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${PARITY_OUTSIDE_DIR:-$root/.outside}"
ref="$out/json-server"
cand="$out/json-server-py"
python="${PYTHON:-python3}"

say() { echo "json-server pair: $*"; }
stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Reference: npm ci from the committed lock (no "resolved" URLs in it: the configured
# registry serves every package), into a prefix of its own.
want="$(stamp "$here/package.json" "$here/package-lock.json")"
if [[ -x "$ref/node_modules/.bin/json-server" && "$(cat "$ref/.installed" 2>/dev/null)" == "$want" ]]; then
  say "json-server 0.17.4 already installed in $ref"
else
  if ! command -v npm >/dev/null; then
    echo "install.sh: npm not found; install Node.js 18+ with npm (Debian: apt-get install nodejs npm)" >&2
    exit 2
  fi
  say "npm ci json-server@0.17.4 into $ref (about 10 s) ..."
  mkdir -p "$ref"
  cp "$here/package.json" "$here/package-lock.json" "$ref/"
  npm ci --prefix "$ref" --no-audit --no-fund --loglevel=error >/dev/null
  version="$(node -p "require('$ref/node_modules/json-server/package.json').version")"
  if [[ "$version" != "0.17.4" ]]; then
    echo "install.sh: npm installed json-server $version, expected 0.17.4" >&2
    exit 1
  fi
  echo "$want" >"$ref/.installed"
  say "json-server $version installed"
fi

# Candidate: its own venv, so aiohttp and friends never mix with the suite's .venv.
want="$(stamp "$here/requirements-candidate.txt")"
if [[ -x "$cand/venv/bin/json-server" && "$(cat "$cand/.installed" 2>/dev/null)" == "$want" ]]; then
  say "json-server-py 0.1.11 already installed in $cand/venv"
else
  if [[ ! -x "$cand/venv/bin/python" ]]; then
    say "creating the venv $cand/venv ..."
    mkdir -p "$cand"
    "$python" -m venv "$cand/venv"
  fi
  say "pip install json-server-py==0.1.11 into $cand/venv (about 15 s) ..."
  "$cand/venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$here/requirements-candidate.txt"
  "$cand/venv/bin/python" -c "from importlib.metadata import version; v = version('json-server-py'); assert v == '0.1.11', v"
  echo "$want" >"$cand/.installed"
  say "json-server-py 0.1.11 installed"
fi
say "ready"
