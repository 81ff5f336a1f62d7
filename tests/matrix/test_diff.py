"""Differences: kinds, severity, origin, noise and declared rules."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.core.catalog import load_catalog
from parity.core.envelope import gateway_predicate
from parity.core.normalize import Rules
from parity.engine import bodies, diff
from parity.engine.diff import Answer, Difference, compare, learn_noise

JSON = {"content-type": "application/json"}
ROOT = Path(__file__).resolve().parents[2]
#: The sandbox catalog's gateway (envelope.gateway): the code has none of its own.
SANDBOX = gateway_predicate(load_catalog(ROOT / "fixtures" / "catalog.yaml").envelope)


def env(data: Any, message: str = "OK", status: str = "success") -> dict[str, Any]:
    return {"status": status, "message": message, "data": data}


def ans(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {**JSON, **(headers or {})}, body)


def only(diffs: list[Difference]) -> Difference:
    assert len(diffs) == 1, diffs
    return diffs[0]


def test_identical_answers_have_no_difference() -> None:
    a = ans(env({"id": 1, "tags": ["a", "b"]}))
    c = compare(a, ans(env({"id": 1, "tags": ["a", "b"]})))
    assert c.status == c.headers == c.envelope == []


def test_status_change_is_breaking_application() -> None:
    d = only(compare(ans(env({}), 201), ans(env({}), 200)).status)
    assert (d.kind, d.severity, d.origin, d.expected, d.actual) == (
        "status",
        "breaking",
        "application",
        201,
        200,
    )


def test_gateway_404_for_a_served_route_is_a_missing_endpoint() -> None:
    c = compare(ans(env({"total": 1})), ans({"message": "Not Found"}, 404), gateway=SANDBOX)
    d = only(c.status)
    assert d.kind == "missing-endpoint" and d.origin == "gateway"
    # and the envelope says which fields are gone, one by one
    removed = {x.path for x in c.envelope if x.kind == "removed"}
    assert removed == {"status", "data"}
    assert all(x.origin == "gateway" for x in c.envelope)


def test_application_message_only_body_is_not_the_gateway() -> None:
    express = ans(
        {
            "status": "error",
            "message": "MOC not found",
            "data": None,
            "error": {"code": "NOT_FOUND"},
        },
        404,
    )
    c = compare(express, ans({"message": "MOC not found"}, 404), gateway=SANDBOX)
    assert c.status == []
    assert {d.origin for d in c.envelope} == {"application"}


def test_authorizer_401_is_gateway_origin() -> None:
    express = ans(
        {
            "status": "error",
            "message": "Unauthorized",
            "data": None,
            "error": {"code": "UNAUTHORIZED"},
        },
        401,
    )
    c = compare(express, ans({"message": "Unauthorized"}, 401), gateway=SANDBOX)
    assert {d.origin for d in c.envelope} == {"gateway"}
    assert {d.path for d in c.envelope} == {"status", "data", "error"}


def test_new_field_is_additive_missing_field_breaking() -> None:
    c = compare(ans(env({"a": 1, "b": 2})), ans(env({"a": 1, "c": 3})))
    by_path = {d.path: d for d in c.envelope}
    assert by_path["data.b"].kind == "removed" and by_path["data.b"].severity == "breaking"
    assert by_path["data.c"].kind == "added" and by_path["data.c"].severity == "additive"


@pytest.mark.parametrize("fast", [True, False], ids=["fast-walk", "deepdiff"])
def test_keys_starting_with_two_underscores_are_compared_like_any_key(fast: bool) -> None:
    # GraphQL's __typename, httpbin's __utma cookie: data, not private attributes
    expected = {"data": {"__typename": "Moc", "id": 1}, "cookies": {"__utma": "1.2"}}
    actual = {"data": {"__typename": "Set", "id": 1}, "cookies": {}, "__v": 0}
    assert bodies.raw_diffs(expected, actual, Rules(), fast=fast) == [
        ("added", ("__v",), "(absent)", 0),
        ("removed", ("cookies", "__utma"), "1.2", "(absent)"),
        ("value", ("data", "__typename"), "Moc", "Set"),
    ]
    # under a list compared ignoring order too (DeepDiff hashes the items)
    rules = Rules.from_lists(unordered=["items"])
    e, a = {"items": [{"__t": "x"}, {"id": 2}]}, {"items": [{"id": 2}, {"__t": "y"}]}
    assert bodies.raw_diffs(e, a, rules, fast=fast) == [("value", ("items", 0, "__t"), "x", "y")]
    d = only(compare(ans(env(expected)), ans(env({**expected, "cookies": {}}))).envelope)
    assert (d.path, d.kind, d.severity) == ("data.cookies.__utma", "removed", "breaking")


def test_type_change_is_breaking_but_int_vs_float_is_a_value() -> None:
    d = only(compare(ans(env({"n": 1450})), ans(env({"n": "1450"}))).envelope)
    assert (d.kind, d.severity, d.path) == ("type", "breaking", "data.n")
    d = only(compare(ans(env({"n": 1})), ans(env({"n": 1.5}))).envelope)
    assert d.kind == "value"


def test_message_text_is_cosmetic() -> None:
    d = only(compare(ans(env([], "Albums retrieved")), ans(env([], "Albums fetched"))).envelope)
    assert (d.path, d.severity) == ("message", "cosmetic")


def test_reordered_list_is_one_order_difference() -> None:
    items = [{"id": i, "position": i} for i in range(4)]
    c = compare(ans(env({"items": items})), ans(env({"items": items[::-1]})))
    d = only(c.envelope)
    assert (d.path, d.kind, d.severity) == ("data.items", "order", "breaking")


def test_declared_unordered_list_ignores_order() -> None:
    rules = Rules.from_lists(unordered=["data.tags"])
    c = compare(ans(env({"tags": ["a", "b"]})), ans(env({"tags": ["b", "a"]})), rules=rules)
    assert c.envelope == []


def test_declared_ignore_drops_values_keeps_structure() -> None:
    rules = Rules.from_lists(ignore=["data.id", "data.coverId"])
    c = compare(
        ans(env({"id": "a", "coverId": None})), ans(env({"id": "b", "coverId": "x"})), rules=rules
    )
    assert c.envelope == []
    assert {n.path for n in c.noise} == {"data.id", "data.coverId"}
    assert {n.source for n in c.noise} == {"declared"}
    # a type change (not to or from null) is still a difference, so is a vanished key
    c = compare(ans(env({"id": "a"})), ans(env({"id": 7})), rules=rules)
    assert only(c.envelope).kind == "type"
    c = compare(ans(env({"id": "a"})), ans(env({})), rules=rules)
    assert only(c.envelope).kind == "removed"


def test_learned_noise_is_listed_and_not_compared() -> None:
    first = ans(env({"uptime": 1.2, "title": "x"}))
    second = ans(env({"uptime": 1.4, "title": "x"}))
    noise = learn_noise(first, second)
    assert [p for p, _ in noise.body] == [("data", "uptime")]
    c = compare(first, ans(env({"uptime": 9.9, "title": "x"})), noise=noise)
    assert c.envelope == []
    assert [(n.path, n.source, n.kind) for n in c.noise] == [
        ("data.uptime", "learned", "timestamp")
    ]
    # the title is not noise: a change there still counts
    c = compare(first, ans(env({"uptime": 9.9, "title": "y"})), noise=noise)
    assert only(c.envelope).path == "data.title"


def test_learned_noise_keeps_a_type_both_reference_answers_agreed_on() -> None:
    first = ans(env({"createdAt": "2026-01-01T00:00:00.000Z"}))
    second = ans(env({"createdAt": "2026-01-01T00:00:01.000Z"}))
    noise = learn_noise(first, second)
    d = only(compare(first, ans(env({"createdAt": 1767225600000})), noise=noise).envelope)
    assert d.kind == "type" and d.path == "data.createdAt"


def test_noise_in_status_and_headers() -> None:
    first, second = ans(env({}), 200, {"cache-control": "no-store"}), ans(env({}), 503)
    noise = learn_noise(first, second)
    assert noise.status and "cache-control" in noise.headers
    c = compare(first, ans(env({}), 500), noise=noise)
    assert c.status == [] and c.headers == []


def test_headers() -> None:
    express = ans(
        env({}),
        200,
        {
            "content-type": "application/json; charset=utf-8",
            "cache-control": "public, max-age=30",
            "vary": "Origin",
            "access-control-allow-origin": "http://a",
        },
    )
    same = ans(
        env({}),
        200,
        {
            "cache-control": "max-age=30, public",
            "vary": "origin",
            "access-control-allow-origin": "http://a",
        },
    )
    assert compare(express, same).headers == []
    other = ans(
        env({}),
        200,
        {
            "content-type": "text/plain; charset=utf-8",
            "vary": "origin",
            "x-extra": "1",
            "access-control-expose-headers": "etag",
        },
    )
    by = {d.path: d for d in compare(express, other, gateway=SANDBOX, cors_gateway=True).headers}
    assert by["content-type"].kind == "header-changed" and by["content-type"].severity == "breaking"
    assert by["content-type"].origin == "application"
    assert by["cache-control"].kind == "header-removed"
    assert by["access-control-allow-origin"].origin == "gateway"
    assert by["access-control-expose-headers"].kind == "header-added"
    assert by["access-control-expose-headers"].severity == "additive"
    assert "x-extra" not in by


def test_a_message_that_is_not_text_is_not_the_gateway() -> None:
    c = compare(ans(env({})), ans({"message": ["Unauthorized"]}), gateway=SANDBOX)
    assert {d.origin for d in c.envelope} == {"application"}


def test_without_a_declared_gateway_an_express_not_found_is_the_application_s() -> None:
    """An API without a gateway (json-server, httpbin: envelope none): the reference's
    Express-style ``{"message": "Not Found"}`` is the application's answer, not a gateway's."""
    ref = ans({"message": "Not Found"}, 404)
    c = compare(ref, ans(env({}), 200))
    assert only(c.status).origin == "application" and only(c.status).kind == "status"
    assert c.envelope and {d.origin for d in c.envelope} == {"application"}
    c = compare(ans(env({}), 200), ans({"message": "Not Found"}, 404), gateway=None)
    assert only(c.status).kind == "status" and only(c.status).origin == "application"


def test_non_json_body() -> None:
    c = compare(ans(env({})), Answer(200, {}, None, "<html>"))
    assert only(c.envelope).kind == "body"
    c = compare(Answer(204, {}, None, ""), Answer(204, {}, None, ""))
    assert c.envelope == []


# --- the fast walk agrees with DeepDiff ----------------------------------------------------
# parity.engine.bodies walks JSON directly and hands DeepDiff only unordered and plain-value lists;
# the findings must be exactly DeepDiff's over the whole tree, and the optimised reordering
# exactly the straightforward one.

_KEYS = st.sampled_from(["a", "b", "id", "items", "__p", "a.b", "message"])
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, -0.0, 1.0, 2.5])
    | st.sampled_from(["", "x", "y", "1"])
)
_JSON_VALUES = st.recursive(
    _SCALAR,
    lambda kids: st.lists(kids, max_size=10) | st.dictionaries(_KEYS, kids, max_size=5),
    max_leaves=40,
)
_RULES = st.sampled_from(
    [
        Rules(),
        Rules.from_lists(unordered=["items"]),
        Rules.from_lists(unordered=["a", "items[*].b"]),
        Rules.from_lists(ignore=["id"], unordered=["b"]),
    ]
)


def _mutate(data: st.DataObject, value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` with a few random edits: most of it stays equal, as two answers
    of two backends mostly do (so the identical-items shortcuts are exercised)."""
    roll = data.draw(st.integers(0, 9))
    if roll == 0 or depth > 6:
        return data.draw(_JSON_VALUES)  # replaced (often a type change)
    if isinstance(value, dict):
        out = {
            k: _mutate(data, v, depth + 1) if data.draw(st.booleans()) else v
            for k, v in value.items()
        }
        if roll == 1 and out:
            out.pop(data.draw(st.sampled_from(sorted(out))))
        if roll == 2:
            out[data.draw(_KEYS)] = data.draw(_SCALAR)
        return out
    if isinstance(value, list):
        out_list = [
            _mutate(data, v, depth + 1) if data.draw(st.integers(0, 3)) == 0 else v for v in value
        ]
        if roll == 1:
            out_list = data.draw(st.permutations(out_list))
        elif roll == 2 and out_list:
            out_list.pop()
        elif roll == 3:
            out_list.append(data.draw(_JSON_VALUES))
        return out_list
    if roll <= 2:
        return data.draw(_SCALAR)
    return copy.deepcopy(value)


def _reference_reorder(
    expected: Any,
    actual: Any,
    path: tuple[Any, ...],
    rules: Rules,
    found: list[Any],
    known: Any = None,
) -> Any:
    # parity.engine.bodies.reorder as it was before the identical-items shortcuts (``known``: what
    # the fast one hands the walk; nothing here)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {
            k: _reference_reorder(expected[k], v, (*path, k), rules, found) if k in expected else v
            for k, v in actual.items()
        }
    if isinstance(expected, list) and isinstance(actual, list):

        def key(item: Any, i: int) -> str:  # declared noise blanked, as the engine does
            return bodies._item_key(item, path, i, rules)

        same_items = (
            expected != actual
            and len(expected) == len(actual)
            and not rules.is_unordered(path)
            and not (
                rules.ignore
                and all(
                    key(e, i) == key(a, i)
                    for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                )
            )
            and sorted(key(x, i) for i, x in enumerate(expected))
            == sorted(key(x, i) for i, x in enumerate(actual))
        )
        if same_items:
            found.append(path)
            pool: dict[str, list[Any]] = {}
            for j, item in enumerate(actual):
                pool.setdefault(key(item, j), []).append(item)
            return [pool[key(e, i)].pop(0) for i, e in enumerate(expected)]
        if len(expected) == len(actual):
            return [
                _reference_reorder(e, a, (*path, i), rules, found)
                for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            ]
    return actual


def _pair(data: st.DataObject) -> tuple[Any, Any]:
    expected = data.draw(_JSON_VALUES)
    if data.draw(st.integers(0, 4)) == 0:
        return expected, data.draw(_JSON_VALUES)  # unrelated
    return expected, _mutate(data, expected)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), rules=_RULES)
def test_fast_walk_finds_what_deepdiff_finds(data: st.DataObject, rules: Rules) -> None:
    expected, actual = _pair(data)
    assert bodies.raw_diffs(expected, actual, rules) == bodies.raw_diffs(
        expected, actual, rules, fast=False
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), rules=_RULES)
def test_reorder_shortcuts_change_nothing(data: st.DataObject, rules: Rules) -> None:
    expected, actual = _pair(data)
    found: list[Any] = []
    reference_found: list[Any] = []
    got = bodies.reorder(expected, actual, (), rules, found)
    want = _reference_reorder(expected, actual, (), rules, reference_found)
    assert found == reference_found
    assert bodies.raw_diffs(expected, got, rules, fast=False) == bodies.raw_diffs(
        expected, want, rules, fast=False
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), rules=_RULES)
def test_compare_agrees_with_the_deepdiff_engine(data: st.DataObject, rules: Rules) -> None:
    expected, actual = _pair(data)
    again = _mutate(data, expected)
    first, candidate, second = ans(expected), ans(actual), ans(again)

    def run() -> list[dict[str, Any]]:
        noise = learn_noise(first, second)
        c = compare(first, candidate, rules=rules, noise=noise)
        return [d.to_dict() for d in c.envelope] + [n.to_dict() for n in c.noise]

    fast = run()
    with pytest.MonkeyPatch.context() as m:
        # diff_body and learn_noise call them by the names parity.engine.diff imports
        m.setattr(diff, "reorder", _reference_reorder)
        m.setattr(diff, "raw_diffs", functools.partial(bodies.raw_diffs, fast=False))
        slow = run()
    assert fast == slow


def test_identical_items_shortcut_still_sees_type_and_order_changes() -> None:
    items = [{"id": i, "n": i, "tags": ["a", "b"]} for i in range(20)]
    floats = copy.deepcopy(items)
    floats[3]["n"] = 3.0  # == 3, another JSON spelling: a value difference
    flags = copy.deepcopy(items)
    flags[1]["n"] = True  # == 1 in Python, a type change in JSON
    moved = copy.deepcopy(items)
    moved[5]["tags"] = ["b", "a"]
    paths = {
        name: [(d.path, d.kind) for d in compare(ans(env(items)), ans(env(other))).envelope]
        for name, other in (("floats", floats), ("flags", flags), ("moved", moved))
    }
    assert paths == {
        "floats": [("data[3].n", "value")],
        "flags": [("data[1].n", "type")],
        "moved": [("data[5].tags", "order")],
    }
