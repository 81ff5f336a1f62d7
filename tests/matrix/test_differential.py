"""run_case with stand-in sources: who is asked when, what each check reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parity.core.catalog import Case, Scenario, load_catalog
from parity.core.errors import BackendUnreachable
from parity.engine.baseline import load_baseline
from parity.engine.differential import CHECKS, run_case
from parity.engine.runner import Exchange
from tests.fakes import fake_signature

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "fixtures" / "catalog.yaml")


def case(case_id: str) -> Case:
    return next(c for c in CATALOG.cases() if c.id == case_id)


Answer = Callable[[int], tuple[int, Any]]  # call number -> (status, body)


@dataclass
class FakeSource:
    name: str
    answer: Answer
    log: list[str]
    live: bool = True
    calls: int = 0
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def again(self, c: Case, scenario: Scenario) -> Exchange | None:
        return self.exchange(c, scenario)

    def exchange(self, c: Case, scenario: Scenario) -> Exchange:
        self.calls += 1
        self.log.append(self.name)
        self.seen_headers.append(dict(scenario.headers))
        status, body = self.answer(self.calls)
        return Exchange(
            backend=self.name,
            endpoint=c.endpoint.id,
            scenario=scenario.name,
            role=scenario.role,
            method=c.endpoint.method,
            route=c.endpoint.route,
            url=f"http://{self.name}.test{c.endpoint.route}?x=1",
            request_headers={"authorization": "[redacted]"},
            request_body=None,
            status=status,
            headers={"content-type": "application/json"},
            json=body,
            expected=scenario.expect,
        )


def env(data: Any, message: str = "OK") -> dict[str, Any]:
    return {"status": "success", "message": message, "data": data}


def states(records: list[Any]) -> dict[str, str]:
    return {r.check: r.state for r in records}


def test_reads_sandwich_the_candidate_between_two_reference_answers() -> None:
    log: list[str] = []
    ref = FakeSource("express", lambda n: (200, env({"uptime": n, "version": "1"})), log)
    cand = FakeSource("serverless", lambda n: (200, env({"uptime": 7, "version": "1"})), log)
    out = run_case(case("health/default"), ref, cand, origin="http://app.test")
    assert log == ["express", "serverless", "express"]
    assert states(out.records) == dict.fromkeys(CHECKS, "pass")
    assert [n.path for n in out.noise] == ["data.uptime"]
    # the frontend's origin is sent, so CORS headers get compared
    assert all(h.get("Origin") == "http://app.test" for h in ref.seen_headers + cand.seen_headers)
    ev = out.records[2].evidence
    assert ev["request"]["path"] == "/health?x=1" and ev["reference_again"] == {"status": 200}
    assert set(ev["responses"]) == {"express", "serverless"}


def test_writes_go_once_to_each_backend() -> None:
    log: list[str] = []
    body = {
        "id": "a",
        "title": "t",
        "pieceCount": 1,
        "createdAt": "x",
        "updatedAt": "x",
        "tags": [],
    }
    ref = FakeSource("express", lambda n: (201, env(body, "MOC created")), log)
    cand = FakeSource("serverless", lambda n: (200, env({**body, "id": "b"}, "MOC created")), log)
    out = run_case(case("mocs.create/created"), ref, cand)
    assert log == ["express", "serverless"]
    by = {r.check: r for r in out.records}
    assert by["status"].state == "drift" and by["status"].severity == "breaking"
    assert by["status"].origin == "application"
    assert "status: status 201 -> 200" in by["status"].summary
    assert by["envelope"].state == "pass"  # data.id is declared to differ
    assert out.failed == [by["status"]]


def test_gateway_404_makes_the_status_cell_missing() -> None:
    log: list[str] = []
    ref = FakeSource("express", lambda n: (200, env({"total": 1})), log)
    cand = FakeSource("serverless", lambda n: (404, {"message": "Not Found"}), log)
    # fakes carry no catalog: the sandbox's envelope (its gateway) is passed
    out = run_case(case("mocs.stats/default"), ref, cand, envelope=CATALOG.envelope)
    by = {r.check: r for r in out.records}
    assert by["status"].state == "missing" and by["status"].origin == "gateway"
    assert by["envelope"].state == "drift" and by["envelope"].origin == "gateway"


def test_baseline_turns_a_difference_into_accepted_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(
        '[[accept]]\nid = "authorizer"\nendpoint = "* /api/*"\ncheck = "envelope"\npath = "*"\n'
        'origin = "gateway"\nstatus = 401\nreason = "the JWT authorizer answers first"\n'
        "expires = 2099-01-01\n"
    )
    baseline = load_baseline(tmp_path / "b.toml")
    log: list[str] = []
    envelope = {
        "status": "error",
        "message": "Unauthorized",
        "data": None,
        "error": {"code": "UNAUTHORIZED"},
    }
    ref = FakeSource("express", lambda n: (401, envelope), log)
    cand = FakeSource("serverless", lambda n: (401, {"message": "Unauthorized"}), log)
    out = run_case(
        case("mocs.create/no-token"), ref, cand, baseline=baseline, envelope=CATALOG.envelope
    )
    by = {r.check: r for r in out.records}
    assert by["envelope"].state == "accepted"
    assert "the JWT authorizer answers first" in by["envelope"].summary
    assert by["envelope"].evidence["baseline"] == ["authorizer"]
    assert out.failed == []


@pytest.mark.parametrize("failing", ["express", "serverless"])
def test_an_unreachable_backend_gives_error_records_with_the_reason(failing: str) -> None:
    log: list[str] = []

    def answer(name: str) -> Answer:
        def fn(n: int) -> tuple[int, Any]:
            if name == failing:
                raise BackendUnreachable(name, f"http://{name}.test", "connection refused")
            return 200, env({})

        return fn

    out = run_case(
        case("health/default"),
        FakeSource("express", answer("express"), log),
        FakeSource("serverless", answer("serverless"), log),
    )
    assert states(out.records) == dict.fromkeys(CHECKS, "error")
    assert all("unreachable (connection refused)" in r.summary for r in out.records)
    assert all(failing in r.summary for r in out.records)


def test_evidence_is_redacted() -> None:
    signature = fake_signature(6)
    log: list[str] = []
    body = env(
        {
            "uploadUrl": f"http://s3/x?X-Amz-Signature={signature}&X-Amz-Credential=AKIA1",
            "key": "k",
            "expiresIn": 900,
            "maxBytes": 1,
        }
    )
    ref = FakeSource("express", lambda n: (200, body), log)
    cand = FakeSource("serverless", lambda n: (200, body), log)
    out = run_case(case("mocs.files.presign/ok"), ref, cand)
    text = str(out.records[0].evidence)
    assert signature not in text and "AKIA1" not in text
