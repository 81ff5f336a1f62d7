"""Catalog coverage (``pytest -m parity``, family ``coverage``): every route the reference
serves has a catalog entry, so the parity matrix covers the whole API.

The routes come from the source the catalog's ``checks.coverage`` declares: a listing
endpoint of the reference (Express' ``/debug/routes``) or an OpenAPI document (a file beside
the catalog, or a path on the reference such as ``/openapi.json``). A route the catalog does
not cover appears in the matrix as ``missing`` (check ``catalog``); covered routes pass.
Routes listed under ``ignore_routes`` are left out on purpose. Where the source cannot be
read on this target (a test-only listing on production, the reference not selected) the
check is not testable; where it does not look as declared, it is an error.
"""

from __future__ import annotations

import pytest

from parity.checks.route_source import RouteSourceUnavailable, read_routes
from parity.core.catalog import parse_route_listing, route_key
from parity.core.checkspec import CoverageChecks
from parity.core.errors import ParityError
from parity.core.results import CheckResult
from parity.plugin import ParityRun, ResultSink, collection_catalog

pytestmark = [pytest.mark.parity, pytest.mark.parity_family("coverage")]

CHECK = "catalog"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "route_source" not in metafunc.fixturenames:
        return
    spec = collection_catalog(metafunc.config).checks.coverage
    # One case, reported on the source's row (a family without a source is not-applicable
    # on a row of its own).
    label = spec.label if spec is not None else "(coverage)"
    mark = pytest.mark.parity_check(CHECK, endpoint=label)
    metafunc.parametrize("route_source", [pytest.param(label, id="routes", marks=[mark])])


def test_every_express_route_is_in_the_catalog(
    parity_run: ParityRun, parity_results: ResultSink, route_source: str
) -> None:
    catalog = parity_run.catalog
    spec: CoverageChecks | None = catalog.checks.coverage
    assert spec is not None  # the family is not-applicable without it
    reference = parity_run.client(spec.reference) if spec.reference in parity_run.selected else None
    try:
        routes, where = read_routes(spec, catalog, reference)
    except RouteSourceUnavailable as exc:
        parity_results.add(CheckResult(route_source, CHECK, "not-testable", str(exc)))
        pytest.skip(f"not-testable: {exc}")
    except ParityError as exc:
        parity_results.add(CheckResult(route_source, CHECK, "error", str(exc)))
        pytest.fail(str(exc), pytrace=False)
    missing = catalog.uncovered_routes(routes)
    served = sorted({route_key(m, p) for m, p in parse_route_listing(routes)})
    for key in served:
        if key in missing:
            parity_results.add(
                CheckResult(
                    key,
                    CHECK,
                    "missing",
                    f"listed by {where} but not in the catalog: add an entry to "
                    f"{catalog.path} or list it under ignore_routes with a reason",
                    origin="application",
                    severity="breaking",
                )
            )
            continue
        endpoint = catalog.find(*key.split(" ", 1))
        if endpoint is not None:  # ignored routes are not endpoints of the matrix
            parity_results.add(
                CheckResult(endpoint.key, CHECK, "pass", f"catalog entry {endpoint.id}")
            )
    assert not missing, f"routes {where} lists that the catalog does not cover: " + ", ".join(
        missing
    )
