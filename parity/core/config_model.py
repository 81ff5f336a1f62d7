"""The settings' data: backends, stages and targets, test users, how each backend
authenticates, and :class:`Secret` (re-exported by :mod:`parity.core.config`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from parity.core import vault

__all__ = [
    "AUTH_MODES",
    "BACKENDS",
    "BACKEND_CHOICES",
    "DEFAULT_LOGIN_BODY",
    "STAGES",
    "TARGET_ENVS",
    "AuthSettings",
    "Backend",
    "CognitoSettings",
    "Credentials",
    "LoginSettings",
    "Secret",
    "auth_setting_names",
    "role_env_key",
]

BACKENDS: tuple[str, ...] = ("express", "serverless")
BACKEND_CHOICES: tuple[str, ...] = (*BACKENDS, "both")
STAGES: tuple[int, ...] = (10, 25, 50, 100)
TARGET_ENVS: tuple[str, ...] = ("sandbox", "staging", "production")
AUTH_MODES: tuple[str, ...] = ("cognito", "login", "static", "none")

Backend = Literal["express", "serverless"]


class Secret:
    """A string that hides itself: ``repr``/``str`` show stars; :meth:`reveal` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        vault.remember(value)  # whatever holds a Secret, the reports never show its value

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


DEFAULT_LOGIN_BODY: Mapping[str, Any] = {"username": "{username}", "password": "{password}"}


@dataclass(frozen=True)
class LoginSettings:
    """A login endpoint on the backend itself (``auth mode = "login"``)."""

    path: str
    method: str = "POST"
    body: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_LOGIN_BODY))
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
