"""The one redaction function for everything the suite writes (cassettes, schemas, evidence).

Secrets must never reach a file, so :func:`redact` runs on each record *before* it is
serialised, and it is deliberately blunt: a false positive costs a placeholder in a
cassette, a false negative leaks a credential into git. What it replaces:

- values under sensitive keys, in header maps and JSON bodies alike (``Authorization``,
  ``Cookie``, ``Set-Cookie``, ``X-Amz-*``, ``token``, ``idToken``, ``refreshToken``,
  ``password``, ``secret``, anything ending in ``token``/``secret``/``password``);
- inside any string: JWT-looking tokens, presigned-URL signatures and credentials
  (``X-Amz-Signature``, ``X-Amz-Credential``, ``X-Amz-Security-Token``, ``Signature``)
  and other token-like query parameters, e-mail addresses;
- any exact value passed in ``secrets`` (passwords the suite holds, opaque tokens that
  have no recognisable shape).

Placeholders are fixed strings (``[redacted:email]``), so redacted output is stable and a
string stays a string: schemas inferred from redacted cassettes keep their types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

__all__ = [
    "PLACEHOLDERS",
    "is_sensitive_key",
    "redact",
    "redact_text",
]

PLACEHOLDERS = {
    "cookie": "[redacted:cookie]",
    "email": "[redacted:email]",
    "header": "[redacted:header]",
    "jwt": "[redacted:jwt]",
    "secret": "[redacted:secret]",
    "signature": "[redacted:signature]",
    "token": "[redacted:token]",
}

# Key names compared lower-case without "-" and "_", so "X-Amz-Date", "x_amz_date" and
# "xAmzDate" are one name.
_SECRET_KEYS = frozenset({"password", "passwd", "secret", "clientsecret", "apikey", "xapikey"})
_TOKEN_KEYS = frozenset({"authorization", "proxyauthorization", "token"})
_COOKIE_KEYS = frozenset({"cookie", "setcookie", "cookies"})

# A JWS (three segments) or JWE (five: Cognito's refresh tokens) starting with a JSON header.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){2,4}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Query parameters that carry a signature or a credential (presigned S3 URLs, CloudFront,
# OAuth-style callbacks). The name is kept so a reader sees what was there.
_SIGNED_PARAM = re.compile(
    r"(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|"
    r"awsaccesskeyid|key-pair-id|policy|access_token|id_token|refresh_token|token|code)=)"
    r"[^&#\s\"'<>]+"
)


def _norm(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


@lru_cache(maxsize=4096)  # the same few keys, once per exchange
def _placeholder_for_key(key: str) -> str | None:
    name = _norm(key)
    if name in _COOKIE_KEYS:
        return PLACEHOLDERS["cookie"]
    if name in _TOKEN_KEYS or name.endswith("token"):
        return PLACEHOLDERS["token"]
    if name in _SECRET_KEYS or name.endswith(("secret", "password")):
        return PLACEHOLDERS["secret"]
    if name.startswith("xamz"):
        return PLACEHOLDERS["header"]
    return None


def is_sensitive_key(key: str) -> bool:
    """Whether the value under ``key`` (a header or a JSON key) is always redacted."""
    return _placeholder_for_key(key) is not None


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with JWTs, signed query parameters, e-mails and ``secrets`` replaced."""
    return _text(
        text, tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))
    )


def _text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, PLACEHOLDERS["secret"])
    # Cheap substring tests first: a capture redacts every string of every exchange.
    if "eyJ" in text:
        text = _JWT.sub(PLACEHOLDERS["jwt"], text)
    if "=" in text:
        text = _SIGNED_PARAM.sub(lambda m: m.group(1) + PLACEHOLDERS["signature"], text)
    if "@" in text:
        text = _EMAIL.sub(PLACEHOLDERS["email"], text)
    return text


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A redacted deep copy of ``value`` (dicts, lists, strings; other scalars as they are).

    A string under a sensitive key becomes that key's placeholder; containers under such
    a key are redacted recursively (a ``credentials`` object keeps its shape); every other
    string goes through :func:`redact_text`.
    """
    # longest first, so a secret containing another is replaced whole
    known = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))
    return _redact(value, known)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _text(value, secrets)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            placeholder = _placeholder_for_key(str(key))
            clean_key = _text(str(key), secrets)
            if placeholder is not None and isinstance(item, str):
                out[clean_key] = placeholder
            elif placeholder is not None and isinstance(item, list) and _all_str(item):
                out[clean_key] = [placeholder for _ in item]  # e.g. cookies: ["a=1", "b=2"]
            else:
                out[clean_key] = _redact(item, secrets)
        return out
    if isinstance(value, list | tuple):
        return [_redact(item, secrets) for item in value]
    return value


def _all_str(items: list[Any]) -> bool:
    return all(isinstance(i, str) for i in items)
