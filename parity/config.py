"""Settings: where the backends are, who logs in, and what the run may do.

Resolved once per run from, highest first:

1. explicit overrides (pytest / CLI options; ``None`` means "not given"),
2. ``PARITY_*`` environment variables (a sandbox's env file is layered on top of the
   process environment with :meth:`Settings.with_env`),
3. ``parity.toml`` (path from ``PARITY_CONFIG``, else ``./parity.toml``; optional),
4. defaults.

Every value that is wrong raises :class:`~parity.errors.ConfigError` naming where it came
from (``--stage``, ``PARITY_STAGE`` or ``parity.toml: key stage``) and the accepted values.
Secrets (passwords, static tokens) are wrapped in :class:`Secret` so they never show up in
a repr, a log line or an exception.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from parity.errors import ConfigError, InternalError, UsageError
from parity.inputs import parse_toml, read_text

__all__ = [
    "AUTH_MODES",
    "BACKENDS",
    "BACKEND_CHOICES",
    "STAGES",
    "TARGET_ENVS",
    "AuthSettings",
    "CognitoSettings",
    "Credentials",
    "LoginSettings",
    "Secret",
    "Settings",
    "auth_setting_names",
    "parse_env_file",
    "role_env_key",
]

BACKENDS: tuple[str, ...] = ("express", "serverless")
BACKEND_CHOICES: tuple[str, ...] = (*BACKENDS, "both")
STAGES: tuple[int, ...] = (10, 25, 50, 100)
TARGET_ENVS: tuple[str, ...] = ("sandbox", "staging", "production")
AUTH_MODES: tuple[str, ...] = ("cognito", "login", "static", "none")

Backend = Literal["express", "serverless"]
T = TypeVar("T")


class Secret:
    """A string that hides itself: ``repr``/``str`` show stars; :meth:`reveal` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def role_env_key(role: str) -> str:
    """``"alice"`` -> ``"ALICE"``, ``"power-user"`` -> ``"POWER_USER"`` (env var spelling)."""
    return re.sub(r"[^A-Za-z0-9]", "_", role).upper()


@dataclass(frozen=True)
class Credentials:
    """A test user's login. ``password`` is ``None`` when it was not configured."""

    role: str
    username: str
    password: Secret | None = None


@dataclass(frozen=True)
class CognitoSettings:
    endpoint: str | None = None  # moto or another stand-in; None = real AWS
    region: str | None = None
    client_id: str | None = None
    user_pool_id: str | None = None


_DEFAULT_LOGIN_BODY: Mapping[str, Any] = {"username": "{username}", "password": "{password}"}


@dataclass(frozen=True)
class LoginSettings:
    """A login endpoint on the backend itself (``auth mode = "login"``)."""

    path: str
    method: str = "POST"
    body: Mapping[str, Any] = field(default_factory=lambda: dict(_DEFAULT_LOGIN_BODY))
    token_path: str = "data.token"


@dataclass(frozen=True)
class AuthSettings:
    """How to authenticate against one backend.

    ``header``/``template`` shape the header for every mode (``Authorization:
    Bearer {token}`` by default; the legacy backend may want ``Token {token}``).
    """

    backend: str
    mode: str = "cognito"
    header: str = "Authorization"
    template: str = "Bearer {token}"
    cognito: CognitoSettings = field(default_factory=CognitoSettings)
    login: LoginSettings | None = None
    #: Static tokens keyed by the role's env spelling (``role_env_key``: ``ALICE``).
    tokens: Mapping[str, Secret] = field(default_factory=dict, repr=False)


def auth_setting_names(backend: str, env_key: str, toml_key: str) -> str:
    """Where an auth setting can be set, for error hints.

    ``auth_setting_names("express", "COGNITO_CLIENT_ID", "cognito.client_id")`` ->
    ``"PARITY_EXPRESS_COGNITO_CLIENT_ID or PARITY_COGNITO_CLIENT_ID (parity.toml:
    auth.express.cognito.client_id or auth.cognito.client_id)"``.
    """
    b = backend.upper()
    return (
        f"PARITY_{b}_{env_key} or PARITY_{env_key} "
        f"(parity.toml: auth.{backend}.{toml_key} or auth.{toml_key})"
    )


def parse_env_file(path: str | Path) -> dict[str, str]:
    """Read ``KEY=value`` lines (``#`` comments, blank lines, optional quotes, ``export``).

    This is the format the sandbox writes (``reports/sandbox.env``).
    """
    p = Path(path)
    hint = "Start the sandbox (python -m sandbox --env-file PATH) or fix the path"
    text = read_text(p, "env", ConfigError, hint=hint, empty_ok=True)
    result: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(
                "not a KEY=value line",
                path=p,
                location=f"line {lineno}",
                hint="Write one KEY=value per line",
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:  # trailing comment on an unquoted value
            value = value.split(" #", 1)[0].rstrip()
        result[key] = value
    return result


# --- parity.toml schema -----------------------------------------------------------------

_TOP_KEYS = {
    "backend",
    "express_url",
    "serverless_url",
    "web_url",
    "stage",
    "allow_writes",
    "target_env",
    "catalog",
    "reports_dir",
    "timeout",
    "retries",
    "max_response_mb",
    "down_after",
    "sandbox_drift",
    "s3_bucket",
    "s3_endpoint",
    "s3_region",
    "s3_prefix",
    "users",
    "auth",
    "gate",  # rollout gate thresholds: parity/gate.py validates the table
}
_AUTH_COMMON = {"mode", "header", "template", "cognito", "login"}
_COGNITO_KEYS = {"endpoint", "region", "client_id", "user_pool_id"}
_LOGIN_KEYS = {"method", "path", "body", "token_path"}


def _unknown_key(path: Path, dotted: str, key: str, known: set[str]) -> ConfigError:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f"Did you mean {close[0]!r}?" if close else "Remove it or fix its spelling."
    return ConfigError(
        f"unknown key {key!r}",
        path=path,
        location=f"key {dotted}",
        hint=f"{hint} Known keys here: {', '.join(sorted(known))}",
    )


def _check_table(path: Path, prefix: str, table: Any, known: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(
            "expected a table",
            path=path,
            location=f"key {prefix}",
            hint=f"Write it as [{prefix}]",
        )
    for key in table:
        if key not in known:
            raise _unknown_key(path, f"{prefix}.{key}" if prefix else key, key, known)
    return table


def _validate_toml(path: Path, doc: dict[str, Any]) -> None:
    _check_table(path, "", doc, _TOP_KEYS)
    auth = _check_table(path, "auth", doc.get("auth", {}), _AUTH_COMMON | set(BACKENDS))
    for section, table in [("auth", auth), *((f"auth.{b}", auth.get(b)) for b in BACKENDS)]:
        if table is None:
            continue
        known = _AUTH_COMMON if section != "auth" else _AUTH_COMMON | set(BACKENDS)
        table = _check_table(path, section, table, known)
        if "cognito" in table:
            _check_table(path, f"{section}.cognito", table["cognito"], _COGNITO_KEYS)
        if "login" in table:
            _check_table(path, f"{section}.login", table["login"], _LOGIN_KEYS)
    users_doc = doc.get("users", {})
    if isinstance(users_doc, list):  # users = ["alice", "bob"]: usernames default to roles
        if not all(isinstance(u, str) for u in users_doc):
            raise ConfigError(
                "expected a list of role names",
                path=path,
                location="key users",
                hint='Write users = ["alice", "bob"] or one [users.<role>] table per role',
            )
        return
    users = _check_table(
        path, "users", users_doc, set(users_doc) if isinstance(users_doc, dict) else set()
    )
    for role, table in users.items():
        if isinstance(table, dict) and "password" in table:
            raise ConfigError(
                "passwords do not belong in a file that gets committed",
                path=path,
                location=f"key users.{role}.password",
                hint=f"Remove it and set PARITY_USER_{role_env_key(role)}_PASSWORD instead",
            )
        _check_table(path, f"users.{role}", table, {"username"})


def _read_toml(path: Path) -> dict[str, Any]:
    hint = "Fix --config / PARITY_CONFIG, or create the file"
    text = read_text(path, "config", ConfigError, hint=f"{hint} (no file: defaults apply)")
    doc = parse_toml(text, path, ConfigError, hint="Fix the syntax at that position")
    _validate_toml(path, doc)
    return doc


# --- resolution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """A value and where it came from (for error messages)."""

    value: Any
    label: str  # "--stage", "PARITY_STAGE", "key stage"
    path: Path | None = None  # the TOML file, when it came from there
    base: Path | None = None  # directory relative paths are resolved against

    def error(self, problem: str, hint: str) -> ConfigError:
        return ConfigError(
            f"{problem} (got {self.value!r})", path=self.path, location=self.label, hint=hint
        )


@dataclass(frozen=True)
class _Sources:
    overrides: Mapping[str, object]
    env: Mapping[str, str]
    toml: Mapping[str, Any]
    toml_path: Path | None

    def get(self, name: str, env: str, toml: tuple[str, ...] | None = None) -> _Raw | None:
        """Look ``name`` up in overrides, then ``env``, then the TOML key path ``toml``."""
        value = self.overrides.get(name)
        if value is not None:
            return _Raw(value, f"--{name.replace('_', '-')}")
        if self.env.get(env, "") != "":  # an empty variable counts as unset
            return _Raw(self.env[env], env)
        if toml is not None and self.toml_path is not None:
            node: Any = self.toml
            for key in toml:
                if not isinstance(node, Mapping) or key not in node:
                    return None
                node = node[key]
            return _Raw(node, "key " + ".".join(toml), self.toml_path, self.toml_path.parent)
        return None


def _choice(raw: _Raw, choices: tuple[str, ...], what: str) -> str:
    value = str(raw.value).strip().lower()
    if value not in choices:
        raise raw.error(f"invalid {what}", f"Use one of {', '.join(choices)}")
    return value


def _url(raw: _Raw) -> str:
    value = str(raw.value).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise raw.error("not an http(s) URL", "Use a full URL such as http://127.0.0.1:9000")
    return value.rstrip("/")


def _stage(raw: _Raw) -> int:
    value = raw.value
    if isinstance(value, str):
        value = value.strip().rstrip("%")
    try:
        stage = int(value)
    except (TypeError, ValueError, OverflowError):
        stage = -1
    if isinstance(raw.value, bool) or stage not in STAGES:
        raise raw.error("invalid rollout stage", "Use one of 10, 25, 50, 100 (percent)")
    return stage


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(raw: _Raw) -> bool:
    if isinstance(raw.value, bool):
        return raw.value
    value = str(raw.value).strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise raw.error("not a boolean", "Use true or false (also 1/0, yes/no, on/off)")


def _positive_float(raw: _Raw) -> float:
    try:
        value = float(raw.value)
    except (TypeError, ValueError):
        value = -1.0
    if isinstance(raw.value, bool) or not 0 < value < float("inf"):
        raise raw.error("not a positive number of seconds", "Use a number such as 30")
    return value


def _count(raw: _Raw) -> int:
    """A whole number >= 0 (retries, failures in a row)."""
    value = raw.value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise raw.error("not a whole number >= 0", "Use 0, 1, 2 ...")
    return value


def _megabytes(raw: _Raw) -> float:
    try:
        value = float(raw.value)
    except (TypeError, ValueError):
        value = -1.0
    if isinstance(raw.value, bool) or not 0 < value < float("inf"):
        raise raw.error("not a positive number of megabytes", "Use a number such as 20")
    return value


def _path(raw: _Raw) -> Path:
    if (
        not isinstance(raw.value, str | os.PathLike)
        or not str(raw.value).strip()
        or "\x00" in str(raw.value)
    ):
        raise raw.error("not a path", "Use a file path such as fixtures/catalog.yaml")
    p = Path(raw.value).expanduser()
    # A path written in parity.toml is relative to that file, not to the current directory.
    return p if p.is_absolute() or raw.base is None else raw.base / p


def _names(raw: _Raw, what: str) -> tuple[str, ...]:
    value = raw.value
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise raw.error(f"invalid {what} list", "Use comma-separated names, e.g. a,b")
    names = tuple(i.strip() for i in items if i.strip())
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise raw.error(f"invalid {what} name {name!r}", "Use letters, digits, - and _")
    return names


def _string(raw: _Raw) -> str:
    if not isinstance(raw.value, str) or not raw.value.strip():
        raise raw.error("expected a non-empty string", "Set it to text")
    return raw.value.strip()


def _resolve(raw: _Raw | None, convert: Callable[[_Raw], T], default: T) -> T:
    return default if raw is None else convert(raw)


def _auth_lookup(src: _Sources, backend: str, env_key: str, toml_key: str) -> _Raw | None:
    """Per-backend beats generic within a source; sources keep their precedence."""
    b = backend.upper()
    keys = tuple(toml_key.split("."))
    for override in (f"{backend}_{env_key.lower()}", env_key.lower()):
        if src.overrides.get(override) is not None:
            return _Raw(src.overrides[override], f"--{override.replace('_', '-')}")
    for env in (f"PARITY_{b}_{env_key}", f"PARITY_{env_key}"):
        if src.env.get(env, "") != "":
            return _Raw(src.env[env], env)
    for toml in (("auth", backend, *keys), ("auth", *keys)):
        raw = _Sources({}, {}, src.toml, src.toml_path).get("", "", toml)
        if raw is not None:
            return raw
    return None


def _login_body(raw: _Raw) -> Mapping[str, Any]:
    value = raw.value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        raise raw.error(
            "login body is not a JSON object",
            'Use e.g. {"username": "{username}", "password": "{password}"}',
        )
    return value


def _auth_settings(src: _Sources, backend: str) -> AuthSettings:
    def get(env_key: str, toml_key: str) -> _Raw | None:
        return _auth_lookup(src, backend, env_key, toml_key)

    mode = _resolve(
        get("AUTH_MODE", "mode"), lambda r: _choice(r, AUTH_MODES, "auth mode"), "cognito"
    )
    cognito = CognitoSettings(
        endpoint=_resolve(get("COGNITO_ENDPOINT", "cognito.endpoint"), _url, None),
        region=_resolve(get("COGNITO_REGION", "cognito.region"), _string, None),
        client_id=_resolve(get("COGNITO_CLIENT_ID", "cognito.client_id"), _string, None),
        user_pool_id=_resolve(get("COGNITO_USER_POOL_ID", "cognito.user_pool_id"), _string, None),
    )
    login: LoginSettings | None = None
    login_path = get("LOGIN_PATH", "login.path")
    if login_path is not None:
        method = _resolve(get("LOGIN_METHOD", "login.method"), _string, "POST").upper()
        login = LoginSettings(
            path=_string(login_path),
            method=method,
            body=_resolve(get("LOGIN_BODY", "login.body"), _login_body, _DEFAULT_LOGIN_BODY),
            token_path=_resolve(get("LOGIN_TOKEN_PATH", "login.token_path"), _string, "data.token"),
        )
    elif mode == "login":
        raise ConfigError(
            f"auth mode 'login' for the {backend} backend needs a login endpoint",
            location=f"{backend} auth",
            hint=f"Set {auth_setting_names(backend, 'LOGIN_PATH', 'login.path')}",
        )
    template_raw = get("AUTH_TEMPLATE", "template")
    template = _resolve(template_raw, _string, "Bearer {token}")
    if template_raw is not None and "{token}" not in template:
        raise template_raw.error("header template has no {token}", "Use e.g. 'Token {token}'")
    # Static tokens need no user list: every PARITY_[<BACKEND>_]TOKEN_<ROLE> counts.
    tokens: dict[str, Secret] = {}
    for prefix in ("PARITY_TOKEN_", f"PARITY_{backend.upper()}_TOKEN_"):  # specific wins
        for env, value in src.env.items():
            if env.startswith(prefix) and len(env) > len(prefix) and value:
                tokens[env[len(prefix) :]] = Secret(value)
    return AuthSettings(
        backend=backend,
        mode=mode,
        header=_resolve(get("AUTH_HEADER", "header"), _string, "Authorization"),
        template=template,
        cognito=cognito,
        login=login,
        tokens=tokens,
    )


def _users(src: _Sources) -> dict[str, Credentials]:
    toml_users = src.toml.get("users", {}) if src.toml_path else {}
    raw = src.get("users", "PARITY_USERS")
    roles = _names(raw, "user role") if raw is not None else tuple(toml_users)
    users: dict[str, Credentials] = {}
    for role in roles:
        if role == "anonymous":
            where = raw.label if raw is not None else "parity.toml users"
            raise ConfigError(
                "'anonymous' is reserved for requests without credentials",
                location=where,
                hint="Remove it from the user list",
            )
        key = role_env_key(role)
        username_raw = src.get("", f"PARITY_USER_{key}_USERNAME", ("users", role, "username"))
        password = src.env.get(f"PARITY_USER_{key}_PASSWORD", "")
        users[role] = Credentials(
            role=role,
            username=_resolve(username_raw, _string, role),
            password=Secret(password) if password else None,
        )
    return users


class _NoToml:
    """Marker: do not look for parity.toml (used by :meth:`Settings.with_env`)."""


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
    catalog: Path = Path("fixtures/catalog.yaml")
    reports_dir: Path = Path("reports")
    timeout: float = 30.0
    retries: int = 1  # re-sends after a connection-level failure (parity/client.py)
    max_response_mb: float = 20.0  # answers larger than this are errors, not read further
    down_after: int = 3  # connection failures in a row before a backend is marked down
    sandbox_drift: tuple[str, ...] = ()
    # The test bucket, for what the API cannot delete (parity/storage.py); endpoint: a
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
        toml_path: Path | type[_NoToml] | None,
    ) -> Settings:
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
        known |= {"auth_mode", "express_auth_mode", "serverless_auth_mode"}
        known -= {"users", "auth", "config_path", "env"}
        for key in overrides:
            if key not in known:
                raise InternalError(
                    f"unknown settings override {key!r}",
                    hint=f"Use one of {', '.join(sorted(known))} (this is a bug in the caller)",
                )
        if overrides.get("allow_writes") is False:
            overrides = {k: v for k, v in overrides.items() if k != "allow_writes"}

        path: Path | None
        if toml_path is _NoToml:
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
        doc = _read_toml(path) if path is not None else {}
        src = _Sources(overrides, env, doc, path)

        def get(name: str) -> _Raw | None:
            return src.get(name, f"PARITY_{name.upper()}", (name,))

        users = _users(src)
        settings = cls(
            backend=_resolve(
                get("backend"), lambda r: _choice(r, BACKEND_CHOICES, "backend"), "both"
            ),
            express_url=_resolve(get("express_url"), _url, None),
            serverless_url=_resolve(get("serverless_url"), _url, None),
            web_url=_resolve(get("web_url"), _url, None),
            stage=_resolve(get("stage"), _stage, None),
            allow_writes=_resolve(get("allow_writes"), _bool, False),
            target_env=_resolve(
                get("target_env"), lambda r: _choice(r, TARGET_ENVS, "target"), "sandbox"
            ),
            catalog=_resolve(get("catalog"), _path, Path("fixtures/catalog.yaml")),
            reports_dir=_resolve(get("reports_dir"), _path, Path("reports")),
            timeout=_resolve(get("timeout"), _positive_float, 30.0),
            retries=_resolve(get("retries"), _count, 1),
            max_response_mb=_resolve(get("max_response_mb"), _megabytes, 20.0),
            down_after=_resolve(get("down_after"), _count, 3),
            sandbox_drift=_resolve(get("sandbox_drift"), lambda r: _names(r, "drift"), ()),
            s3_bucket=_resolve(get("s3_bucket"), _string, None),
            s3_endpoint=_resolve(get("s3_endpoint"), _url, None),
            s3_region=_resolve(get("s3_region"), _string, None),
            s3_prefix=_resolve(get("s3_prefix"), _string, ""),
            users=users,
            auth={b: _auth_settings(src, b) for b in BACKENDS},
            config_path=path,
            env=env,
            _overrides=overrides,
        )
        return settings

    def with_env(self, mapping: Mapping[str, str]) -> Settings:
        """Re-resolve with ``mapping`` (e.g. a sandbox env file) over the environment.

        Explicit overrides still win; the same parity.toml is used.
        """
        env = {**self.env, **{k: v for k, v in mapping.items() if k.startswith("PARITY_")}}
        toml: Path | type[_NoToml] = self.config_path or _NoToml
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
