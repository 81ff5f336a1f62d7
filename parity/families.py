"""Check families and what each needs from the catalog and the settings.

A family (the consistency checks, the smoke flows, the CORS comparison...) is applicable to
an API only where the catalog describes what it relies on. Each family registers, with the
same :func:`family` decorator whether it is built in or a user's, a ``needs`` function that
returns ``None`` when the catalog and settings give the family what it needs, else the
reason it cannot run and what to declare. A test module joins its family with the
``parity_family(name)`` marker; the plugin then turns a family that does not apply into
``not-applicable`` cells with that reason (a state of its own: never a pass, never a
failure), before the test runs.

A user's family, in a ``conftest.py``::

    from parity.families import family

    @family("webhooks", marker="parity", summary="webhook deliveries match")
    def webhooks_needs(catalog, settings):
        return None if "webhooks.deliver" in catalog.ids() else "no webhooks.deliver endpoint"

A family may also need an optional stack, installed with an extra (``pip install
'moc-parity[fuzz]'``): ``extra="fuzz"``. Without it the family is ``not-applicable`` with
the install command (:func:`missing_extra`), and a check module that cannot even be
imported without it is collected as :class:`ExtraMissingModule` (one not-applicable item,
see ``api_checks/conftest.py``), never an ImportError.
"""

from __future__ import annotations

import ast
import importlib.util
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from parity.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from parity.catalog import Catalog
    from parity.config import Settings

__all__ = [
    "EXTRAS",
    "NOT_APPLICABLE",
    "ExtraMissingModule",
    "Family",
    "Needs",
    "families",
    "family",
    "get_family",
    "install_command",
    "missing_extra",
    "require_extra",
    "unmet",
]

#: The skip-reason prefix (and the record state) of a family the catalog does not serve.
NOT_APPLICABLE = "not-applicable"

Needs = Callable[["Catalog", "Settings"], "str | None"]

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


@dataclass(frozen=True)
class Family:
    name: str
    marker: str  # the pytest marker its tests carry
    summary: str  # one line: what it checks
    needs: Needs
    extra: str | None = None  # the pyproject extra its checks import (EXTRAS)


_REGISTRY: dict[str, Family] = {}


def family(
    name: str, *, marker: str, summary: str, extra: str | None = None
) -> Callable[[Needs], Needs]:
    """Register the decorated ``needs(catalog, settings) -> reason | None`` as a family
    (``extra``: the optional stack it needs, checked before ``needs``)."""

    def register(needs: Needs) -> Needs:
        _REGISTRY[name] = Family(name, marker, summary, needs, extra)
        return needs

    return register


def families() -> tuple[Family, ...]:
    """Every registered family, built-in ones first, in registration order."""
    _load_builtin()
    return tuple(_REGISTRY.values())


def get_family(name: str) -> Family:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UsageError(
            f"unknown check family {name!r} (parity_family marker)",
            hint=f"Use one of {known}, or register it with @parity.families.family",
        ) from None


def unmet(name: str, catalog: Catalog, settings: Settings) -> str | None:
    """Why family ``name`` does not apply to this catalog and settings (None: it does)."""
    fam = get_family(name)
    if fam.extra is not None and (reason := missing_extra(fam.extra)) is not None:
        return reason
    return fam.needs(catalog, settings)


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
        from parity.collect import RESULTS_KEY, target_of  # late: free of the engine
        from parity.results import CheckResult

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


def _load_builtin() -> None:
    # The built-in families register on import; imported late so that this module stays
    # free of the catalog and settings modules (they import nothing from here).
    import parity.family_needs  # noqa: F401
