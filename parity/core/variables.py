"""The variables every catalog template may use without saving them first: the run id,
``{unique}``, ``{nonce}`` and the credentials of each role (resolved when a request is
sent, :mod:`parity.engine.credentials`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["BUILTIN_VARIABLES", "ROLE_CREDENTIALS", "builtin_variables", "role_variable_prefix"]

#: Variables every template may use without saving them first: the run id; ``unique``
#: (one value per scenario run, the same in its set-up steps and its request: a natural
#: key such as a username that must not exist yet) and ``nonce`` (a new value per
#: request), both carrying the run id so cleanup finds what they named; and the
#: credentials of the request's own role (resolved from the settings when it is sent, so
#: a catalog never holds a secret; parity.engine.credentials).
BUILTIN_VARIABLES = frozenset({"run_id", "unique", "nonce", "username", "password", "token"})
#: ``{<role>_username}``, ``{<role>_password}``, ``{<role>_token}``: another role's.
ROLE_CREDENTIALS = ("username", "password", "token")


def role_variable_prefix(role: str) -> str:
    """``"alice"`` -> ``"alice_"``, ``"power-user"`` -> ``"power_user_"``."""
    return re.sub(r"[^A-Za-z0-9]", "_", role).lower() + "_"


def builtin_variables(roles: Iterable[str]) -> frozenset[str]:
    """Every variable a catalog with these ``roles`` may use without saving it."""
    own = {role_variable_prefix(r) + what for r in roles for what in ROLE_CREDENTIALS}
    return BUILTIN_VARIABLES | own
