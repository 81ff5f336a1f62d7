"""Settings: where the backends are, who logs in, and what the run may do.

Resolved once per run from, highest first:

1. explicit overrides (pytest / CLI options; ``None`` means "not given"),
2. ``PARITY_*`` environment variables (a sandbox's env file is layered on top of the
   process environment with :meth:`Settings.with_env`),
3. ``parity.toml`` (path from ``PARITY_CONFIG``, else ``./parity.toml``; optional),
4. defaults.

Every value that is wrong raises :class:`~parity.core.errors.ConfigError` naming where it came
from (``--stage``, ``PARITY_STAGE`` or ``parity.toml: key stage``) and the accepted values.
Secrets (passwords, static tokens) are wrapped in :class:`Secret` so they never show up in
a repr, a log line or an exception.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from parity.core import config_model, vault
from parity.core.config_model import *  # noqa: F403 (the names: config_model.__all__)
from parity.core.config_model import (
    BACKEND_CHOICES,
    BACKENDS,
    TARGET_ENVS,
    AuthSettings,
    Credentials,
)
from parity.core.config_sources import (
    NoToml,
    Raw,
    Sources,
    as_bool,
    as_choice,
    as_count,
    as_megabytes,
    as_names,
    as_path,
    as_positive_float,
    as_stage,
    as_string,
    as_url,
    parse_env_file,
    read_toml,
    resolve,
    resolve_auth,
    resolve_users,
)
from parity.core.errors import ConfigError, InternalError, UsageError

__all__ = [
    *config_model.__all__,
    "DEFAULT_FILES",
    "Settings",
    "is_secret_setting",
    "parse_env_file",
]


#: The repository's own files (the MOC API's), used when no config file is read.
DEFAULT_FILES: Mapping[str, Path] = {
    "catalog": Path("fixtures/catalog.yaml"),
    "baseline": Path("parity-baseline.toml"),
    "cassettes": Path("fixtures/cassettes"),
    "contracts": Path("contracts/schemas"),
}
#: Their names beside a config file.
BESIDE_CONFIG: Mapping[str, str] = {
    "catalog": "catalog.yaml",
    "baseline": "parity-baseline.toml",
    "cassettes": "cassettes",
    "contracts": "contracts",
}
_FILE_ENV = {
    "catalog": "PARITY_CATALOG",
    "baseline": "PARITY_BASELINE",
    "cassettes": "PARITY_CASSETTES",
    "contracts": "PARITY_CONTRACTS_DIR",
}


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one run. Build it with :meth:`load`."""

    backend: str = "both"
    express_url: str | None = None
    serverless_url: str | None = None
    web_url: str | None = None  # None: the embedded sandbox serves the web app
    stage: int | None = None
    allow_writes: bool = False
    target_env: str = "sandbox"
    catalog: Path = DEFAULT_FILES["catalog"]
    #: The accepted drifts, the cassettes and the contract schemas. Without a config file
    #: they default to this repository's (the MOC API's); with one, to files beside it,
    #: so a run configured for another API never loads the MOC API's files.
    baseline: Path = DEFAULT_FILES["baseline"]
    cassettes: Path = DEFAULT_FILES["cassettes"]
    contracts: Path = DEFAULT_FILES["contracts"]
    #: Each file setting -> where its value came from ("--baseline", "PARITY_CASSETTES",
    #: "key catalog", "beside parity.toml", "default"): the report header shows them.
    file_sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    reports_dir: Path = Path("reports")
    timeout: float = 30.0
    retries: int = 1  # re-sends after a connection-level failure (parity/engine/client.py)
    max_response_mb: float = 20.0  # answers larger than this are errors, not read further
    down_after: int = 3  # connection failures in a row before a backend is marked down
    sandbox_drift: tuple[str, ...] = ()
    # The test bucket, for what the API cannot delete (parity/engine/storage.py); endpoint: a
    # stand-in such as moto (None = AWS), credentials from the AWS chain.
    s3_bucket: str | None = None
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""  # list only under this (a big bucket: its uploads/ prefix)
    users: Mapping[str, Credentials] = field(default_factory=dict)
    auth: Mapping[str, AuthSettings] = field(
        default_factory=lambda: {b: AuthSettings(backend=b) for b in BACKENDS}
    )
    config_path: Path | None = None  # the parity.toml that was read, if any
    #: Every PARITY_* variable seen (process env + sandbox env file). May hold secrets.
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    _overrides: Mapping[str, object] = field(default_factory=dict, repr=False, compare=False)

    # --- construction ---------------------------------------------------------------

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
        toml_path: Path | None = None,
    ) -> Settings:
        """Resolve the settings. ``environ`` defaults to ``os.environ``.

        ``overrides`` keys are field names (``backend``, ``express_url``, ``stage``, ...,
        plus ``auth_mode``, ``express_auth_mode``, ``serverless_auth_mode``); ``None``
        values are ignored so option defaults can be passed through as they are. A
        ``False`` ``allow_writes`` is ignored too: the flag can only grant writes.
        """
        env = {
            k: v
            for k, v in (os.environ if environ is None else environ).items()
            if k.startswith("PARITY_")
        }
        return cls._load(dict(overrides or {}), env, toml_path)

    @classmethod
    def _load(
        cls,
        overrides: dict[str, object],
        env: dict[str, str],
        toml_path: Path | type[NoToml] | None,
    ) -> Settings:
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
        known |= {"auth_mode", "express_auth_mode", "serverless_auth_mode"}
        known -= {"users", "auth", "config_path", "env", "file_sources"}
        for key in overrides:
            if key not in known:
                raise InternalError(
                    f"unknown settings override {key!r}",
                    hint=f"Use one of {', '.join(sorted(known))} (this is a bug in the caller)",
                )
        if overrides.get("allow_writes") is False:
            overrides = {k: v for k, v in overrides.items() if k != "allow_writes"}

        path: Path | None
        if toml_path is NoToml:
            path = None
        elif isinstance(toml_path, Path):
            path = toml_path
            if not path.exists():
                raise ConfigError(
                    "config file not found", path=path, hint="Fix the path or create the file"
                )
        elif env.get("PARITY_CONFIG"):
            path = Path(env["PARITY_CONFIG"])
            if not path.exists():
                raise ConfigError(
                    "config file not found",
                    path=path,
                    location="PARITY_CONFIG",
                    hint="Fix PARITY_CONFIG or create the file",
                )
        else:
            path = Path("parity.toml") if Path("parity.toml").is_file() else None
        doc = read_toml(path) if path is not None else {}
        src = Sources(overrides, env, doc, path)

        def get(name: str) -> Raw | None:
            return src.get(name, f"PARITY_{name.upper()}", (name,))

        users = resolve_users(src)
        files, file_sources = _resolve_files(src, path)
        settings = cls(
            backend=resolve(
                get("backend"), lambda r: as_choice(r, BACKEND_CHOICES, "backend"), "both"
            ),
            express_url=resolve(get("express_url"), as_url, None),
            serverless_url=resolve(get("serverless_url"), as_url, None),
            web_url=resolve(get("web_url"), as_url, None),
            stage=resolve(get("stage"), as_stage, None),
            allow_writes=resolve(get("allow_writes"), as_bool, False),
            target_env=resolve(
                get("target_env"), lambda r: as_choice(r, TARGET_ENVS, "target"), "sandbox"
            ),
            **files,
            reports_dir=resolve(get("reports_dir"), as_path, Path("reports")),
            timeout=resolve(get("timeout"), as_positive_float, 30.0),
            retries=resolve(get("retries"), as_count, 1),
            max_response_mb=resolve(get("max_response_mb"), as_megabytes, 20.0),
            down_after=resolve(get("down_after"), as_count, 3),
            sandbox_drift=resolve(get("sandbox_drift"), lambda r: as_names(r, "drift"), ()),
            s3_bucket=resolve(get("s3_bucket"), as_string, None),
            s3_endpoint=resolve(get("s3_endpoint"), as_url, None),
            s3_region=resolve(get("s3_region"), as_string, None),
            s3_prefix=resolve(get("s3_prefix"), as_string, ""),
            users=users,
            auth={b: resolve_auth(src, b) for b in BACKENDS},
            config_path=path,
            file_sources=file_sources,
            env=env,
            _overrides=overrides,
        )
        _remember_secrets(env)
        return settings

    def with_env(self, mapping: Mapping[str, str]) -> Settings:
        """Re-resolve with ``mapping`` (e.g. a sandbox env file) over the environment.

        Explicit overrides still win; the same parity.toml is used.
        """
        env = {**self.env, **{k: v for k, v in mapping.items() if k.startswith("PARITY_")}}
        toml: Path | type[NoToml] = self.config_path or NoToml
        return self._load(dict(self._overrides), env, toml)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (no validation; for tests and plugins)."""
        return replace(self, **changes)

    # --- queries --------------------------------------------------------------------

    @property
    def selected_backends(self) -> tuple[str, ...]:
        return BACKENDS if self.backend == "both" else (self.backend,)

    def url_for(self, backend: str) -> str | None:
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}", hint="Use express or serverless")
        return self.express_url if backend == "express" else self.serverless_url

    def missing_urls(self) -> tuple[str, ...]:
        """Selected backends that have no URL (the embedded sandbox must provide them)."""
        return tuple(b for b in self.selected_backends if self.url_for(b) is None)

    @property
    def needs_sandbox(self) -> bool:
        return bool(self.missing_urls())

    def auth_for(self, backend: str) -> AuthSettings:
        return self.auth[backend]

    @property
    def writes_allowed(self) -> bool:
        """Writes are always allowed outside production; there only with allow_writes."""
        return self.target_env != "production" or self.allow_writes

    def require_writes(self, what: str) -> None:
        """Raise :class:`ConfigError` when ``what`` would write to production unasked."""
        if not self.writes_allowed:
            raise ConfigError(
                f"{what} writes, and the target is production",
                location="PARITY_TARGET_ENV=production",
                hint="Pass --allow-writes (or PARITY_ALLOW_WRITES=1) to allow it, "
                "or run read-only checks only",
            )

    def describe_files(self) -> str:
        """``config=parity.toml catalog=x (key catalog) baseline=y (absent) ...``: every
        file a run reads, where the setting came from, and whether it exists."""
        parts = [f"config={self.config_path or '-'}"]
        for name in DEFAULT_FILES:
            path: Path = getattr(self, name)
            source = self.file_sources.get(name, "default")
            state = "" if path.exists() else ", absent"
            parts.append(f"{name}={path} ({source}{state})")
        return " ".join(parts)

    def describe(self) -> str:
        """One line for ``pytest_report_header`` (``backend=both express=... target=...``);
        never contains secrets (URL user-info is dropped too)."""

        def show(url: str | None) -> str:
            if url is None:
                return "(sandbox)"
            parts = urlsplit(url)
            host = parts.netloc.rpartition("@")[2]  # drop any user:password@
            return parts._replace(netloc=host).geturl()

        auth = ",".join(f"{b}:{self.auth[b].mode}" for b in self.selected_backends)
        return (
            f"backend={self.backend} "
            + " ".join(f"{b}={show(self.url_for(b))}" for b in self.selected_backends)
            + f" web={show(self.web_url)} target={self.target_env}"
            + f" stage={self.stage if self.stage is not None else '-'}"
            + f" writes={'allowed' if self.writes_allowed else 'refused'}"
            + f" auth={auth} drift={','.join(self.sandbox_drift) or 'none'}"
            + f" bucket={self.s3_bucket or '-'}"
        )


def _resolve_files(src: Sources, config: Path | None) -> tuple[dict[str, Path], dict[str, str]]:
    """Each file setting from an option, its variable or its parity.toml key; else beside
    the config file (when one was read), else the repository's default."""
    files: dict[str, Path] = {}
    sources: dict[str, str] = {}
    for name, env_name in _FILE_ENV.items():
        raw = src.get(name, env_name, (name,))
        if raw is not None:
            files[name], sources[name] = as_path(raw), raw.label
        elif config is not None and (
            name != "catalog" or (config.parent / BESIDE_CONFIG[name]).is_file()
        ):
            # a catalog is taken from beside the config only when one is there: a
            # parity.toml that only tunes the gate still describes the repository's API
            files[name] = config.parent / BESIDE_CONFIG[name]
            sources[name] = f"beside {config.name}"
        else:
            files[name], sources[name] = DEFAULT_FILES[name], "default"
    return files, sources


_SENSITIVE_ENV = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$")
# Settings about a secret, not secrets: PARITY_LOGIN_TOKEN_PATH=token must not make every
# "token" in every report a placeholder.
_ABOUT_A_SECRET = re.compile(r"_(PATH|MODE|URL|HEADER|TEMPLATE|METHOD|BODY|FILE|DIR)$")


def is_secret_setting(key: str) -> bool:
    """Whether the ``PARITY_*`` variable ``key`` holds a password, token, secret or key."""
    return bool(_SENSITIVE_ENV.search(key)) and not _ABOUT_A_SECRET.search(key)


def _remember_secrets(env: Mapping[str, str]) -> None:
    """Client secrets, keys and tokens given as settings are redacted like passwords (which
    :class:`Secret` registers itself), and so is the password in a URL's user-info."""
    for key, value in env.items():
        if is_secret_setting(key):
            vault.remember(value)
        elif "://" in value and "@" in value:
            vault.remember(urlsplit(value).password)
