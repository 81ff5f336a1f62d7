"""The web app the e2e flows drive: what it serves, the test-only config endpoint, and the
deliberate defects (``PARITY_SANDBOX_WEB_BREAK``) the suite's own tests rely on."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import httpx
import pytest

from sandbox.core.identity import PoolInfo
from sandbox.launcher import AppServer, bind_port
from sandbox.settings import WEB_BREAKS, SandboxSettings
from sandbox.web.app import BREAKS, DIRECT_UPLOAD_MAX_BYTES, create_web_app, static_files

EXPRESS = "http://127.0.0.1:9000"
SERVERLESS = "http://127.0.0.1:3000"
POOL = PoolInfo(
    pool_id="us-east-1_abc",
    client_id="client123",
    users={},
    endpoint="http://127.0.0.1:5000",
)


@contextmanager
def web(**changes: object) -> Iterator[httpx.Client]:
    """The web app on a free port (real sockets, as in the sandbox)."""
    settings = replace(SandboxSettings(), **changes)  # type: ignore[arg-type]
    server = AppServer(
        "web",
        create_web_app(settings, SERVERLESS, EXPRESS, POOL),
        bind_port("127.0.0.1", 0, "test port"),
    )
    server.start()
    try:
        server.wait_started()
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with web() as c:
        yield c


def test_config_json_is_the_runtime_config_with_max_age_60(client: httpx.Client) -> None:
    response = client.get("/config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "max-age=60"
    assert response.json() == {
        "apiBaseUrl": SERVERLESS,
        "useServerless": True,
        "cognitoConfig": {
            "userPoolId": "us-east-1_abc",
            "clientId": "client123",
            "region": "us-east-1",
            "endpoint": "http://127.0.0.1:5000",
        },
        "directUploadMaxBytes": DIRECT_UPLOAD_MAX_BYTES,
    }


def test_the_page_carries_the_build_constants_and_loads_only_local_modules(
    client: httpx.Client,
) -> None:
    page = client.get("/").text
    build = json.loads(re.search(r'id="moc-build">(.*?)</script>', page).group(1))  # type: ignore[union-attr]
    assert build["expressFallbackUrl"] == EXPRESS
    assert build["cognitoConfig"]["clientId"] == "client123"
    sources = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert sources and all(s.startswith("/static/") or s == "data:," for s in sources), sources


def test_static_modules_are_served_with_javascript_types(client: httpx.Client) -> None:
    c = client
    for name in ("main.js", "runtime-config.js", "auth.js", "api.js", "upload.js"):
        response = c.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript")
        # no module is fetched from anywhere but the web app itself
        for spec in re.findall(r'from "([^"]+)"', response.text):
            assert spec.startswith("./"), (name, spec)
    assert c.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert c.get("/static/nope.js").status_code == 404
    assert c.get("/static/..%2Fapp.py").status_code == 404


def test_sandbox_config_endpoint_flips_the_config_and_resets(client: httpx.Client) -> None:
    c = client
    flipped = c.put("/__sandbox/config", json={"useServerless": False, "apiBaseUrl": EXPRESS})
    assert flipped.status_code == 200
    assert c.get("/config.json").json()["useServerless"] is False
    assert c.get("/config.json").json()["apiBaseUrl"] == EXPRESS
    assert c.get("/__sandbox/config").json()["apiBaseUrl"] == EXPRESS
    c.put("/__sandbox/config", json={"serverlessWeight": 0})
    assert c.get("/config.json").json()["serverlessWeight"] == 0
    c.put("/__sandbox/config", json={"serverlessWeight": None})  # null removes a key
    assert "serverlessWeight" not in c.get("/config.json").json()
    assert c.delete("/__sandbox/config").json()["apiBaseUrl"] == SERVERLESS
    assert c.get("/config.json").json()["useServerless"] is True


@pytest.mark.parametrize(
    ("body", "error"),
    [(b"not json", "not JSON"), (b"[1]", "JSON object"), (b'{"apiBase": "x"}', "unknown keys")],
)
def test_sandbox_config_endpoint_rejects_bad_changes(
    body: bytes, error: str, client: httpx.Client
) -> None:
    response = client.put("/__sandbox/config", content=body)
    assert response.status_code == 400
    assert error in response.json()["error"]


def test_production_has_no_sandbox_config_endpoint() -> None:
    with web(production=True) as c:
        assert c.put("/__sandbox/config", json={"useServerless": False}).status_code == 404
        assert c.get("/config.json").json()["useServerless"] is True


def test_each_break_patches_what_it_names_and_nothing_else() -> None:
    assert set(BREAKS) == WEB_BREAKS
    clean = static_files()
    for name in sorted(WEB_BREAKS):
        broken = static_files(frozenset({name}))
        changed = {f for f in clean if clean[f] != broken[f]}
        assert changed == {f for f, _, _ in BREAKS[name][1]}, name
    assert 'data-testid="login-submit"' not in static_files(frozenset({"testid"}))["index.html"]
    assert "lastKnownGood" not in static_files(frozenset({"fallback"}))["runtime-config.js"].split(
        "export async function loadRuntimeConfig"
    )[1].split("export function fallbackConfig")[0].replace("readLastKnownGood", "")
    assert "return true;" in static_files(frozenset({"lock"}))["runtime-config.js"]


def test_a_break_that_no_longer_fits_the_app_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BREAKS, "lock", ("stale", [("runtime-config.js", r"no such code", "x")]))
    with pytest.raises(ValueError, match=r"matches runtime-config\.js 0 times"):
        static_files(frozenset({"lock"}))


def test_web_break_setting() -> None:
    assert SandboxSettings.from_env({}).web_breaks == frozenset()
    settings = SandboxSettings.from_env({"PARITY_SANDBOX_WEB_BREAK": "lock, fallback"})
    assert settings.web_breaks == {"lock", "fallback"}
    with pytest.raises(ValueError, match=r"PARITY_SANDBOX_WEB_BREAK.*unknown nope"):
        SandboxSettings.from_env({"PARITY_SANDBOX_WEB_BREAK": "nope"})
