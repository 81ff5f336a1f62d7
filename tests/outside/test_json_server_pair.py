"""Every check family against the json-server outside pair (issue 16).

json-server 0.17.4 (reference) and json-server-py 0.1.11 (candidate) are installed from the
registries by ``examples/json-server/install.sh`` (idempotent, run here), started on
loopback on fresh seed copies, and every family runs against them once per session with
the settings under ``examples/json-server/`` (tests/outside/families.py): ``parity load``
(the catalog's mix, two seconds), ``parity capture`` and ``parity contracts`` against the
reference, then one pytest run of every family's module, the fuzzing and the probes last.
The candidate applies any method to any path (a PUT or DELETE of a collection replaces or
removes it), which the probes and the generated writes do: it is put back to the seed over
HTTP before each of their tests (tests/outside/pair_reset.py). Then:

- no command shows a traceback, and every family left cells in the matrix;
- each hand-found difference of ``differences.toml`` is a non-pass cell of some family
  (its own scenario showing one of its paths, or where its ``shows`` patterns say);
  those no family can see yet are strict xfails with the reason;
- every other cell passes or is not-applicable with its reason: a non-pass cell no
  difference explains fails the test, except the known ones below (strict xfails, so that
  a fixed one is noticed);
- the families that undo what they write leave both databases as the seed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from parity.families import families
from tests.outside.families import (
    NOT_PASS,
    UNDOING_NOTHING,
    HandFound,
    PairRun,
    Pattern,
    Record,
    access_lines,
    explained_by,
    families_finding,
    load_differences,
    locked,
    pair_env,
    records,
    run_every_family,
    shared_dir,
)
from tests.outside.json_server import (
    EXAMPLE_DIR,
    INSTALL_SCRIPT,
    SEED,
    install,
    json_server_pair,
)

pytestmark = pytest.mark.timeout(900)

DIFFERENCES = load_differences(
    EXAMPLE_DIR / "differences.toml", EXAMPLE_DIR / "catalog.yaml", any_check=False
)
PROBE_BUDGET = "5,300s"  # 5 probes per endpoint; the seconds only a cap (as the fuzz budget)
#: Few examples per endpoint bound the fuzzing (a few seconds); the budget is only the cap,
#: generous so that a loaded machine spends it on no cell ("skipped" would be no verdict).
FUZZ = {"PARITY_FUZZ_BUDGET": "60", "PARITY_FUZZ_EXAMPLES": "5"}

#: Hand-found differences no family finds yet, and why.
NOT_FOUND_YET = {
    "JS-03": "by design the headers check leaves CORS headers out when the request carries "
    "no Origin (parity/normalize.relevant_headers), and the CORS family always sends one: "
    "Access-Control-Allow-Origin: * on the candidate's plain answers is never compared",
    "JS-27": "ids of created items are declared noise (`ignore: [id]`, they are per backend "
    "by nature) and both are numbers: the reference reusing a deleted id is one more value "
    "at an ignored path",
    "JS-29": "ids of created items are declared noise and both are strings: the suite "
    "compares type, not format, at an ignored path (7-character nanoid vs UUID4)",
    "JS-47": "no catalog method can send TRACE (GET POST PUT PATCH DELETE HEAD OPTIONS), and "
    "no probe sends it",
}

#: Non-pass cells that are no difference of the pair: a family's limitation, owned by
#: another part of the suite (pattern -> why). Strict xfails: each must still show.
SUITE_GAPS = {
    "* | probe | * | not-testable": "the probe family marks an endpoint without a 2xx "
    "scenario (one the reference answers 404, tried for its difference only) not-testable "
    "'no success scenario to derive probes from'; the family does not apply there and "
    "should say not-applicable (api_checks/test_probes.py, the probe family's own module)",
}

#: Non-pass cells that are no real difference and not a family's limitation: none.
KNOWN_FALSE_ALARMS: dict[str, str] = {}


def _run_pair(work: Path) -> PairRun:
    if shutil.which("npm") is None or shutil.which("node") is None:
        # never a skip: a missing pair would read as a pair without differences
        pytest.fail(
            f"Node.js and npm are needed to install json-server ({INSTALL_SCRIPT.name}): "
            "`make setup` installs them (scripts/ensure-outside-pairs.sh)",
            pytrace=False,
        )
    install(quiet=True)  # idempotent: well under a second once installed
    with json_server_pair(workdir=work / "pair") as pair:
        snapshot = work / "snapshot.json"
        reset = {"seed": str(SEED), "snapshot": str(snapshot), "modules": list(UNDOING_NOTHING)}
        settings = {
            **pair.env(),
            **FUZZ,
            "PARITY_CONFIG": str(EXAMPLE_DIR / "parity.toml"),
            "PARITY_CATALOG": str(EXAMPLE_DIR / "catalog.yaml"),
            "PARITY_BASELINE": str(EXAMPLE_DIR / "parity-baseline.toml"),
            "PARITY_PAIR_RESET": json.dumps(reset),
        }
        run = run_every_family(
            pair_env(settings, work),
            work,
            probe_budget=PROBE_BUDGET,
            plugins=["tests.outside.pair_reset"],
        )
        time.sleep(1.5)  # json-server-py writes its file 1 s after the last change
        run.requests = {
            # morgan's "GET /posts 200 ..." and aiohttp's access log; minus the launcher's probe
            "express": access_lines(
                pair.express_log, r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /"
            )
            - 1,
            "serverless": access_lines(pair.serverless_log, r"aiohttp\.access") - 1,
        }
        run.extra["before_undoing_nothing"] = (
            json.loads(snapshot.read_text()) if snapshot.exists() else None
        )
        run.extra["reference_after"] = json.loads(pair.express_db.read_text())
    return run


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory: pytest.TempPathFactory) -> PairRun:
    """One run per test session, shared by pytest-xdist workers through a file under the
    session's common temp root (the first worker runs it, the others read it)."""
    shared = shared_dir(tmp_path_factory.getbasetemp())
    result = shared / "json-server-pair-every-family.json"
    with locked(shared / "json-server-pair-every-family.lock"):
        if result.exists():
            return PairRun.from_json(result.read_text())
        run = _run_pair(tmp_path_factory.mktemp("json-server-pair"))
        result.write_text(run.to_json())
    summary = run.matrix.get("summary", {})
    print(
        f"\njson-server pair, every family: {run.seconds:.1f} s "
        f"({', '.join(f'{s.name} {s.seconds:.1f} s' for s in run.steps)}), "
        f"requests {run.requests}, {summary.get('cells')} cells {summary.get('states')}"
    )
    return run


@pytest.fixture(scope="module")
def recs(pair_run: PairRun) -> list[Record]:
    return records(pair_run.matrix)


def _matching(recs: list[Record], text: str) -> list[Record]:
    pattern = Pattern.parse(text)
    return [r for r in recs if r.state in NOT_PASS and pattern.matches(r)]


def _known(record: Record) -> bool:
    return any(Pattern.parse(p).matches(record) for p in {**SUITE_GAPS, **KNOWN_FALSE_ALARMS})


# --- the tests -------------------------------------------------------------------------


def test_every_family_runs_without_a_traceback(pair_run: PairRun, recs: list[Record]) -> None:
    for step in pair_run.steps:
        assert "Traceback" not in step.output, f"{step.name}:\n{step.output[-4000:]}"
        assert "INTERNALERROR" not in step.output, f"{step.name}:\n{step.output[-4000:]}"
    for name in ("parity load", "parity capture", "parity contracts"):
        assert pair_run.step(name).returncode == 0, pair_run.step(name).output[-3000:]
    # 1: checks failed, which they must (the pair differs); anything else is a crash.
    every = pair_run.step("pytest (every family)")
    assert every.returncode == 1, every.output[-4000:]
    seen = {r.family for r in recs}
    wanted = {f.name for f in families()} - {"load"}  # load: parity load, above
    assert wanted <= seen, f"families without a cell: {sorted(wanted - seen)}"


def _difference_params() -> list[Any]:
    params = []
    for d in DIFFERENCES:
        reason = NOT_FOUND_YET.get(d.id)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(d, id=d.id, marks=marks))
    return params


@pytest.mark.parametrize("difference", _difference_params())
def test_hand_found_difference_is_a_non_pass_cell(
    recs: list[Record], difference: HandFound
) -> None:
    found = families_finding(difference, recs)
    print(f"{difference.id} found through {found or 'no family'}")
    assert found, f"{difference.id} ({difference.summary}): no non-pass cell shows it"


def test_every_other_cell_passes_or_is_not_applicable(recs: list[Record]) -> None:
    unexplained = [r for r in recs if r.state in NOT_PASS and not explained_by(r, DIFFERENCES)]
    for r in unexplained:
        print(f"{'known' if _known(r) else 'NEW'}: {r.show()}")
    new = [r for r in unexplained if not _known(r)]
    assert not new, "non-pass cells no hand-found difference explains:\n" + "\n".join(
        r.show() for r in new
    )
    vague = [r for r in recs if r.state == "not-applicable" and not r.summary.strip()]
    assert not vague, [r.show() for r in vague]


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(p, id=p, marks=pytest.mark.xfail(strict=True, reason=why))
        for p, why in {**SUITE_GAPS, **KNOWN_FALSE_ALARMS}.items()
    ],
)
def test_known_non_pass_cell_is_gone(recs: list[Record], pattern: str) -> None:
    assert not _matching(recs, pattern)


def test_the_load_mix_runs_on_both_backends(pair_run: PairRun) -> None:
    # The reader's mix reads what both serve alike: no request may fail on either.
    assert set(pair_run.load) == {"express", "serverless"}, pair_run.step("parity load").output
    for backend, figures in pair_run.load.items():
        overall = figures["overall"]
        assert overall["requests"] > 0, (backend, overall)
        assert overall["failures"] == 0, (backend, figures.get("failures_by_kind"))


def test_the_families_that_undo_their_writes_leave_the_seed(pair_run: PairRun) -> None:
    # Every scenario, flow and sweep before the fuzzing and the probes undoes its writes;
    # the reference refuses what the probes send that it cannot undo, so it ends as the seed.
    seed = json.loads(SEED.read_text())
    before = pair_run.extra["before_undoing_nothing"]
    assert before == {"express": seed, "serverless": seed}
    assert pair_run.extra["reference_after"] == seed


def test_cost(pair_run: PairRun, recs: list[Record]) -> None:
    # The suite should not be the bottleneck: seconds in all, a few requests per cell.
    assert 0 < pair_run.requests["express"] <= 20 * len(recs), pair_run.requests
    assert 0 < pair_run.requests["serverless"] <= 20 * len(recs), pair_run.requests
    limit = float(os.environ.get("PARITY_OUTSIDE_MAX_S", "180"))
    assert pair_run.seconds < limit, pair_run.seconds
