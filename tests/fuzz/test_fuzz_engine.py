"""The differential fuzzing engine's pieces, without a backend: which catalog endpoints
are fuzzed, what their generated queries look like, and the reproducing curl line."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings

from parity.catalog import load_catalog
from parity.client import BackendClient
from parity.fuzz import curl_line, fuzz_targets, query_strategy

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "fixtures" / "catalog.yaml")


def test_targets_are_read_only_endpoints_with_query_parameters() -> None:
    targets = {c.endpoint.id: c for c in fuzz_targets(CATALOG)}
    assert {"mocs.list", "mocs.search", "images.list"} <= set(targets)
    for case in targets.values():
        assert case.endpoint.read_only and not case.endpoint.route_params
        assert not case.scenario.uses and all(200 <= s < 300 for s in case.scenario.expect)


@settings(max_examples=50, database=None)
@given(query_strategy(CATALOG.get("mocs.search")))
def test_a_search_always_carries_its_term(query: dict[str, object]) -> None:
    assert "q" in query  # every 2xx scenario sends it


@settings(max_examples=50, database=None)
@given(query_strategy(CATALOG.get("mocs.list")))
def test_list_queries_use_known_and_unknown_keys(query: dict[str, object]) -> None:
    known = {"page", "limit", "q", "sort", "theme"}
    unknown = {"unknownField", "foo[bar]", "__proto__", "debug"}
    assert set(query) <= known | unknown


def test_curl_line_reproduces_without_the_secret() -> None:
    client = BackendClient("serverless", "http://127.0.0.1:9/")
    line = curl_line(client, "GET", "/api/mocs/search", {"q": "🧱 x"}, "alice")
    assert line.startswith("curl -sS -i -X GET 'http://127.0.0.1:9/api/mocs/search?q=%F0%9F%A7%B1")
    assert line.endswith('-H "Authorization: Bearer $PARITY_TOKEN_ALICE"')
    assert "Authorization" not in curl_line(client, "GET", "/health", {}, "anonymous")
