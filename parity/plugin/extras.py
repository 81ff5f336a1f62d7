"""Check modules whose extra is missing, collected without importing them: one item each
that records a ``not-applicable`` cell naming the install command (``api_checks/conftest.py``,
``e2e/conftest.py``)."""

from __future__ import annotations

import ast
import types
from pathlib import Path
from typing import Any

import pytest

from parity.checks.families import NOT_APPLICABLE
from parity.core.extras import missing_extra
from parity.core.results import CheckResult
from parity.plugin.collect import RESULTS_KEY, target_of

__all__ = ["ExtraMissingModule"]


class ExtraMissingModule(pytest.Module):
    """A check module whose extra is missing, collected without importing it: one item that
    records a ``not-applicable`` cell naming the install command and skips. The item carries
    the module's own markers (its ``pytestmark``, read from the source) and the family's, so
    ``-m fuzz`` or ``-m smoke`` still selects it. Return it from a conftest's
    ``pytest_pycollect_makemodule``::

        def pytest_pycollect_makemodule(module_path, parent):
            return ExtraMissingModule.unless_installed("fuzz", module_path, parent)
    """

    extra: str = ""
    family: str = ""
    check: str = ""

    @classmethod
    def unless_installed(
        cls,
        extra: str,
        module_path: Path,
        parent: pytest.Collector,
        *,
        family: str | None = None,
        check: str | None = None,
    ) -> ExtraMissingModule | None:
        """The stand-in for ``module_path`` when ``extra`` is missing, else ``None`` (the
        module is collected as usual). ``family``: the cell's family (default the extra's
        name), ``check``: its check (default the family)."""
        if missing_extra(extra) is None:
            return None
        module: ExtraMissingModule = cls.from_parent(parent, path=module_path)
        module.extra = extra
        module.family = family or extra
        module.check = check or module.family
        return module

    def _getobj(self) -> types.ModuleType:  # never imports the real module
        return types.ModuleType(self.path.stem)

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        def test_extra_installed() -> None:  # pragma: no cover - skipped in its set-up
            pass

        names = dict.fromkeys([*_module_marks(self.path), self.family])
        func: Any = test_extra_installed
        for name in names:
            func = getattr(pytest.mark, name)(func)
        return [_ExtraMissingItem.from_parent(self, name=func.__name__, callobj=func)]


def _module_marks(path: Path) -> list[str]:
    """The bare ``pytest.mark.NAME`` markers of a module's ``pytestmark``, read from its
    source (importing it is what cannot be done)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
            continue
        assert isinstance(node, ast.Assign)
        for sub in ast.walk(node.value):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Attribute)
                and sub.value.attr == "mark"
                and not sub.attr.startswith("parity_")
            ):
                names.append(sub.attr)
    return names


class _ExtraMissingItem(pytest.Function):
    def setup(self) -> None:
        module = self.getparent(ExtraMissingModule)
        assert module is not None
        reason = missing_extra(module.extra) or f"the [{module.extra}] extra is not installed"
        target = target_of(self) or {"endpoint": f"FAMILY /{module.family}"}
        record = CheckResult(
            endpoint=target["endpoint"],
            check=target.get("check") or module.check,
            state="not-applicable",
            summary=f"{module.family}: {reason}",
            scenario=target.get("scenario"),
            test_id=self.nodeid,
        )
        self.user_properties.append((RESULTS_KEY, record.to_dict()))
        pytest.skip(f"{NOT_APPLICABLE}: {module.family}: {reason}")
