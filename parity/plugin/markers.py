"""A ``-m`` expression that names no known marker is a typo, not an empty run.

``pytest -m smok`` selects nothing; pytest stops it (an unknown marker in ``-m``), but its
JUnit writer still replaces ``junit.xml`` with an empty file, which a CI step reading the
latest report takes for a clean run, and it names no alternative. Before pytest's own
check, this stops the run as a usage error (exit 4) that suggests the closest known
markers, and no JUnit file is written.
"""

from __future__ import annotations

import difflib
import re

import pytest

__all__ = ["MarkerTypos"]

_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = frozenset({"and", "or", "not", "True", "False"})


def _registered(config: pytest.Config) -> set[str]:
    lines = config.getini("markers")
    return {re.split(r"[:(]", str(line), maxsplit=1)[0].strip() for line in lines}


class MarkerTypos:
    """The pytest plugin object (registered by :mod:`parity.plugin.hooks`)."""

    @pytest.hookimpl(tryfirst=True)  # before pytest's deselection validates the names
    def pytest_collection_modifyitems(self, config: pytest.Config) -> None:
        expr = str(getattr(config.option, "markexpr", "") or "")
        if not expr:
            return
        known = _registered(config)
        unknown = sorted({w for w in _WORDS.findall(expr) if w not in _OPERATORS} - known)
        if not unknown:
            return
        _drop_junit(config)
        hints = []
        for word in unknown:
            close = difflib.get_close_matches(word, sorted(known), n=3, cutoff=0.6)
            hints.append(
                f"{word!r}" + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else "")
            )
        raise pytest.UsageError(
            f"-m {expr!r}: unknown marker {', '.join(hints)}. "
            f"Known markers: {', '.join(sorted(known))} (pytest --markers describes them)"
        )


def _drop_junit(config: pytest.Config) -> None:
    # The JUnit writer is registered by then; unregistered, it writes nothing, so an
    # earlier run's junit.xml is not replaced by an empty one.
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - pytest moved it: then the file is written
        return
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        del config.stash[xml_key]
        config.pluginmanager.unregister(xml)
