"""Secret-shaped test values, built at run time so that no token or signature is ever a
literal in a tracked file (secret scanners read the tree; these are fakes, never valid)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

__all__ = ["fake_jwt", "fake_signature"]


def _part(doc: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def fake_jwt(claims: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
    """A JWT-shaped string with these claims and a random (meaningless) signature."""
    signature = base64.urlsafe_b64encode(secrets.token_bytes(24)).rstrip(b"=").decode()
    return f"{_part(header or {'alg': 'RS256'})}.{_part(claims)}.{signature}"


def fake_signature(nbytes: int = 16) -> str:
    """A hex string shaped like a presigned-URL signature."""
    return secrets.token_hex(nbytes)
