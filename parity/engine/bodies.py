"""The JSON body diff: every difference between two JSON values, as
(kind, path parts, expected, actual).

- :func:`reorder` first puts each list of ``actual`` that holds the same items as
  ``expected``'s in another order back in ``expected``'s order (items compared as canonical
  JSON, what the declared ``noise: ignore`` rules name blanked), and says which lists those
  were: "every item changed" becomes one ``order`` difference.
- :func:`raw_diffs` then lists what differs: DeepDiff's semantics (tree view, lists
  compared ignoring order where the catalog says ``noise: unordered``), computed by a direct
  walk of the JSON that hands DeepDiff only the parts where its matching is not positional.

What a difference means (its severity, its origin, whether noise covers it) is
:mod:`parity.engine.diff`'s business: this module knows JSON, not answers.
"""

from __future__ import annotations

import json
import marshal
from typing import Any, Literal

from deepdiff import DeepDiff

from parity.core.normalize import Part, Rules, format_path

__all__ = ["ABSENT", "Change", "Known", "RawDiff", "json_type", "raw_diffs", "reorder"]

#: The kinds of difference two JSON values can have.
Change = Literal["value", "type", "added", "removed", "item-added", "item-removed"]
#: One difference: (kind, path parts, the expected value, the actual value).
RawDiff = tuple[Change, tuple[Part, ...], Any, Any]

ABSENT = "(absent)"  # how a missing value shows in a difference


def json_type(value: Any) -> str:
    """The JSON type of a parsed value (``number`` for int and float alike)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


#: (id(expected list), id(actual list)) -> (the two lists, positions that may differ or
#: None): what :func:`reorder` learnt about a list, so the walk after it does not marshal
#: the same items again. The lists are held, so their ids stay theirs.
Known = dict[tuple[int, int], tuple[list[Any], list[Any], list[int] | None]]


def reorder(
    expected: Any,
    actual: Any,
    path: tuple[Part, ...],
    rules: Rules,
    found: list[tuple[Part, ...]],
    known: Known | None = None,
) -> Any:
    """``actual`` with each list that holds the same items as ``expected`` in another order
    put back in ``expected``'s order; the paths of those lists go to ``found``. This turns
    "every element changed" into one ``order`` difference.

    Equal subtrees (``==``) hold no such list, so only the unequal keys and items are
    visited, and ``actual`` itself is returned where nothing below it moved."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: dict[Any, Any] | None = None
        for key, value in actual.items():
            if key not in expected or _same(expected[key], value):
                continue
            moved = reorder(expected[key], value, (*path, key), rules, found, known)
            if moved is not value:
                out = dict(actual) if out is None else out
                out[key] = moved
        return actual if out is None else out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        pairs = enumerate(zip(expected, actual, strict=True))
        differ = [i for i, (e, a) in pairs if not _same(e, a)]
        if not differ:
            return actual
        if not rules.is_unordered(path):
            alike = len(differ) == len(expected) or _alike(expected, actual, differ)
            if known is not None:
                known[(id(expected), id(actual))] = (expected, actual, differ if alike else None)
            in_place = bool(rules.ignore) and all(  # only noise differs, item by item
                _item_key(expected[i], path, i, rules) == _item_key(actual[i], path, i, rules)
                for i in differ
            )
            if not in_place and _same_items(expected, actual, differ, alike, path, rules):
                found.append(path)
                # the candidate's own items, in the reference's order: what differs by
                # nature (declared noise) is still theirs, and compared by its format
                return _aligned(expected, actual, path, rules) if rules.ignore else list(expected)
        items: list[Any] | None = None
        for i in differ:
            moved = reorder(expected[i], actual[i], (*path, i), rules, found, known)
            if moved is not actual[i]:
                items = list(actual) if items is None else items
                items[i] = moved
        return actual if items is None else items
    return actual


def _masked(value: Any, path: tuple[Part, ...], rules: Rules) -> Any:
    """``value`` with what the declared rules ignore (values that differ by nature, such
    as the ids each backend gives its own copy) blanked: two items that differ only there
    are the same item."""
    if isinstance(value, dict):
        return {
            k: "(noise)" if rules.ignores((*path, k)) else _masked(v, (*path, k), rules)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v, (*path, i), rules) for i, v in enumerate(value)]
    return value


def _item_key(item: Any, path: tuple[Part, ...], i: int, rules: Rules) -> str:
    return _canonical(_masked(item, (*path, i), rules) if rules.ignore else item)


def _aligned(
    expected: list[Any], actual: list[Any], path: tuple[Part, ...], rules: Rules
) -> list[Any]:
    """``actual``'s items in ``expected``'s order (the lists hold the same items, noise
    aside: :func:`_same_items`)."""
    pool: dict[str, list[Any]] = {}
    for j, item in enumerate(actual):
        pool.setdefault(_item_key(item, path, j, rules), []).append(item)
    return [pool[_item_key(e, path, i, rules)].pop(0) for i, e in enumerate(expected)]


def _same_items(
    expected: list[Any],
    actual: list[Any],
    differ: list[int],
    alike: bool,
    path: tuple[Part, ...] = (),
    rules: Rules | None = None,
) -> bool:
    """The two lists hold the same items (as canonical JSON, what ``rules`` ignore blanked)
    in any order. When the items at the other positions are ``alike`` (see :func:`_alike`),
    only the ``differ`` positions need their canonical form: the alike ones count the same
    on both sides."""
    rules = rules or Rules()
    positions = range(len(expected)) if not alike else differ
    return sorted(_item_key(expected[i], path, i, rules) for i in positions) == sorted(
        _item_key(actual[i], path, i, rules) for i in positions
    )


_KINDS: dict[str, Change] = {
    "values_changed": "value",
    "type_changes": "type",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_added": "item-added",
    "iterable_item_removed": "item-removed",
    "repetition_change": "value",
    "set_item_added": "item-added",
    "set_item_removed": "item-removed",
    "attribute_added": "added",
    "attribute_removed": "removed",
}


def _finish(found: list[RawDiff]) -> list[RawDiff]:
    """JSON has one number type: 1 and 1.0 differ in value only; sorted by path and kind
    (the parts break ties between paths that print alike, such as a key ``"a.b"`` and
    ``a`` -> ``b``, so the order never depends on how the tree was walked)."""
    out: list[RawDiff] = []
    for kind, parts, t1, t2 in found:
        if kind == "type" and json_type(t1) == json_type(t2) == "number":
            kind = "value"
        out.append((kind, parts, t1, t2))
    out.sort(key=lambda d: (format_path(d[1]), d[0], [(type(p).__name__, str(p)) for p in d[1]]))
    return out


def _deepdiff(
    expected: Any, actual: Any, rules: Rules, prefix: tuple[Part, ...] = ()
) -> list[RawDiff]:
    """DeepDiff of two (sub)trees at ``prefix``: the reference semantics, and what the fast
    walk hands over for lists compared ignoring order and lists of plain values (those go
    through DeepDiff's difflib matching)."""

    def unordered(level: Any) -> bool:
        return rules.is_unordered((*prefix, *level.path(output_format="list")))

    tree = DeepDiff(
        expected,
        actual,
        view="tree",
        ignore_order_func=unordered,
        verbose_level=2,
        cache_size=0,
        # Always descend: by default DeepDiff reports two dicts sharing few keys as one
        # changed value, which would hide *which* fields are missing.
        threshold_to_diff_deeper=0,
        # Every key is compared: a key starting with "__" (GraphQL's "__typename", a
        # cookie's "__utma") is data, not the private attribute DeepDiff skips by default.
        ignore_private_variables=False,
    )
    out: list[RawDiff] = []
    for report_type, levels in tree.items():
        kind = _KINDS.get(report_type)
        if kind is None:  # pragma: no cover - a DeepDiff report type JSON cannot produce
            continue
        for level in levels:
            parts = (*prefix, *level.path(output_format="list"))
            t1 = ABSENT if kind in ("added", "item-added") else level.t1
            t2 = ABSENT if kind in ("removed", "item-removed") else level.t2
            out.append((kind, parts, t1, t2))
    return out


# --- the fast walk -------------------------------------------------------------------------
# DeepDiff builds a DiffLevel object per visited node and computes path strings as it goes:
# ~100x a json.loads of the same body. Answers are JSON (dicts, lists, str, int, float, bool,
# None), so a direct walk gives the same findings at a fraction of the cost. It follows
# DeepDiff's semantics exactly (tests/matrix/test_diff.py checks the two agree on random JSON
# with Hypothesis) and hands DeepDiff the parts where DeepDiff's matching is not positional:
# lists compared ignoring order, and lists of plain values (difflib matching).

_SCALARS = frozenset({str, int, float, bool})
_BASIC = (str, bytes, int, float, bool, type(None))  # DeepDiff's "basic hashable" for JSON
_JSON = frozenset({dict, list, str, int, float, bool, type(None)})
_SKIP_MIN = 8  # shorter lists are walked item by item without the identical-items shortcut


def _same(x: Any, y: Any) -> bool:
    return x is y or x == y  # what list equality uses per item


def _unequal_positions(e: list[Any], a: list[Any], n: int, known: Known) -> list[int] | None:
    """Positions < ``n`` whose items may differ; the others are the same objects, or equal
    with the same types, key order and float bits (their marshal bytes agree, checked in one
    C call), so nothing is to be found under them. None: that could not be shown; walk all."""
    hit = known.get((id(e), id(a)))
    if hit is not None and hit[0] is e and hit[1] is a:
        return hit[2]
    differ = [i for i in range(n) if not _same(e[i], a[i])]
    if len(differ) == n or _alike(e, a, differ, n):
        return differ
    return None


def _alike(e: list[Any], a: list[Any], differ: list[int], n: int | None = None) -> bool:
    """The items at positions < ``n`` not in ``differ`` (all equal, ``==``) are alike: the
    same types, key order and float bits, checked in one C call per side (their marshal
    bytes agree). False when that cannot be shown."""
    gaps = set(differ)
    rest = [i for i in range(len(e) if n is None else n) if i not in gaps]
    try:
        # version 2: no back-references, whose use depends on reference counts
        return marshal.dumps([e[i] for i in rest], 2) == marshal.dumps([a[i] for i in rest], 2)
    except (ValueError, RecursionError):  # not marshallable, or too deep
        return False


def _walk(
    e: Any, a: Any, path: tuple[Part, ...], rules: Rules, out: list[RawDiff], known: Known
) -> None:
    if e is a:
        return
    te = type(e)
    if te is not type(a):
        out.append(("type", path, e, a))
    elif te in _SCALARS:
        if e != a:
            out.append(("value", path, e, a))
    elif te is dict:
        _walk_dict(e, a, path, rules, out, known)
    elif te is list:
        _walk_list(e, a, path, rules, out, known)
    elif te not in _JSON:  # pragma: no cover - not from json.loads: DeepDiff knows them
        out.extend(_deepdiff(e, a, rules, path))


def _walk_dict(
    e: dict[Any, Any],
    a: dict[Any, Any],
    path: tuple[Part, ...],
    rules: Rules,
    out: list[RawDiff],
    known: Known,
) -> None:
    for key, av in a.items():
        if key not in e:
            out.append(("added", (*path, key), ABSENT, av))
            continue
        ev = e[key]
        if ev is av:
            continue
        tv = type(ev)
        if tv is type(av) and tv in _SCALARS:  # inline: most values are scalars
            if ev != av:
                out.append(("value", (*path, key), ev, av))
        else:
            _walk(ev, av, (*path, key), rules, out, known)
    for key, ev in e.items():
        if key not in a:
            out.append(("removed", (*path, key), ev, ABSENT))


def _all_basic(items: list[Any]) -> bool:
    return all(isinstance(x, _BASIC) for x in items)


def _walk_list(
    e: list[Any],
    a: list[Any],
    path: tuple[Part, ...],
    rules: Rules,
    out: list[RawDiff],
    known: Known,
) -> None:
    if rules.unordered and rules.is_unordered(path):
        out.extend(_deepdiff(e, a, rules, path))
        return
    if _all_basic(e) and _all_basic(a):
        # DeepDiff matches lists of plain values with difflib; identical ones have nothing
        same = len(e) == len(a) and all(
            x is y or (type(x) is type(y) and x == y) for x, y in zip(e, a, strict=True)
        )
        if not same:
            out.extend(_deepdiff(e, a, rules, path))
        return
    n = min(len(e), len(a))
    positions = _unequal_positions(e, a, n, known) if n >= _SKIP_MIN else None
    for i in range(n) if positions is None else positions:
        _walk(e[i], a[i], (*path, i), rules, out, known)
    for i in range(n, len(e)):
        out.append(("item-removed", (*path, i), e[i], ABSENT))
    for i in range(n, len(a)):
        out.append(("item-added", (*path, i), ABSENT, a[i]))


def raw_diffs(
    expected: Any, actual: Any, rules: Rules, *, fast: bool = True, known: Known | None = None
) -> list[RawDiff]:
    """Every difference of two JSON values as (kind, path parts, expected, actual), sorted.
    ``fast=False``: DeepDiff over the whole tree (the reference the fast walk is tested
    against). ``known``: what :func:`reorder` learnt about the same two trees."""
    found: list[RawDiff] = []
    if fast:
        _walk(expected, actual, (), rules, found, {} if known is None else known)
    else:
        found = _deepdiff(expected, actual, rules)
    return _finish(found)
