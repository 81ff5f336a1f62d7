"""Every secret this process knows, in each form it may be written in.

Redaction by key and by shape misses an opaque token under an ordinary key, or a password
echoed in an error text; redaction by value does not. So every :class:`parity.core.config.Secret`
registers its value here when it is made (the test users' passwords, static tokens, each
token a provider minted or renewed), settings add their sensitive ``PARITY_*`` values, and
:func:`parity.core.redact.redact` replaces every known value wherever it appears: plain,
URL-encoded, JSON- or HTML-escaped, and base64 (standard and URL-safe, at any alignment, so
a secret inside a longer encoded string such as ``user:password`` is found too).

Process-wide on purpose: a secret learnt anywhere in the run (an xdist worker's own login
included) must be redacted everywhere that process writes.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from urllib.parse import quote, quote_plus

__all__ = ["MIN_LENGTH", "forget_all", "forms", "known", "pattern", "remember"]

#: Shorter values are not redacted by value: "pw" would blank every word holding it.
MIN_LENGTH = 4
# A base64 run shorter than this is too likely to occur by chance in other base64 text.
_MIN_B64 = 6

_lock = threading.Lock()
_values: set[str] = set()
_forms: set[str] = set()
_compiled: tuple[int, re.Pattern[str] | None] = (0, None)
_version = 0


def _b64_forms(raw: bytes) -> set[str]:
    """The base64 text of ``raw`` as it appears inside any longer encoded string."""
    out: set[str] = set()
    for offset in range(3):
        text = base64.b64encode(b"\0" * offset + raw).decode("ascii").rstrip("=")
        # Characters mixing the prefix's bits (head) or the next byte's (tail) vary with
        # the neighbours, so only the ones fixed by ``raw`` alone are searched for.
        head = (0, 2, 3)[offset]
        tail = 1 if (offset + len(raw)) % 3 else 0
        core = text[head : len(text) - tail]
        if len(core) >= _MIN_B64:
            out.add(core)
            out.add(core.replace("+", "-").replace("/", "_"))
    out.add(base64.b64encode(raw).decode("ascii"))
    return out


def forms(value: str) -> set[str]:
    """``value`` and the encodings under which the suite could write it."""
    result = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
    }
    result |= _b64_forms(value.encode("utf-8"))
    return {f for f in result if len(f) >= MIN_LENGTH}


def remember(value: str | None) -> None:
    """Redact ``value`` (and its encodings) in everything this process writes from now on."""
    global _version
    if not value or len(value) < MIN_LENGTH:
        return
    with _lock:
        if value in _values:
            return
        _values.add(value)
        _forms.update(forms(value))
        _version += 1


def known() -> frozenset[str]:
    """Every known secret in every form."""
    with _lock:
        return frozenset(_forms)


def pattern() -> re.Pattern[str] | None:
    """One regular expression matching any known form (longest first), or ``None``."""
    global _compiled
    with _lock:
        version, compiled = _compiled
        if version == _version:
            return compiled
        if not _forms:
            _compiled = (_version, None)
            return None
        ordered = sorted(_forms, key=len, reverse=True)  # a secret holding another goes whole
        compiled = re.compile("|".join(re.escape(f) for f in ordered))
        _compiled = (_version, compiled)
        return compiled


def forget_all() -> None:
    """Forget every secret (for tests of the vault itself)."""
    global _version
    with _lock:
        _values.clear()
        _forms.clear()
        _version += 1
