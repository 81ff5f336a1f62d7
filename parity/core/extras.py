"""The optional stacks: which extra of ``pyproject.toml`` brings what, and what a user is told
when one is missing (the install command, never an ImportError).

The plain ``pip install moc-parity`` is the engine, the CLI and the pytest plugin;
``[fuzz]``, ``[e2e]``, ``[load]`` and ``[sandbox]`` add their stacks. A family names its
extra (:func:`parity.checks.families.family`); a command that needs one calls
:func:`require_extra` before it starts anything.
"""

from __future__ import annotations

import importlib.util

from parity.core.errors import UsageError

__all__ = ["EXTRAS", "install_command", "missing_extra", "require_extra"]

#: The extras of pyproject.toml and the top-level modules that tell each one is installed.
EXTRAS: dict[str, tuple[str, ...]] = {
    "fuzz": ("schemathesis",),
    "e2e": ("playwright", "pytest_playwright"),
    "load": ("locust",),
    "sandbox": ("starlette", "uvicorn", "sqlalchemy", "fakeredis", "moto"),
}


def install_command(extra: str) -> str:
    return f"pip install 'moc-parity[{extra}]'"


def _absent(extra: str) -> str:
    return ", ".join(m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None)


def missing_extra(extra: str) -> str | None:
    """Why the ``extra`` is not installed (``None``: it is), with the install command."""
    absent = _absent(extra)
    if not absent:
        return None
    return f"the [{extra}] extra is not installed (no {absent}): {install_command(extra)}"


def require_extra(extra: str, what: str, *, otherwise: str = "") -> None:
    """A one-line :class:`UsageError` (exit 2) when ``what`` cannot run without ``extra``
    (``otherwise``: what else the user may do, appended)."""
    absent = _absent(extra)
    if absent:
        raise UsageError(
            f"{what} needs the [{extra}] extra, which is not installed (no {absent}): "
            f"{install_command(extra)}{otherwise}"
        )
