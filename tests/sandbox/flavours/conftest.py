"""Fixtures for the flavour tests (Express app, gateway, Lambda handlers, launcher): one
in-process sandbox per session over real sockets, IdTokens for its users, and fakes for
adapter tests that need no infrastructure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import boto3
import httpx
import pytest

from sandbox.core.http import CoreRequest, CoreResponse, success
from sandbox.core.identity import InvalidToken
from sandbox.core.routes import Route
from sandbox.launcher import AppServer, SandboxRunner, bind_port
from sandbox.settings import SandboxSettings

ALLOWED_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.com"
MB = 1024 * 1024


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxRunner]:
    # The environment may point at PostgreSQL/Redis; drifts never leak into the clean pair.
    settings = replace(SandboxSettings.from_env(), drifts=frozenset())
    runner = SandboxRunner(settings)
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture(scope="session")
def tokens(sandbox: SandboxRunner) -> dict[str, str]:
    """role -> IdToken, from Cognito (moto) InitiateAuth, as the suite gets them."""
    env = sandbox.env
    client = boto3.client(
        "cognito-idp",
        endpoint_url=env["PARITY_COGNITO_ENDPOINT"],
        region_name=env["PARITY_COGNITO_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    result: dict[str, str] = {}
    for role in env["PARITY_USERS"].split(","):
        auth = client.initiate_auth(
            ClientId=env["PARITY_COGNITO_CLIENT_ID"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={
                "USERNAME": env[f"PARITY_USER_{role.upper()}_USERNAME"],
                "PASSWORD": env[f"PARITY_USER_{role.upper()}_PASSWORD"],
            },
        )
        result[role] = auth["AuthenticationResult"]["IdToken"]
    return result


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60.0) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice_moc(sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client) -> str:
    """A fresh MOC owned by alice (created through Express; both flavours share the db)."""
    response = http.post(
        f"{sandbox.express_url}/api/mocs",
        headers=bearer(tokens["alice"]),
        json={"title": f"Test MOC {uuid.uuid4().hex[:6]}", "theme": "Castle", "pieceCount": 42},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def upload(size: int, content_type: str = "application/octet-stream") -> dict[str, Any]:
    """httpx ``files``/``data`` arguments for a multipart upload of ``size`` bytes."""
    payload = (uuid.uuid4().bytes * (size // 16 + 1))[:size]
    return {
        "files": {"file": ("instructions.bin", payload, content_type)},
        "data": {"kind": "instructions"},
    }


@contextmanager
def served(app: Any) -> Iterator[httpx.Client]:
    """Serve an ASGI app on a free port (real sockets, as in the sandbox) for one test."""
    server = AppServer("test", app, bind_port("127.0.0.1", 0, "test port"))
    server.start()
    try:
        server.wait_started()
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            yield client
    finally:
        server.stop()


class FakeApp:
    """Stands in for ``Application``: echoes what the adapter handed over."""

    def __init__(self) -> None:
        self.seen: list[tuple[Route, CoreRequest]] = []

    def handle(self, route: Route, req: CoreRequest) -> CoreResponse:
        self.seen.append((route, req))
        data = {
            "route": route.key,
            "params": req.path_params,
            "query": req.query,
            "json": req.json,
            "form": req.form,
            "files": {k: len(f.data) for k, f in req.files.items()},
            "user": req.principal.username if req.principal else None,
            "groups": list(req.principal.groups) if req.principal else [],
        }
        return success(data, "ok", 201 if route.method == "POST" else 200)


class FakeVerifier:
    """Accepts the token ``good`` (alice, group admin) and rejects anything else."""

    def verify(self, token: str) -> dict[str, Any]:
        if token != "good":
            raise InvalidToken("not the good token")
        return {"sub": "u-1", "cognito:username": "alice", "cognito:groups": ["admin"], "exp": 1}
