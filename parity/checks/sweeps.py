"""Catalog-driven sweeps: which endpoints a check covers and the request it sends there.

A sweep never hard-codes an endpoint: "every authenticated endpoint" is every catalog
entry whose ``auth`` is not ``public``, "owner-only" is ``owner`` or ``owner-or-admin``,
and the request is the endpoint's own success scenario (its resources and steps set up the
state, so the request is realistic), varied: another role, another ``Authorization``
header, unknown ids, a fault header, an ``Origin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from parity.core.catalog import Catalog, Endpoint, Scenario

__all__ = [
    "OWNER_ONLY",
    "Target",
    "authenticated",
    "every_endpoint",
    "happy_path",
    "owner_only",
    "sweep_marks",
    "varied",
    "with_params",
]

OWNER_ONLY = frozenset({"owner", "owner-or-admin"})


def happy_path(endpoint: Endpoint) -> Scenario | None:
    """The endpoint's first success scenario (every expected status 2xx) sent as the
    endpoint's own role; ``None`` when it has none."""
    for scenario in endpoint.scenarios:
        if all(200 <= s < 300 for s in scenario.expect) and scenario.role == endpoint.role:
            return scenario
    return None


@dataclass(frozen=True)
class Target:
    """An endpoint of a sweep and the scenario its requests are built from; ``scenario``
    is ``None`` when the catalog gives the endpoint no success scenario (an error)."""

    endpoint: Endpoint
    scenario: Scenario | None

    @property
    def id(self) -> str:
        return self.endpoint.id


def _targets(catalog: Catalog, endpoints: list[Endpoint]) -> list[Target]:
    return [Target(e, happy_path(e)) for e in endpoints]


def every_endpoint(catalog: Catalog) -> list[Target]:
    return _targets(catalog, list(catalog.endpoints))


def authenticated(catalog: Catalog) -> list[Target]:
    """Every endpoint that needs credentials (``auth`` is not ``public``)."""
    return _targets(catalog, [e for e in catalog.endpoints if e.auth != "public"])


def owner_only(catalog: Catalog) -> list[Target]:
    """Every endpoint only the owner (or an admin) may use: ``owner``, ``owner-or-admin``."""
    return _targets(catalog, [e for e in catalog.endpoints if e.auth in OWNER_ONLY])


def varied(
    scenario: Scenario,
    *,
    role: str | None = None,
    headers: Mapping[str, str] | None = None,
    drop_headers: tuple[str, ...] = (),
    params: Mapping[str, Any] | None = None,
) -> Scenario:
    """A copy of ``scenario`` sent as ``role``, with ``headers`` added (or replaced, any
    case), ``drop_headers`` removed and ``params`` replaced."""
    update: dict[str, Any] = {}
    if role is not None:
        update["role"] = role
    if headers is not None or drop_headers:
        drop = {h.lower() for h in (*drop_headers, *(headers or {}))}
        merged = {k: v for k, v in scenario.headers.items() if k.lower() not in drop}
        merged.update(headers or {})
        update["headers"] = merged
    if params is not None:
        update["params"] = {**scenario.params, **params}
    return scenario.model_copy(update=update)


def with_params(endpoint: Endpoint, scenario: Scenario, value: str) -> Scenario:
    """``scenario`` with every route parameter set to ``value`` (e.g. an unknown id)."""
    return varied(scenario, params={p: value for p in endpoint.route_params})


def sweep_marks(catalog: Catalog, target: Target, check: str, scenario: str) -> list[Any]:
    """The marks of one sweep case: the matrix cell it reports to, and ``writes`` when it
    changes state (so the production guard skips it without --allow-writes)."""
    import pytest

    marks: list[Any] = [
        pytest.mark.parity_check(check, endpoint=target.endpoint.key, scenario=scenario)
    ]
    if target.scenario is None or catalog.writes(target.endpoint, target.scenario):
        marks.append(pytest.mark.writes)
    return marks
