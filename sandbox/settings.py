"""Sandbox settings: one dataclass, filled from defaults and the environment.

Everything the sandbox process can be told lives here, so the launcher, both flavours and
the application core read one object instead of poking at ``os.environ`` themselves.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

__all__ = ["WEB_BREAKS", "SandboxSettings", "runtime_dir"]

#: Deliberate defects the web app can serve (test-only, ``PARITY_SANDBOX_WEB_BREAK=a,b``), so
#: the suite's own tests can show that the e2e checks catch them; see ``sandbox/web/app.py``.
WEB_BREAKS: frozenset[str] = frozenset({"testid", "fallback", "lock"})

_T = TypeVar("_T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_REDIS_SCHEMES = ("redis://", "rediss://")


def runtime_dir(environ: Mapping[str, str] | None = None) -> Path:
    """A private directory (mode 0700) for files holding credentials, such as the sandbox's
    env file: ``PARITY_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/parity``, else
    ``<tmp>/parity-<uid>``. Never under ``reports/``, which CI publishes as artifacts."""
    env = os.environ if environ is None else environ
    given = env.get("PARITY_RUNTIME_DIR", "").strip()
    if given:
        path = Path(given)
    elif env.get("XDG_RUNTIME_DIR", "").strip():
        path = Path(env["XDG_RUNTIME_DIR"]) / "parity"
    else:
        path = Path(tempfile.gettempdir()) / f"parity-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is masked by the umask, and the directory may be older
    return path


def _new_run_id() -> str:
    # short, lower-case hex: it ends up in a PostgreSQL schema name and in log lines
    return secrets.token_hex(4)


@dataclass
class SandboxSettings:
    host: str = "127.0.0.1"
    express_port: int = 0  # 0 = pick a free port
    serverless_port: int = 0
    web_port: int = 0
    database_url: str | None = None  # None = SQLite file in a temp dir
    redis_url: str | None = None  # None = embedded fakeredis TCP server
    drifts: frozenset[str] = frozenset()
    production: bool = False  # hides X-Debug-Fault and /debug/*
    migration_mode: bool = True  # serverless cache keys get the "v2:" prefix
    region: str = "us-east-1"
    bucket: str = "moc-files"
    express_upload_limit: int = 50 * 1024 * 1024
    gateway_timeout_s: float = 30.0
    fault_timeout_s: float = 35.0  # how long "X-Debug-Fault: timeout" sleeps
    latency_ms: int = 0  # added to every /api/* request
    error_rate: float = 0.0  # share of /api/* requests answered with a 500
    web_breaks: frozenset[str] = frozenset()  # test-only defects of the web app (WEB_BREAKS)
    version: str = "0.1.0"
    run_id: str = field(default_factory=_new_run_id)

    def cache_prefix(self, flavour: str) -> str:
        """Cache key prefix of a flavour: ``v2:`` for serverless during the migration."""
        return "v2:" if flavour == "serverless" and self.migration_mode else ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxSettings:
        """Build settings from ``environ`` (default ``os.environ``).

        Empty values count as unset. A bad value raises ``ValueError`` naming the variable
        and what to put there instead.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            if value is None or not value.strip():
                return None
            return value.strip()

        settings = cls()
        database_url = get("DATABASE_URL")
        if database_url is not None:
            if not database_url.startswith(_POSTGRES_SCHEMES):
                raise ValueError(
                    f"DATABASE_URL={database_url!r} is not a PostgreSQL URL: use "
                    "postgresql://user@host:5432/dbname, or unset it to use the embedded "
                    "SQLite database"
                )
            settings.database_url = database_url
        redis_url = get("REDIS_URL")
        if redis_url is not None:
            if not redis_url.startswith(_REDIS_SCHEMES):
                raise ValueError(
                    f"REDIS_URL={redis_url!r} is not a Redis URL: use redis://host:6379/0, "
                    "or unset it to use the embedded fakeredis server"
                )
            settings.redis_url = redis_url
        drift = get("PARITY_SANDBOX_DRIFT")
        if drift is not None:
            settings.drifts = frozenset(d.strip() for d in drift.split(",") if d.strip())
        settings.production = _parse(
            env, "PARITY_SANDBOX_PRODUCTION", settings.production, _bool, "true or false"
        )
        settings.migration_mode = _parse(
            env, "MIGRATION_MODE", settings.migration_mode, _bool, "true or false"
        )
        settings.gateway_timeout_s = _parse(
            env,
            "PARITY_SANDBOX_GATEWAY_TIMEOUT",
            settings.gateway_timeout_s,
            _positive_float,
            "a number of seconds > 0, e.g. 30",
        )
        settings.fault_timeout_s = _parse(
            env,
            "PARITY_SANDBOX_FAULT_TIMEOUT",
            settings.fault_timeout_s,
            _non_negative_float,
            "a number of seconds >= 0, e.g. 35",
        )
        settings.latency_ms = _parse(
            env,
            "PARITY_SANDBOX_LATENCY",
            settings.latency_ms,
            _non_negative_int,
            "a whole number of milliseconds >= 0, e.g. 50",
        )
        settings.error_rate = _parse(
            env,
            "PARITY_SANDBOX_ERROR_RATE",
            settings.error_rate,
            _rate,
            "a fraction between 0 and 1, e.g. 0.05",
        )
        breaks = get("PARITY_SANDBOX_WEB_BREAK")
        if breaks is not None:
            names = frozenset(b.strip() for b in breaks.split(",") if b.strip())
            unknown = sorted(names - WEB_BREAKS)
            if unknown:
                raise ValueError(
                    f"PARITY_SANDBOX_WEB_BREAK={breaks!r}: unknown {', '.join(unknown)}; "
                    f"use {', '.join(sorted(WEB_BREAKS))} (test-only), or unset it"
                )
            settings.web_breaks = names
        return settings


def _parse(
    env: Mapping[str, str],
    name: str,
    default: _T,
    convert: Callable[[str], _T],
    expected: str,
) -> _T:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return convert(raw.strip())
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not valid: set it to {expected}") from None


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(raw)


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:  # also rejects NaN
        raise ValueError(raw)
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError(raw)
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


def _rate(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError(raw)
    return value
