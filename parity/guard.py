"""The production guard: checks that create, change or delete data do not run against a
target marked production (``PARITY_TARGET_ENV=production``) unless ``--allow-writes`` (or
``PARITY_ALLOW_WRITES=1``) says so. They are skipped with the reason, never silently."""

from __future__ import annotations

import pytest

from parity.config import Settings

__all__ = ["refuse_writes", "writes_refused"]


def writes_refused(settings: Settings, what: str = "this check") -> str | None:
    """Why ``what`` may not write to the target, or ``None`` when it may."""
    if settings.writes_allowed:
        return None
    return (
        f"{what} writes, and the target is production (PARITY_TARGET_ENV=production): "
        "refused; pass --allow-writes (or PARITY_ALLOW_WRITES=1) to run it"
    )


def refuse_writes(settings: Settings, what: str = "this check") -> None:
    """Skip the calling test when ``what`` may not write to the target."""
    reason = writes_refused(settings, what)
    if reason is not None:
        pytest.skip(reason)
