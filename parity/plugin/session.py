"""The session's state, kept in ``config.stash``: the resolved settings, the run id (one per
run, handed to every xdist worker), the embedded sandbox (started lazily) and the clients
the checks use (:class:`ParityRun`)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parity.core.catalog import Catalog, load_catalog
from parity.core.config import Settings
from parity.core.errors import ParityError, UsageError
from parity.engine.baseline import Baseline
from parity.engine.client import BackendClient, Backends
from parity.engine.guard import refused_headers
from parity.engine.launcher import SandboxProcess
from parity.plugin.collect import Collector
from parity.plugin.reachability import announce, check_backend

__all__ = [
    "RUN_ID_ENV",
    "ParityRun",
    "ParityState",
    "collection_catalog",
    "find_state",
    "get_state",
    "is_worker",
    "run_id_for",
    "set_state",
]


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


def run_id_for(config: pytest.Config) -> str:
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


class ParityState:
    """Per-session state kept in ``config.stash``; starts the sandbox lazily."""

    def __init__(
        self, config: pytest.Config, settings: Settings, baseline: Baseline | None = None
    ) -> None:
        self.config = config
        self.base_settings = settings
        self.baseline = baseline or Baseline()
        self.run_id = run_id_for(config)
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
            # An unreachable backend is a matrix state, not a crash: its checks become
            # errors at once (the client is marked down), the others still run. The
            # controller's probe before the run already answered for a URL it knew.
            reason = check_backend(self.config, name, url, settings.timeout)
            if reason is not None:
                down[name] = f"{reason} at start-up; marked down"
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
            announce(self.config, name, str(settings.url_for(name)), reason)  # once a run
        return self.run

    def stop(self) -> None:
        if self.run is not None:
            self.run.backends.close()
        if self.sandbox is not None:
            self.sandbox.stop()


_STATE = pytest.StashKey[ParityState]()


def get_state(config: pytest.Config) -> ParityState:
    return config.stash[_STATE]


def find_state(config: pytest.Config) -> ParityState | None:
    """The state, or ``None`` before ``pytest_configure`` set it (or after a usage error)."""
    return config.stash.get(_STATE, None)


def current_settings(config: pytest.Config) -> Settings | None:
    """The run's settings, or the base ones before the run resolved (None before
    ``pytest_configure`` set the state)."""
    state = find_state(config)
    if state is None:
        return None
    return state.run.settings if state.run is not None else state.base_settings


def set_state(config: pytest.Config, state: ParityState) -> None:
    config.stash[_STATE] = state


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
