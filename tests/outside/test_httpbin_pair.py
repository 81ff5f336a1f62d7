"""Every check family against the httpbin outside pair (issue 16): httpbin 0.10.4
(reference) and httpbinx 1.13.1 (candidate), installed from PyPI by
``examples/httpbin/install.sh``.

The differences between the two were found by hand with curl first
(``examples/httpbin/differences.md``, ``differences.toml``). One run of every family
(tests/outside/families.py: ``parity load`` of the catalog's mix, ``parity capture`` and
``parity contracts`` against httpbin, then every family's module in one pytest process)
with the settings of ``examples/httpbin/`` is then asserted on: no traceback; each
hand-found difference a non-pass cell of some family (its own scenarios, or where its
``paths``/``scope``/``shows`` say), or a strict xfail naming why no family sees it; every
other cell passes or is not-applicable with its reason (the known exceptions below are
strict xfails); the probe family's cell of an endpoint without a 2xx scenario (a redirect,
an unknown route) is not-applicable with the reason, and no probe makes httpbin sleep; no
configured secret in any file the run wrote (tests/outside/pair_check.py holds the
assertions both pairs share). httpbin stores nothing,
so the families may run in any order against one pair.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from pathlib import Path

import pytest

from parity.checks.probe_model import AuthSpec, ProbeContext
from parity.checks.probe_values import Coverage, unusual_texts
from parity.checks.probes import plan_probes
from parity.core.catalog import load_catalog
from tests.outside.families import (
    HandFound,
    PairRun,
    Record,
    load_differences,
    pair_env,
    records,
    run_every_family,
)
from tests.outside.httpbin import EXAMPLE_DIR, httpbin_pair, install
from tests.outside.pair_check import PairChecks, shared_pair_run

pytestmark = pytest.mark.timeout(900)

DIFFERENCES = load_differences(
    EXAMPLE_DIR / "differences.toml", EXAMPLE_DIR / "catalog.yaml", any_check=True
)
PROBE_BUDGET = "5,300s"  # 5 probes per endpoint; the seconds only a cap (as the fuzz budget)
#: The budget the probe differences HB-66, HB-68, HB-69 and HB-70 were found at (README,
#: "What the suite finds"; at 5 the probes find HB-65 and HB-67, wrong types being tried
#: first): 25 per endpoint send ~70% more requests (2,811 to httpbin instead of 1,626) and
#: take 107 s for the pair instead of 78-92 s on a quiet machine, so `make test` keeps 5.
FOUND_AT = 25
#: Few examples per endpoint bound the fuzzing (a few seconds); the budget is only the cap,
#: generous so that a loaded machine spends it on no cell ("skipped" would be no verdict).
FUZZ = {"PARITY_FUZZ_BUDGET": "180", "PARITY_FUZZ_EXAMPLES": "5"}

# Test users: made up here, given to the run by environment only (never in a file).
PAIR = ("express", "serverless")
USERS = {"alice": ("alice-hb", "Zq7-alice-pw-4d1b"), "bob": ("bob-hb", "Kp4-bob-pw-93ce")}

#: Hand-found differences no family finds yet, and why.
NOT_FOUND_YET: dict[str, str] = {
    # found by the probes at 25 per endpoint (every one a non-pass probe cell there); the
    # pair's 5 per endpoint keep other varieties
    **{
        d: f"found by the probes at {FOUND_AT} probes per endpoint; PROBE_BUDGET keeps 5"
        for d in ("HB-66", "HB-68", "HB-69", "HB-70")
    },
}

#: Non-pass cells that are no real difference (pattern -> why the suite flags them): none.
#: (Should one appear, list it here: it must then still show, or the check of the other
#: cells fails naming it as stale.)
#: (A generated request that crashes both servers alike, a non-latin-1 ETag or cookie, is
#: information in the Schemathesis cell: it sends each failing request to the other backend
#: too, api_checks/test_fuzz_schemathesis.py.)
KNOWN_FALSE_ALARMS: dict[str, str] = {}

CHECKS = PairChecks(
    DIFFERENCES,
    not_found_yet=NOT_FOUND_YET,
    false_alarms=KNOWN_FALSE_ALARMS,
    # The endpoints without a 2xx scenario: redirects (links, redirect*, cookies/set and
    # delete), the unknown routes (/does-not-exist, /openapi.json, /{route}/), POST /get
    # (405) and digest-auth (401).
    probe_not_applicable=13,
)


def _token(role: str) -> str:
    user, password = USERS[role]
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _settings(express: str, serverless: str) -> dict[str, str]:
    settings = {
        **FUZZ,
        "PARITY_EXPRESS_URL": express,
        "PARITY_SERVERLESS_URL": serverless,
        "PARITY_CONFIG": str(EXAMPLE_DIR / "parity.toml"),
        "PARITY_CATALOG": str(EXAMPLE_DIR / "catalog.yaml"),
        "PARITY_BASELINE": str(EXAMPLE_DIR / "parity-baseline.toml"),
        "PARITY_USERS": ",".join(USERS),
    }
    for role, (user, password) in USERS.items():
        key = role.upper()
        settings[f"PARITY_USER_{key}_USERNAME"] = user
        settings[f"PARITY_USER_{key}_PASSWORD"] = password
        settings[f"PARITY_TOKEN_{key}"] = _token(role)
    return settings


# gunicorn's access log line ("GET /x HTTP/1.1" 200) and uvicorn's (- "GET /x HTTP/1.1" 200)
_ACCESS = re.compile(r'"[A-Z]+ \S+ HTTP/1\.[01]" \d{3}')


def _requests_logged(log_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for log in sorted(log_dir.glob("*.log")):
        name = {"httpbin": "express", "httpbinx": "serverless"}[log.name.split("-", 1)[0]]
        counts[name] = counts.get(name, 0) + len(_ACCESS.findall(log.read_text(errors="replace")))
    return counts


def _run_pair(work: Path) -> PairRun:
    install()
    logs = work / "logs"  # server logs hold the request paths
    logs.mkdir(parents=True)
    written = work / "run"
    with httpbin_pair(logs) as pair:
        before = _requests_logged(logs)
        run = run_every_family(
            pair_env(_settings(pair.express_url, pair.serverless_url), written),
            written,
            probe_budget=PROBE_BUDGET,
        )
        after = _requests_logged(logs)
    run.requests = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    (written / "pytest-output.txt").write_text(run.output)  # scanned for secrets too
    run.extra["written"] = str(written)
    return run


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory: pytest.TempPathFactory) -> PairRun:
    return shared_pair_run(tmp_path_factory, "httpbin", _run_pair)


@pytest.fixture(scope="module")
def recs(pair_run: PairRun) -> list[Record]:
    return records(pair_run.matrix)


def test_every_family_runs_without_a_traceback(pair_run: PairRun, recs: list[Record]) -> None:
    CHECKS.every_family_ran(pair_run, recs)
    assert pair_run.matrix["summary"]["endpoints"] >= 62


@pytest.mark.parametrize("difference", CHECKS.difference_params())
def test_hand_found_difference_is_a_non_pass_cell(
    recs: list[Record], difference: HandFound
) -> None:
    CHECKS.hand_found_is_a_non_pass_cell(recs, difference)


def test_every_other_cell_passes_or_is_not_applicable(recs: list[Record]) -> None:
    CHECKS.every_other_cell_passes_or_is_not_applicable(recs)


def test_probe_endpoints_without_a_success_are_not_applicable(recs: list[Record]) -> None:
    CHECKS.probe_cells_without_a_base_are_not_applicable(recs)


def test_no_probe_makes_httpbin_sleep() -> None:
    # /delay/{delay} sleeps its number of seconds (up to 10): the catalog gives the probes
    # a wrong-typed value that is no number (checks.errors.wrong_type_ids.delay)
    catalog = load_catalog(EXAMPLE_DIR / "catalog.yaml")
    auth = {b: AuthSpec("Authorization", "Basic {token}", "static") for b in PAIR}
    ctx = ProbeContext(PAIR, auth, {}, coverage=Coverage(), texts=unusual_texts(0), seed=0)
    plan = plan_probes(catalog, catalog.get("delay"), ctx, None)
    delays = {str(p.scenario.params["delay"]) for p in plan.probes}
    assert "abc" in delays
    slow = [d for d in delays if re.fullmatch(r"-?[0-9.]+", d) and float(d) > 1]
    assert not slow, slow


def test_the_load_mix_runs_on_both_backends(pair_run: PairRun) -> None:
    CHECKS.load_mix_ran_on_both(pair_run)


def _forms(secret: str) -> set[str]:
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
    }


def test_no_secret_in_any_file_the_run_wrote(pair_run: PairRun) -> None:
    written = Path(pair_run.extra["written"])
    files = [p for p in written.rglob("*") if p.is_file()]
    assert any(p.name == "parity-matrix.json" for p in files)
    secrets = [p for _, p in USERS.values()] + [_token(r) for r in USERS]
    hits = [
        f"{p.relative_to(written)}: {form[:4]}..."
        for p in files
        for secret in secrets
        for form in _forms(secret)
        if form.encode() in p.read_bytes()
    ]
    assert not hits, "secrets written: " + "; ".join(hits)


def test_a_few_requests_per_cell(pair_run: PairRun, recs: list[Record]) -> None:
    assert 0 < pair_run.requests.get("express", 0) <= 20 * len(recs), pair_run.requests
    assert 0 < pair_run.requests.get("serverless", 0) <= 20 * len(recs), pair_run.requests
    # (its wall time is measured, not asserted: printed here, figures in the README)
    print(f"pair run: {pair_run.seconds:.1f} s, requests {pair_run.requests}")
