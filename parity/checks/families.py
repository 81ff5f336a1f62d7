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

    from parity.checks.families import family

    @family("webhooks", marker="parity", summary="webhook deliveries match")
    def webhooks_needs(catalog, settings):
        return None if "webhooks.deliver" in catalog.ids() else "no webhooks.deliver endpoint"

A family may also need an optional stack, installed with an extra (``pip install
'moc-parity[fuzz]'``): ``extra="fuzz"``. Without it the family is ``not-applicable`` with
the install command (:func:`parity.core.extras.missing_extra`), and a check module that
cannot even be imported without it is collected as
:class:`parity.plugin.extras.ExtraMissingModule` (one not-applicable item, see
``api_checks/conftest.py``), never an ImportError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parity.core.errors import UsageError
from parity.core.extras import missing_extra

if TYPE_CHECKING:  # pragma: no cover
    from parity.core.catalog import Catalog
    from parity.core.config import Settings

__all__ = [
    "NOT_APPLICABLE",
    "Family",
    "Needs",
    "families",
    "family",
    "get_family",
    "unmet",
]

#: The skip-reason prefix (and the record state) of a family the catalog does not serve.
NOT_APPLICABLE = "not-applicable"

Needs = Callable[["Catalog", "Settings"], "str | None"]


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
    return tuple(_REGISTRY.values())


def get_family(name: str) -> Family:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UsageError(
            f"unknown check family {name!r} (parity_family marker)",
            hint=f"Use one of {known}, or register it with @parity.checks.families.family",
        ) from None


def unmet(name: str, catalog: Catalog, settings: Settings) -> str | None:
    """Why family ``name`` does not apply to this catalog and settings (None: it does)."""
    fam = get_family(name)
    if fam.extra is not None and (reason := missing_extra(fam.extra)) is not None:
        return reason
    return fam.needs(catalog, settings)
