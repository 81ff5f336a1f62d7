"""How the outside pairs' tests read a matrix against the hand-found differences
(tests/outside/families.py), without starting a pair: a record's signatures, the three
ways a difference explains a record, and when it counts as found."""

from __future__ import annotations

import pytest

from tests.outside.families import (
    HandFound,
    Pattern,
    Record,
    explained_by,
    families_finding,
    patterns,
    records,
    summary_signatures,
)


def _record(
    endpoint: str = "GET /posts",
    check: str = "headers",
    scenario: str = "all",
    state: str = "drift",
    signatures: tuple[str, ...] = (),
    backend: str = "",
) -> Record:
    return Record(endpoint, check, scenario, backend, state, "", frozenset(signatures))


def test_signatures_come_from_every_kind_of_summary() -> None:
    differential = (
        '2 difference(s): cache-control: header-removed "no-cache" -> "(absent)"; '
        'vary: header-removed "accept-encoding" -> "(absent)"'
    )
    assert summary_signatures(differential) == {"cache-control", "vary"}
    probe = (
        "200 -> 404 for 1 probe (/db/): status: expected 200, got 404 [application]; "
        "cache-control: expected no-cache, got (absent) [application]"
    )
    assert summary_signatures(probe) == {"status", "cache-control"}
    fuzz = (
        "minimal body {'x': 0} -> envelope: 2 difference(s): extras: added \"(absent)\" -> {}; "
        'json: type {"x": 0} -> "{}"'
    )
    assert summary_signatures(fuzz) == {"extras", "json"}
    schemathesis = "generated writes: Undocumented status code (HTTP 405); reproduce: curl"
    assert summary_signatures(schemathesis) == {"schemathesis:Undocumented status code"}


def test_records_carry_their_findings_paths() -> None:
    matrix = {
        "cells": [
            {
                "endpoint": "GET /posts",
                "check": "probe:path",
                "state": "drift",
                "scenario": "/posts/",
                "records": [
                    {"scenario": "/posts/", "state": "drift", "summary": "200 = 200 (...)"},
                    {"scenario": "id empty", "state": "pass", "summary": "same"},
                ],
            }
        ],
        "findings": [
            {
                "kind": "header-removed",
                "paths": ["cache-control"],
                "cells": [
                    {"endpoint": "GET /posts", "check": "probe:path", "scenarios": ["/posts/"]}
                ],
            },
            {
                "kind": "status",
                "paths": [],
                "cells": [
                    {"endpoint": "GET /posts", "check": "probe:path", "scenarios": ["/posts/"]}
                ],
            },
        ],
    }
    drift, ok = records(matrix)
    assert drift.signatures == {"cache-control", "status"} and drift.family == "probe"
    assert ok.signatures == frozenset() and ok.state == "pass"


def test_the_three_ways_a_difference_explains_a_record() -> None:
    cache = HandFound(
        "D1", "GET /posts", "no-cache", "headers", ("all",), ("cache-control",), ("*",)
    )
    head = HandFound(
        "D2", "HEAD /posts/{id}", "501", "status", ("existing",),
        shows=patterns(["* | probe:method | HEAD"]),
    )  # fmt: skip
    vary = HandFound("D3", "GET /posts", "vary", "headers", ("all",), ("vary",), ("*",))
    differences = [cache, head, vary]
    # 1: its own scenario on its check
    assert explained_by(_record(signatures=("location",)), differences) == ["D1", "D3"]
    # 2: every signature claimed by some difference in scope, here by two of them
    elsewhere = _record(
        "GET /profile", "probe:path", "/profile/", signatures=("cache-control", "vary")
    )
    assert explained_by(elsewhere, differences) == ["D1", "D3"]
    unclaimed = _record("GET /profile", "probe:path", "/profile/", signatures=("vary", "etag"))
    assert explained_by(unclaimed, differences) == []
    # 3: a shows pattern, in any family
    assert explained_by(_record("GET /labels", "probe:method", "HEAD"), differences) == ["D2"]


def test_found_needs_its_own_path_or_a_shows_pattern() -> None:
    nosniff = HandFound(
        "D1", "GET /posts", "nosniff", "headers", ("all",), ("x-content-type-options",)
    )
    ids = HandFound("D2", "POST /posts", "id reuse", "envelope", ("after-delete",))
    # its own scenario is non-pass, but for another cause: not found
    other = _record(signatures=("cache-control",))
    assert families_finding(nosniff, [other]) == {}
    # a difference without paths: only a non-pass record on its check finds it
    headers = _record("POST /posts", "headers", "after-delete", signatures=("vary",))
    assert families_finding(ids, [headers]) == {}
    envelope = _record("POST /posts", "envelope", "after-delete", signatures=("id",))
    assert families_finding(ids, [envelope]) == {"differential": 1}


def test_a_pattern_may_name_the_state_and_the_backend() -> None:
    pattern = Pattern.parse("GET /etag/{etag} | fuzz | * | drift | express")
    assert pattern.matches(_record("GET /etag/{etag}", "fuzz", "", backend="express"))
    assert not pattern.matches(_record("GET /etag/{etag}", "fuzz", "", backend="serverless"))
    assert not pattern.matches(_record("GET /etag/{etag}", "fuzz", "", "error", backend="express"))
    with pytest.raises(ValueError, match="ENDPOINT"):
        Pattern.parse("GET /x | fuzz")
