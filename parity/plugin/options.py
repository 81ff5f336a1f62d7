"""The plugin's options: one ``parity`` group, each option with a ``PARITY_*`` twin, and
their translation into :class:`~parity.core.config.Settings` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parity.core.config import DEFAULT_FILES, Settings

__all__ = [
    "BACKEND_CHOICES",
    "DEFAULT_BASELINE",
    "DEFAULT_CASSETTES",
    "add_options",
    "baseline_path",
    "overrides",
    "rooted",
]

DEFAULT_BASELINE = str(DEFAULT_FILES["baseline"])
DEFAULT_CASSETTES = str(DEFAULT_FILES["cassettes"])

BACKEND_CHOICES = ("express", "serverless", "both")

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


def add_options(parser: pytest.Parser) -> None:
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
        help="endpoint catalog (env PARITY_CATALOG; default catalog.yaml beside the "
        "parity.toml read when there is one, else fixtures/catalog.yaml)",
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
        help="the contract schemas (env PARITY_CONTRACTS_DIR; default contracts/ beside the "
        "parity.toml read, else contracts/schemas)",
    )
    group.addoption(
        "--baseline",
        default=None,
        metavar="FILE",
        help="accepted drifts (env PARITY_BASELINE; default parity-baseline.toml beside the "
        "parity.toml read, else ./parity-baseline.toml; an absent default accepts nothing)",
    )
    group.addoption(
        "--cassettes",
        default=None,
        metavar="DIR",
        help="recorded Express answers that stand in for Express when it is not selected "
        "(env PARITY_CASSETTES; default cassettes/ beside the parity.toml read, else "
        "fixtures/cassettes)",
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
        "--probe-budget",
        default=None,
        metavar="BUDGET",
        help="budget of the -m probe checks: probes per endpoint (40), seconds in all (120s), "
        "both (40,120s) or all (env PARITY_PROBE_BUDGET; default 40,120s)",
    )
    group.addoption(
        "--probe-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the probes' generated values and of which probes the budget keeps "
        "(env PARITY_PROBE_SEED; default 0)",
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


def overrides(config: pytest.Config) -> dict[str, Any]:
    opt = config.option
    raw: dict[str, Any] = {
        "backend": opt.backend,
        "express_url": opt.express_url,
        "serverless_url": opt.serverless_url,
        "web_url": opt.web_url,
        "stage": int(opt.stage) if opt.stage else None,
        "allow_writes": opt.allow_writes,
        "catalog": opt.catalog,
        "baseline": opt.baseline,
        "cassettes": opt.cassettes,
        "contracts": opt.contracts_dir,
        "sandbox_drift": ",".join(opt.sandbox_drift) if opt.sandbox_drift else None,
        "timeout": getattr(opt, "request_timeout", None),
        "retries": getattr(opt, "retries", None),
        "max_response_mb": getattr(opt, "max_response_mb", None),
        "down_after": getattr(opt, "down_after", None),
    }
    return {k: v for k, v in raw.items() if v is not None}


def rooted(config: pytest.Config, path: Path) -> Path:
    """A relative default that is not found from the current directory, found from the
    rootdir instead (a run started from a subdirectory still finds the repository's files)."""
    if path.is_absolute() or path.exists():
        return path
    candidate = config.rootpath / path
    return candidate if candidate.exists() else path


def baseline_path(config: pytest.Config, settings: Settings) -> tuple[Path, bool]:
    """The baseline file and whether the user named it (then it must exist)."""
    named = settings.file_sources.get("baseline", "default") not in ("default",)
    named = named and not settings.file_sources["baseline"].startswith("beside ")
    return rooted(config, settings.baseline), named
