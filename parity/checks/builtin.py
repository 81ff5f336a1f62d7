"""The built-in check families and what each needs (registered with
:func:`parity.checks.families.family`, like a user's).

Each ``needs`` function reads the catalog and the settings only: it says which section the
family relies on and names what to declare when it is missing; a family that needs an
optional stack names its extra (``extra=``), checked first (:func:`parity.checks.families.unmet`).
Whether a backend answers, or whether writes are allowed, is decided when the checks run,
not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parity.checks.families import family

if TYPE_CHECKING:  # pragma: no cover
    from parity.core.catalog import Catalog
    from parity.core.config import Settings

__all__: list[str] = []


def _section(catalog: Catalog, name: str) -> Any:
    return getattr(catalog.checks, name, None)


def _missing(name: str, what: str) -> str:
    return f"the catalog has no checks.{name} section ({what}); see docs/catalog.md"


@family("catalog-scenarios", marker="smoke", summary="each scenario answers as the catalog says")
def _scenarios(catalog: Catalog, settings: Settings) -> str | None:
    return None  # a catalog has at least one endpoint with a scenario


@family("differential", marker="parity", summary="the same request to both backends, diffed")
def _differential(catalog: Catalog, settings: Settings) -> str | None:
    return None


@family("contract", marker="contract", summary="answers validated against the inferred schemas")
def _contract(catalog: Catalog, settings: Settings) -> str | None:
    root = settings.contracts
    if not root.is_dir() or not any(root.rglob("*.json")):
        return (
            f"no contract schemas under {root}: run `parity capture` then `parity contracts` "
            "(or set contracts / PARITY_CONTRACTS_DIR)"
        )
    return None


@family("consistency", marker="parity", summary="what one backend writes the other reads")
def _consistency(catalog: Catalog, settings: Settings) -> str | None:
    if _section(catalog, "consistency") is None:
        return _missing("consistency", "a resource with create, read and delete")
    return None


@family("smoke-flows", marker="smoke", summary="the critical user flows, step by step")
def _flows(catalog: Catalog, settings: Settings) -> str | None:
    if not getattr(catalog, "flows", None):
        return "the catalog declares no flows: (the critical user flows); see docs/catalog.md"
    return None


@family("coverage", marker="parity", summary="every route the reference serves is in the catalog")
def _coverage(catalog: Catalog, settings: Settings) -> str | None:
    if _section(catalog, "coverage") is None:
        return _missing("coverage", "a source of the routes the reference serves")
    return None


@family("errors", marker="auth", summary="error answers follow the API's error conventions")
def _errors(catalog: Catalog, settings: Settings) -> str | None:
    if _section(catalog, "errors") is None:
        return _missing("errors", "the API's error conventions")
    return None


@family("auth", marker="auth", summary="401 and 403 for every protected endpoint")
def _auth(catalog: Catalog, settings: Settings) -> str | None:
    if _section(catalog, "auth") is None:
        return _missing("auth", "the other user of the 403 sweep")
    if all(e.auth == "public" for e in catalog.endpoints):
        return "every endpoint of the catalog is public: nothing to authenticate"
    return None


@family("cors", marker="cors", summary="CORS answers compared between the backends")
def _cors(catalog: Catalog, settings: Settings) -> str | None:
    if _section(catalog, "cors") is None:
        return _missing("cors", "the origins the frontend uses")
    return None


@family("boundary", marker="boundary", summary="upload size boundaries and ceilings")
def _boundary(catalog: Catalog, settings: Settings) -> str | None:
    if _section(catalog, "boundary") is None:
        return _missing("boundary", "the upload endpoints and sizes")
    return None


@family("health", marker="smoke", summary="health endpoint, runtime config, debug hooks")
def _health(catalog: Catalog, settings: Settings) -> str | None:
    if _section(catalog, "health") is None:
        return _missing("health", "the health endpoint and its fields")
    return None


@family("load", marker="load", summary="a Locust run of the catalog's mix", extra="load")
def _load(catalog: Catalog, settings: Settings) -> str | None:
    from parity.core.load_mix import default_cases  # the default mix's own rule

    if _section(catalog, "load") is None and not default_cases(catalog):
        return (
            "no checks.load mix and no read-only scenario (GET, no set-up, 2xx expected) "
            "to build one from; see docs/catalog.md"
        )
    return None


@family("fuzz", marker="fuzz", summary="generated inputs, both backends compared", extra="fuzz")
def _fuzz(catalog: Catalog, settings: Settings) -> str | None:
    return None


@family("probe", marker="probe", summary="requests nobody writes by hand, both backends compared")
def _probe(catalog: Catalog, settings: Settings) -> str | None:
    from parity.checks.sweeps import happy_path  # late: this module stays free of the engine

    if not any(happy_path(e) is not None for e in catalog.endpoints):
        return "no endpoint has a success scenario to derive probes from; see docs/probes.md"
    return None
