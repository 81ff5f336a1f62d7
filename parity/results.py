"""One check's verdict on one endpoint: the record every check emits and the matrix is
built from.

Checks (contract, differential, boundary, auth, CORS, fuzz, catalog coverage ...) report
through the plugin's ``parity_results`` fixture; the plugin carries records from xdist
workers to the controller in ``report.user_properties`` under the key ``"parity"``, so a
parallel run builds the same matrix as a serial one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["ORIGINS", "SEVERITIES", "STATES", "CheckResult", "Origin", "Severity", "State"]

State = Literal["pass", "drift", "missing", "accepted", "skipped", "error", "not-testable"]
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
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**data)
