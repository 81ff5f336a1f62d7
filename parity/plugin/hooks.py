"""The pytest plugin: options, markers, the session's backends and the embedded sandbox.

Registered through ``[project.entry-points.pytest11]``, so installing the package is enough.
Options live in one ``parity`` group, each with a ``PARITY_*`` environment twin
(:mod:`parity.plugin.options`); state lives in ``config.stash`` (:mod:`parity.plugin.session`). With
no backend URL given, the embedded sandbox is started once per session (on free ports) the
first time a test needs a backend, and stopped at the end. The controller writes the matrix
(:mod:`parity.plugin.controller`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from parity.checks.families import NOT_APPLICABLE, unmet
from parity.core.config import Settings
from parity.core.errors import BackendUnreachable, GuardRefused, ParityError, UsageError
from parity.core.redact import redact, redact_text
from parity.core.results import CheckResult
from parity.engine.baseline import Baseline, load_baseline
from parity.engine.client import BackendClient
from parity.engine.guard import writes_refused
from parity.engine.replay import CassetteSource, load_cassettes
from parity.plugin.collect import RESULTS_KEY, TARGET_KEY, target_of
from parity.plugin.controller import MatrixReporter
from parity.plugin.markers import MarkerTypos
from parity.plugin.options import (
    BACKEND_CHOICES,
    DEFAULT_BASELINE,
    DEFAULT_CASSETTES,
    add_options,
    baseline_path,
    overrides,
    rooted,
)
from parity.plugin.reachability import Reachability, refuse_if_down
from parity.plugin.redaction import ReportRedactor, install_log_redaction
from parity.plugin.session import (
    RUN_ID_ENV,
    ParityRun,
    ParityState,
    collection_catalog,
    current_settings,
    find_state,
    get_state,
    is_worker,
    set_state,
)
from parity.report.allure import allure_active, attach_record

# what a check module imports: parity.plugin re-exports exactly these
__all__ = [
    "BACKEND_CHOICES",
    "DEFAULT_BASELINE",
    "DEFAULT_CASSETTES",
    "MARKERS",
    "RESULTS_KEY",
    "RUN_ID_ENV",
    "TARGET_KEY",
    "FuzzBudget",
    "MatrixReporter",
    "ParityRun",
    "ParityState",
    "ResultSink",
    "collection_catalog",
    "get_state",
    "is_worker",
]

MARKERS: dict[str, str] = {
    "smoke": "critical user flows, run after each rollout stage",
    "contract": "live responses validated against contracts/ (JSON Schema)",
    "parity": "differential checks: the same request to both backends, envelopes diffed",
    "boundary": "upload size boundaries (9/10/11 MB, presigned path, measured ceilings)",
    "auth": "401/403 sweeps and token handling",
    "cors": "CORS preflight and actual-request headers",
    "e2e": "Playwright browser flows against the web app",
    "load": "Locust load runs",
    "fuzz": "generated inputs (Schemathesis, Hypothesis)",
    "probe": "requests derived from the catalog that nobody writes by hand, both backends diffed",
    "writes": "creates, changes or deletes data on the target",
    "parity_check": "parity_check(name): the matrix check a test reports when it emits no "
    "records itself (default: the test function's name)",
    "parity_family": "parity_family(name): the check family a test belongs to; where the "
    "catalog does not give the family what it needs, its cells are not-applicable",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand the run id to each worker, so the whole run is ONE id."""
    node.workerinput["parity_run_id"] = get_state(node.config).run_id


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Read the catalog before collecting: a broken one is then pytest's one-line
    ``ERROR: <file>: <place>: <problem>. <fix>`` (exit 4), not a collection error per
    module. Skipped when no catalog is named and the default one does not exist."""
    named = session.config.option.catalog or os.environ.get("PARITY_CATALOG")
    if named or Path(get_state(session.config).base_settings.catalog).exists():
        collection_catalog(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    # Before anything runs or logs: reports and log records are redacted where made.
    if not config.pluginmanager.has_plugin("parity-redactor"):
        config.pluginmanager.register(ReportRedactor(), "parity-redactor")
        config.pluginmanager.register(MarkerTypos(), "parity-marker-typos")
    install_log_redaction()
    toml = Path(config.option.parity_config) if config.option.parity_config else None
    try:
        settings = Settings.load(overrides=overrides(config), toml_path=toml)
        path, named = baseline_path(config, settings)
        baseline = load_baseline(path, required=named)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None
    set_state(config, ParityState(config, settings, baseline))
    # an unreachable backend: one line up front, one short report per test it fails
    if not config.pluginmanager.has_plugin("parity-reachability"):
        config.pluginmanager.register(Reachability(config, current_settings), "parity-reachability")
    if not is_worker(config):
        config.pluginmanager.register(MatrixReporter(config), "parity-matrix-reporter")
        # JUnit XML always lands next to the matrix unless the user chose a path (tryfirst:
        # the junitxml plugin reads the option in its own pytest_configure, after ours).
        if getattr(config.option, "xmlpath", None) is None and hasattr(config.option, "xmlpath"):
            config.option.xmlpath = str(Path(settings.reports_dir) / "junit.xml")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A family the catalog does not serve: not-applicable cells with the reason, before
    # any fixture starts a backend and before pytest's own skip marks (an empty parameter
    # set is the usual sign of a missing catalog section; parity/checks/families.py).
    family_marker = item.get_closest_marker("parity_family")
    if family_marker is not None and family_marker.args:
        _not_applicable(item, str(family_marker.args[0]))
    # The production guard for every check marked ``writes``: skipped with the reason,
    # never silently passed. The user's own target setting decides, not a sandbox's.
    if item.get_closest_marker("writes") is None:
        return
    reason = writes_refused(get_state(item.config).base_settings, item.name)
    if reason is not None:
        pytest.skip(reason)


def _not_applicable(item: pytest.Item, name: str) -> None:
    state = get_state(item.config)
    try:
        reason = unmet(name, collection_catalog(item.config), state.base_settings)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None
    if reason is None:
        return
    # a family-wide cell, spelt like an endpoint ("FAMILY /cors"), as browser flows are
    target = target_of(item) or {"endpoint": f"FAMILY /{name}", "check": name}
    record = CheckResult(
        endpoint=target["endpoint"],
        check=target["check"],
        state="not-applicable",
        summary=f"{name}: {reason}",
        backend=target.get("backend"),
        scenario=target.get("scenario"),
        test_id=item.nodeid,
    )
    item.user_properties.append((RESULTS_KEY, record.to_dict()))
    pytest.skip(f"{NOT_APPLICABLE}: {name}: {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # A request the production guard refused (a test-only hook on a production target):
    # the check cannot be exercised there, so it is not testable, never passed or failed.
    try:
        return (yield)
    except GuardRefused as exc:
        pytest.skip(f"not-testable: {exc}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = find_state(config)
    if state is not None:
        state.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = find_state(config)
    if state is None:
        return []
    s = state.base_settings
    lines = [f"parity: {s.describe()} run-id={state.run_id}"]
    # Which files this run reads, and why: a run configured for another API must not
    # silently judge against the MOC API's baseline, contracts or cassettes.
    lines.append("parity: files: " + s.describe_files())
    if state.needs_sandbox:
        lines.append("parity: no backend URL given; the embedded sandbox starts on first use")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Single-backend checks take ``backend_name``: one test per selected backend.
    if "backend_name" in metafunc.fixturenames:
        state = get_state(metafunc.config)
        names = state.base_settings.selected_backends
        metafunc.parametrize("backend_name", names, ids=list(names), scope="session")


@pytest.fixture(scope="session")
def parity_run(pytestconfig: pytest.Config) -> Iterator[ParityRun]:
    """The session's resolved targets; starts the embedded sandbox when no URL is given."""
    state = get_state(pytestconfig)
    try:
        yield state.start()
    except BackendUnreachable as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.INTERRUPTED)
    except UsageError as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def backend(parity_run: ParityRun, backend_name: str) -> BackendClient:
    """The client of one selected backend (tests are parametrized over ``--backend``);
    a backend already marked down fails the tests that need it before they run."""
    return refuse_if_down(parity_run.client(backend_name))


@pytest.fixture(scope="session")
def run_id(parity_run: ParityRun) -> str:
    return parity_run.run_id


def _note_retries(item: pytest.Item, result: CheckResult) -> None:
    """Put the requests this test had to re-send on its record: no retry hides a failure."""
    run = get_state(item.config).run
    if run is None:
        return
    retried = [
        r
        for name, client in run.backends.items()
        if result.backend in (None, name)
        for r in client.retries_of(item.nodeid)
    ]
    if retried:
        result.evidence = {**result.evidence, "retries": [r.to_dict() for r in retried]}
        result.summary += f" (retried: {'; '.join(r.line() for r in retried)})"
    left = [
        {"backend": name, "resource": resource, "why": why}
        for name, client in run.backends.items()
        if result.backend in (None, name)
        for resource, why in client.left_by(item.nodeid)
    ]
    if left:  # what this test created that the API cannot delete: the matrix counts it
        result.evidence = {**result.evidence, "left_behind": left}


class ResultSink:
    """Collects a test's :class:`CheckResult` records on its item, where pytest (and xdist)
    carry them to the reporting side in ``report.user_properties``."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item
        self.records: list[CheckResult] = []
        self._allure = allure_active(item.config)

    def add(self, result: CheckResult) -> CheckResult:
        if result.test_id is None:
            result.test_id = self._item.nodeid
        _note_retries(self._item, result)
        # Redacted here, where the test ran (this process knows the tokens it minted), and
        # before any channel sees it: the matrix, JUnit and the Allure attachments.
        result.summary = redact_text(result.summary)
        result.evidence = redact(result.evidence)
        self.records.append(result)
        self._item.user_properties.append((RESULTS_KEY, result.to_dict()))
        if self._allure:  # attached here: Allure's listener lives where the test runs
            attach_record(result)
        return result

    def extend(self, results: list[CheckResult]) -> list[CheckResult]:
        return [self.add(r) for r in results]


@pytest.fixture
def parity_results(request: pytest.FixtureRequest) -> ResultSink:
    """Where a check reports its per-(endpoint, check) verdicts for the parity matrix."""
    return ResultSink(request.node)


@pytest.fixture(scope="session")
def parity_baseline(pytestconfig: pytest.Config) -> Baseline:
    """The accepted drifts (``parity-baseline.toml`` or ``--baseline``)."""
    return get_state(pytestconfig).baseline


@pytest.fixture(scope="session")
def parity_cassettes(pytestconfig: pytest.Config) -> CassetteSource:
    """Express' recorded answers (``parity capture``), the reference when Express is gone."""
    path = rooted(pytestconfig, get_state(pytestconfig).base_settings.cassettes)
    try:
        return load_cassettes(path)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def parity_origin(parity_run: ParityRun) -> str | None:
    """The frontend's origin (from the web URL): sent so CORS headers get compared."""
    url = parity_run.settings.web_url
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- the matrix: records travel in user_properties, the controller builds the reports ------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Known at collection (on the worker that runs the test), so even a test that crashes
    # before it emits anything shows up in the matrix under its endpoint.
    for item in items:
        target = target_of(item)
        if target is not None:
            item.user_properties.append((TARGET_KEY, target))


# --- the fuzz budget: time spent inside fuzz tests, not wall clock since the first one -----

DEFAULT_FUZZ_BUDGET_S = 60.0


@dataclass
class FuzzBudget:
    """Seconds the ``-m fuzz`` checks may spend in all. Only time inside fuzz tests counts,
    so other checks interleaved by xdist or ordering never eat the budget."""

    seconds: float
    spent: float = 0.0


_FUZZ_BUDGET = pytest.StashKey[FuzzBudget]()


def _fuzz_budget(config: pytest.Config) -> FuzzBudget:
    if _FUZZ_BUDGET not in config.stash:
        value = config.getoption("fuzz_budget", None)
        if value is None:
            raw = os.environ.get("PARITY_FUZZ_BUDGET")
            value = float(raw) if raw else DEFAULT_FUZZ_BUDGET_S
        config.stash[_FUZZ_BUDGET] = FuzzBudget(float(value))
    return config.stash[_FUZZ_BUDGET]


@pytest.fixture
def fuzz_deadline(pytestconfig: pytest.Config) -> Iterator[float]:
    """This fuzz test's deadline (``time.monotonic()``): now plus what is left of the
    budget; the time the test takes is charged to the budget afterwards."""
    budget = _fuzz_budget(pytestconfig)
    start = time.monotonic()
    try:
        yield start + max(0.0, budget.seconds - budget.spent)
    finally:
        budget.spent += time.monotonic() - start
