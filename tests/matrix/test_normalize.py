"""Header normalisation, JSON path patterns and noise classification."""

from __future__ import annotations

import pytest

from parity.core.normalize import (
    PathPattern,
    Rules,
    classify_noise,
    format_path,
    normalize_header,
    relevant_headers,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("application/json", "application/json; charset=utf-8"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        ("application/problem+json;charset=utf8", "application/problem+json"),
    ],
)
def test_json_charset_utf8_is_the_default_spelled_out(a: str, b: str) -> None:
    assert normalize_header("content-type", a) == normalize_header("Content-Type", b)


def test_text_plain_json_is_not_json() -> None:
    assert normalize_header("content-type", "text/plain; charset=utf-8") != normalize_header(
        "content-type", "application/json"
    )
    # charset matters outside JSON
    assert (
        normalize_header("content-type", "text/html; charset=utf-8") == "text/html; charset=utf-8"
    )


def test_cache_control_directive_order_and_case() -> None:
    assert normalize_header("cache-control", "Public, max-age=30") == normalize_header(
        "cache-control", "max-age=30,public"
    )
    assert normalize_header("cache-control", "no-store") != normalize_header(
        "cache-control", "no-cache"
    )


def test_cors_token_lists_ignore_case_and_order() -> None:
    gateway = "authorization,content-type"
    express = "Content-Type,Authorization"
    assert normalize_header("access-control-allow-headers", gateway) == normalize_header(
        "Access-Control-Allow-Headers", express
    )
    assert normalize_header("vary", "Origin") == normalize_header("vary", "origin")
    assert normalize_header("access-control-allow-origin", "http://App.example.com/") == (
        "http://app.example.com"
    )


def test_relevant_headers_keep_only_what_matters() -> None:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "ETag": 'W/"1"',
        "X-Request-Id": "abc",
        "Access-Control-Allow-Origin": "http://localhost:3002",
        "Date": "now",
    }
    assert relevant_headers(headers) == {
        "content-type": "application/json",
        "access-control-allow-origin": "http://localhost:3002",
    }


def test_format_path() -> None:
    assert format_path(["data", "items", 0, "id"]) == "data.items[0].id"
    assert format_path([]) == "$"
    assert format_path(["data", "items", "*", "id"]) == "data.items[*].id"


def test_pattern_covers_itself_and_below() -> None:
    p = PathPattern.parse("data.items[*].id")
    assert p.covers(("data", "items", 3, "id"))
    assert p.covers(("data", "items", 3, "id", "x"))
    assert not p.covers(("data", "items", 3, "title"))
    assert not p.covers(("data", "items"))
    assert p.names(("data", "items", 0, "id")) and not p.names(("data", "items", 0, "id", "x"))
    assert PathPattern.parse("$").covers(("anything",))


def test_rules() -> None:
    rules = Rules.from_lists(ignore=["data.id"], unordered=["data.tags"])
    assert rules.ignores(("data", "id")) is not None
    assert rules.ignores(("data", "title")) is None
    assert rules.is_unordered(("data", "tags")) and not rules.is_unordered(("data", "tags", 0))


@pytest.mark.parametrize(
    ("path", "values", "kind"),
    [
        (
            ["data", "createdAt"],
            ["2026-11-24T10:00:00.000Z", "2026-11-24T10:00:01.000Z"],
            "timestamp",
        ),
        (["data", "uptime"], [1.2, 1.5], "timestamp"),
        (["meta", "requestId"], ["Tn7Y0jR5IAMEVTg=", "Xn7Y0jR5IAMEVTg="], "request-id"),
        (
            ["data", "id"],
            ["4b4f6d1e-0000-4000-8000-000000000001", "4b4f6d1e-0000-4000-8000-000000000002"],
            "id",
        ),
        (["data", "title"], ["a", "b"], "other"),
        (["data", "url"], ["http://x/1", "http://x/2"], "other"),
    ],
)
def test_classify_noise(path: list[str], values: list[object], kind: str) -> None:
    assert classify_noise(path, values) == kind
