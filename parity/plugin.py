"""The pytest plugin: options, markers, the session's backends and the embedded sandbox.

Registered through ``[project.entry-points.pytest11]``, so installing the package is enough.
Options live in one ``parity`` group, each with a ``PARITY_*`` environment twin; state lives in
``config.stash``. With no backend URL given, the embedded sandbox is started once per session
(on free ports) the first time a test needs a backend, and stopped at the end.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from parity.baseline import Baseline, load_baseline
from parity.catalog import Catalog, load_catalog
from parity.client import BackendClient, Backends, ping
from parity.collect import RESULTS_KEY, TARGET_KEY, Collector, target_of
from parity.config import Settings
from parity.errors import BackendUnreachable, GuardRefused, ParityError, UsageError
from parity.guard import refused_headers, writes_refused
from parity.launcher import SandboxProcess
from parity.matrix import build_matrix
from parity.replay import CassetteSource, load_cassettes
from parity.report import write_reports
from parity.report.allure import allure_active, attach_record
from parity.results import CheckResult
from parity.storage import sweep_run

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

DEFAULT_BASELINE = "parity-baseline.toml"
DEFAULT_CASSETTES = "fixtures/cassettes"

BACKEND_CHOICES = ("express", "serverless", "both")

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
    "writes": "creates, changes or deletes data on the target",
    "parity_check": "parity_check(name): the matrix check a test reports when it emits no "
    "records itself (default: the test function's name)",
}

# (option, dest, environment twin, help)
_URL_OPTIONS = (
    ("--express-url", "express_url", "PARITY_EXPRESS_URL", "base URL of the Express backend"),
    (
        "--serverless-url",
        "serverless_url",
        "PARITY_SERVERLESS_URL",
        "base URL of the serverless (API Gateway) backend",
    ),
    ("--web-url", "web_url", "PARITY_WEB_URL", "URL of the web app (frontend)"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "endpoint parity and contract checks")
    group.addoption(
        "--backend",
        choices=BACKEND_CHOICES,
        default=None,
        help="which backend(s) single-backend checks run against (env PARITY_BACKEND; "
        "default both)",
    )
    for opt, dest, env, text in _URL_OPTIONS:
        group.addoption(
            opt,
            dest=dest,
            default=None,
            metavar="URL",
            help=f"{text} (env {env}); none given: the embedded sandbox is started",
        )
    group.addoption(
        "--stage",
        choices=("10", "25", "50", "100"),
        default=None,
        help="rollout stage the run gates (env PARITY_STAGE)",
    )
    group.addoption(
        "--allow-writes",
        action="store_true",
        default=None,
        help="allow checks that create data against a production target (env PARITY_ALLOW_WRITES)",
    )
    group.addoption(
        "--catalog",
        default=None,
        metavar="FILE",
        help="endpoint catalog (env PARITY_CATALOG; default fixtures/catalog.yaml)",
    )
    group.addoption(
        "--parity-config",
        default=None,
        metavar="FILE",
        help="the parity.toml to read (env PARITY_CONFIG; default ./parity.toml when it exists)",
    )
    group.addoption(
        "--contracts-dir",
        default=None,
        metavar="DIR",
        help="the contract schemas (env PARITY_CONTRACTS_DIR; default contracts/schemas)",
    )
    group.addoption(
        "--baseline",
        default=None,
        metavar="FILE",
        help="accepted drifts (env PARITY_BASELINE; default parity-baseline.toml when it exists)",
    )
    group.addoption(
        "--cassettes",
        default=None,
        metavar="DIR",
        help="recorded Express answers that stand in for Express when it is not selected "
        "(env PARITY_CASSETTES; default fixtures/cassettes)",
    )
    group.addoption(
        "--fuzz-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time budget of the -m fuzz checks, counted over the fuzz tests themselves "
        "(env PARITY_FUZZ_BUDGET; default 60)",
    )
    group.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        metavar="N",
        help="generated inputs per endpoint for -m fuzz (env PARITY_FUZZ_EXAMPLES; default 30 "
        "query strings, 20 bodies)",
    )
    group.addoption(
        "--sandbox-drift",
        action="append",
        default=None,
        metavar="NAME",
        help="start the embedded sandbox with this drift injected into the serverless "
        "flavour (repeatable; env PARITY_SANDBOX_DRIFT=a,b)",
    )
    # Failing backends (docs/usage.md, "When a backend fails"). Not --timeout: that is
    # pytest-timeout's limit for a whole test.
    group.addoption(
        "--request-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds one request may take (env PARITY_TIMEOUT; default 30)",
    )
    group.addoption(
        "--retries",
        type=int,
        default=None,
        metavar="N",
        help="re-sends after a connection-level failure, each recorded in the matrix "
        "(env PARITY_RETRIES; default 1)",
    )
    group.addoption(
        "--max-response-mb",
        type=float,
        default=None,
        metavar="MB",
        help="answers larger than this are errors, not read further "
        "(env PARITY_MAX_RESPONSE_MB; default 20)",
    )
    group.addoption(
        "--down-after",
        type=int,
        default=None,
        metavar="N",
        help="connection failures in a row before a backend is marked down and the rest "
        "of its checks fail at once (env PARITY_DOWN_AFTER; default 3; 0 = never)",
    )


def _overrides(config: pytest.Config) -> dict[str, Any]:
    opt = config.option
    raw: dict[str, Any] = {
        "backend": opt.backend,
        "express_url": opt.express_url,
        "serverless_url": opt.serverless_url,
        "web_url": opt.web_url,
        "stage": int(opt.stage) if opt.stage else None,
        "allow_writes": opt.allow_writes,
        "catalog": opt.catalog,
        "sandbox_drift": ",".join(opt.sandbox_drift) if opt.sandbox_drift else None,
        "timeout": getattr(opt, "request_timeout", None),
        "retries": getattr(opt, "retries", None),
        "max_response_mb": getattr(opt, "max_response_mb", None),
        "down_after": getattr(opt, "down_after", None),
    }
    return {k: v for k, v in raw.items() if v is not None}


def _baseline_path(config: pytest.Config) -> tuple[Path, bool]:
    """The baseline file and whether the user named it (then it must exist)."""
    given = config.option.baseline or os.environ.get("PARITY_BASELINE") or None
    path = Path(given or DEFAULT_BASELINE)
    if not path.is_absolute() and not path.exists():
        rooted = config.rootpath / path
        path = rooted if rooted.exists() or given is None else path
    return path, given is not None


def is_worker(config: pytest.Config) -> bool:
    """True in an xdist worker (the controller collects results and writes reports)."""
    return hasattr(config, "workerinput")


@dataclass
class ParityRun:
    """What a test sees: resolved settings, clients per backend, the catalog, the run id."""

    settings: Settings
    backends: Backends
    catalog_path: Path
    run_id: str
    sandbox_env: dict[str, str] = field(default_factory=dict)
    _catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.catalog_path)
        return self._catalog

    def client(self, backend: str) -> BackendClient:
        return self.backends[backend]

    @property
    def selected(self) -> tuple[str, ...]:
        return self.settings.selected_backends


RUN_ID_ENV = "PARITY_RUN_ID"
_RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


def _run_id(config: pytest.Config) -> str:
    """The run's id, in every title the suite creates (``parity <run id> ...``): the xdist
    controller's (one run, one id), else ``PARITY_RUN_ID`` (so a CI job can name it and
    ``parity cleanup --run-id`` it later), else a fresh random one."""
    shared = getattr(config, "workerinput", {}).get("parity_run_id")
    if shared:
        return str(shared)
    given = os.environ.get(RUN_ID_ENV, "").strip()
    if not given:
        return secrets.token_hex(4)
    if not _RUN_ID_RE.fullmatch(given):
        raise pytest.UsageError(
            f"{RUN_ID_ENV}={given!r} is not a run id: use 1-40 letters, digits, - or _ "
            "(it goes into resource titles and `parity cleanup --run-id`)"
        )
    return given


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand the run id to each worker, so the whole run is ONE id."""
    node.workerinput["parity_run_id"] = get_state(node.config).run_id


class ParityState:
    """Per-session state kept in ``config.stash``; starts the sandbox lazily."""

    def __init__(
        self, config: pytest.Config, settings: Settings, baseline: Baseline | None = None
    ) -> None:
        self.config = config
        self.base_settings = settings
        self.baseline = baseline or Baseline()
        self.run_id = _run_id(config)
        self.sandbox: SandboxProcess | None = None
        self.run: ParityRun | None = None
        self.collector = Collector()  # filled on the controller only
        self.written: dict[str, Any] = {}  # what pytest_sessionfinish wrote, for the summary
        self.collection_catalog: Catalog | None = None
        self.swept: dict[str, Any] | None = None  # the end-of-run bucket sweep

    @property
    def needs_sandbox(self) -> bool:
        return self.base_settings.needs_sandbox

    def start(self) -> ParityRun:
        if self.run is not None:
            return self.run
        settings = self.base_settings
        env: dict[str, str] = {}
        if self.needs_sandbox:
            reports = Path(settings.reports_dir)
            worker = getattr(self.config, "workerinput", {}).get("workerid", "main")
            # the env file (passwords) goes to the private runtime dir, the log to reports/
            self.sandbox = SandboxProcess(
                log_file=reports / f"sandbox-{worker}.log", drifts=settings.sandbox_drift
            )
            env = self.sandbox.start()
            settings = settings.with_env(env)
        down: dict[str, str] = {}
        for name in settings.selected_backends:
            url = settings.url_for(name)
            if url is None:  # pragma: no cover - the sandbox always provides both
                raise UsageError(f"no URL for the {name} backend", hint="Pass --{name}-url")
            try:
                ping(name, url, timeout=settings.timeout)
            except BackendUnreachable as exc:
                # An unreachable backend is a matrix state, not a crash: its checks become
                # errors at once (the client is marked down), the others still run.
                down[name] = f"{exc.reason} at start-up; marked down"
        catalog = load_catalog(settings.catalog)
        # the production guard's one enforcement point: every request goes through these
        backends = Backends.from_settings(
            settings, refused_headers=refused_headers(settings, catalog)
        )
        self.run = ParityRun(
            settings, backends, Path(settings.catalog), self.run_id, env, _catalog=catalog
        )
        for name, reason in down.items():
            self.run.backends[name].mark_down(reason)
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                url = settings.url_for(name)
                reporter.write_line(f"parity: {name} backend at {url}: {reason}; its checks fail")
        return self.run

    def stop(self) -> None:
        if self.run is not None:
            self.run.backends.close()
        if self.sandbox is not None:
            self.sandbox.stop()


_STATE = pytest.StashKey[ParityState]()


def get_state(config: pytest.Config) -> ParityState:
    return config.stash[_STATE]


def collection_catalog(config: pytest.Config) -> Catalog:
    """The catalog for parametrising checks at collection time (loaded once per session);
    a broken catalog is one usage error naming the file, entry and field."""
    state = get_state(config)
    if state.collection_catalog is None:
        try:
            state.collection_catalog = load_catalog(state.base_settings.catalog)
        except ParityError as exc:
            raise pytest.UsageError(str(exc)) from None
    return state.collection_catalog


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
    if config.option.contracts_dir:  # read where the schemas are loaded (contracts/)
        os.environ["PARITY_CONTRACTS_DIR"] = str(config.option.contracts_dir)
    toml = Path(config.option.parity_config) if config.option.parity_config else None
    try:
        settings = Settings.load(overrides=_overrides(config), toml_path=toml)
        path, named = _baseline_path(config)
        baseline = load_baseline(path, required=named)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_STATE] = ParityState(config, settings, baseline)
    if not is_worker(config):
        config.pluginmanager.register(MatrixReporter(config), "parity-matrix-reporter")
        # JUnit XML always lands next to the matrix unless the user chose a path (tryfirst:
        # the junitxml plugin reads the option in its own pytest_configure, after ours).
        if getattr(config.option, "xmlpath", None) is None and hasattr(config.option, "xmlpath"):
            config.option.xmlpath = str(Path(settings.reports_dir) / "junit.xml")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # The production guard for every check marked ``writes``: skipped with the reason,
    # never silently passed. The user's own target setting decides, not a sandbox's.
    if item.get_closest_marker("writes") is None:
        return
    reason = writes_refused(get_state(item.config).base_settings, item.name)
    if reason is not None:
        pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # A request the production guard refused (a test-only hook on a production target):
    # the check cannot be exercised there, so it is not testable, never passed or failed.
    try:
        return (yield)
    except GuardRefused as exc:
        pytest.skip(f"not-testable: {exc}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash.get(_STATE, None)
    if state is None:
        return []
    s = state.base_settings
    lines = [f"parity: {s.describe()} run-id={state.run_id}"]
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
    """The client of one selected backend (tests are parametrized over ``--backend``)."""
    return parity_run.client(backend_name)


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
    given = pytestconfig.option.cassettes or os.environ.get("PARITY_CASSETTES") or None
    path = Path(given or DEFAULT_CASSETTES)
    if not path.is_absolute() and not path.exists() and given is None:
        path = pytestconfig.rootpath / path
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


class MatrixReporter:
    """The controller's half: collects records from reports, writes the matrix at the end.

    Registered on the controller only (never on an xdist worker, which must ship its
    records untouched)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        get_state(self.config).collector.add(report)
        # JUnit XML (which writes user_properties) gets one line per record, not the
        # whole evidence.
        compact: list[tuple[str, object]] = []
        for key, value in report.user_properties:
            if key == TARGET_KEY:
                continue
            if key == RESULTS_KEY and isinstance(value, dict):
                value = (
                    f"{value.get('endpoint')} {value.get('check')} [{value.get('scenario')}]: "
                    f"{value.get('state')} - {str(value.get('summary') or '')[:300]}"
                )
            compact.append((key, value))
        report.user_properties = compact

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = get_state(self.config)
        if state.run is not None or state.collector:  # checks ran here, or on the workers
            state.swept = _sweep_bucket(state)  # also after Ctrl-C: sessionfinish still runs
        if not state.collector:
            return  # no parity check ran: leave an earlier matrix alone
        records = state.collector.records()
        usage = [u.to_dict() for u in state.baseline.usage(records)]
        settings = state.base_settings
        try:
            order = [e.key for e in load_catalog(settings.catalog).endpoints]
        except ParityError:
            order = []
        meta = {
            "run_id": state.run_id,
            "backends": {
                name: settings.url_for(name) or "embedded sandbox"
                for name in settings.selected_backends
            },
            "target_env": settings.target_env,
            "stage": settings.stage,
            "drift": list(settings.sandbox_drift),
            "baseline": str(state.baseline.path) if state.baseline.path else None,
            "exit_status": int(exitstatus),
            "storage": state.swept,
        }
        matrix = build_matrix(records, endpoint_order=order, baseline=usage, meta=meta)
        paths = write_reports(matrix, Path(settings.reports_dir))
        state.written = {"matrix": matrix, "paths": paths}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        state = get_state(self.config)
        if not state.written:
            _storage_line(terminalreporter, state)
            return
        matrix, paths = state.written["matrix"], state.written["paths"]
        summary = matrix["summary"]
        tr = terminalreporter
        tr.section("parity matrix")
        tr.write_line(f"{summary['headline']}; {summary['failing']} failing cell(s)")
        tr.write_line("cells: " + ", ".join(f"{n} {s}" for s, n in summary["states"].items() if n))
        for entry in matrix["baseline"]:
            if entry["state"] in ("stale", "expired"):
                hint = " (it matched nothing: delete it)" if entry["state"] == "stale" else ""
                tr.write_line(f"baseline entry {entry['id']!r} is {entry['state']}{hint}")
        odd = [n for n in matrix["noise"] if n["source"] == "learned" and n["kind"] == "other"]
        if odd:
            tr.write_line(f"noise: {len(odd)} learned path(s) that are not timestamps or ids")
        _storage_line(tr, state)
        for name, path in paths.items():
            tr.write_line(f"{name}: {path}")


def _storage_line(tr: Any, state: ParityState) -> None:
    swept = state.swept
    if swept is None:
        return
    if swept.get("error"):
        tr.write_line(f"storage: {swept['bucket']} not swept: {swept['error']}", red=True)
    else:
        tr.write_line(
            f"storage: {swept['deleted']} object(s) of run {state.run_id} deleted from "
            f"{swept['bucket']}, {swept['failed']} failed"
        )


def _sweep_bucket(state: ParityState) -> dict[str, Any] | None:
    """Delete the run's objects in the test bucket (uploads never completed: no API call
    reaches them). Runs once, where the whole run ends: on the xdist controller, or in the
    one process (before its sandbox stops). ``None`` when no bucket is named."""
    settings = state.run.settings if state.run is not None else state.base_settings
    if not settings.s3_bucket:
        return None
    where = f"s3://{settings.s3_bucket}"
    try:
        found = sweep_run(settings, state.run_id)
    except ParityError as exc:  # never lose the matrix over the bucket
        return {"bucket": where, "deleted": 0, "failed": 0, "error": str(exc)}
    if found is None:
        return None  # writes refused: the run uploaded nothing
    failed = sum(o.failed for o in found)
    return {"bucket": where, "deleted": len(found) - failed, "failed": failed, "error": None}


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
