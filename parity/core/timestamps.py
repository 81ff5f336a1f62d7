"""ISO-8601 timestamps as the API and the suite's own files write them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["parse_timestamp"]


def parse_timestamp(value: Any) -> datetime | None:
    """``2026-11-24T10:00:00.000Z`` (or any ISO-8601 text) -> an aware datetime (UTC when it
    names no zone); ``None`` for anything that is not such a string."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
