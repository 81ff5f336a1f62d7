"""vault.py and the redaction by value and inside texts: every form a known secret can be
written in, sensitive values inside JSON/repr/form/query/header/multipart texts, tokens
harvested from answers, and the catalog's credential placeholders (parity.engine.credentials)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from parity.core import vault
from parity.core.catalog import load_catalog
from parity.core.config import AuthSettings, Credentials, Secret, is_secret_setting
from parity.core.errors import ConfigError
from parity.core.redact import PLACEHOLDERS, harvest, redact, redact_text
from parity.engine.auth import StaticTokenProvider
from parity.engine.client import BackendClient
from parity.engine.credentials import RequestVariables
from parity.engine.runner import run_scenario

PASSWORD = "Pw hunter/22!"
SECRET = PLACEHOLDERS["secret"]


@pytest.fixture(autouse=True)
def _fresh_vault() -> Iterator[None]:
    vault.forget_all()
    yield
    vault.forget_all()


@pytest.mark.parametrize(
    "form",
    [
        PASSWORD,
        quote(PASSWORD, safe=""),
        quote_plus(PASSWORD),
        json.dumps(PASSWORD)[1:-1],
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(b"alice:" + PASSWORD.encode()).decode(),  # Basic auth, any alignment
        base64.b64encode(b"al:" + PASSWORD.encode() + b":x").decode(),
        base64.urlsafe_b64encode(b"xy" + PASSWORD.encode()).decode(),
    ],
)
def test_a_known_secret_is_found_in_every_form(form: str) -> None:
    Secret(PASSWORD)  # a Secret registers its value when it is made
    out = redact_text(f"before {form} after")
    assert SECRET in out
    assert PASSWORD not in out and quote(PASSWORD, safe="") not in out
    assert base64.b64encode(PASSWORD.encode()).decode()[2:-2] not in out


def test_short_values_and_unknown_text_are_left_alone() -> None:
    vault.remember("pw")
    assert redact_text("pw is short; password policy") == "pw is short; password policy"
    assert vault.pattern() is None


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('{"user": {"name": "a", "password": "opaque-1"}}', '"name": "a"'),  # JSON text
        ("{'password': 'opaque-1', 'n': 1}", "'n': 1"),  # a repr in an assertion
        ('"{\\"password\\": \\"opaque-1\\"}"', "password"),  # JSON inside a JSON string
        ("user=a&password=opaque-1&x=1", "&x=1"),  # form body / query string
        ("GET /x?api_key=opaque-1&page=2", "page=2"),
        ("curl -H 'Authorization: Bearer opaque-1' http://h/x", "Bearer"),  # header line
        ("Cookie: sid=opaque-1\r\nHost: h", "Host: h"),
        ('Content-Disposition: form-data; name="password"\r\n\r\nopaque-1\r\n--b', "name="),
        ("multipart: passphrase=opaque-1, file=@a.pdf", "file=@a.pdf"),
    ],
)
def test_sensitive_values_inside_any_text(text: str, kept: str) -> None:
    out = redact_text(text)
    assert "opaque-1" not in out and kept in out, out


@pytest.mark.parametrize(
    "text",
    ["expired token: 401 on both", '"tokens": 3', "token_path = data.token", '"token": null'],
)
def test_words_about_secrets_are_not_secrets(text: str) -> None:
    assert redact_text(text) == text


def test_an_email_is_redacted_url_encoded_too() -> None:
    assert redact_text("/q?u=alice%40example.test&x=1") == f"/q?u={PLACEHOLDERS['email']}&x=1"


def test_tokens_harvested_from_an_answer_are_redacted_under_any_key() -> None:
    harvest({"data": {"session": {"accessToken": "opaque-token-123"}}, "items": [{"a": 1}]})
    assert redact({"bearer": "opaque-token-123", "n": "x"}) == {"bearer": SECRET, "n": "x"}


def test_settings_about_a_secret_are_not_secrets() -> None:
    assert is_secret_setting("PARITY_USER_ALICE_PASSWORD")
    assert is_secret_setting("PARITY_COGNITO_CLIENT_SECRET")
    assert is_secret_setting("PARITY_EXPRESS_TOKEN_ALICE")
    assert not is_secret_setting("PARITY_LOGIN_TOKEN_PATH")
    assert not is_secret_setting("PARITY_EXPRESS_AUTH_MODE")


CATALOG = """\
version: 1
roles: [anonymous, alice, power-user]
endpoints:
  - id: login
    method: POST
    route: /login
    scenarios:
      - name: json
        json: {u: "{alice_username}", p: "{alice_password}", t: "{power_user_token}"}
        expect: 200
  - id: me
    method: POST
    route: /me
    as: alice
    scenarios:
      - name: own
        headers: {X-Token: "Token {token}"}
        query: {who: "{username}"}
        body: "pw={password}"
        expect: 200
"""


def _client(seen: list[httpx.Request]) -> BackendClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    tokens = {"ALICE": Secret("alice-token-1"), "POWER_USER": Secret("power-token-2")}
    users = {
        "alice": Credentials("alice", "alice@example.test", Secret(PASSWORD)),
        "power-user": Credentials("power-user", "pu", None),
    }
    auth = StaticTokenProvider(AuthSettings(backend="express", mode="static", tokens=tokens))
    return BackendClient(
        "express", "http://api.test", auth, transport=httpx.MockTransport(answer), users=users
    )


def test_credential_placeholders_are_filled_when_sent_and_never_recorded(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    catalog = load_catalog(path)
    seen: list[httpx.Request] = []
    client = _client(seen)
    exchanges = [
        run_scenario(client, catalog, catalog.get(name), catalog.get(name).scenarios[0], "r1")
        for name in ("login", "me")
    ]
    sent = json.loads(seen[0].content)
    assert sent == {"u": "alice@example.test", "p": PASSWORD, "t": "power-token-2"}
    assert seen[1].headers["x-token"] == "Token alice-token-1"
    assert seen[1].url.params["who"] == "alice@example.test"
    assert seen[1].content == f"pw={PASSWORD}".encode()
    recorded = json.dumps(redact([e.to_dict() for e in exchanges]))
    for value in (PASSWORD, "alice-token-1", "power-token-2", "alice@example.test"):
        assert value not in recorded


def test_a_credential_that_is_not_configured_names_the_setting() -> None:
    scope = RequestVariables({}, "power-user", _client([]).users, _client([]).auth)
    assert "password" in scope and "alice_token" in scope and "nobody_token" not in scope
    with pytest.raises(ConfigError, match="PARITY_USER_POWER_USER_PASSWORD"):
        scope["password"]
    with pytest.raises(ConfigError, match="anonymous"):
        RequestVariables({}, "anonymous", {}, _client([]).auth)["token"]
    assert list(scope) == [] and len(scope) == 0  # copying a scope resolves nothing
