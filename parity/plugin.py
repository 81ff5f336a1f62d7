"""The pytest plugin: options, markers, the session's backends and the embedded sandbox.

Registered through ``[project.entry-points.pytest11]``, so installing the package is enough.
Options live in one ``parity`` group, each with a ``PARITY_*`` environment twin; state lives in
``config.stash``. With no backend URL given, the embedded sandbox is started once per session
(on free ports) the first time a test needs a backend, and stopped at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parity.catalog import Catalog, load_catalog
from parity.client import BackendClient, Backends, ping
from parity.config import Settings
from parity.errors import BackendUnreachable, ParityError, UsageError
from parity.launcher import SandboxProcess
from parity.results import CheckResult

__all__ = [
    "BACKEND_CHOICES",
    "MARKERS",
    "RESULTS_KEY",
    "ParityRun",
    "ParityState",
    "ResultSink",
    "get_state",
]

RESULTS_KEY = "parity"  # user_properties key carrying CheckResult dicts (xdist-safe)

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
        help="allow checks that create data against a production target (env "
        "PARITY_ALLOW_WRITES)",
    )
    group.addoption(
        "--catalog",
        default=None,
        metavar="FILE",
        help="endpoint catalog (env PARITY_CATALOG; default fixtures/catalog.yaml)",
    )
    group.addoption(
        "--sandbox-drift",
        action="append",
        default=None,
        metavar="NAME",
        help="start the embedded sandbox with this drift injected into the serverless "
        "flavour (repeatable; env PARITY_SANDBOX_DRIFT=a,b)",
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
    }
    return {k: v for k, v in raw.items() if v is not None}


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


class ParityState:
    """Per-session state kept in ``config.stash``; starts the sandbox lazily."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.base_settings = settings
        self.run_id = secrets.token_hex(4)
        self.sandbox: SandboxProcess | None = None
        self.run: ParityRun | None = None

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
            self.sandbox = SandboxProcess(
                reports / f"sandbox-{worker}.env",
                drifts=settings.sandbox_drift,
            )
            env = self.sandbox.start()
            settings = settings.with_env(env)
        for name in settings.selected_backends:
            url = settings.url_for(name)
            if url is None:  # pragma: no cover - the sandbox always provides both
                raise UsageError(f"no URL for the {name} backend", hint="Pass --{name}-url")
            ping(name, url)  # fail fast: one line naming the backend and the URL
        backends = Backends.from_settings(settings)
        self.run = ParityRun(settings, backends, Path(settings.catalog), self.run_id, env)
        return self.run

    def stop(self) -> None:
        if self.run is not None:
            self.run.backends.close()
        if self.sandbox is not None:
            self.sandbox.stop()


_STATE = pytest.StashKey[ParityState]()


def get_state(config: pytest.Config) -> ParityState:
    return config.stash[_STATE]


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    try:
        settings = Settings.load(overrides=_overrides(config))
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_STATE] = ParityState(config, settings)


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


class ResultSink:
    """Collects a test's :class:`CheckResult` records on its item, where pytest (and xdist)
    carry them to the reporting side in ``report.user_properties``."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item
        self.records: list[CheckResult] = []

    def add(self, result: CheckResult) -> CheckResult:
        if result.test_id is None:
            result.test_id = self._item.nodeid
        self.records.append(result)
        self._item.user_properties.append((RESULTS_KEY, result.to_dict()))
        return result


@pytest.fixture
def parity_results(request: pytest.FixtureRequest) -> ResultSink:
    """Where a check reports its per-(endpoint, check) verdicts for the parity matrix."""
    return ResultSink(request.node)
