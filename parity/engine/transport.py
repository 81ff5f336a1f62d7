"""The backend clients' transport policy: what is re-sent after a connection failure and
how a retry is recorded, how much of an answer is read, and how a failure is worded.

:class:`parity.engine.client.BackendClient` applies it to every request:

- a connection-level failure (refused, DNS, connect timeout, and for :data:`IDEMPOTENT`
  methods a connection closed before any answer) is re-sent after :func:`backoff`; every
  request that needed more than one attempt becomes a :class:`Retry`;
- a body larger than the limit is not read past it: :func:`limit_hook` raises
  :class:`TooLarge` (the client turns it into
  :class:`~parity.core.errors.ResponseTooLarge`), unless the request carries
  :data:`UNLIMITED_EXTENSION`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import httpx

__all__ = [
    "DEFAULT_MAX_RESPONSE_MB",
    "DEFAULT_RETRIES",
    "IDEMPOTENT",
    "MAX_RESPONSE_SETTING",
    "TIMEOUT_SETTING",
    "UNLIMITED_EXTENSION",
    "Retry",
    "TooLarge",
    "backoff",
    "closed_reason",
    "limit_hook",
    "with_attempts",
]

#: Where the user changes the request timeout (named in timeout errors). Not ``--timeout``:
#: under pytest that is pytest-timeout's whole-test limit.
TIMEOUT_SETTING = "--request-timeout / PARITY_TIMEOUT (or timeout in parity.toml)"
#: Where the user changes the response size limit (named in ResponseTooLarge).
MAX_RESPONSE_SETTING = "--max-response-mb / PARITY_MAX_RESPONSE_MB (or max_response_mb)"

DEFAULT_MAX_RESPONSE_MB = 20.0
#: One retry: a connection dropped once on a shared CI runner should not fail a rollout
#: gate, and the retry is recorded, so it hides nothing.
DEFAULT_RETRIES = 1
#: Request extension that lifts the size limit: for a body consumed chunk by chunk (the
#: boundary checks hash a 100 MB download as it streams; nothing is buffered).
UNLIMITED_EXTENSION = "parity_unlimited"

#: Methods a request may be re-sent with when the connection died before any answer
#: (the request may have reached the server; for these that does no harm).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRY_BACKOFF_S = 0.2
_MB = 1024 * 1024


# --- retries -------------------------------------------------------------------------------


@dataclass
class Retry:
    """A request that needed more than one attempt (``outcome``: answered or failed)."""

    backend: str
    method: str
    path: str
    attempts: int
    reasons: list[str]
    outcome: str
    test: str | None = None  # the pytest node id sending it, when run under pytest

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("test")
        return data

    def line(self) -> str:
        return (
            f"{self.backend} {self.method} {self.path}: {self.attempts} attempts "
            f"({'; '.join(self.reasons)}), {self.outcome}"
        )


def backoff(attempt: int) -> None:
    """Wait before re-sending after failed attempt number ``attempt`` (longer each time)."""
    time.sleep(_RETRY_BACKOFF_S * attempt)


# --- wording -------------------------------------------------------------------------------


def closed_reason(exc: Exception) -> str:
    """Why an attempt failed when the connection died before a whole answer."""
    return f"connection closed without an answer ({exc or type(exc).__name__})"


def with_attempts(reasons: list[str]) -> str:
    """The reasons of every attempt as one: each distinct reason once, and the count."""
    if len(reasons) == 1:
        return reasons[0]
    distinct = list(dict.fromkeys(reasons))
    return f"{'; '.join(distinct)}; {len(reasons)} attempts"


# --- the response size limit ---------------------------------------------------------------


class TooLarge(Exception):
    """Raised inside httpx while reading a body past the limit; becomes ResponseTooLarge."""


class _LimitedStream(httpx.SyncByteStream):
    """The response body, read chunk by chunk, stopping as soon as it passes ``limit``."""

    def __init__(self, stream: httpx.SyncByteStream, limit: int) -> None:
        self._stream = stream
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._stream:
            seen += len(chunk)
            if seen > self._limit:
                raise TooLarge
            yield chunk

    def close(self) -> None:
        self._stream.close()


def limit_hook(max_response_mb: float) -> Callable[[httpx.Response], None]:
    """An httpx response hook refusing bodies over ``max_response_mb``: at once when the
    declared ``Content-Length`` is over, else while the body is read."""
    limit = int(max_response_mb * _MB)

    def hook(response: httpx.Response) -> None:
        if response.request.extensions.get(UNLIMITED_EXTENSION):
            return
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLarge
        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _LimitedStream(response.stream, limit)

    return hook
