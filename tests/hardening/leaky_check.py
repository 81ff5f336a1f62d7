"""A check that fails quoting live credentials: collected only when named on the command
line (tests/hardening/test_secrets_channels.py runs it against tests/hardening/login_api.py).

It prints, logs and asserts with the role's token, its e-mail and its password, the way a
careless check or a verbose backend error would, so every channel pytest writes gets them.
"""

from __future__ import annotations

import logging

from parity.plugin import ParityRun

log = logging.getLogger("leaky_check")


def test_check_quoting_credentials(parity_run: ParityRun) -> None:
    client = parity_run.client("express")
    token = client.auth.token("alice")
    user = parity_run.settings.users["alice"]
    password = user.password.reveal() if user.password else ""
    print(f"logged in as {user.username} with {password!r}, token {token}")
    log.warning("session token %s for %s", token, user.username)
    session = {"bearer": token, "who": user.username}
    answer = {"session": session, "pw": password}
    assert session["bearer"] != token, f"the backend echoed the session: {answer}"
