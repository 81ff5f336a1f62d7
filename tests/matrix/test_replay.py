"""Cassettes standing in for Express: the recorded answer is the reference, its values
come from another run, so the envelope is compared by shape."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from parity.core.catalog import Case, Scenario, load_catalog
from parity.engine.cassette import CassetteWriter, Recorded
from parity.engine.differential import run_case
from parity.engine.replay import load_cassettes
from parity.engine.runner import Exchange

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "fixtures" / "catalog.yaml")
HEALTH = next(c for c in CATALOG.cases() if c.id == "health/default")
MOC = next(c for c in CATALOG.cases() if c.id == "mocs.get/existing")


def recorded(case: Case, body: Any, status: int = 200, backend: str = "express") -> Recorded:
    return Recorded(
        backend=backend,
        method=case.endpoint.method,
        route=case.endpoint.route,
        status=status,
        url=f"http://old-host:9000{case.endpoint.route}",
        endpoint=case.endpoint.id,
        scenario=case.scenario.name,
        role=case.scenario.role,
        request={"headers": {"accept": "*/*"}, "body": None},
        response={
            "headers": {
                "Content-Type": "application/json; charset=utf-8",
                "Vary": "Origin",
                "Cache-Control": "no-store",
            },
            "json": body,
            "text": None,
        },
    )


class Live:
    name = "serverless"
    live = True

    def __init__(self, body: Any, headers: dict[str, str] | None = None) -> None:
        self.body, self.headers = (
            body,
            headers or {"content-type": "application/json", "cache-control": "no-store"},
        )
        self.sent: list[dict[str, str]] = []

    def exchange(self, case: Case, scenario: Scenario) -> Exchange:
        self.sent.append(dict(scenario.headers))
        return Exchange(
            "serverless",
            case.endpoint.id,
            scenario.name,
            scenario.role,
            case.endpoint.method,
            case.endpoint.route,
            "http://new/x",
            {},
            None,
            200,
            self.headers,
            self.body,
            expected=scenario.expect,
        )

    def again(self, case: Case, scenario: Scenario) -> Exchange | None:
        return None


def env(data: Any, message: str = "OK") -> dict[str, Any]:
    return {"status": "success", "message": message, "data": data}


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    with CassetteWriter(tmp_path / "express.jsonl") as w:
        w.write(recorded(HEALTH, env({"uptime": 1.0, "version": "0.1.0", "db": "ok"})))
        w.write(recorded(HEALTH, env({"uptime": 2.0, "version": "0.1.0", "db": "ok"})))
        w.write(recorded(HEALTH, env({"uptime": 3.0, "version": "x"})))  # a third: not kept
        w.write(recorded(MOC, env({"id": "old", "title": "parity abc moc", "pieceCount": 250})))
        w.write(recorded(MOC, env({"id": "other"}), backend="serverless"))
    return tmp_path


def test_index_keeps_two_recordings_of_the_recorded_backend(cassettes: Path) -> None:
    source = load_cassettes(cassettes)
    assert len(source.recordings[("health", "default")]) == 2
    assert len(source.recordings[("mocs.get", "existing")]) == 1
    assert load_cassettes(cassettes / "none").recordings == {}


def test_recorded_values_differ_by_nature_shapes_and_messages_do_not(cassettes: Path) -> None:
    source = load_cassettes(cassettes)
    same_shape = Live(env({"id": "new", "title": "parity xyz moc", "pieceCount": 7}))
    out = run_case(MOC, source, same_shape, origin="http://app.test")
    assert {r.check: r.state for r in out.records} == {
        "status": "pass",
        "headers": "pass",
        "envelope": "pass",
    }
    assert same_shape.sent == [{}]  # no Origin: the recording was made without one
    assert out.records[0].evidence["reference_source"] == "cassette"
    renamed = Live(env({"id": "new", "title": "t", "piece_count": 7}, "MOC fetched"))
    out = run_case(MOC, source, renamed)
    envelope = next(r for r in out.records if r.check == "envelope")
    kinds = {(d["path"], d["kind"]) for d in envelope.evidence["differences"]}
    assert kinds == {
        ("data.pieceCount", "removed"),
        ("data.piece_count", "added"),
        ("message", "value"),
    }


def test_noise_is_learned_from_two_recordings(cassettes: Path) -> None:
    out = run_case(
        HEALTH,
        load_cassettes(cassettes),
        Live(env({"uptime": "soon", "version": "0.1.0", "db": "ok"})),
    )
    envelope = next(r for r in out.records if r.check == "envelope")
    # uptime differed between the two recordings, but both were numbers: a string is not
    assert [(d["path"], d["kind"]) for d in envelope.evidence["differences"]] == [
        ("data.uptime", "type")
    ]


def test_a_scenario_without_recording_is_not_testable(cassettes: Path) -> None:
    case = next(c for c in CATALOG.cases() if c.id == "mocs.stats/default")
    out = run_case(case, load_cassettes(cassettes), Live(env({})))
    assert {r.state for r in out.records} == {"not-testable"}
    assert "parity capture" in out.records[0].summary


def test_records_as_dicts_are_what_asdict_gives(cassettes: Path) -> None:
    # CheckResult.to_dict no longer deep-copies; the plugin and the matrix read its output
    renamed = Live(env({"id": "new", "title": "t", "piece_count": 7}, "MOC fetched"))
    out = run_case(MOC, load_cassettes(cassettes), renamed)
    assert {r.state for r in out.records} == {"pass", "drift"}
    for record in out.records:
        data = record.to_dict()
        assert data == dataclasses.asdict(record)
        data["evidence"]["extra"] = 1  # the top level is a copy: the record keeps its own
        assert "extra" not in record.evidence
