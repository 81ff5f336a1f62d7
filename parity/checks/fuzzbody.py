"""Generated JSON request bodies for differential fuzzing (issue #9): which catalog write
endpoints are fuzzed and what their bodies look like.

A body is the base scenario's (valid) body with a few fields changed, so that most
generated bodies stay close to what a backend accepts and a difference in validation shows
on its own: a field set to a boundary value (integers around every value the catalog sends:
0, 1, 2, the known values +-1, 2^31 ...), a very long or unicode string, a wrong type, null,
a missing field, or an unknown field added (mass-assignment probes such as ``id`` and
``authorId``). Hypothesis shrinks a failing body to the fewest changed fields and the
smallest values (a long string shrinks to the shortest length that still differs).

Writes must clean up: the base scenario's ``creates:`` and ``uses:`` delete what it made on
each backend, and every generated string of a field the catalog tags with ``{run_id}``
keeps that prefix (``"parity {run_id} "``), so a leftover is recognisable by its title.
Placeholders are only ever the catalog's own: generated text never contains braces.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from parity.core.catalog import Case, Catalog, Endpoint, Scenario
from parity.core.templating import placeholders

__all__ = [
    "BODY_EDGE_INTEGERS",
    "BODY_UNKNOWN_KEYS",
    "MISSING",
    "body_strategy",
    "body_targets",
    "field_paths",
    "run_id_prefix",
    "tagged_fields",
    "tagged_paths",
]

#: Integers every integer field is tried with, besides the known values and their neighbours.
BODY_EDGE_INTEGERS = (-1, 0, 1, 2, 5, 6, 100, 2**31 - 1, 2**31, 2**53)
#: Unknown body fields: a typo, mass-assignment probes and a prototype-pollution key.
BODY_UNKNOWN_KEYS = ("unknownField", "id", "authorId", "createdAt", "__proto__")
#: Strings (after any run-id prefix) every string field is tried with.
BODY_EDGE_STRINGS = (
    "",
    " ",
    "🧱",
    "castle 🏰",
    "👍🏽 ok",
    "Zürich",
    "日本語のタイトル",
    "' OR 1=1 --",
    "<b>x</b>",
    "a\u0301",  # a combining accent: one character on screen, two code points
)
#: Values of a type no field has.
WRONG_TYPES: tuple[Any, ...] = (None, True, 1.5, "1", [], {})
#: The longest generated string (well under any gateway limit: this is validation, not size).
LONG_MAX = 2500


class _Missing:
    """A field drawn as "not sent"."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

_NO_BRACES = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="{}")
_TEXT = st.text(alphabet=_NO_BRACES, min_size=0, max_size=24)


def _is_success(scenario: Scenario) -> bool:
    return all(200 <= s < 300 for s in scenario.expect)


def _available(catalog: Catalog, scenario: Scenario) -> set[str]:
    """The variables the base scenario's setup provides (plus ``run_id``)."""
    names = {"run_id"}
    for resource in catalog.resource_order(scenario.uses):
        names.update(catalog.resources[resource].save)
    for step in scenario.steps:
        names.update(step.save)
    return names


def body_targets(catalog: Catalog) -> list[Case]:
    """One case per write endpoint with a JSON object body: its first plain 2xx scenario
    (no header override; anonymous too: a register or login endpoint is a write) is the
    base every generated body is sent from."""
    cases: list[Case] = []
    for endpoint in catalog.endpoints:
        if endpoint.read_only:
            continue
        base = next(
            (
                s
                for s in endpoint.scenarios
                if _is_success(s)
                and s.has_json
                and isinstance(s.json_body, dict)
                and not any(k.lower() == "authorization" for k in s.headers)
            ),
            None,
        )
        if base is not None:
            cases.append(Case(endpoint, base))
    return cases


def run_id_prefix(values: list[Any]) -> str | None:
    """``"parity {run_id} "`` when a catalog value of the field carries the run id: the
    text up to and including ``{run_id}``, so generated titles stay recognisable."""
    for value in values:
        if isinstance(value, str) and "{run_id}" in value:
            return value[: value.index("{run_id}") + len("{run_id}")] + " "
    return None


Path = tuple[str, ...]


def field_paths(body: Any, prefix: Path = ()) -> list[tuple[Path, Any]]:
    """Every field of a JSON object at any depth, with its value: ``{"user": {"name": x}}``
    gives ``(("user",), {...})`` and ``(("user", "name"), x)``. Lists are values (their
    items are not fields: an item's position means nothing to a schema)."""
    out: list[tuple[Path, Any]] = []
    if isinstance(body, dict):
        for key, value in body.items():
            out.append(((*prefix, str(key)), value))
            out += field_paths(value, (*prefix, str(key)))
    return out


def tagged_fields(endpoint: Endpoint) -> dict[str, str]:
    """Top-level body fields whose catalog values carry the run id, with the prefix to keep
    on any value generated for them (``{"title": "parity {run_id} "}``), e.g. by
    Schemathesis; :func:`tagged_paths` gives the nested ones too."""
    return {".".join(p): prefix for p, prefix in tagged_paths(endpoint).items() if len(p) == 1}


def tagged_paths(endpoint: Endpoint) -> dict[Path, str]:
    """Body fields at any depth (and multipart fields) whose catalog values carry the run
    id, with the prefix to keep on any value generated for them."""
    values: dict[Path, list[Any]] = {}
    for scenario in endpoint.scenarios:
        if scenario.has_json and isinstance(scenario.json_body, dict):
            for path, value in field_paths(scenario.json_body):
                values.setdefault(path, []).append(value)
        if scenario.multipart is not None:
            for key, value in scenario.multipart.fields.items():
                values.setdefault((key,), []).append(value)
    found = {path: run_id_prefix(vals) for path, vals in values.items()}
    return {path: prefix for path, prefix in sorted(found.items()) if prefix is not None}


def _known(endpoint: Endpoint, available: set[str]) -> dict[Path, list[Any]]:
    """Each body field (at any depth) the endpoint's scenarios send, with the values usable
    from the base scenario (a placeholder it cannot fill is dropped; the field is still
    fuzzed)."""
    known: dict[Path, list[Any]] = {}
    for scenario in endpoint.scenarios:
        if not (scenario.has_json and isinstance(scenario.json_body, dict)):
            continue
        for path, value in field_paths(scenario.json_body):
            values = known.setdefault(path, [])
            if set(placeholders(value)) <= available and value not in values:
                values.append(value)
    return known


def _strings(prefix: str | None, known: list[Any]) -> st.SearchStrategy[Any]:
    # The catalog's own values first: shrinking moves towards them (a valid body).
    options: list[st.SearchStrategy[Any]] = [st.sampled_from(known)] if known else []
    tail = st.one_of(
        # Very long: shrinks to the shortest length that still shows the difference.
        st.integers(min_value=0, max_value=LONG_MAX).map(lambda n: "x" * n),
        st.sampled_from(BODY_EDGE_STRINGS),
        _TEXT,
    )
    p = prefix or ""
    options.append(tail.map(lambda s: p + s))
    return st.one_of(*options)


def _integers(known: list[Any]) -> st.SearchStrategy[Any]:
    around = sorted({k + d for k in known if isinstance(k, int) for d in (-1, 0, 1)})
    return st.one_of(
        st.sampled_from(around or [1]),
        st.sampled_from(BODY_EDGE_INTEGERS),
        st.integers(min_value=-10, max_value=10),
    )


def _lists(known: list[Any], prefix: str | None) -> st.SearchStrategy[Any]:
    item = _strings(prefix, [v for k in known if isinstance(k, list) for v in k])
    return st.one_of(
        st.sampled_from(known) if known else st.just([]),
        st.lists(item, max_size=3),
        st.lists(st.just("t"), min_size=19, max_size=22),  # around a 20-item limit
        st.lists(st.sampled_from((1, None, True)), min_size=1, max_size=2),
    )


def _field(values: list[Any]) -> st.SearchStrategy[Any]:
    """Boundary values of the field's type (from the catalog's values), wrong types, null
    and "not sent"."""
    templated = [v for v in values if isinstance(v, str) and v.startswith("{") and v.endswith("}")]
    plain = [v for v in values if v not in templated]
    kinds = {type(v) for v in plain if v is not None}
    options: list[st.SearchStrategy[Any]] = []
    if templated:  # a saved id or list ("{albumId}", "{ids}"): keep the real one first
        options.append(st.sampled_from(templated))
    if kinds and kinds <= {dict}:  # a nested object: emptied, or one of the catalog's
        options.append(st.sampled_from([{}, *plain]))
    elif kinds and kinds <= {int}:
        options.append(_integers(plain))
    elif kinds and kinds <= {list}:
        options.append(_lists(plain, None))
    elif (kinds and kinds <= {str}) or templated:
        options.append(_strings(run_id_prefix(plain), [v for v in plain if isinstance(v, str)]))
    elif plain:
        options.append(st.sampled_from(plain))
    # Wrong types are the other types' values (a "1" is no wrong type for a string field,
    # and would escape the run-id prefix).
    if templated:
        kinds |= {str}
    wrong = [w for w in WRONG_TYPES if w is None or type(w) not in kinds]
    options.append(st.sampled_from((*wrong, MISSING)))
    return st.one_of(*options)


def _set(body: dict[str, Any], path: Path, value: Any) -> None:
    """Set (or, for :data:`MISSING`, remove) ``path`` in ``body``; a parent that an earlier
    change made a non-object is left alone (that change wins)."""
    node: Any = body
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
    if not isinstance(node, dict):
        return
    if value is MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def body_strategy(case: Case, catalog: Catalog) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies for ``case``: its base body with up to three fields (at any depth) changed or
    removed, and at most one unknown field added at any level of nesting."""
    base = case.scenario.json_body
    known = _known(case.endpoint, _available(catalog, case.scenario))
    base_values = dict(field_paths(base))
    for path, value in base_values.items():  # the base's value is usable by definition
        known.setdefault(path, [])
        if value not in known[path]:
            known[path].insert(0, value)
    # A field picked for a change gets a value other than the base's (shrinking then drops
    # the pick rather than converging on the base body).
    fields = {
        path: _field([v for v in values if v != base_values.get(path, MISSING)] or values)
        for path, values in sorted(known.items())
    }
    # Unknown keys at every level: the body itself and each nested object.
    levels = [(), *sorted(p for p, v in base_values.items() if isinstance(v, dict))]
    unknown_value = st.one_of(st.sampled_from(("x", 1, None, True)), _TEXT)
    unknown = st.tuples(
        st.tuples(st.sampled_from(levels), st.sampled_from(BODY_UNKNOWN_KEYS)).map(
            lambda lk: (*lk[0], lk[1])
        ),
        unknown_value,
    )
    # One change = (path, new value), drawn together so that shrinking can drop a whole
    # change without the next change's value being read as this one's.
    changes = st.one_of(
        *(st.tuples(st.just(path), strategy) for path, strategy in fields.items()),
        unknown,
    )

    @st.composite
    def bodies(draw: st.DrawFn) -> dict[str, Any]:
        body = copy.deepcopy(base)
        # Mostly one change per body, so one field's difference is not hidden by another
        # field both backends reject; up to three to catch interactions.
        picked = draw(st.lists(changes, min_size=1, max_size=3, unique_by=lambda c: c[0]))
        for path, value in picked:
            _set(body, path, value)
        return dict(body)

    return bodies()
