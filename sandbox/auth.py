"""Bearer-token extraction and verification shared by the Express middleware and the
gateway's JWT authorizer.

They differ in one realistic way: the authorizer accepts the bare token as well as
``Bearer <token>`` (API Gateway strips the prefix when present), while the Express
middleware insists on the ``Bearer`` scheme.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from sandbox.core.identity import InvalidToken

__all__ = ["Verifier", "bearer_token", "verify_header"]


class Verifier(Protocol):
    """What both flavours need of ``sandbox.core.identity.TokenVerifier``."""

    def verify(self, token: str) -> dict[str, Any]: ...


def bearer_token(header: str | None, *, bare_allowed: bool) -> str | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    if bare_allowed and not rest:
        return scheme
    return None


async def verify_header(
    verifier: Verifier, header: str | None, *, bare_allowed: bool
) -> dict[str, Any] | None:
    """Verified claims, or None for a missing, malformed or rejected token."""
    token = bearer_token(header, bare_allowed=bare_allowed)
    if token is None:
        return None
    try:
        # Runs in a thread: the first verification fetches the JWKS over HTTP.
        return await run_in_threadpool(verifier.verify, token)
    except InvalidToken:
        return None
