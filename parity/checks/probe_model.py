"""The probe family's data: what one probe sends, and what the planner knows about the run.

A :class:`Probe` is a catalog scenario varied in one way (a trailing slash, ``HEAD``, a
negative ``limit``, a field left out, a token under another scheme, the same create sent
twice). :class:`ProbeContext` is what the planner reads besides the catalog: the auth
header each backend expects, the expired tokens the settings give, the origin to send,
the coverage values Schemathesis generated and the unusual texts Hypothesis drew.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from parity.checks.probe_values import Coverage
from parity.core.catalog import Endpoint, Scenario

__all__ = [
    "PROBE_KINDS",
    "AuthSpec",
    "Probe",
    "ProbeContext",
    "ProbeKind",
    "probe_check",
    "scenario_from",
]

ProbeKind = Literal["path", "method", "query", "body", "auth", "repetition"]
PROBE_KINDS: tuple[ProbeKind, ...] = ("path", "method", "query", "body", "auth", "repetition")


def probe_check(kind: str) -> str:
    """The matrix check of a probe kind: ``probe:path``, ``probe:method``, ..."""
    return f"probe:{kind}"


def scenario_from(base: Scenario, name: str, **changes: Any) -> Scenario:
    """A validated copy of ``base`` named ``name`` with ``changes`` (catalog spelling:
    ``json``, ``as``, ``body``...). A key set to ``None`` is removed, so a copy can drop
    its JSON body for a raw one (``model_copy`` would keep ``json`` set, as ``null``)."""
    data = base.model_dump(by_alias=True, exclude_unset=True)
    data["name"] = name
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    if "body" in data or "multipart" in data:
        data.pop("json", None)
    return Scenario.model_validate(data)


@dataclass(frozen=True)
class Probe:
    """One request derived from the endpoint's base scenario.

    ``headers`` adds per-backend headers (an expired token is the pool's, per backend);
    ``method``/``route`` send it elsewhere than the endpoint (``HEAD``, a trailing slash);
    ``sends`` > 1 repeats it in one state and judges the last answer; ``isolated`` gives it
    a state of its own (a probe that may delete what the next one needs)."""

    kind: ProbeKind
    variety: str  # the class of probe: "trailing-slash", "negative", "missing", ...
    label: str  # what it sends, for the report: "limit=-1", "HEAD", "title missing"
    scenario: Scenario
    headers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    method: str | None = None
    route: str | None = None
    sends: int = 1
    isolated: bool = False

    def endpoint_for(self, endpoint: Endpoint) -> Endpoint:
        update: dict[str, Any] = {}
        if self.method is not None:
            update["method"] = self.method
        if self.route is not None:
            update["route"] = self.route
        return endpoint.model_copy(update=update) if update else endpoint

    def variants(self, backend: str) -> list[Scenario]:
        """What is sent to ``backend``, in order (the last one is judged)."""
        extra = self.headers.get(backend)
        scenario = self.scenario
        if extra:
            drop = {k.lower() for k in extra}
            headers = {k: v for k, v in scenario.headers.items() if k.lower() not in drop}
            scenario = scenario.model_copy(update={"headers": {**headers, **extra}})
        return [scenario] * self.sends


@dataclass(frozen=True)
class AuthSpec:
    """How one backend expects credentials: the header and its template (``Bearer
    {token}``), or ``mode`` none."""

    header: str
    template: str
    mode: str

    @property
    def scheme(self) -> str | None:
        """The scheme before the token (``Bearer``), None for a bare token."""
        before = self.template.split("{token}", 1)[0].strip()
        return before or None


@dataclass
class ProbeContext:
    """What the planner reads besides the catalog (built from the settings and clients)."""

    backends: tuple[str, str]  # (reference, candidate)
    auth: Mapping[str, AuthSpec]
    #: per role, per backend: the headers carrying an expired token of that role (None:
    #: the settings give none), and per role why there is none
    expired: Mapping[str, Mapping[str, Mapping[str, str] | None]] = field(default_factory=dict)
    expired_reasons: Mapping[str, str] = field(default_factory=dict)
    origin: str | None = None  # the frontend's origin, for the preflight probe
    coverage: Coverage = field(default_factory=Coverage)
    texts: tuple[str, ...] = ()  # unusual texts (Hypothesis, under the seed)
    writes_allowed: bool = True
    seed: int = 0
