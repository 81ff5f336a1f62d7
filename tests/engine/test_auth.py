"""auth.py: static, login (httpx.MockTransport) and Cognito (moto server) providers."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from parity.core.config import Settings
from parity.core.errors import AuthError, BackendUnreachable, ConfigError
from parity.engine.auth import (
    CognitoTokenProvider,
    LoginTokenProvider,
    NoAuthProvider,
    StaticTokenProvider,
    jwt_expiry,
    provider_for,
)
from tests.fakes import fake_jwt


def expiring_jwt(exp: float, sub: str = "u") -> str:
    return fake_jwt({"exp": exp, "sub": sub})


def settings(env: dict[str, str]) -> Settings:
    return Settings.load({}, env, None)


def test_jwt_expiry() -> None:
    assert jwt_expiry(expiring_jwt(1234567890)) == 1234567890.0
    assert jwt_expiry("opaque-token") is None
    assert jwt_expiry("a.!!!.c") is None


# --- static -------------------------------------------------------------------------------


def test_static_tokens_per_backend() -> None:
    s = settings(
        {
            "PARITY_AUTH_MODE": "static",
            "PARITY_USERS": "alice,bob",
            "PARITY_EXPRESS_TOKEN_ALICE": "legacy-tok",
            "PARITY_TOKEN_ALICE": "new-tok",
            "PARITY_EXPRESS_AUTH_TEMPLATE": "Token {token}",
        }
    )
    express, serverless = provider_for(s, "express"), provider_for(s, "serverless")
    assert isinstance(express, StaticTokenProvider)
    assert express.headers("alice") == {"Authorization": "Token legacy-tok"}
    assert serverless.headers("alice") == {"Authorization": "Bearer new-tok"}
    assert express.headers("anonymous") == {}
    with pytest.raises(AuthError) as info:
        express.headers("bob")
    msg = str(info.value)
    assert "express: login as 'bob' failed" in msg and "PARITY_EXPRESS_TOKEN_BOB" in msg
    assert "legacy-tok" not in repr(express)


def test_none_mode_sends_nothing() -> None:
    provider = provider_for(settings({"PARITY_AUTH_MODE": "none"}), "serverless")
    assert isinstance(provider, NoAuthProvider)
    assert provider.headers("alice") == {}


# --- login endpoint -----------------------------------------------------------------------

LOGIN_ENV = {
    "PARITY_EXPRESS_AUTH_MODE": "login",
    "PARITY_EXPRESS_LOGIN_PATH": "/api/auth/login",
    "PARITY_EXPRESS_LOGIN_BODY": '{"user": {"name": "{username}", "pw": "{password}"}}',
    "PARITY_EXPRESS_LOGIN_TOKEN_PATH": "data.token",
    "PARITY_EXPRESS_AUTH_TEMPLATE": "Token {token}",
    "PARITY_USERS": "alice,bob",
    "PARITY_USER_ALICE_USERNAME": "alice@example.com",
    "PARITY_USER_ALICE_PASSWORD": "alice-pw-123",
    "PARITY_USER_BOB_PASSWORD": "wrong-pw-456",
}


class FakeLogin:
    """A login endpoint: alice's password works, anything else is 401."""

    def __init__(self, token_ttl: float = 3600) -> None:
        self.calls: list[dict[str, Any]] = []
        self.token_ttl = token_ttl

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append(body)
        if request.url.path != "/api/auth/login":
            return httpx.Response(404, json={"message": "Not Found"})
        if body["user"] == {"name": "alice@example.com", "pw": "alice-pw-123"}:
            token = expiring_jwt(time.time() + self.token_ttl, sub=str(len(self.calls)))
            return httpx.Response(200, json={"status": "success", "data": {"token": token}})
        return httpx.Response(401, json={"status": "error", "message": "bad credentials"})


def login_provider(fake: FakeLogin, env: dict[str, str] | None = None) -> LoginTokenProvider:
    provider = provider_for(
        settings(env or LOGIN_ENV),
        "express",
        base_url="http://legacy.test",
        transport=httpx.MockTransport(fake),
    )
    assert isinstance(provider, LoginTokenProvider)
    return provider


def test_login_renders_body_and_caches_per_role() -> None:
    fake = FakeLogin()
    provider = login_provider(fake)
    first = provider.headers("alice")
    assert first["Authorization"].startswith("Token ")
    assert provider.headers("alice") == first
    assert fake.calls == [{"user": {"name": "alice@example.com", "pw": "alice-pw-123"}}]
    provider.invalidate("alice")
    assert provider.headers("alice") != first and len(fake.calls) == 2


def test_login_renews_a_token_close_to_expiry() -> None:
    fake = FakeLogin(token_ttl=30)  # inside the 60 s margin: every call logs in again
    provider = login_provider(fake)
    provider.headers("alice")
    provider.headers("alice")
    assert len(fake.calls) == 2


def test_login_rejected_names_the_user_settings_not_the_password() -> None:
    provider = login_provider(FakeLogin())
    with pytest.raises(AuthError) as info:
        provider.headers("bob")
    msg = str(info.value)
    assert msg.startswith("express: login as 'bob' failed: POST /api/auth/login answered 401")
    assert "PARITY_USER_BOB_USERNAME" in msg and "PARITY_USER_BOB_PASSWORD" in msg
    assert "wrong-pw-456" not in msg and "wrong-pw-456" not in repr(provider)


def test_login_token_path_missing_names_the_setting() -> None:
    env = {**LOGIN_ENV, "PARITY_EXPRESS_LOGIN_TOKEN_PATH": "data.accessToken"}
    with pytest.raises(AuthError) as info:
        login_provider(FakeLogin(), env).headers("alice")
    msg = str(info.value)
    assert "no token at 'data.accessToken'" in msg and "top-level keys: data, status" in msg
    assert "PARITY_EXPRESS_LOGIN_TOKEN_PATH" in msg


def test_login_unknown_role_and_missing_password() -> None:
    provider = login_provider(FakeLogin(), {**LOGIN_ENV, "PARITY_USER_BOB_PASSWORD": ""})
    with pytest.raises(AuthError, match="Add carol to PARITY_USERS"):
        provider.headers("carol")
    with pytest.raises(AuthError, match="Set PARITY_USER_BOB_PASSWORD"):
        provider.headers("bob")


def test_login_endpoint_unreachable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = provider_for(settings(LOGIN_ENV), "express", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(BackendUnreachable, match=r"express backend at http://127\.0\.0\.1"):
        provider.headers("alice")


def test_login_mode_needs_a_url() -> None:
    with pytest.raises(ConfigError, match="PARITY_EXPRESS_URL"):
        provider_for(settings(LOGIN_ENV), "express")


# --- Cognito on moto ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cognito() -> Iterator[dict[str, str]]:
    """A moto server with a user pool, an app client and alice (permanent password)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        idp = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        pool = idp.create_user_pool(PoolName="parity-test")["UserPool"]["Id"]
        client = idp.create_user_pool_client(
            UserPoolId=pool,
            ClientName="parity",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
        idp.admin_set_user_password(
            UserPoolId=pool, Username="alice", Password="Alice-Pw-123!", Permanent=True
        )
        yield {
            "PARITY_AUTH_MODE": "cognito",
            "PARITY_COGNITO_ENDPOINT": endpoint,
            "PARITY_COGNITO_REGION": "us-east-1",
            "PARITY_COGNITO_USER_POOL_ID": pool,
            "PARITY_COGNITO_CLIENT_ID": client,
            "PARITY_USERS": "alice,bob",
            "PARITY_USER_ALICE_PASSWORD": "Alice-Pw-123!",
            "PARITY_USER_BOB_PASSWORD": "Bob-Pw-456!",
        }
    finally:
        server.stop()


class Spy:
    """Wraps the boto3 client to record which auth flows were used."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.flows: list[str] = []

    def initiate_auth(self, **kwargs: Any) -> Any:
        self.flows.append(kwargs["AuthFlow"])
        return self.client.initiate_auth(**kwargs)


def test_cognito_id_token_cached_and_refreshed(cognito: dict[str, str]) -> None:
    s = settings(cognito)
    auth = s.auth_for("serverless")
    real = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=auth.cognito.endpoint)
    spy = Spy(real)
    now = [time.time()]
    provider = CognitoTokenProvider(auth, s.users, client=spy, clock=lambda: now[0])
    header = provider.headers("alice")["Authorization"]
    assert header.startswith("Bearer ")
    token = header.removeprefix("Bearer ")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["token_use"] == "id" and claims["cognito:username"] == "alice"
    provider.headers("alice")
    assert spy.flows == ["USER_PASSWORD_AUTH"]  # cached
    exp = jwt_expiry(token)
    assert exp is not None
    now[0] = exp - 30  # within 60 s of expiry: refresh, not a new password login
    assert provider.headers("alice")["Authorization"].startswith("Bearer ")
    assert spy.flows == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]


def test_cognito_via_provider_for(cognito: dict[str, str]) -> None:
    provider = provider_for(settings(cognito), "express")
    assert isinstance(provider, CognitoTokenProvider)
    assert provider.headers("alice")["Authorization"].startswith("Bearer ey")
    assert provider.headers("anonymous") == {}


def test_cognito_bad_password_names_settings_not_secret(cognito: dict[str, str]) -> None:
    provider = provider_for(settings(cognito), "serverless")
    with pytest.raises(AuthError) as info:
        provider.headers("bob")  # bob does not exist in the pool
    msg = str(info.value)
    assert msg.startswith("serverless: login as 'bob' failed: Cognito answered")
    assert "PARITY_USER_BOB_PASSWORD" in msg and "Bob-Pw-456!" not in msg


def test_cognito_wrong_password(cognito: dict[str, str]) -> None:
    env = {**cognito, "PARITY_USER_ALICE_PASSWORD": "Not-Her-Pw-1!"}
    with pytest.raises(AuthError, match="NotAuthorizedException") as info:
        provider_for(settings(env), "serverless").headers("alice")
    assert "Not-Her-Pw-1!" not in str(info.value)


def test_cognito_missing_client_id() -> None:
    env = {
        "PARITY_COGNITO_REGION": "us-east-1",
        "PARITY_USERS": "alice",
        "PARITY_USER_ALICE_PASSWORD": "x",
    }
    with pytest.raises(AuthError) as info:
        provider_for(settings(env), "express").headers("alice")
    assert "PARITY_EXPRESS_COGNITO_CLIENT_ID or PARITY_COGNITO_CLIENT_ID" in str(info.value)


def test_cognito_unreachable_endpoint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "PARITY_COGNITO_REGION": "us-east-1",
        "PARITY_COGNITO_CLIENT_ID": "abc",
        "PARITY_COGNITO_ENDPOINT": f"http://127.0.0.1:{port}",
        "PARITY_USERS": "alice",
        "PARITY_USER_ALICE_PASSWORD": "x",
    }
    with pytest.raises(AuthError, match="cannot reach Cognito") as info:
        provider_for(settings(env), "serverless").headers("alice")
    assert "PARITY_SERVERLESS_COGNITO_ENDPOINT or PARITY_COGNITO_ENDPOINT" in str(info.value)
