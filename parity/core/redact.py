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
- any exact value passed in ``secrets``, and every secret the process knows
  (:mod:`parity.core.vault`: passwords, tokens minted or received, client secrets) in plain,
  URL-encoded, escaped and base64 forms;
- inside any string, values under sensitive keys however the text carries them: a JSON
  or Python-repr fragment (``"password": "..."``, a request body kept as a string, an
  assertion text), a form or query string (``password=...``), a header line
  (``Authorization: Bearer ...``, a curl line), a multipart field
  (``name="password"`` ... value).

Placeholders are fixed strings (``[redacted:email]``), so redacted output is stable and a
string stays a string: schemas inferred from redacted cassettes keep their types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from parity.core import vault

__all__ = [
    "PLACEHOLDERS",
    "harvest",
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
# "@" also URL-encoded: an e-mail in a query string or a form body.
# The last label no file extension: Playwright names a trace's frames page@<sha1>-<ms>.jpeg,
# and the trace must keep pointing at them.
_FILE_EXTENSIONS = r"(?:jpe?g|png|gif|webp|webm|svg|dat|json|html?|css|js|txt|har|trace|network)"
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.(?!" + _FILE_EXTENSIONS + r"\b)[A-Za-z]{2,}"
)
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


# The last word of a sensitive key (``idToken`` ends in "Token"), right before the key's
# closing quote or the separator: the start of the key does not matter.
_KEY_WORD = r"(?:password|passwd|passphrase|secret|token|authorization|cookie|api[-_]?key)"
# "key": "value" / 'key': 'value' / key: "value", quotes possibly escaped (a JSON text
# inside a JSON string): JSON bodies kept as strings, reprs in assertion texts.
_QUOTED_VALUE = re.compile(
    r"(?i)(" + _KEY_WORD + r"(?P<kq>\\*[\"']?)\s*[:=]\s*(?P<vq>\\*[\"']))(?P<val>.*?)(?P=vq)"
)
# key=value in a query or form string, or a shell line (no quotes, ends at a separator).
_FORM_VALUE = re.compile(r"(?i)(" + _KEY_WORD + r"=)(?![\"'])[^&\s,;#\"'<>\]}]+")
_SCHEME = r"(?:Bearer|Basic|Token|JWT|Digest|Negotiate)\s+"
# A header line: Authorization: Bearer x, Cookie: a=b; c=d (curl lines, logs, dumps).
_HEADER_LINE = re.compile(
    r"(?i)(\b(?:proxy-)?authorization|\b(?:set-)?cookie|\bx-api-key|\bx-auth-token)"
    # not a quote, a placeholder already there, or a shell variable ($PARITY_TOKEN_ALICE in
    # a curl line: what to set, not a secret)
    r"(\s*+:\s*+(?!(?:" + _SCHEME + r")?[\"'\[$])(?:" + _SCHEME + r")?+)[^\r\n\"'<>]+"
)
# A multipart field: its Content-Disposition names it, its value follows the blank line.
_MULTIPART_FIELD = re.compile(
    r"(?i)(name=\\*[\"'][^\"'\\]*" + _KEY_WORD + r"\\*[\"'][^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)"
    r"[^\r\n]*"
)
_LITERALS = frozenset({"null", "true", "false", ""})


def _quoted(m: re.Match[str]) -> str:
    if m.group("val").lower() in _LITERALS or m.group("val").startswith("[redacted"):
        return m.group(0)
    return m.group(1) + PLACEHOLDERS["secret"] + m.group("vq")


def _text(text: str, secrets: tuple[str, ...]) -> str:
    # Shapes first, so a known token that is a JWT still reads as one ("[redacted:jwt]");
    # cheap substring tests first: a capture redacts every string of every exchange.
    if "eyJ" in text:
        text = _JWT.sub(PLACEHOLDERS["jwt"], text)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, PLACEHOLDERS["secret"])
    known = vault.pattern()
    if known is not None:
        text = known.sub(PLACEHOLDERS["secret"], text)
    if ":" in text or "=" in text:
        text = _QUOTED_VALUE.sub(_quoted, text)
        text = _HEADER_LINE.sub(lambda m: m.group(1) + m.group(2) + PLACEHOLDERS["token"], text)
    if "=" in text:
        text = _FORM_VALUE.sub(lambda m: m.group(1) + PLACEHOLDERS["secret"], text)
        text = _SIGNED_PARAM.sub(lambda m: m.group(1) + PLACEHOLDERS["signature"], text)
        if "name=" in text:
            text = _MULTIPART_FIELD.sub(lambda m: m.group(1) + PLACEHOLDERS["secret"], text)
    if "@" in text or "%40" in text:
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


def harvest(value: Any, depth: int = 0) -> None:
    """Remember every string under a sensitive key of ``value`` (an answer's JSON body, a
    saved variable map) as a secret: a token the run received is then redacted by value
    too, wherever it is written later, under whatever key or in whatever text."""
    if depth > 32:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str) and _placeholder_for_key(str(key)) is not None:
                vault.remember(item)
            elif isinstance(item, Mapping | list):
                harvest(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:1000]:  # a list of tokens is rare; a page of items is not
            if isinstance(item, Mapping | list):
                harvest(item, depth + 1)
