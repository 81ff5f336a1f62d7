"""Where settings come from: the env-file format, ``parity.toml`` (its schema: unknown keys
are errors with a suggestion), and one converter per kind of value, each raising a
:class:`~parity.core.errors.ConfigError` that names the source (``--stage``, ``PARITY_STAGE``,
``parity.toml: key stage``) and the fix. :class:`parity.core.config.Settings` puts them together.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from parity.core.config_model import (
    AUTH_MODES,
    BACKENDS,
    DEFAULT_LOGIN_BODY,
    STAGES,
    AuthSettings,
    CognitoSettings,
    Credentials,
    LoginSettings,
    Secret,
    auth_setting_names,
    role_env_key,
)
from parity.core.errors import ConfigError
from parity.core.inputs import parse_toml, read_text

__all__ = [
    "NoToml",
    "Raw",
    "Sources",
    "as_bool",
    "as_choice",
    "as_count",
    "as_megabytes",
    "as_names",
    "as_path",
    "as_positive_float",
    "as_stage",
    "as_string",
    "as_url",
    "parse_env_file",
    "read_toml",
    "resolve",
    "resolve_auth",
    "resolve_users",
]

T = TypeVar("T")


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
    "baseline",
    "cassettes",
    "contracts",
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
    "gate",  # rollout gate thresholds: parity/engine/gate.py validates the table
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


def read_toml(path: Path) -> dict[str, Any]:
    hint = "Fix --config / PARITY_CONFIG, or create the file"
    text = read_text(path, "config", ConfigError, hint=f"{hint} (no file: defaults apply)")
    doc = parse_toml(text, path, ConfigError, hint="Fix the syntax at that position")
    _validate_toml(path, doc)
    return doc


# --- resolution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
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
class Sources:
    overrides: Mapping[str, object]
    env: Mapping[str, str]
    toml: Mapping[str, Any]
    toml_path: Path | None

    def get(self, name: str, env: str, toml: tuple[str, ...] | None = None) -> Raw | None:
        """Look ``name`` up in overrides, then ``env``, then the TOML key path ``toml``."""
        value = self.overrides.get(name)
        if value is not None:
            return Raw(value, f"--{name.replace('_', '-')}")
        if self.env.get(env, "") != "":  # an empty variable counts as unset
            return Raw(self.env[env], env)
        if toml is not None and self.toml_path is not None:
            node: Any = self.toml
            for key in toml:
                if not isinstance(node, Mapping) or key not in node:
                    return None
                node = node[key]
            return Raw(node, "key " + ".".join(toml), self.toml_path, self.toml_path.parent)
        return None


def as_choice(raw: Raw, choices: tuple[str, ...], what: str) -> str:
    value = str(raw.value).strip().lower()
    if value not in choices:
        raise raw.error(f"invalid {what}", f"Use one of {', '.join(choices)}")
    return value


def as_url(raw: Raw) -> str:
    value = str(raw.value).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise raw.error("not an http(s) URL", "Use a full URL such as http://127.0.0.1:9000")
    return value.rstrip("/")


def as_stage(raw: Raw) -> int:
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


def as_bool(raw: Raw) -> bool:
    if isinstance(raw.value, bool):
        return raw.value
    value = str(raw.value).strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise raw.error("not a boolean", "Use true or false (also 1/0, yes/no, on/off)")


def as_positive_float(raw: Raw) -> float:
    try:
        value = float(raw.value)
    except (TypeError, ValueError):
        value = -1.0
    if isinstance(raw.value, bool) or not 0 < value < float("inf"):
        raise raw.error("not a positive number of seconds", "Use a number such as 30")
    return value


def as_count(raw: Raw) -> int:
    """A whole number >= 0 (retries, failures in a row)."""
    value = raw.value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise raw.error("not a whole number >= 0", "Use 0, 1, 2 ...")
    return value


def as_megabytes(raw: Raw) -> float:
    try:
        value = float(raw.value)
    except (TypeError, ValueError):
        value = -1.0
    if isinstance(raw.value, bool) or not 0 < value < float("inf"):
        raise raw.error("not a positive number of megabytes", "Use a number such as 20")
    return value


def as_path(raw: Raw) -> Path:
    if (
        not isinstance(raw.value, str | os.PathLike)
        or not str(raw.value).strip()
        or "\x00" in str(raw.value)
    ):
        raise raw.error("not a path", "Use a file path such as fixtures/catalog.yaml")
    p = Path(raw.value).expanduser()
    # A path written in parity.toml is relative to that file, not to the current directory.
    return p if p.is_absolute() or raw.base is None else raw.base / p


def as_names(raw: Raw, what: str) -> tuple[str, ...]:
    value = raw.value
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise raw.error(f"invalid {what} list", "Use comma-separated names, e.g. a,b")
    names = tuple(i.strip() for i in items if i.strip())
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise raw.error(f"invalid {what} name {name!r}", "Use letters, digits, - and _")
    return names


def as_string(raw: Raw) -> str:
    if not isinstance(raw.value, str) or not raw.value.strip():
        raise raw.error("expected a non-empty string", "Set it to text")
    return raw.value.strip()


def resolve(raw: Raw | None, convert: Callable[[Raw], T], default: T) -> T:
    return default if raw is None else convert(raw)


def _auth_lookup(src: Sources, backend: str, env_key: str, toml_key: str) -> Raw | None:
    """Per-backend beats generic within a source; sources keep their precedence."""
    b = backend.upper()
    keys = tuple(toml_key.split("."))
    for override in (f"{backend}_{env_key.lower()}", env_key.lower()):
        if src.overrides.get(override) is not None:
            return Raw(src.overrides[override], f"--{override.replace('_', '-')}")
    for env in (f"PARITY_{b}_{env_key}", f"PARITY_{env_key}"):
        if src.env.get(env, "") != "":
            return Raw(src.env[env], env)
    for toml in (("auth", backend, *keys), ("auth", *keys)):
        raw = Sources({}, {}, src.toml, src.toml_path).get("", "", toml)
        if raw is not None:
            return raw
    return None


def _login_body(raw: Raw) -> Mapping[str, Any]:
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


def resolve_auth(src: Sources, backend: str) -> AuthSettings:
    def get(env_key: str, toml_key: str) -> Raw | None:
        return _auth_lookup(src, backend, env_key, toml_key)

    mode = resolve(
        get("AUTH_MODE", "mode"), lambda r: as_choice(r, AUTH_MODES, "auth mode"), "cognito"
    )
    cognito = CognitoSettings(
        endpoint=resolve(get("COGNITO_ENDPOINT", "cognito.endpoint"), as_url, None),
        region=resolve(get("COGNITO_REGION", "cognito.region"), as_string, None),
        client_id=resolve(get("COGNITO_CLIENT_ID", "cognito.client_id"), as_string, None),
        user_pool_id=resolve(get("COGNITO_USER_POOL_ID", "cognito.user_pool_id"), as_string, None),
    )
    login: LoginSettings | None = None
    login_path = get("LOGIN_PATH", "login.path")
    if login_path is not None:
        method = resolve(get("LOGIN_METHOD", "login.method"), as_string, "POST").upper()
        login = LoginSettings(
            path=as_string(login_path),
            method=method,
            body=resolve(get("LOGIN_BODY", "login.body"), _login_body, DEFAULT_LOGIN_BODY),
            token_path=resolve(
                get("LOGIN_TOKEN_PATH", "login.token_path"), as_string, "data.token"
            ),
        )
    elif mode == "login":
        raise ConfigError(
            f"auth mode 'login' for the {backend} backend needs a login endpoint",
            location=f"{backend} auth",
            hint=f"Set {auth_setting_names(backend, 'LOGIN_PATH', 'login.path')}",
        )
    template_raw = get("AUTH_TEMPLATE", "template")
    template = resolve(template_raw, as_string, "Bearer {token}")
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
        header=resolve(get("AUTH_HEADER", "header"), as_string, "Authorization"),
        template=template,
        cognito=cognito,
        login=login,
        tokens=tokens,
    )


def resolve_users(src: Sources) -> dict[str, Credentials]:
    toml_users = src.toml.get("users", {}) if src.toml_path else {}
    raw = src.get("users", "PARITY_USERS")
    roles = as_names(raw, "user role") if raw is not None else tuple(toml_users)
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
            username=resolve(username_raw, as_string, role),
            password=Secret(password) if password else None,
        )
    return users


class NoToml:
    """Marker: do not look for parity.toml (used by :meth:`Settings.with_env`)."""
