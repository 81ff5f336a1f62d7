"""Token providers: how a role (``alice``, ``admin``, ...) gets its auth header per backend.

The legacy Express backend may not take the same tokens as the new one, so each backend
has its own provider, chosen by ``AuthSettings.mode``:

``cognito``
    Cognito ``InitiateAuth`` with ``USER_PASSWORD_AUTH`` (moto when
    ``PARITY_COGNITO_ENDPOINT`` is set, real AWS otherwise); the IdToken is cached per role
    and refreshed with ``REFRESH_TOKEN_AUTH`` within 60 s of its ``exp``.
``login``
    A login endpoint on the backend itself, declared in the config (method, path, JSON
    body template with ``{username}``/``{password}``, JSON path of the token).
``static``
    One token per role from the environment (``PARITY_EXPRESS_TOKEN_ALICE``).
``none``
    No credentials at all (every role is sent anonymously).

``provider.headers(role)`` returns the header dict (``{}`` for ``anonymous``);
``invalidate(role)`` forgets a cached token. Failures raise :class:`~parity.core.errors.AuthError`
naming the backend, the role and the setting to fix; secrets never appear in messages or
reprs.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from parity.core.config import (
    AuthSettings,
    Credentials,
    Secret,
    Settings,
    auth_setting_names,
    role_env_key,
)
from parity.core.errors import (
    AuthError,
    BackendTimeout,
    BackendUnreachable,
    ConfigError,
    connect_failure_reason,
)
from parity.core.jsonpath import extract
from parity.core.templating import render

__all__ = [
    "ANONYMOUS",
    "REFRESH_MARGIN",
    "CognitoTokenProvider",
    "LoginTokenProvider",
    "NoAuthProvider",
    "StaticTokenProvider",
    "TokenProvider",
    "jwt_expiry",
    "provider_for",
]

#: The role that sends no credentials.
ANONYMOUS = "anonymous"
#: Seconds before ``exp`` at which a cached token is renewed (covers clock skew and the
#: time a slow request spends in flight).
REFRESH_MARGIN = 60.0


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it; ``None`` if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


@dataclass
class _Token:
    value: Secret
    expires_at: float | None = None  # epoch seconds; None = unknown, keep until invalidated
    refresh: Secret | None = None


class TokenProvider(ABC):
    """Gives the auth headers of a role on one backend."""

    mode: str = "?"

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self.backend = settings.backend

    def headers(self, role: str) -> dict[str, str]:
        """The headers that authenticate ``role`` (``{}`` for ``anonymous``)."""
        if role == ANONYMOUS:
            return {}
        token = self.token(role)
        return {self.settings.header: self.settings.template.replace("{token}", token)}

    @abstractmethod
    def token(self, role: str) -> str:
        """The raw token of ``role``; raises :class:`AuthError` when it cannot be had."""

    def invalidate(self, role: str) -> None:
        """Forget any cached token of ``role`` (the next call logs in again)."""
        return None  # nothing cached by default

    def close(self) -> None:
        """Release network resources, if any."""
        return None  # nothing held by default

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r})"

    def _error(self, role: str, problem: str, hint: str) -> AuthError:
        return AuthError(problem, backend=self.backend, role=role, hint=hint)


class NoAuthProvider(TokenProvider):
    """For backends without authentication: every role is anonymous."""

    mode = "none"

    def headers(self, role: str) -> dict[str, str]:
        return {}

    def token(self, role: str) -> str:
        raise self._error(
            role,
            "auth mode is 'none'",
            f"Choose another mode: {auth_setting_names(self.backend, 'AUTH_MODE', 'mode')}",
        )


class StaticTokenProvider(TokenProvider):
    """Tokens given up front, one per role (``PARITY_<BACKEND>_TOKEN_<ROLE>``)."""

    mode = "static"

    def token(self, role: str) -> str:
        key = f"TOKEN_{role_env_key(role)}"
        secret = self.settings.tokens.get(role_env_key(role))
        if not secret:
            raise self._error(
                role,
                "no static token for this role",
                f"Set PARITY_{self.backend.upper()}_{key} (or PARITY_{key})",
            )
        return secret.reveal()


class _CachingProvider(TokenProvider):
    """Caches one token per role and renews it shortly before it expires."""

    def __init__(
        self,
        settings: AuthSettings,
        users: Mapping[str, Credentials],
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings)
        self.users = users
        self._clock = clock
        self._cache: dict[str, _Token] = {}
        # Replay runs requests from several threads; one login per role is enough.
        self._lock = threading.Lock()

    def token(self, role: str) -> str:
        with self._lock:
            cached = self._cache.get(role)
            if cached is not None and not self._expiring(cached):
                return cached.value.reveal()
            fresh = None
            if cached is not None and cached.refresh is not None:
                fresh = self._refresh(role, cached)
            if fresh is None:
                fresh = self._login(role, self._credentials(role))
            self._cache[role] = fresh
            return fresh.value.reveal()

    def invalidate(self, role: str) -> None:
        with self._lock:
            self._cache.pop(role, None)

    def _expiring(self, token: _Token) -> bool:
        return token.expires_at is not None and token.expires_at - self._clock() <= REFRESH_MARGIN

    def _credentials(self, role: str) -> Credentials:
        key = role_env_key(role)
        user = self.users.get(role)
        if user is None:
            raise self._error(
                role,
                "no such test user",
                f"Add {role} to PARITY_USERS and set PARITY_USER_{key}_USERNAME and "
                f"PARITY_USER_{key}_PASSWORD",
            )
        if not user.password:
            raise self._error(role, "no password configured", f"Set PARITY_USER_{key}_PASSWORD")
        return user

    def _user_hint(self, role: str) -> str:
        key = role_env_key(role)
        return f"Check PARITY_USER_{key}_USERNAME and PARITY_USER_{key}_PASSWORD"

    @abstractmethod
    def _login(self, role: str, user: Credentials) -> _Token: ...

    def _refresh(self, role: str, cached: _Token) -> _Token | None:
        """Renew with a refresh token; ``None`` means "log in again instead"."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r}, cached={sorted(self._cache)!r})"


class CognitoTokenProvider(_CachingProvider):
    """Cognito ``InitiateAuth`` (USER_PASSWORD_AUTH); returns the IdToken."""

    mode = "cognito"

    def __init__(
        self,
        settings: AuthSettings,
        users: Mapping[str, Credentials],
        *,
        client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings, users, clock)
        self._client = client

    def _setting(self, env_key: str, toml_key: str) -> str:
        return auth_setting_names(self.backend, env_key, toml_key)

    def _boto_client(self, role: str) -> Any:
        if self._client is None:
            import boto3  # deferred: boto3 takes a while to import and most runs use it once

            cfg = self.settings.cognito
            if not cfg.region:
                raise self._error(
                    role,
                    "no Cognito region",
                    f"Set {self._setting('COGNITO_REGION', 'cognito.region')}",
                )
            from botocore.config import Config

            self._client = boto3.client(
                "cognito-idp",
                region_name=cfg.region,
                endpoint_url=cfg.endpoint or None,
                # Fail fast: a login that cannot reach Cognito should not retry for a minute.
                config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2}),
            )
        return self._client

    def _initiate(self, role: str, flow: str, params: dict[str, str]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        cfg = self.settings.cognito
        if not cfg.client_id:
            raise self._error(
                role,
                "no Cognito app client id",
                f"Set {self._setting('COGNITO_CLIENT_ID', 'cognito.client_id')}",
            )
        client = self._boto_client(role)
        try:
            answer: dict[str, Any] = client.initiate_auth(
                AuthFlow=flow, AuthParameters=params, ClientId=cfg.client_id
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Error")
            message = exc.response.get("Error", {}).get("Message", "")
            problem = f"Cognito answered {code}: {message}"
            raise self._error(role, problem, self._hint(role, code)) from None
        except EndpointConnectionError:
            where = cfg.endpoint or f"AWS region {cfg.region}"
            raise self._error(
                role,
                f"cannot reach Cognito at {where}",
                "Start the sandbox, or fix "
                + self._setting("COGNITO_ENDPOINT", "cognito.endpoint")
                + " (unset it to use AWS)",
            ) from None
        except BotoCoreError as exc:
            raise self._error(
                role,
                f"Cognito call failed ({type(exc).__name__}: {exc})",
                "Check the Cognito settings and AWS credentials",
            ) from None
        if answer.get("ChallengeName"):
            raise self._error(
                role,
                f"Cognito asks for the {answer['ChallengeName']} challenge",
                "Finish the user's set-up (e.g. admin-set-user-password --permanent)",
            )
        return answer.get("AuthenticationResult") or {}

    def _hint(self, role: str, code: str) -> str:
        if code in ("NotAuthorizedException", "UserNotFoundException"):
            return self._user_hint(role)
        if code == "ResourceNotFoundException":
            return "Check " + self._setting("COGNITO_CLIENT_ID", "cognito.client_id")
        if code == "InvalidParameterException":
            return "Enable ALLOW_USER_PASSWORD_AUTH on the app client, or check its id"
        if code == "UserNotConfirmedException":
            return f"Confirm the user of role {role} in the user pool"
        return "Check the Cognito settings " + self._setting("COGNITO_*", "cognito")

    def _token(self, role: str, result: dict[str, Any], refresh: Secret | None) -> _Token:
        id_token = result.get("IdToken")
        if not isinstance(id_token, str):
            raise self._error(role, "Cognito returned no IdToken", "Check the app client")
        expires_at = jwt_expiry(id_token)
        if expires_at is None and isinstance(result.get("ExpiresIn"), int):
            expires_at = self._clock() + result["ExpiresIn"]
        new_refresh = result.get("RefreshToken")
        return _Token(Secret(id_token), expires_at, Secret(new_refresh) if new_refresh else refresh)

    def _login(self, role: str, user: Credentials) -> _Token:
        assert user.password is not None  # checked by _credentials
        result = self._initiate(
            role,
            "USER_PASSWORD_AUTH",
            {"USERNAME": user.username, "PASSWORD": user.password.reveal()},
        )
        return self._token(role, result, None)

    def _refresh(self, role: str, cached: _Token) -> _Token | None:
        assert cached.refresh is not None
        try:
            result = self._initiate(
                role, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": cached.refresh.reveal()}
            )
            return self._token(role, result, cached.refresh)
        except AuthError:
            return None  # refresh token revoked or expired: a full login will tell


class LoginTokenProvider(_CachingProvider):
    """Logs in through an endpoint of the backend itself."""

    mode = "login"

    def __init__(
        self,
        settings: AuthSettings,
        users: Mapping[str, Credentials],
        *,
        base_url: str,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings, users, clock)
        if settings.login is None:
            raise ConfigError(
                f"auth mode 'login' for the {self.backend} backend needs a login endpoint",
                hint=f"Set {auth_setting_names(self.backend, 'LOGIN_PATH', 'login.path')}",
            )
        self.login = settings.login
        self.base_url = base_url
        self.timeout = timeout
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def _login(self, role: str, user: Credentials) -> _Token:
        assert user.password is not None  # checked by _credentials
        login = self.login
        where = f"{login.method} {login.path}"
        body = render(login.body, {"username": user.username, "password": user.password.reveal()})
        try:
            response = self._http.request(login.method, login.path, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            reason = connect_failure_reason(exc)
            raise BackendUnreachable(self.backend, self.base_url, reason) from None
        except httpx.TimeoutException:
            raise BackendTimeout(
                self.backend,
                self.base_url + login.path,
                self.timeout,
                setting="--timeout / PARITY_TIMEOUT",
            ) from None
        if response.status_code in (401, 403):
            raise self._error(
                role, f"{where} answered {response.status_code}", self._user_hint(role)
            )
        if not response.is_success:
            raise self._error(
                role,
                f"{where} answered {response.status_code}",
                "Check " + auth_setting_names(self.backend, "LOGIN_PATH", "login.path"),
            )
        token_hint = "Fix " + auth_setting_names(
            self.backend, "LOGIN_TOKEN_PATH", "login.token_path"
        )
        try:
            doc = response.json()
        except ValueError:
            raise self._error(role, f"the answer of {where} is not JSON", token_hint) from None
        token = extract(doc, login.token_path, default=None)
        if not isinstance(token, str) or not token:
            keys = f" (top-level keys: {', '.join(sorted(doc))})" if isinstance(doc, dict) else ""
            raise self._error(
                role,
                f"the answer of {where} has no token at {login.token_path!r}{keys}",
                token_hint,
            )
        return _Token(Secret(token), jwt_expiry(token))


def provider_for(
    settings: Settings,
    backend: str,
    *,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> TokenProvider:
    """Build the provider ``settings`` asks for on ``backend``.

    ``base_url`` (default: the backend's URL) is where a ``login`` mode endpoint lives;
    ``transport`` lets tests answer that endpoint with :class:`httpx.MockTransport`.
    """
    auth = settings.auth_for(backend)
    if auth.mode == "none":
        return NoAuthProvider(auth)
    if auth.mode == "static":
        return StaticTokenProvider(auth)
    if auth.mode == "cognito":
        return CognitoTokenProvider(auth, settings.users)
    url = base_url or settings.url_for(backend)
    if url is None:
        raise ConfigError(
            f"the {backend} backend has no URL to log in at",
            hint=f"Pass --{backend}-url or PARITY_{backend.upper()}_URL",
        )
    return LoginTokenProvider(
        auth, settings.users, base_url=url, timeout=settings.timeout, transport=transport
    )
