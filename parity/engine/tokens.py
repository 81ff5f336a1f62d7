"""Tokens a backend must refuse with 401: missing, malformed, wrongly signed, expired.

- ``missing``: no auth header at all.
- ``malformed``: the header with a value that is not a token (the catalog's
  ``checks.auth.malformed_token``, default ``not-a-jwt``).
- ``wrong-signature``: the role's genuine token (same header, same claims, same ``kid``),
  signed again with a throwaway RSA key: it looks right and only the signature is wrong.
  Not testable when the role's token is not a JWT.
- ``expired``: a genuine token of the pool whose ``exp`` is past. Nobody can sign one but
  the pool, so it must be supplied: ``PARITY_<BACKEND>_EXPIRED_TOKEN_<ROLE>`` or
  ``PARITY_EXPIRED_TOKEN_<ROLE>`` (the embedded sandbox writes them to its env file outside
  production). Without it the case is *not testable*, never passed.

Every variant is sent in the backend's own header spelling (``AuthSettings.header`` and
``template``, e.g. ``Authorization: Bearer {token}``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from parity.core.config import Settings, role_env_key
from parity.core.errors import ParityError
from parity.engine.client import BackendClient

__all__ = ["BadToken", "bad_token", "expired_token_setting", "resign"]


@dataclass(frozen=True)
class BadToken:
    """One variant for one (backend, role): the headers to send, or why it cannot be."""

    variant: str
    headers: Mapping[str, str] | None  # None: not testable
    reason: str = ""  # why it is not testable

    @property
    def testable(self) -> bool:
        return self.headers is not None


@functools.cache
def _throwaway_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _segment(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def resign(token: str) -> str | None:
    """``token`` with the same header and claims, signed by a key nobody trusts.

    ``None`` when ``token`` is not a JWT. RS/PS/ES-signed tokens are re-signed RS256 with
    the original ``kid``; HMAC ones with a random secret.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = _segment(parts[0]), _segment(parts[1])
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    extra = {k: v for k, v in header.items() if k not in ("alg", "typ")}
    if str(header.get("alg", "")).startswith("HS"):
        return jwt.encode(claims, "parity-wrong-secret-" * 2, algorithm="HS256", headers=extra)
    return jwt.encode(claims, _throwaway_key(), algorithm="RS256", headers=extra)


def expired_token_setting(backend: str, role: str) -> tuple[str, str]:
    key = role_env_key(role)
    return f"PARITY_{backend.upper()}_EXPIRED_TOKEN_{key}", f"PARITY_EXPIRED_TOKEN_{key}"


def bad_token(
    variant: str,
    client: BackendClient,
    settings: Settings,
    role: str,
    *,
    malformed: str = "not-a-jwt",
) -> BadToken:
    """The headers of ``variant`` for ``role`` on ``client``'s backend."""
    auth = settings.auth_for(client.name)

    def header(token: str) -> dict[str, str]:
        return {auth.header: auth.template.replace("{token}", token)}

    if variant == "missing":
        return BadToken(variant, {})
    if variant == "malformed":
        return BadToken(variant, header(malformed))
    if variant == "wrong-signature":
        if auth.mode == "none":
            return BadToken(variant, None, f"the {client.name} backend is set to auth mode none")
        try:
            genuine = client.auth.token(role)
        except ParityError as exc:
            return BadToken(variant, None, f"no genuine token of {role} to re-sign: {exc}")
        forged = resign(genuine)
        if forged is None:
            return BadToken(variant, None, f"{role}'s token on {client.name} is not a JWT")
        return BadToken(variant, header(forged))
    if variant == "expired":
        names = expired_token_setting(client.name, role)
        token = next((settings.env[n] for n in names if settings.env.get(n)), None)
        if token is None:
            return BadToken(
                variant,
                None,
                f"no expired token of {role} signed by the pool: set {names[1]} (or "
                f"{names[0]}); the embedded sandbox provides one outside production",
            )
        return BadToken(variant, header(token))
    raise ValueError(f"unknown token variant {variant!r}")
