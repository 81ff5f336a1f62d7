"""Differences between the reference answer (Express) and the candidate's (serverless).

:func:`compare` diffs status, the headers that matter (:mod:`parity.core.normalize`) and the body
(DeepDiff), and gives every difference a kind, a severity and an origin:

- severity ``breaking`` (status, type, missing field, missing endpoint, changed value,
  order), ``additive`` (a new field or header) or ``cosmetic`` (human text: the paths the
  catalog's envelope names as messages);
- origin ``gateway`` when one side's answer is the gateway's own (as the catalog's
  ``envelope.gateway`` describes it), or for CORS headers (the gateway's CORS configuration
  replaces whatever the integration sends); ``application`` otherwise.

Without a catalog (``compare(text=None, gateway=None)``) the built-in rules stand in: a
``message`` key is text, ``{"message": <one of API Gateway's texts>}`` is the gateway.

Learned noise (paths that differ between two reference answers) and declared rules (catalog
``noise:``) are applied here, and what they removed is returned too: nothing is dropped
silently. A value under noise is still compared by its format
(:func:`~parity.core.normalize.value_format`: a timestamp's notation, an id's kind, a URL's
host, a token's kind): a changed format is a ``format`` difference. Headers that differ
only in spelling (normalised away) come back as noise hits of source ``normalised``.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from deepdiff import DeepDiff

from parity.core.normalize import (
    HeaderRules,
    NoiseKind,
    Part,
    PathPattern,
    Rules,
    classify_noise,
    format_path,
    relevant_headers,
    spelling_differences,
    value_format,
)
from parity.core.results import Origin, Severity

__all__ = [
    "GATEWAY_MESSAGES",
    "SEVERITY_ORDER",
    "TEXT_FIELDS",
    "Answer",
    "Comparison",
    "Difference",
    "GatewayRule",
    "Kind",
    "Noise",
    "NoiseHit",
    "TextRule",
    "compare",
    "diff_body",
    "diff_headers",
    "diff_status",
    "is_gateway_shaped",
    "learn_noise",
    "text_rule",
    "worst_severity",
]

Kind = Literal[
    "status",
    "missing-endpoint",
    "value",
    "type",
    "added",
    "removed",
    "item-added",
    "item-removed",
    "order",
    "body",
    "header-added",
    "header-removed",
    "header-changed",
    # a value under noise (not compared) whose format changed
    "format",
]

#: Keys holding human text: a changed value there is cosmetic, not breaking. The built-in
#: rule, for callers without a catalog; the checks pass the catalog envelope's message
#: paths instead (:func:`text_rule`), and its gateway instead of :func:`is_gateway_shaped`.
TEXT_FIELDS = frozenset({"message"})
#: Whether a body path holds human text (a change there is cosmetic).
TextRule = Callable[[Sequence[Part]], bool]
#: Whether a body is the gateway's own answer (not the application's).
GatewayRule = Callable[[Any], bool]
SEVERITY_ORDER: tuple[Severity, ...] = ("cosmetic", "additive", "breaking")

_ABSENT = "(absent)"  # how a missing value shows in a Difference


@dataclass
class Answer:
    """One response as compared: status, headers (any case) and the parsed JSON body, or
    the text when it is not JSON."""

    status: int
    headers: dict[str, str]
    body: Any = None
    text: str | None = None  # set when the body is not JSON

    @property
    def is_json(self) -> bool:
        return self.text is None


@dataclass
class Difference:
    path: str  # "status", a header name, or a JSON path ("data.items[0].id", "$")
    kind: Kind
    expected: Any  # the reference's value ("(absent)" when it has none)
    actual: Any  # the candidate's value
    severity: Severity
    origin: Origin
    accepted_by: str | None = None  # the baseline entry that accepts it
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Difference:
        return cls(**data)


@dataclass
class NoiseHit:
    """A path where the two reference answers differed, or a declared rule applied."""

    path: str
    # normalised: a header spelt differently with the same meaning (reported, cosmetic)
    source: Literal["learned", "declared", "normalised"]
    kind: NoiseKind
    values: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Noise:
    """What differed between two answers of the reference to the same request."""

    status: bool = False
    headers: dict[str, list[Any]] = field(default_factory=dict)
    body: list[tuple[tuple[Part, ...], list[Any]]] = field(default_factory=list)

    def hits(self) -> list[NoiseHit]:
        out: list[NoiseHit] = []
        if self.status:
            out.append(NoiseHit("status", "learned", "other"))
        for name, values in sorted(self.headers.items()):
            out.append(
                NoiseHit(f"header {name}", "learned", classify_noise([name], values), values)
            )
        for parts, values in self.body:
            out.append(
                NoiseHit(format_path(parts), "learned", classify_noise(parts, values), values)
            )
        return out

    def covers(self, parts: Sequence[Part]) -> bool:
        return any(len(parts) >= len(p) and tuple(parts[: len(p)]) == p for p, _ in self.body)

    def samples(self, parts: Sequence[Part]) -> list[Any] | None:
        """The two reference values at exactly ``parts`` (None: the noise lies above)."""
        return next((list(s) for p, s in self.body if p == tuple(parts)), None)

    def type_is_stable(self, parts: Sequence[Part], value: Any) -> bool:
        """Both reference answers had a value of ``value``'s JSON type at exactly ``parts``:
        the value is noise, its type is not."""
        for p, samples in self.body:
            if p == tuple(parts):
                return all(v is not None and _json_type(v) == _json_type(value) for v in samples)
        return False


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


@dataclass
class Comparison:
    """The differences per check (``status``, ``headers``, ``envelope``) and what noise
    and declared rules took out."""

    status: list[Difference] = field(default_factory=list)
    headers: list[Difference] = field(default_factory=list)
    envelope: list[Difference] = field(default_factory=list)
    noise: list[NoiseHit] = field(default_factory=list)

    def by_check(self) -> dict[str, list[Difference]]:
        return {"status": self.status, "headers": self.headers, "envelope": self.envelope}


#: The messages of API Gateway's own answers (default gateway responses, HTTP and REST
#: APIs). An application that answers ``{"message": "MOC not found"}`` is not the gateway.
GATEWAY_MESSAGES = frozenset(
    {
        "Unauthorized",
        "Forbidden",
        "Not Found",
        "Missing Authentication Token",
        "Request Entity Too Large",
        "Request Too Long",
        "Too Many Requests",
        "Internal Server Error",
        "Service Unavailable",
        "Endpoint request timed out",
        "Network error communicating with endpoint",
    }
)


def is_gateway_shaped(body: Any) -> bool:
    """API Gateway's own answers are ``{"message": "<one of GATEWAY_MESSAGES>"}``."""
    # (a str check first: a non-string message, e.g. a list, is not hashable)
    return (
        isinstance(body, dict)
        and set(body) == {"message"}
        and isinstance(body["message"], str)
        and body["message"] in GATEWAY_MESSAGES
    )


def _origin(expected: Answer, actual: Answer, gateway: GatewayRule = is_gateway_shaped) -> Origin:
    return "gateway" if gateway(expected.body) or gateway(actual.body) else "application"


def worst_severity(diffs: Iterable[Difference]) -> Severity | None:
    found = {d.severity for d in diffs}
    return next((s for s in reversed(SEVERITY_ORDER) if s in found), None)


def diff_status(
    expected: Answer,
    actual: Answer,
    *,
    noise: Noise | None = None,
    gateway: GatewayRule = is_gateway_shaped,
) -> list[Difference]:
    if expected.status == actual.status or (noise is not None and noise.status):
        return []
    missing = actual.status == 404 and expected.status != 404 and gateway(actual.body)
    return [
        Difference(
            "status",
            "missing-endpoint" if missing else "status",
            expected.status,
            actual.status,
            "breaking",
            _origin(expected, actual, gateway),
            note="no route on the candidate: the gateway answered 404" if missing else "",
        )
    ]


def diff_headers(
    expected: Answer,
    actual: Answer,
    *,
    noise: Noise | None = None,
    cors: bool = True,
    gateway: GatewayRule = is_gateway_shaped,
    cors_gateway: bool = True,
    headers: HeaderRules | None = None,
) -> list[Difference]:
    """Differences of the :data:`~parity.core.normalize.COMPARED_HEADERS` (``cors``: whether the
    request carried an ``Origin``, see :func:`~parity.core.normalize.relevant_headers`).
    ``cors_gateway``: a gateway in front answers CORS (API Gateway's CORS configuration),
    so a difference in an ``Access-Control-*`` header is the gateway's; without one (an
    API whose envelope declares no gateway) it is the application's. ``headers``: the
    catalog's ``checks.headers`` (more headers compared; spellings that matter: a header
    spelt differently with the same meaning is then a breaking ``header-changed``)."""
    exp = relevant_headers(expected.headers, cors=cors, rules=headers)
    act = relevant_headers(actual.headers, cors=cors, rules=headers)
    body_origin = _origin(expected, actual, gateway)
    diffs: list[Difference] = []
    for name in sorted(set(exp) | set(act)):
        if noise is not None and name in noise.headers:
            continue
        e, a = exp.get(name), act.get(name)
        if e == a:
            continue
        cors_header = cors_gateway and name.startswith("access-control-")
        origin: Origin = "gateway" if cors_header else body_origin
        if e is None:
            diffs.append(Difference(name, "header-added", _ABSENT, a, "additive", origin))
        elif a is None:
            diffs.append(Difference(name, "header-removed", e, _ABSENT, "breaking", origin))
        else:
            note = _FORMAT_NOTE if headers and name in headers.by_format else ""
            if name == "set-cookie":
                note = _COOKIE_NOTE
            diffs.append(Difference(name, "header-changed", e, a, "breaking", origin, note=note))
    if headers is not None and headers.spelling:
        for name, e, a in spelling_differences(
            expected.headers, actual.headers, cors=cors, rules=headers
        ):
            if not headers.spelling_matters(name) or (noise is not None and name in noise.headers):
                continue
            origin = (
                "gateway" if cors_gateway and name.startswith("access-control-") else body_origin
            )
            diffs.append(
                Difference(name, "header-changed", e, a, "breaking", origin, note=_SPELT_NOTE)
            )
    return diffs


_FORMAT_NOTE = "compared by format (checks.headers.by_format): values differ by nature"
_COOKIE_NOTE = "Set-Cookie compared by its cookies' names and attributes; values never shown"
_SPELT_NOTE = (
    "same meaning, other spelling; checks.headers.cosmetic_matters makes the spelling matter"
)


# --- bodies ------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


#: (id(expected list), id(actual list)) -> (the two lists, positions that may differ or
#: None): what :func:`_reorder` learnt about a list, so the walk after it does not marshal
#: the same items again. The lists are held, so their ids stay theirs.
_Known = dict[tuple[int, int], tuple[list[Any], list[Any], list[int] | None]]


def _reorder(
    expected: Any,
    actual: Any,
    path: tuple[Part, ...],
    rules: Rules,
    found: list[tuple[Part, ...]],
    known: _Known | None = None,
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
            moved = _reorder(expected[key], value, (*path, key), rules, found, known)
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
            moved = _reorder(expected[i], actual[i], (*path, i), rules, found, known)
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


_KINDS: dict[str, Kind] = {
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


def _builtin_text(parts: Sequence[Part]) -> bool:
    return bool(parts) and parts[-1] in TEXT_FIELDS


def text_rule(paths: Iterable[str] | None) -> TextRule:
    """The paths of human text, as the catalog's envelope names them (``message``,
    ``error.details[*].message``); None: the built-in :data:`TEXT_FIELDS` keys at any
    depth, for callers without a catalog."""
    if paths is None:
        return _builtin_text
    patterns = tuple(PathPattern.parse(p) for p in paths)
    return lambda parts: any(p.names(parts) for p in patterns)


def _severity(
    kind: Kind, parts: Sequence[Part], expected: Any, actual: Any, text: TextRule = _builtin_text
) -> Severity:
    if kind in ("added", "header-added"):
        return "additive"
    if kind == "value" and text(parts) and isinstance(expected, str):
        return "cosmetic" if isinstance(actual, str) else "breaking"
    return "breaking"


RawDiff = tuple[Kind, tuple[Part, ...], Any, Any]


def _finish(found: list[RawDiff]) -> list[RawDiff]:
    """JSON has one number type: 1 and 1.0 differ in value only; sorted by path and kind
    (the parts break ties between paths that print alike, such as a key ``"a.b"`` and
    ``a`` -> ``b``, so the order never depends on how the tree was walked)."""
    out: list[RawDiff] = []
    for kind, parts, t1, t2 in found:
        if kind == "type" and _json_type(t1) == _json_type(t2) == "number":
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
    )
    out: list[RawDiff] = []
    for report_type, levels in tree.items():
        kind = _KINDS.get(report_type)
        if kind is None:  # pragma: no cover - a DeepDiff report type JSON cannot produce
            continue
        for level in levels:
            parts = (*prefix, *level.path(output_format="list"))
            t1 = _ABSENT if kind in ("added", "item-added") else level.t1
            t2 = _ABSENT if kind in ("removed", "item-removed") else level.t2
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


def _private(key: Any) -> bool:
    # DeepDiff's default ignore_private_variables: keys starting with "__" are not compared.
    return isinstance(key, str) and key.startswith("__")


def _same(x: Any, y: Any) -> bool:
    return x is y or x == y  # what list equality uses per item


def _unequal_positions(e: list[Any], a: list[Any], n: int, known: _Known) -> list[int] | None:
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
    e: Any, a: Any, path: tuple[Part, ...], rules: Rules, out: list[RawDiff], known: _Known
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
    known: _Known,
) -> None:
    for key, av in a.items():
        if _private(key):
            continue
        if key not in e:
            out.append(("added", (*path, key), _ABSENT, av))
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
        if key not in a and not _private(key):
            out.append(("removed", (*path, key), ev, _ABSENT))


def _all_basic(items: list[Any]) -> bool:
    return all(isinstance(x, _BASIC) for x in items)


def _walk_list(
    e: list[Any],
    a: list[Any],
    path: tuple[Part, ...],
    rules: Rules,
    out: list[RawDiff],
    known: _Known,
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
        out.append(("item-removed", (*path, i), e[i], _ABSENT))
    for i in range(n, len(a)):
        out.append(("item-added", (*path, i), _ABSENT, a[i]))


def _raw_diffs(
    expected: Any, actual: Any, rules: Rules, *, fast: bool = True, known: _Known | None = None
) -> list[RawDiff]:
    """Every difference of two JSON values as (kind, path parts, expected, actual), sorted.
    ``fast=False``: DeepDiff over the whole tree (the reference the fast walk is tested
    against). ``known``: what :func:`_reorder` learnt about the same two trees."""
    found: list[RawDiff] = []
    if fast:
        _walk(expected, actual, (), rules, found, {} if known is None else known)
    else:
        found = _deepdiff(expected, actual, rules)
    return _finish(found)


def diff_body(
    expected: Answer,
    actual: Answer,
    *,
    rules: Rules | None = None,
    noise: Noise | None = None,
    values: bool = True,
    text: TextRule = _builtin_text,
    gateway: GatewayRule = is_gateway_shaped,
) -> tuple[list[Difference], list[NoiseHit]]:
    """Differences of the bodies, and the declared-rule hits (learned noise hits come from
    :meth:`Noise.hits`). ``values=False`` compares the shape only (keys, types and the
    human text, ``text``), for a reference recorded in another run."""
    rules = rules or Rules()
    origin = _origin(expected, actual, gateway)
    if not expected.is_json or not actual.is_json:
        if expected.is_json == actual.is_json and expected.text == actual.text:
            return [], []
        exp = expected.body if expected.is_json else expected.text
        act = actual.body if actual.is_json else actual.text
        kind: Kind = "value" if expected.is_json == actual.is_json else "body"
        return [Difference("$", kind, _clip(exp), _clip(act), "breaking", origin)], []
    order_paths: list[tuple[Part, ...]] = []
    known: _Known = {}
    reordered = _reorder(expected.body, actual.body, (), rules, order_paths, known)
    diffs: list[Difference] = []
    declared: dict[str, NoiseHit] = {}
    for parts in order_paths if values else []:
        if noise is not None and noise.covers(parts):
            continue
        diffs.append(
            Difference(
                format_path(parts),
                "order",
                "same items",
                "in another order",
                "breaking",
                origin,
                note="the same items in a different order",
            )
        )
    for kind, parts, t1, t2 in _raw_diffs(expected.body, reordered, rules, known=known):
        # Noise is about values: a type the two reference answers agreed on still counts.
        typed = kind == "type" and t2 is not None
        if (
            noise is not None
            and noise.covers(parts)
            and not (typed and noise.type_is_stable(parts, t1))
        ):
            # compared by format, when the two reference answers agree on it
            samples = noise.samples(parts) if kind == "value" else None
            found = _format_change(parts, t1, t2, origin, "learned", values, samples)
            diffs += [found] if found and samples is not None else []
            continue
        if not values and _declared_noise(kind, t1, t2) and not (kind == "value" and text(parts)):
            hit = declared.setdefault("*", NoiseHit("(recorded values)", "declared", "other"))
            if len(hit.values) < 4:
                hit.values.append([format_path(parts), t1, t2])
            found = _format_change(parts, t1, t2, origin, "recorded", values)
            diffs += [found] if found and kind == "value" else []
            continue
        pattern = rules.ignores(parts)
        if pattern is not None and _declared_noise(kind, t1, t2):
            hit = declared.setdefault(pattern.text, NoiseHit(pattern.text, "declared", "other"))
            if len(hit.values) < 4:
                hit.values.append([t1, t2])
            found = _format_change(parts, t1, t2, origin, "declared", values)
            diffs += [found] if found and kind == "value" else []
            continue
        diffs.append(
            Difference(
                format_path(parts), kind, t1, t2, _severity(kind, parts, t1, t2, text), origin
            )
        )
    for key, hit in declared.items():
        if key != "*":
            hit.kind = classify_noise(PathPattern.parse(hit.path).parts, _flat(hit.values))
    return diffs, list(declared.values())


def _format_change(
    parts: Sequence[Part],
    expected: Any,
    actual: Any,
    origin: Origin,
    source: str,
    hosts: bool,
    samples: Sequence[Any] | None = (),
) -> Difference | None:
    """A ``format`` difference when a value that is not compared (noise) is written in
    another format on the candidate; None when the formats agree or say nothing. With
    ``samples`` (the reference's own answers), they must agree among themselves first."""
    name = next((str(p) for p in reversed(parts) if isinstance(p, str) and p != "*"), "")
    want = value_format(expected, name, hosts=hosts)
    got = value_format(actual, name, hosts=hosts)
    if want is None or got is None or want == got:
        return None
    if any(value_format(s, name, hosts=hosts) != want for s in samples or ()):
        return None  # the reference itself writes it in more than one way
    return Difference(
        format_path(parts),
        "format",
        expected,
        actual,
        "breaking",
        origin,
        note=f"{want} -> {got} ({source} noise: values are not compared, formats are)",
    )


def _declared_noise(kind: Kind, t1: Any, t2: Any) -> bool:
    """Declared ``ignore`` rules cover values, not structure: a key that vanished or a
    value whose type changed (other than to or from null) is still reported."""
    if kind in ("value", "item-added", "item-removed"):
        return True
    return kind == "type" and (t1 is None or t2 is None)


def _flat(pairs: list[Any]) -> list[Any]:
    return [v for pair in pairs for v in pair]


def _clip(value: Any, limit: int = 2000) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"... ({len(value)} characters)"
    return value


def learn_noise(first: Answer, second: Answer) -> Noise:
    """Noise learned from two answers of the reference to the same request (Diffy)."""
    noise = Noise(status=first.status != second.status)
    a, b = relevant_headers(first.headers), relevant_headers(second.headers)
    for name in set(a) | set(b):
        if a.get(name) != b.get(name):
            noise.headers[name] = [a.get(name), b.get(name)]
    if first.is_json and second.is_json:
        for _, parts, t1, t2 in _raw_diffs(first.body, second.body, Rules()):
            noise.body.append((parts, [t1, t2]))
    elif first.text != second.text or first.is_json != second.is_json:
        noise.body.append(((), [None, None]))
    return noise


def compare(
    expected: Answer,
    actual: Answer,
    *,
    rules: Rules | None = None,
    noise: Noise | None = None,
    values: bool = True,
    cors: bool = True,
    text: Iterable[str] | None = None,
    gateway: GatewayRule | None = None,
    cors_gateway: bool = True,
    headers: HeaderRules | None = None,
) -> Comparison:
    """Status, headers and body of ``actual`` against ``expected`` (``values``: see
    :func:`diff_body`; ``cors``, ``cors_gateway``, ``headers``: see :func:`diff_headers`).

    ``text``: the JSON paths of human text, ``gateway``: which bodies are the gateway's
    own; both from the catalog's envelope (:mod:`parity.core.envelope`). None: the built-in
    ``message`` keys and API Gateway's texts, for callers without a catalog."""
    rule = text_rule(text)
    own = gateway or is_gateway_shaped
    body, declared = diff_body(
        expected, actual, rules=rules, noise=noise, values=values, text=rule, gateway=own
    )
    # same meaning, other spelling: reported, never dropped (cosmetic findings), unless
    # the catalog says the spelling matters (then a difference, see diff_headers)
    spelt = [
        NoiseHit(f"header {name}", "normalised", "spelling", [e, a])
        for name, e, a in spelling_differences(
            expected.headers, actual.headers, cors=cors, rules=headers
        )
        if (noise is None or name not in noise.headers)
        and not (headers is not None and headers.spelling_matters(name))
    ]
    return Comparison(
        status=diff_status(expected, actual, noise=noise, gateway=own),
        headers=diff_headers(
            expected,
            actual,
            noise=noise,
            cors=cors,
            gateway=own,
            cors_gateway=cors_gateway,
            headers=headers,
        ),
        envelope=body,
        noise=[*(noise.hits() if noise else []), *declared, *spelt],
    )
