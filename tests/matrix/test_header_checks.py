"""The catalog's ``checks.headers`` (issues 16 and 18): more response headers compared
(``compare``: by value, ``Set-Cookie`` by its cookies' names and attributes, never a value;
``by_format``: presence and format of volatile values) and spellings that matter for the
gate (``cosmetic_matters``)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from parity.core.catalog import Case, Catalog, Scenario, load_catalog
from parity.core.checkspec import HeaderChecks
from parity.core.errors import CatalogError
from parity.core.normalize import HeaderRules, cookie_shape, header_format
from parity.core.results import CheckResult
from parity.engine.diff import Answer, compare
from parity.engine.differential import run_case
from parity.engine.findings import build_findings
from parity.engine.runner import Exchange

BASE = """
version: 1
roles: [alice]
endpoints:
  - {id: posts.list, method: GET, route: /posts, scenarios: [{name: x, expect: 200}]}
checks:
"""

JSON = "application/json"


def _catalog(tmp_path: Path, checks: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "catalog.yaml"
    path.write_text(BASE + textwrap.indent(textwrap.dedent(checks), "  "), encoding="utf-8")
    return load_catalog(path)


def _fails(tmp_path: Path, checks: str, *fragments: str) -> None:
    with pytest.raises(CatalogError) as info:
        _catalog(tmp_path, checks)
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, text


def test_the_section_loads_and_names_are_lower_case(tmp_path: Path) -> None:
    catalog = _catalog(
        tmp_path,
        "headers: {compare: [X-Total-Count, Link, Set-Cookie], by_format: [Last-Modified], "
        "cosmetic_matters: [Content-Type]}",
    )
    spec = catalog.checks.headers
    assert spec is not None
    rules = spec.rules()
    assert rules.compare == ("x-total-count", "link", "set-cookie")
    assert rules.by_format == ("last-modified",)
    assert rules.spelling_matters("content-type") and not rules.spelling_matters("vary")
    assert HeaderChecks(cosmetic_matters=True).rules().spelling_matters("vary")
    assert _catalog(tmp_path, "{}").checks.headers is None


def test_a_bad_section_is_a_catalog_error_naming_the_key_and_the_fix(tmp_path: Path) -> None:
    _fails(tmp_path, "headers: {compare: [Content-Type]}", "checks.headers", "always compared")
    _fails(
        tmp_path,
        "headers: {compare: [Last-Modified]}",
        "checks.headers.compare",
        "differs by nature",
        "by_format",
    )
    _fails(tmp_path, "headers: {compare: [Link], by_format: [link]}", "under both")
    _fails(tmp_path, "headers: {compare: [Link, link]}", "listed twice")
    _fails(tmp_path, "headers: {compare: ['X Total']}", "not a header name")
    _fails(tmp_path, "headers: {by_format: [Set-Cookie]}", "checks.headers.compare")
    _fails(
        tmp_path,
        "headers: {cosmetic_matters: [X-Total-Count]}",
        "checks.headers.cosmetic_matters",
        "not compared by value",
    )
    _fails(tmp_path, "headers: {compares: [Link]}", "unknown key 'compares'", "compare")


def test_extra_headers_are_compared_only_when_the_catalog_names_them() -> None:
    ref = Answer(200, {"content-type": JSON, "x-total-count": "5", "link": '<a>; rel="next"'}, [])
    cand = Answer(200, {"content-type": JSON}, [])
    assert compare(ref, cand).headers == []  # not named: not compared (as before)
    rules = HeaderRules(compare=("x-total-count", "link"))
    diffs = compare(ref, cand, headers=rules).headers
    assert [(d.path, d.kind, d.severity) for d in diffs] == [
        ("link", "header-removed", "breaking"),
        ("x-total-count", "header-removed", "breaking"),
    ]


def test_set_cookie_is_compared_by_names_and_attributes_never_by_value() -> None:
    secret = "s3cr3t-session-value"
    ref = Answer(200, {"set-cookie": f"sid={secret}; Path=/; HttpOnly"}, {})
    same = Answer(200, {"set-cookie": "sid=other-value; HttpOnly; path=/"}, {})
    other = Answer(
        200,
        {
            "set-cookie": "sid=x; Path=/, _ga=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
        },
        {},
    )
    rules = HeaderRules(compare=("set-cookie",))
    assert cookie_shape(ref.headers["set-cookie"]) == "sid (httponly, path)"
    same_cmp = compare(ref, same, headers=rules)
    assert same_cmp.headers == []
    assert not [n for n in same_cmp.noise if "cookie" in n.path]  # no "spelt differently"
    (diff,) = compare(ref, other, headers=rules).headers
    assert diff.path == "set-cookie" and diff.kind == "header-changed"
    assert diff.actual == "_ga (expires, path); sid (path)"
    assert "values never shown" in diff.note
    assert secret not in json.dumps(diff.to_dict())


def test_a_volatile_header_is_compared_by_format() -> None:
    assert header_format("Fri, 04 Dec 2026 18:00:00 GMT") == "HTTP-date (GMT)"
    assert header_format("Fri, 04 Dec 2026 18:00:00 -0000") == "date with zone -0000"
    rules = HeaderRules(by_format=("last-modified",))
    ref = Answer(200, {"last-modified": "Fri, 04 Dec 2026 18:00:00 GMT"}, {})
    later = Answer(200, {"last-modified": "Sat, 05 Dec 2026 09:30:12 GMT"}, {})
    numeric = Answer(200, {"last-modified": "Fri, 04 Dec 2026 18:00:00 -0000"}, {})
    assert compare(ref, later, headers=rules).headers == []  # another date: same format
    (diff,) = compare(ref, numeric, headers=rules).headers
    assert (diff.expected, diff.actual) == ("HTTP-date (GMT)", "date with zone -0000")
    assert "by_format" in diff.note
    (gone,) = compare(ref, Answer(200, {}, {}), headers=rules).headers
    assert gone.kind == "header-removed"


def _cell(diffs: list[dict], noise: list[dict]) -> dict:  # type: ignore[type-arg]
    state = "drift" if diffs else "pass"
    record = {
        "state": state,
        "scenario": "x",
        "summary": "",
        "severity": "breaking" if diffs else None,
        "evidence": {"differences": diffs, "noise": noise},
    }
    return {"endpoint": "GET /posts", "check": "headers", "state": state, "records": [record]}


def test_a_spelling_that_matters_is_an_open_finding_instead_of_a_note() -> None:
    ref = Answer(200, {"content-type": "application/json; charset=utf-8"}, {})
    cand = Answer(200, {"content-type": "application/json"}, {})
    plain = compare(ref, cand)
    assert plain.headers == []
    spelt = [n.to_dict() for n in plain.noise if n.source == "normalised"]
    assert len(spelt) == 1
    (note,) = build_findings([_cell([], spelt)])
    assert note["state"] == "reported"

    matters = compare(ref, cand, headers=HeaderRules(spelling=frozenset({"content-type"})))
    (diff,) = matters.headers
    assert diff.kind == "header-changed" and diff.severity == "breaking"
    assert (diff.expected, diff.actual) == ("application/json; charset=utf-8", JSON)
    assert "cosmetic_matters" in diff.note
    assert not [n for n in matters.noise if n.source == "normalised"]  # not also a note
    (finding,) = build_findings([_cell([diff.to_dict()], [])])
    assert finding["state"] == "open" and finding["severity"] == "breaking"
    assert "content-type" in finding["title"]
    # a header the list leaves out stays a note
    other = compare(ref, cand, headers=HeaderRules(spelling=frozenset({"vary"})))
    assert other.headers == []


@dataclass
class _HeaderSource:
    """A live stand-in that carries its catalog (as LiveSource does) and answers the same
    body with the headers ``headers(call number)``."""

    name: str
    catalog: Catalog
    headers: Callable[[int], dict[str, str]]
    live: bool = True
    calls: int = 0

    def exchange(self, case: Case, scenario: Scenario) -> Exchange:
        self.calls += 1
        return Exchange(
            backend=self.name,
            endpoint=case.endpoint.id,
            scenario=scenario.name,
            role=scenario.role,
            method=case.endpoint.method,
            route=case.endpoint.route,
            url=f"http://{self.name}.test{case.endpoint.route}",
            request_headers={},
            request_body=None,
            status=200,
            headers={"content-type": JSON, **self.headers(self.calls)},
            json={"posts": []},
            expected=scenario.expect,
        )

    def again(self, case: Case, scenario: Scenario) -> Exchange | None:
        return self.exchange(case, scenario)


def test_a_listed_header_that_changes_between_two_reference_answers_is_noise(
    tmp_path: Path,
) -> None:
    catalog = _catalog(tmp_path, "headers: {compare: [X-Request-Id, X-Total-Count]}")
    (case,) = catalog.cases()
    assert case.endpoint.read_only  # the reference is asked twice

    def headers_cell(ref: dict[str, str], cand: dict[str, str]) -> CheckResult:
        reference = _HeaderSource("express", catalog, lambda n: {**ref, "x-request-id": f"r{n}"})
        candidate = _HeaderSource("serverless", catalog, lambda n: cand)
        out = run_case(case, reference, candidate)
        assert reference.calls == 2
        return next(r for r in out.records if r.check == "headers")

    # the request id differs between the reference's two answers: noise, listed, no drift
    cell = headers_cell({"x-total-count": "3"}, {"x-request-id": "c1", "x-total-count": "3"})
    assert cell.state == "pass", cell.summary
    learned = [n for n in cell.evidence["noise"] if n["path"] == "header x-request-id"]
    assert learned and learned[0]["source"] == "learned"
    # a listed header the reference answers the same twice is still compared
    cell = headers_cell({"x-total-count": "3"}, {"x-request-id": "c1", "x-total-count": "4"})
    assert cell.state == "drift"
    assert [(d["path"], d["kind"]) for d in cell.evidence["differences"]] == [
        ("x-total-count", "header-changed")
    ]
