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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parity.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from parity.catalog import Catalog
    from parity.config import Settings

__all__ = ["NOT_APPLICABLE", "Family", "Needs", "families", "family", "get_family", "unmet"]

#: The skip-reason prefix (and the record state) of a family the catalog does not serve.
NOT_APPLICABLE = "not-applicable"

Needs = Callable[["Catalog", "Settings"], "str | None"]


@dataclass(frozen=True)
class Family:
    name: str
    marker: str  # the pytest marker its tests carry
    summary: str  # one line: what it checks
    needs: Needs


_REGISTRY: dict[str, Family] = {}


def family(name: str, *, marker: str, summary: str) -> Callable[[Needs], Needs]:
    """Register the decorated ``needs(catalog, settings) -> reason | None`` as a family."""

    def register(needs: Needs) -> Needs:
        _REGISTRY[name] = Family(name, marker, summary, needs)
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
    return get_family(name).needs(catalog, settings)


def _load_builtin() -> None:
    # The built-in families register on import; imported late so that this module stays
    # free of the catalog and settings modules (they import nothing from here).
    import parity.family_needs  # noqa: F401
