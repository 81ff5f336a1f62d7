"""The json-server outside pair through the suite's differential checks (issue 16).

json-server 0.17.4 (reference) and json-server-py 0.1.11 (candidate) are installed from the
registries by ``examples/json-server/install.sh`` (idempotent, run here), started on
loopback on fresh seed copies, and ``api_checks/test_parity.py`` runs against them as a
subprocess with the settings under ``examples/json-server/``. Then:

- the run shows no traceback and writes its matrix;
- each hand-found difference of ``differences.toml`` is a drift or missing record on the
  catalog scenario and check it names (those the suite cannot see yet are strict xfails
  with the reason: a to-do list, not a hidden gap);
- every non-pass record that no hand-found difference explains is a false alarm: printed,
  and each known one is a strict xfail too, so a new one fails;
- the run leaves both databases as the seed: every scenario undoes what it does, so the
  scenarios may run in any order (two shuffled runs gave the same records).

Only the differential family: the others still assume the MOC API (issue 16).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.outside.json_server import (
    EXAMPLE_DIR,
    INSTALL_SCRIPT,
    ROOT,
    SEED,
    install,
    json_server_pair,
)

SPEC = tomllib.loads((EXAMPLE_DIR / "differences.toml").read_text())
DIFFERENCES: list[dict[str, Any]] = SPEC["difference"]
FOUND = frozenset({"drift", "missing"})
RUN_TIMEOUT = 600

#: Hand-found differences the differential check does not find yet, and why.
NOT_FOUND_YET = {
    "JS-03": "by design the headers check leaves CORS headers out when the request carries "
    "no Origin (parity/normalize.relevant_headers): Access-Control-Allow-Origin: * on the "
    "candidate's plain answers is never compared",
    "JS-06": "X-Powered-By, X-Content-Type-Options, ETag and Server are not in "
    "COMPARED_HEADERS (parity/normalize.py): a dropped nosniff goes unseen",
    "JS-07": "Content-Encoding is not compared and httpx decodes gzip transparently: the "
    "reference's compression is invisible",
    "JS-15": "X-Total-Count and Link are not in COMPARED_HEADERS and the catalog cannot "
    "name more (the `lists:` total is a JSON path only): the missing paging headers show "
    "only through Access-Control-Expose-Headers (JS-16)",
    "JS-25": "Location is not in COMPARED_HEADERS: the missing Location of a 201 is unseen",
    "JS-27": "ids of created items are declared noise (`ignore: [id]`, they are per backend "
    "by nature) and both are numbers: the reference reusing a deleted id is one more value "
    "at an ignored path",
    "JS-29": "ids of created items are declared noise and both are strings: the suite "
    "compares type, not format (7-character nanoid vs UUID4)",
    "JS-47": "no catalog method can send TRACE (GET POST PUT PATCH DELETE HEAD OPTIONS)",
}

#: Non-pass records that are no real difference, with why the suite flags them.
KNOWN_FALSE_ALARMS = {
    ("HEAD /posts/{id}", "envelope", "existing"): "both HEAD answers have an empty body, "
    "but the reference's (Content-Type application/json) is rendered as "
    "'<binary application/json..., 0 bytes, sha256 ...>' and the candidate's (text/plain) "
    "as '' (parity/runner._body_text), so the two empty bodies differ",
    ("HEAD /posts/{id}", "envelope", "unknown-id"): "the same: two empty HEAD bodies rendered "
    "differently by content type",
}


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    output: str
    matrix: dict[str, Any]
    seconds: float
    requests: dict[str, int]  # per backend, counted in the servers' access logs
    left: dict[str, list[str]]  # per backend: collections not as the seed after the run


def _logged_requests(log: Path, pattern: str) -> int:
    regex = re.compile(pattern)
    return sum(1 for line in log.read_text(errors="replace").splitlines() if regex.search(line))


def _changed_collections(db: Path) -> list[str]:
    seed, now = json.loads(SEED.read_text()), json.loads(db.read_text())
    return sorted(k for k in seed.keys() | now.keys() if seed.get(k) != now.get(k))


def _run_suite(work: Path) -> SuiteRun:
    if shutil.which("npm") is None or shutil.which("node") is None:
        # never a skip: a missing pair would read as a pair without differences
        pytest.fail(
            f"Node.js and npm are needed to install json-server ({INSTALL_SCRIPT.name}): "
            "`make setup` installs them (scripts/ensure-outside-pairs.sh)",
            pytrace=False,
        )
    install(quiet=True)  # idempotent: well under a second once installed
    reports = work / "reports"
    reports.mkdir(parents=True)
    with json_server_pair(workdir=work / "pair") as pair:
        # Only the pair's settings: no PARITY_* of the caller's shell leaks into the run.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
        env.update(
            pair.env(),
            PARITY_CONFIG=str(EXAMPLE_DIR / "parity.toml"),
            PARITY_CATALOG=str(EXAMPLE_DIR / "catalog.yaml"),
            PARITY_BASELINE=str(EXAMPLE_DIR / "parity-baseline.toml"),
            PARITY_REPORTS_DIR=str(reports),
            PARITY_CASSETTES=str(work / "cassettes"),
            PARITY_CONTRACTS_DIR=str(work / "contracts"),
        )
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "api_checks/test_parity.py",
                "-p",
                "no:cacheprovider",
                "-q",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - started
        time.sleep(1.5)  # json-server-py writes its file 1 s after the last change
        requests = {
            # morgan's "GET /posts 200 ..." and aiohttp's access log; minus the launcher's probe
            "express": _logged_requests(
                pair.express_log, r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /"
            )
            - 1,
            "serverless": _logged_requests(pair.serverless_log, r"aiohttp\.access") - 1,
        }
        left = {
            "express": _changed_collections(pair.express_db),
            "serverless": _changed_collections(pair.serverless_db),
        }
    matrix_file = reports / "parity-matrix.json"
    matrix = json.loads(matrix_file.read_text()) if matrix_file.exists() else {}
    return SuiteRun(done.returncode, done.stdout + done.stderr, matrix, seconds, requests, left)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """One suite run per test session, shared by pytest-xdist workers through a file
    under the session's common temp root (the first worker runs it, the others read it)."""
    # Under xdist each worker's basetemp is a child of the session's; alone, it is the
    # session's own (its parent holds earlier sessions).
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    result = shared / "json-server-pair-run.json"
    with _locked(shared / "json-server-pair-run.lock"):
        if result.exists():
            return SuiteRun(**json.loads(result.read_text()))
        run = _run_suite(tmp_path_factory.mktemp("json-server-pair"))
        result.write_text(json.dumps(run.__dict__))
    summary = run.matrix.get("summary", {})
    print(
        f"\njson-server pair: suite run {run.seconds:.1f} s, requests {run.requests}, "
        f"{summary.get('cells')} cells {summary.get('states')}"
    )
    return run


# --- reading the matrix ----------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    endpoint: str
    check: str
    scenario: str
    state: str
    summary: str
    #: Every difference path when the cell kept this record's evidence (its worst one),
    #: else None: then only the (at most three) paths of the summary are known.
    all_paths: tuple[str, ...] | None = None

    @property
    def paths(self) -> list[str]:
        return list(self.all_paths) if self.all_paths is not None else _paths(self.summary)


def _records(matrix: dict[str, Any]) -> list[Record]:
    records = []
    for cell in matrix.get("cells", []):
        for r in cell.get("records", []):
            scenario = r.get("scenario") or ""
            kept = None
            if scenario == cell.get("scenario") and r["state"] == cell["state"]:
                diffs = (cell.get("evidence") or {}).get("differences") or []
                kept = tuple(d["path"] for d in diffs) or None
            records.append(
                Record(cell["endpoint"], cell["check"], scenario, r["state"], r["summary"], kept)
            )
    return records


def _endpoint_keys() -> dict[str, str]:
    """Catalog endpoint id -> ``METHOD /route``."""
    from parity.catalog import load_catalog

    catalog = load_catalog(EXAMPLE_DIR / "catalog.yaml")
    return {e.id: e.key for e in catalog.endpoints}


ENDPOINTS = _endpoint_keys()


def _where(difference: dict[str, Any]) -> tuple[str, str]:
    """The endpoint key and scenario name a difference's ``scenario`` names."""
    endpoint_id, _, scenario = difference["scenario"].rpartition("/")
    return ENDPOINTS[endpoint_id], scenario


_SHOWN = re.compile(r"^\d+ difference\(s\): (?P<list>.*?)(?: \(\+(?P<more>\d+) more\))?$")


def _paths(summary: str) -> list[str]:
    """The difference paths a record's one-line summary names (at most three are shown)."""
    m = _SHOWN.match(summary)
    if not m:
        return []
    # "; " also occurs inside values (text/plain; charset=utf-8): split only before the
    # next "<path>: <kind> ".
    items = re.split(r"; (?=\S+: [a-z-]+ )", m.group("list"))
    return [item.split(": ", 1)[0] for item in items]


def _matches(path: str, patterns: list[str]) -> bool:
    # "x*" matches by prefix ("*" anything, "[*" a list item), anything else exactly.
    return any(path.startswith(p[:-1]) if p.endswith("*") else path == p for p in patterns)


def _explained(record: Record) -> bool:
    """Whether a hand-found difference accounts for this non-pass record: it names the
    record's scenario and check, or every path the record shows is one of the ``paths``
    of a difference on the same scenario or whose ``scope`` covers the endpoint."""
    claims = []
    for d in DIFFERENCES:
        if "scenario" not in d:
            continue
        endpoint, scenario = _where(d)
        same_scenario = (endpoint, scenario) == (record.endpoint, record.scenario)
        if same_scenario and d["check"] == record.check:
            return True
        scope = d.get("scope", [])
        if same_scenario or "*" in scope or record.endpoint in scope:
            claims.append(d.get("paths", []))
    paths = record.paths
    return bool(paths) and all(any(_matches(p, c) for c in claims) for p in paths)


def _false_alarms(matrix: dict[str, Any]) -> list[Record]:
    return [r for r in _records(matrix) if r.state != "pass" and not _explained(r)]


# --- the tests -------------------------------------------------------------------------


def test_runs_without_traceback(suite_run: SuiteRun) -> None:
    assert "Traceback" not in suite_run.output, suite_run.output[-4000:]
    assert "INTERNALERROR" not in suite_run.output, suite_run.output[-4000:]
    # 1: checks failed, which they must (the pair differs); anything else is a crash.
    assert suite_run.returncode == 1, suite_run.output[-4000:]
    assert suite_run.matrix.get("cells"), "no parity-matrix.json written"
    states = suite_run.matrix["summary"]["states"]
    assert states.get("error", 0) == 0, [
        r for r in _records(suite_run.matrix) if r.state == "error"
    ]


def _difference_params() -> list[Any]:
    params = []
    for d in DIFFERENCES:
        reason = NOT_FOUND_YET.get(d["id"])
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(d, id=d["id"], marks=marks))
    return params


@pytest.mark.parametrize("difference", _difference_params())
def test_hand_found_difference_is_found(suite_run: SuiteRun, difference: dict[str, Any]) -> None:
    assert "scenario" in difference, f"{difference['id']}: no catalog scenario reaches it"
    endpoint, scenario = _where(difference)
    records = [
        r
        for r in _records(suite_run.matrix)
        if (r.endpoint, r.check, r.scenario) == (endpoint, difference["check"], scenario)
    ]
    assert records, f"no {difference['check']} record for {endpoint} [{scenario}]"
    record = records[0]
    what = f"{difference['id']} ({difference['summary']}): {endpoint} [{scenario}]"
    assert record.state in FOUND, f"{what} {difference['check']} is {record.state}"
    # Drift for this reason, not only another one on the same record (cache-control).
    wanted = difference.get("paths")
    if wanted:
        assert any(_matches(p, wanted) for p in record.paths), (
            f"{what}: {difference['check']} shows {record.summary}, none of {wanted}"
        )


def test_no_new_false_alarm(suite_run: SuiteRun) -> None:
    alarms = _false_alarms(suite_run.matrix)
    for r in alarms:
        print(f"false alarm: {r.endpoint} {r.check} [{r.scenario}] {r.state}: {r.summary}")
    new = [r for r in alarms if (r.endpoint, r.check, r.scenario) not in KNOWN_FALSE_ALARMS]
    assert not new, "non-pass records no hand-found difference explains:\n" + "\n".join(
        f"{r.endpoint} {r.check} [{r.scenario}] {r.state}: {r.summary}" for r in new
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(key, id=" ".join(key), marks=pytest.mark.xfail(strict=True, reason=why))
        for key, why in KNOWN_FALSE_ALARMS.items()
    ],
)
def test_known_false_alarm_is_gone(suite_run: SuiteRun, key: tuple[str, str, str]) -> None:
    flagged = {(r.endpoint, r.check, r.scenario) for r in _false_alarms(suite_run.matrix)}
    assert key not in flagged


def test_run_leaves_the_seed(suite_run: SuiteRun) -> None:
    # Every scenario undoes its writes, so both databases end as they began.
    assert suite_run.left == {"express": [], "serverless": []}


def test_cost(suite_run: SuiteRun) -> None:
    # The suite should not be the bottleneck: a few requests per scenario, seconds in all.
    scenarios = sum(1 for r in _records(suite_run.matrix) if r.check == "status")
    assert 0 < suite_run.requests["express"] <= 10 * scenarios, suite_run.requests
    assert 0 < suite_run.requests["serverless"] <= 10 * scenarios, suite_run.requests
    assert suite_run.seconds < 120, suite_run.seconds
