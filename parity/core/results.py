"""One check's verdict on one endpoint: the record every check emits and the matrix is
built from.

Checks (contract, differential, boundary, auth, CORS, fuzz, catalog coverage ...) report
through the plugin's ``parity_results`` fixture; the plugin carries records from xdist
workers to the controller in ``report.user_properties`` under the key ``"parity"``, so a
parallel run builds the same matrix as a serial one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ORIGINS",
    "SEVERITIES",
    "STATES",
    "CheckResult",
    "Origin",
    "Severity",
    "State",
    "describe",
]

State = Literal[
    "pass", "drift", "missing", "accepted", "skipped", "error", "not-testable", "not-applicable"
]
Origin = Literal["gateway", "application"]
Severity = Literal["breaking", "additive", "cosmetic"]

STATES: tuple[State, ...] = (
    "pass",
    "drift",
    "missing",
    "accepted",
    "skipped",
    "error",
    "not-testable",
    # the catalog does not describe what the check family needs (parity/checks/families.py)
    "not-applicable",
)
ORIGINS: tuple[Origin, ...] = ("gateway", "application")
SEVERITIES: tuple[Severity, ...] = ("breaking", "additive", "cosmetic")


@dataclass
class CheckResult:
    endpoint: str  # "METHOD /route/template", as the catalog spells it
    check: str  # "status", "contract", "envelope", "headers", "cors", "auth", "boundary", ...
    state: State
    summary: str = ""  # one human line: what was found
    backend: str | None = None  # for single-backend checks; None for differential ones
    scenario: str | None = None
    origin: Origin | None = None  # where a difference comes from
    severity: Severity | None = None
    evidence: dict[str, Any] = field(default_factory=dict)  # redacted request/responses/diff
    test_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data (what ``asdict`` gives) without deep-copying the
        evidence: it is already a fresh redacted copy made for this record and not changed
        afterwards; its top level is copied, so adding a key to it changes no record."""
        return {
            "endpoint": self.endpoint,
            "check": self.check,
            "state": self.state,
            "summary": self.summary,
            "backend": self.backend,
            "scenario": self.scenario,
            "origin": self.origin,
            "severity": self.severity,
            "evidence": dict(self.evidence),
            "test_id": self.test_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**data)


def describe(value: Any, limit: int = 40) -> str:
    """``value`` for a one-line summary: long strings shown by their start and length (the
    fuzz family's summaries; the findings read them back in this spelling)."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[: limit // 2] + "…") + f" ({len(value)} chars)"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v, limit)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v, limit) for v in value) + "]"
    return repr(value)
