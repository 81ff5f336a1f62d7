"""The probe family's drifts (sandbox/drift.py, "probe drifts"): six rewrite differences of
six probe kinds that no catalog scenario sends. One sandbox carries all six (each touches
endpoints of its own):

- the probe family (``pytest -m probe``) catches each one: the drift's (endpoint,
  ``probe:<kind>``) cell is ``drift``, with a record of the probe variety that reached it
  and the pair of statuses it answered, while an endpoint no drift touches stays clean;
- none of the earlier families does: ``pytest api_checks contracts -m "not probe and not e2e
  and not load"`` on the same sandbox has no failing cell where serverless answers worse
  than Express (a check failing on both backends alike is no drift's doing: drifts only
  change the serverless flavour).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parity.engine.launcher import SandboxProcess
from sandbox.core.http import CoreRequest, CoreResponse
from sandbox.core.routes import ROUTES
from sandbox.drift import DRIFTS, Drifts
from tests.drift.checks import run_checks

FAILING = {"drift", "missing", "error"}


@dataclass(frozen=True)
class Expect:
    drift: str
    endpoint: str  # the catalog endpoint id whose probes run
    key: str  # its matrix key
    check: str
    variety: str
    statuses: tuple[int, int]  # (Express, serverless) of the probe that shows it


EXPECT = [
    Expect(
        "trailing-slash",
        "users.me",
        "GET /api/users/me",
        "probe:path",
        "trailing-slash",
        (200, 404),
    ),
    Expect(
        "method-405",
        "wishlist.list",
        "GET /api/wishlist",
        "probe:method",
        "other-method",
        (404, 405),
    ),
    Expect("strict-query", "albums.list", "GET /api/albums", "probe:query", "unknown", (200, 422)),
    Expect(
        "content-type-lax",
        "mocs.files.presign",
        "POST /api/mocs/{mocId}/files/presign",
        "probe:body",
        "content-type",
        (400, 200),
    ),
    Expect(
        "bearer-case", "images.list", "GET /api/images", "probe:auth", "scheme-case", (200, 401)
    ),
    Expect(
        "delete-idempotent",
        "mocs.delete",
        "DELETE /api/mocs/{mocId}",
        "probe:repetition",
        "twice",
        (404, 200),
    ),
]
UNTOUCHED = "mocs.list"  # no drift here: its probe cells stay pass or accepted


def test_six_drifts_of_six_kinds() -> None:
    assert len({e.drift for e in EXPECT}) == len({e.check for e in EXPECT}) == 6
    assert all(e.drift in DRIFTS for e in EXPECT)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("probe-drift")
    with SandboxProcess(tmp / "sandbox.env", drifts=[e.drift for e in EXPECT]) as sb:
        yield {**sb.env, "PARITY_BACKEND": "both"}


def _matrix(reports: Path) -> dict[str, Any]:
    return dict(json.loads((reports / "parity-matrix.json").read_text()))


def _cells(matrix: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["endpoint"], c["check"]): c for c in matrix["cells"]}


def _shows(cell: dict[str, Any], expect: Expect) -> str | None:
    """None when ``cell`` holds the drift as expected, else what is wrong."""
    if cell["state"] != "drift":
        return f"cell is {cell['state']}: {cell['summary'][:200]}"
    for record in cell["records"]:
        evidence = record["evidence"] or cell["evidence"]
        probes = evidence.get("probes", [])
        if record["state"] == "drift" and any(
            p["variety"] == expect.variety and tuple(p["statuses"]) == expect.statuses
            for p in probes
        ):
            return None
    return f"no drift record of a {expect.variety} probe answering {expect.statuses}"


def test_the_probe_family_catches_each_drift(drifted: dict[str, str], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    wanted = " or ".join(f"[{e.endpoint}]" for e in EXPECT) + f" or [{UNTOUCHED}]"
    run = run_checks(
        {**drifted, "PARITY_REPORTS_DIR": str(reports)},
        [
            "api_checks/test_probes.py",
            "-m",
            "probe",
            "-k",
            wanted.replace("[", "").replace("]", ""),
        ],
        tmp_path / "junit.xml",
    )
    assert run.returncode == 1, run.output[-3000:]
    assert run.failed() == {f"test_probes[{e.endpoint}]" for e in EXPECT}, run.output[-3000:]
    cells = _cells(_matrix(reports))
    problems = {e.drift: p for e in EXPECT if (p := _shows(cells[(e.key, e.check)], e))}
    print(f"\nprobe drifts caught: {len(EXPECT) - len(problems)} of {len(EXPECT)}")
    assert problems == {}
    clean = {k: c["state"] for k, c in cells.items() if k[0] == "GET /api/mocs"}
    assert clean and set(clean.values()) <= {"pass", "accepted"}, clean


def _worse_on_serverless(cell: dict[str, Any]) -> list[str]:
    """The cell's failing records that are the serverless flavour's own: a record judging
    both backends together (differential), or a serverless record whose Express twin (same
    scenario) did not fail."""
    found = []
    records = cell["records"]
    for r in records:
        if r["state"] not in FAILING:
            continue
        if r["backend"] == "serverless":
            twin = [
                t for t in records if t["backend"] == "express" and t["scenario"] == r["scenario"]
            ]
            if twin and all(t["state"] in FAILING for t in twin):
                continue  # failing on Express too: not the drift's doing
        elif r["backend"] == "express":
            continue
        found.append(
            f"{cell['endpoint']} {cell['check']} [{r['scenario']}] {r['backend']}: "
            f"{r['state']}: {r['summary'][:200]}"
        )
    return found


def test_no_earlier_family_catches_them(drifted: dict[str, str], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = run_checks(
        {**drifted, "PARITY_REPORTS_DIR": str(reports)},
        ["api_checks", "contracts", "-m", "not probe and not e2e and not load"],
        tmp_path / "junit.xml",
        timeout=900,
    )
    matrix = _matrix(reports)
    assert matrix["cells"], run.output[-3000:]
    assert not any(c["check"].startswith("probe") for c in matrix["cells"])
    caught = [line for c in matrix["cells"] for line in _worse_on_serverless(c)]
    assert caught == [], "\n".join(caught)
    judged = {c["check"] for c in matrix["cells"] if c["state"] in ("pass", "accepted")}
    assert {"status", "envelope", "contract", "fuzz", "catalog-scenario"} <= judged, judged


# --- the hooks alone ----------------------------------------------------------------------


def _route(key: str) -> Any:
    return next(r for r in ROUTES if r.key == key)


def _request(route: Any, **changes: Any) -> CoreRequest:
    return CoreRequest(method=route.method, path=route.template, route=route.template, **changes)


def test_method_405_only_where_the_path_is_known() -> None:
    drifts = Drifts(["method-405"])
    answer = drifts.unrouted("PUT", "/api/wishlist", True)
    assert answer is not None and answer.status == 405 and answer.headers["allow"] == "GET, POST"
    assert drifts.unrouted("PUT", "/api/no-such", False) is None
    assert drifts.unrouted("HEAD", "/api/wishlist", True) is None  # the gateway's own 404
    assert Drifts().unrouted("PUT", "/api/wishlist", True) is None


def test_delete_idempotent_keeps_never_known_ids_404() -> None:
    route = _route("DELETE /api/mocs/{mocId}")
    answers = iter([CoreResponse(200, {"status": "success"}), CoreResponse(404, {})])
    drifts = Drifts(["delete-idempotent"])
    first = drifts.call(
        lambda r, q: next(answers), route, _request(route, path_params={"mocId": "m1"})
    )
    again = drifts.call(
        lambda r, q: CoreResponse(404, {}), route, _request(route, path_params={"mocId": "m1"})
    )
    never = drifts.call(
        lambda r, q: CoreResponse(404, {}), route, _request(route, path_params={"mocId": "m2"})
    )
    assert (first.status, again.status, never.status) == (200, 200, 404)


def test_production_refuses_the_probes_that_write(drifted: dict[str, str], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = run_checks(
        {**drifted, "PARITY_REPORTS_DIR": str(reports), "PARITY_TARGET_ENV": "production"},
        ["api_checks/test_probes.py", "-m", "probe", "-k", "mocs.list or mocs.create"],
        tmp_path / "junit.xml",
    )
    assert run.outcomes == {
        "test_probes[mocs.list]": "passed",
        "test_probes[mocs.create]": "skipped",
    }
    assert "writes refused" in run.messages["test_probes[mocs.create]"]
    cells = _cells(_matrix(reports))
    created = {c for (e, c), cell in cells.items() if e == "POST /api/mocs"}
    assert created and all(cells[("POST /api/mocs", c)]["state"] == "skipped" for c in created)
    # the read-only endpoint is judged; its one writing probe (PUT) is a skipped record
    method = cells[("GET /api/mocs", "probe:method")]
    assert any(
        r["state"] == "skipped" and "writes refused" in r["summary"] for r in method["records"]
    )
    assert cells[("GET /api/mocs", "probe:query")]["state"] == "pass"
