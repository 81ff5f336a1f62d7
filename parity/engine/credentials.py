"""The credential placeholders of a catalog request, resolved when it is sent.

A catalog describes requests that log in, change a password or register a user, and must
never hold a secret itself. So ``{username}``, ``{password}`` and ``{token}`` stand for the
request's own role, ``{bob_password}`` (any role, spelt as in
:func:`parity.core.catalog_model.role_variable_prefix`) for another one: the values come from the
settings (``PARITY_USER_<ROLE>_USERNAME`` / ``_PASSWORD``) and the backend's token
provider, only when a template uses them, and every one of them is redacted wherever it is
recorded (passwords and tokens are :class:`parity.core.config.Secret` values, which the vault
knows).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from parity.core.config import Credentials, role_env_key
from parity.core.errors import ConfigError
from parity.core.variables import ROLE_CREDENTIALS, role_variable_prefix
from parity.engine.auth import ANONYMOUS, TokenProvider

__all__ = ["RequestVariables"]


class RequestVariables(Mapping[str, Any]):
    """``variables`` plus the credentials of ``role`` and of every configured role.

    Iteration and ``len`` cover ``variables`` only: copying the scope (saved variables
    kept for a teardown) never resolves a credential, and never stores one.
    """

    def __init__(
        self,
        variables: Mapping[str, Any],
        role: str,
        users: Mapping[str, Credentials],
        auth: TokenProvider,
    ) -> None:
        self._variables = variables
        self._role = role
        self._users = users
        self._auth = auth
        self._prefixes = {role_variable_prefix(r): r for r in users}

    def _split(self, name: str) -> tuple[str, str] | None:
        """(role, what) when ``name`` is a credential placeholder."""
        if name in ROLE_CREDENTIALS:
            return self._role, name
        head, _, what = name.rpartition("_")
        role = self._prefixes.get(head + "_") if what in ROLE_CREDENTIALS else None
        return (role, what) if role is not None else None

    def __contains__(self, name: object) -> bool:
        if name in self._variables:
            return True
        return isinstance(name, str) and self._split(name) is not None

    def __getitem__(self, name: str) -> Any:
        if name in self._variables:
            return self._variables[name]
        split = self._split(name)
        if split is None:
            raise KeyError(name)
        return self._credential(*split, placeholder=name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)

    def _credential(self, role: str, what: str, placeholder: str) -> str:
        if role == ANONYMOUS:
            raise ConfigError(
                f"{{{placeholder}}} is used by a request sent as {ANONYMOUS}",
                hint="Send that request as a role with credentials (as: in the catalog), "
                f"or name the role in the placeholder ({{alice_{what}}})",
            )
        if what == "token":
            return self._auth.token(role)
        user = self._users.get(role)
        key = role_env_key(role)
        if user is None:
            raise ConfigError(
                f"{{{placeholder}}}: no test user for role {role!r}",
                hint=f"Add {role} to PARITY_USERS and set PARITY_USER_{key}_USERNAME and "
                f"PARITY_USER_{key}_PASSWORD",
            )
        if what == "username":
            return user.username
        if user.password is None:
            raise ConfigError(
                f"{{{placeholder}}}: no password configured for role {role!r}",
                hint=f"Set PARITY_USER_{key}_PASSWORD",
            )
        return user.password.reveal()
