"""The CORS policy of moc-api.md, spelled once for both flavours.

Express (the ``cors`` npm middleware) and the API Gateway HTTP API CORS configuration
implement the same policy but spell it differently on the wire: ``cors`` echoes the
configured header list as written, API Gateway lower-cases it.  The suite normalises
case; the sandbox keeps each flavour's real spelling so that normalisation is exercised.

The launcher adds the web app's own origin (a free port in tests) to the two origins of
moc-api.md, so the SPA it serves can call both backends from a browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ALLOWED_HEADERS",
    "ALLOWED_METHODS",
    "ALLOWED_ORIGINS",
    "MAX_AGE_S",
    "CorsPolicy",
]

ALLOWED_ORIGINS: frozenset[str] = frozenset({"https://app.example.com", "http://localhost:3002"})
ALLOWED_METHODS: tuple[str, ...] = ("GET", "POST", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS: tuple[str, ...] = ("Authorization", "Content-Type", "X-Debug-Fault")
MAX_AGE_S = 600


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str] = ALLOWED_ORIGINS

    @classmethod
    def with_extra(cls, extra: Iterable[str] = ()) -> CorsPolicy:
        return cls(ALLOWED_ORIGINS | frozenset(o.rstrip("/") for o in extra))

    def allows(self, origin: str | None) -> bool:
        # Exact string match, as both the cors middleware (array of strings) and API
        # Gateway do: no wildcards, no normalisation of the scheme or port.
        return origin is not None and origin in self.origins
