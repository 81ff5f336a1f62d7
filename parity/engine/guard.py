"""The production guard, for a target marked production (``PARITY_TARGET_ENV=production``):

- checks that create, change or delete data do not run unless ``--allow-writes`` (or
  ``PARITY_ALLOW_WRITES=1``) says so: they are skipped with the reason, never silently;
- the catalog's test-only fault header (``checks.errors.fault.header``) is never sent,
  whatever the flags: :func:`refused_headers` is handed to every backend client, which
  refuses such a request (:class:`~parity.core.errors.GuardRefused`) before it is sent, and the
  plugin reports the check as not testable;
- ``/debug/*`` must be absent (the health checks' ``debug_routes``).
"""

from __future__ import annotations

import pytest

from parity.core.catalog import Catalog
from parity.core.config import Settings

__all__ = ["refuse_writes", "refused_headers", "writes_refused"]


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


def refused_headers(settings: Settings, catalog: Catalog) -> frozenset[str]:
    """Header names (lower-case) never to be sent to this target: the catalog's test-only
    fault header when the target is production (``--allow-writes`` does not change that)."""
    if settings.target_env != "production":
        return frozenset()
    spec = catalog.checks.errors
    return frozenset({spec.fault.header.lower()}) if spec and spec.fault else frozenset()
