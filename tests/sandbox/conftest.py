"""Fixtures for the sandbox core tests: one infrastructure per session (moto, cache,
database, user pool, seed data), the two flavours' ``Application`` objects and a
``call`` helper that builds ``CoreRequest`` objects the way the adapters do.

Set ``DATABASE_URL`` / ``REDIS_URL`` to run the same tests against PostgreSQL and Redis.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.core.http import CoreRequest, CoreResponse, Principal, UploadedFile
from sandbox.core.infra import Infrastructure, start_infrastructure
from sandbox.core.routes import match_route
from sandbox.core.service import Application
from sandbox.settings import SandboxSettings


@pytest.fixture(scope="session")
def settings() -> SandboxSettings:
    return SandboxSettings.from_env()


@pytest.fixture(scope="session")
def infra(settings: SandboxSettings) -> Iterator[Infrastructure]:
    started = start_infrastructure(settings)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def express(infra: Infrastructure, settings: SandboxSettings) -> Application:
    return Application("express", infra, settings)


@pytest.fixture(scope="session")
def serverless(infra: Infrastructure, settings: SandboxSettings) -> Application:
    return Application("serverless", infra, settings)


@pytest.fixture(scope="session")
def users(infra: Infrastructure) -> dict[str, Principal]:
    pool = infra.pool
    return {
        role: Principal(pool.subs[role], pool.users[role][0], ("admin",) if role == "admin" else ())
        for role in pool.users
    }


@dataclass
class Result:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def data(self) -> Any:
        return self.body["data"]

    @property
    def code(self) -> str | None:
        error = self.body.get("error") or {}
        return error.get("code")

    @property
    def details(self) -> list[dict[str, str]]:
        return list((self.body.get("error") or {}).get("details") or [])


Call = Callable[..., Result]


def _call(
    app: Application,
    method: str,
    path: str,
    *,
    user: Principal | None = None,
    query: dict[str, Any] | None = None,
    json_body: Any = None,
    raw_body: bytes | None = None,
    form: dict[str, str] | None = None,
    files: dict[str, tuple[str, str, bytes]] | None = None,
    headers: dict[str, str] | None = None,
) -> Result:
    route, params, _ = match_route(method, path)
    assert route is not None, f"no route for {method} {path}"
    body = b""
    parsed: Any = None
    json_error = False
    if json_body is not None:
        body = json.dumps(json_body).encode()
        parsed = json_body
    elif raw_body is not None:  # a body that claims to be JSON
        body = raw_body
        try:
            parsed = json.loads(raw_body)
        except ValueError:
            json_error = True
    req = CoreRequest(
        method=method,
        path=path,
        route=route.template,
        path_params=params,
        query={k: str(v) for k, v in (query or {}).items()},
        headers={k.lower(): v for k, v in (headers or {}).items()},
        body=body,
        json=parsed,
        json_error=json_error,
        form=dict(form or {}),
        files={
            name: UploadedFile(name, filename, ctype, data)
            for name, (filename, ctype, data) in (files or {}).items()
        },
        principal=user,
        request_id=str(uuid.uuid4()),
    )
    response: CoreResponse = app.handle(route, req)
    # what the adapters do: the body must be JSON-serialisable
    return Result(response.status, json.loads(json.dumps(response.body)), response.headers)


@pytest.fixture(scope="session")
def call(express: Application) -> Call:
    """``call(method, path, app=express, user=..., query=..., json_body=..., ...)``."""

    def bound(method: str, path: str, *, app: Application | None = None, **kw: Any) -> Result:
        return _call(app or express, method, path, **kw)

    return bound
