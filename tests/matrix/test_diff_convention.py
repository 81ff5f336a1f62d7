"""The differential checks take the API's conventions from the catalog's envelope: which
paths are human text (cosmetic when they differ) and which answers are the gateway's own
(origin gateway, a 404 of it is a missing endpoint). An API without an envelope has
neither: every changed value is breaking, every 404 is a status difference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.core.catalog import Catalog, load_catalog
from parity.core.envelope import Envelope, gateway_predicate, text_paths
from parity.engine.diff import Answer, compare
from parity.engine.differential import run_case
from tests.matrix.test_differential import FakeSource

ROOT = Path(__file__).resolve().parents[2]
MOC = load_catalog(ROOT / "fixtures" / "catalog.yaml")


def _envelope(catalog: Catalog) -> Envelope:
    assert catalog.envelope is not None
    return catalog.envelope


def test_the_moc_envelope_gives_the_built_in_rules_their_values() -> None:
    moc = _envelope(MOC)
    ref = Answer(200, {}, {"status": "success", "message": "Albums retrieved", "data": []})
    cand = Answer(200, {}, {"status": "success", "message": "Albums fetched", "data": []})
    (d,) = compare(ref, cand, text=text_paths(moc), gateway=gateway_predicate(moc)).envelope
    assert (d.path, d.severity) == ("message", "cosmetic")
    gone = Answer(404, {}, {"message": "Not Found"})
    (s,) = compare(ref, gone, text=text_paths(moc), gateway=gateway_predicate(moc)).status
    assert (s.kind, s.origin) == ("missing-endpoint", "gateway")


def test_without_an_envelope_nothing_is_text_and_nothing_is_the_gateway() -> None:
    ref = Answer(200, {}, {"message": "a"})
    cand = Answer(200, {}, {"message": "b"})
    (d,) = compare(ref, cand, text=text_paths(None), gateway=gateway_predicate(None)).envelope
    assert d.severity == "breaking"
    gone = Answer(404, {}, {"message": "Not Found"})
    (s,) = compare(ref, gone, text=(), gateway=gateway_predicate(None)).status
    assert (s.kind, s.origin) == ("status", "application")


def test_an_envelope_s_own_text_paths_are_cosmetic(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "version: 1\nroles: [anonymous]\nenvelope:\n  error: {message: error.detail}\n"
        "endpoints:\n  - {id: a, method: GET, route: /a, scenarios: [{name: x, expect: 400}]}\n",
        encoding="utf-8",
    )
    envelope = _envelope(load_catalog(path))
    ref = Answer(400, {}, {"error": {"detail": "bad a"}, "message": "x"})
    cand = Answer(400, {}, {"error": {"detail": "a is bad"}, "message": "y"})
    diffs = compare(ref, cand, text=text_paths(envelope), gateway=gateway_predicate(envelope))
    assert {d.path: d.severity for d in diffs.envelope} == {
        "error.detail": "cosmetic",
        "message": "breaking",  # not a text path of this API
    }


@dataclass
class CatalogSource(FakeSource):
    """A stand-in live source that carries its catalog, as LiveSource does."""

    catalog: Catalog | None = None


def test_run_case_reads_the_convention_from_the_live_source_s_catalog(tmp_path: Path) -> None:
    case = next(c for c in MOC.cases() if c.id == "mocs.stats/default")
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "version: 1\nroles: [anonymous]\n"
        "endpoints:\n  - {id: a, method: GET, route: /a, scenarios: [{name: x, expect: 200}]}\n",
        encoding="utf-8",
    )
    bare = load_catalog(path)  # declares no envelope
    log: list[str] = []

    def status(catalog: Catalog | None, **kwargs: Any) -> tuple[str, str | None]:
        ref = CatalogSource("express", lambda n: (200, {"data": {}}), log, catalog=catalog)
        cand = CatalogSource(
            "serverless", lambda n: (404, {"message": "Not Found"}), log, catalog=catalog
        )
        records = run_case(case, ref, cand, **kwargs).records
        return next((r.state, r.origin) for r in records if r.check == "status")

    assert status(MOC) == ("missing", "gateway")
    assert status(bare) == ("drift", "application")
    assert status(MOC, envelope=None) == ("drift", "application")  # the caller's word wins
    # no source with a catalog (recordings against fakes): no gateway is declared
    assert status(None) == ("drift", "application")
