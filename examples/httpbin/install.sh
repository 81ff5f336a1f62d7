#!/usr/bin/env bash
# Install the httpbin pair from PyPI, pinned, each server in a venv of its own:
#   .outside/httpbin/venv   httpbin 0.10.4 (Flask) + gunicorn   (the reference)
#   .outside/httpbinx/venv  httpbinx 1.13.1 (FastAPI) + uvicorn (the candidate)
# so that neither's dependencies mix with the other's or with the suite's .venv.
#
# Idempotent: a venv whose stamp matches its requirements file is left alone (well under a
# second when both are installed). Only the package registry is contacted.
#
#   examples/httpbin/install.sh             install what is missing
#   PYTHON=python3.12 examples/httpbin/install.sh
#   PARITY_OUTSIDE_DIR=/somewhere examples/httpbin/install.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
outside="${PARITY_OUTSIDE_DIR:-$root/.outside}"
python="${PYTHON:-python3}"

say() { printf 'httpbin-pair: %s\n' "$*"; }

command -v "$python" >/dev/null || { say "no $python on PATH (set PYTHON=...)"; exit 2; }

install_one() {  # name requirements-file
    local name="$1" reqs="$2"
    local venv="$outside/$name/venv" stamp="$outside/$name/venv/.installed"
    # The stamp is the requirements file's hash plus the interpreter's version: a changed
    # pin or another Python rebuilds the venv, anything else is a no-op.
    local want
    want="$(sha256sum "$reqs" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        say "$name: already installed in ${venv#"$root"/}"
        return
    fi
    say "$name: creating venv ${venv#"$root"/}"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    say "$name: installing $(grep -m2 -E '^[A-Za-z]' "$reqs" | tr '\n' ' ')(and pinned dependencies)"
    # --no-deps: the requirements file is the complete lock; pip check proves it is.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        -r "$reqs" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    "$venv/bin/python" -m pip check --disable-pip-version-check >/dev/null \
        || { say "$name: pip check failed (the lock in ${reqs#"$root"/} is incomplete)"; exit 1; }
    printf '%s' "$want" >"$stamp"
    say "$name: installed"
}

# One install at a time: two test workers (pytest -n 2) may both start the pair on a
# fresh machine, and the second must wait for the first instead of rebuilding its venv.
mkdir -p "$outside"
exec 9>"$outside/.httpbin-install.lock"
flock 9

install_one httpbin "$here/requirements-httpbin.txt"
install_one httpbinx "$here/requirements-httpbinx.txt"
say "ready: $outside/httpbin/venv/bin/gunicorn, $outside/httpbinx/venv/bin/uvicorn"
