# The two commands: `make demo` and `make test`. Each sets everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup browser outside demo test test-embedded test-real lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing the suite and its dev extras from PyPI into $(VENV) (a minute or two on a fresh machine)"
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install --progress-bar off -e '.[dev]' | grep -E '^(Collecting|Successfully)' || true
	@$(PY) -c "import parity, pytest, httpx" || { echo "the install failed: run '$(PY) -m pip install -e .[dev]' to see why" >&2; exit 1; }
	touch $(STAMP)

# Debian's chromium where we can install it (root + apt); Playwright's download elsewhere.
browser: $(STAMP)
	@bash scripts/ensure-browser.sh $(VENV)

# The outside pairs (examples/*/install.sh): json-server from npm vs json-server-py, httpbin
# vs httpbinx from PyPI, each in its own environment under .outside/, pinned.
outside:
	@bash scripts/ensure-outside-pairs.sh

setup: $(STAMP) browser outside

demo: setup
	$(VENV)/bin/parity demo

# Bytecode caching on, whatever the shell says: the suite's own tests start ~80 pytest
# subprocesses, and without cached bytecode (and pytest's cached assert rewrites) each one
# compiles every module again (8 s instead of 4 s to collect the checks).
unexport PYTHONDONTWRITEBYTECODE

# Embedded defaults first (SQLite, fakeredis): the suite's own tests, whose whole-demo test
# (tests/hardening/test_secrets.py) runs every QA check (api_checks, contracts, e2e) on both
# backends exactly as `make demo` does and must pass. Then the QA checks again, fuzzing
# included, against the machine's real PostgreSQL and Redis.
test: setup
	$(MAKE) --no-print-directory test-embedded
	$(MAKE) --no-print-directory test-real

# One worker per core: the suite is CPU-bound (a third worker on 2 cores measured slower).
# worksteal: the longest tests go first (tests/conftest.py), and xdist's default split hands
# them all to the first worker; an idle worker steals from the busy one instead.
WORKERS ?= 2

test-embedded:
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -n $(WORKERS) --dist worksteal tests $(PYTEST_ARGS)

test-real:
	@bash scripts/ensure-services.sh
	set -a; . reports/services.env; set +a; \
	  $(PY) -m pytest -n 2 --dist worksteal tests/sandbox api_checks contracts -m "not e2e" \
	    --junitxml=reports/junit-real.xml $(PYTEST_ARGS)

# Engine benchmarks (docs/bench.md): ratios against baselines of the same run, reports/bench.json.
# BENCH_ARGS=--suite also times the smoke, contract and parity checks; "--suite --make-test" make test.
BENCH_ARGS ?=
bench: setup
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf reports .pytest_cache .mypy_cache .ruff_cache
