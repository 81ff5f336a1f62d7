"""Where a declared-noise value comes from: one of the scenario's earlier values, or new.

A value under a declared ``ignore`` rule (a generated id) differs between the backends by
nature, so it is not compared; its format is (:mod:`parity.engine.diff`). What is still
comparable is its provenance: json-server gives a deleted item's id to the next create, so
its answer's ``id`` *equals* the ``{postId}`` the scenario deleted a step before, where the
rewrite's is a new one. Each backend's value is looked up among the values that backend
answered earlier in the same scenario (its saved variables: resources, steps); when the
two lists differ, that is a ``value`` difference at the path.

Only strings of four or more characters and integers count: a ``true`` or a ``0`` would
equal some variable by chance.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from parity.core.normalize import Part, Rules, format_path
from parity.core.results import Origin
from parity.engine.diff import Difference

__all__ = ["provenance_differences"]


def _leaves(value: Any, parts: tuple[Part, ...] = ()) -> Iterator[tuple[tuple[Part, ...], Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*parts, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*parts, index))
    else:
        yield parts, value


def _traceable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and len(value) >= 4)


def _sources(value: Any, variables: Mapping[str, Any]) -> list[str]:
    return sorted(
        name for name, known in variables.items() if type(known) is type(value) and known == value
    )


def provenance_differences(
    expected: Any,
    actual: Any,
    expected_vars: Mapping[str, Any],
    actual_vars: Mapping[str, Any],
    rules: Rules,
    *,
    origin: Origin = "application",
    exclude: Sequence[str] = (),
    differing: Collection[str] = (),
) -> list[Difference]:
    """A ``value`` difference at each declared-noise path whose value equals other earlier
    values of the scenario on the two backends (``expected_vars``: the reference's,
    ``actual_vars``: the candidate's; ``exclude``: names saved from this very answer;
    ``differing``: paths that already differ otherwise, a format change say)."""
    if not rules.ignore:
        return []
    skip = set(exclude)
    ref_vars = {k: v for k, v in expected_vars.items() if k not in skip}
    cand_vars = {k: v for k, v in actual_vars.items() if k not in skip}
    if not ref_vars and not cand_vars:
        return []
    theirs = dict(_leaves(actual))
    diffs: list[Difference] = []
    for parts, value in _leaves(expected):
        if not parts or parts not in theirs or rules.ignores(parts) is None:
            continue
        if format_path(parts) in differing:
            continue
        other = theirs[parts]
        if not (_traceable(value) and _traceable(other)):
            continue
        mine, yours = _sources(value, ref_vars), _sources(other, cand_vars)
        if mine == yours:
            continue
        diffs.append(
            Difference(
                format_path(parts),
                "value",
                value,
                other,
                "breaking",
                origin,
                note=(
                    f"{_said(mine)} on the reference, {_said(yours)} on the candidate "
                    "(declared noise: values are not compared, where they come from is)"
                ),
            )
        )
    return diffs


def _said(names: list[str]) -> str:
    if not names:
        return "a new value"
    return "the scenario's " + ", ".join(f"{{{n}}}" for n in names)
