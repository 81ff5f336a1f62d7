"""har.py: HAR entries mapped to catalog endpoints by method + route template, unmatched
ones counted, everything redacted, a broken file named with its line."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from parity.core.catalog import load_catalog
from parity.core.errors import CassetteError, UsageError
from parity.engine.cassette import read_cassette
from parity.engine.har import RouteMatcher, import_har
from tests.fakes import fake_jwt, fake_signature

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "fixtures" / "catalog.yaml")
API = "http://127.0.0.1:9000"
MOC = "3f2a8c1e-1111-4c6e-9a55-2f7d0c1e9b10"
JWT = fake_jwt({"sub": "alice"})
SIGNATURE = fake_signature(6)


def _entry(method: str, url: str, status: int, body: Any = None, **kw: Any) -> dict[str, Any]:
    text = json.dumps(body) if body is not None else ""
    content: dict[str, Any] = {"mimeType": "application/json", "text": text, "size": len(text)}
    if kw.get("base64"):
        content = {
            **content,
            "text": base64.b64encode(text.encode()).decode(),
            "encoding": "base64",
        }
    return {
        "startedDateTime": "2026-11-24T10:00:00.000Z",
        "time": 12.5,
        "request": {
            "method": method,
            "url": url,
            "headers": kw.get("headers", []),
            "postData": kw.get("post", {}),
        },
        "response": {
            "status": status,
            "headers": kw.get("response_headers", []),
            "content": content,
        },
    }


def _har(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "session.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return path


def test_the_most_literal_template_wins() -> None:
    matcher = RouteMatcher(CATALOG)

    def route(method: str, path: str) -> str | None:
        endpoint = matcher.match(method, path)
        return endpoint.route if endpoint else None

    assert route("GET", "/api/mocs/stats") == "/api/mocs/stats"
    assert route("GET", f"/api/mocs/{MOC}") == "/api/mocs/{mocId}"
    assert route("GET", f"/api/mocs/{MOC}/") == "/api/mocs/{mocId}"
    assert route("POST", f"/api/mocs/{MOC}/files/presign") == "/api/mocs/{mocId}/files/presign"
    assert route("DELETE", "/api/mocs/stats") == "/api/mocs/{mocId}"  # literal GET only
    assert route("GET", "/config.json") is None
    assert route("PUT", f"/api/mocs/{MOC}") is None


def test_import_maps_counts_and_redacts(tmp_path: Path) -> None:
    envelope = {
        "status": "success",
        "message": "ok",
        "data": {"id": MOC, "author": "alice@example.com"},
    }
    entries = [
        _entry(
            "GET",
            f"{API}/api/mocs/{MOC}?x=1",
            200,
            envelope,
            headers=[
                {"name": "Authorization", "value": f"Bearer {JWT}"},
                {"name": "Cookie", "value": "sid=cookie-secret-1"},
            ],
            response_headers=[{"name": "Set-Cookie", "value": "sid=cookie-secret-2"}],
        ),
        _entry(
            "POST",
            f"{API}/api/mocs/{MOC}/files/presign",
            200,
            {
                "status": "success",
                "message": "ok",
                "data": {
                    "uploadUrl": f"http://s3/b/k?X-Amz-Signature={SIGNATURE}&X-Amz-Expires=900",
                    "idToken": "opaque-id-token",
                    "refreshToken": "opaque-refresh",
                },
            },
            post={
                "mimeType": "application/json",
                "text": json.dumps({"filename": "a.pdf", "password": "pw-secret-9"}),
            },
            base64=True,
        ),
        _entry("GET", f"{API}/config.json", 200, {"apiBaseUrl": API}),
        _entry("GET", f"{API}/app.js", 200),
        _entry("GET", f"{API}/app.js", 200),
        _entry("GET", f"https://other.example.com/api/mocs/{MOC}", 200, envelope),
        _entry("GET", f"{API}/api/mocs/stats", 0),  # aborted in the browser
    ]
    har = _har(tmp_path, entries)
    out = tmp_path / "cassettes" / "har-session.jsonl"
    report = import_har(har, CATALOG, out, origin=API)
    assert (report.entries, report.written, report.other_origin) == (7, 2, 1)
    assert report.unmatched["GET /app.js"] == 2 and report.unmatched["GET /config.json"] == 1
    records = list(read_cassette(out))
    assert [(r.endpoint, r.route, r.status, r.source) for r in records] == [
        ("mocs.get", "/api/mocs/{mocId}", 200, "har:session.har"),
        ("mocs.files.presign", "/api/mocs/{mocId}/files/presign", 200, "har:session.har"),
    ]
    assert records[0].body["data"]["id"] == MOC  # ids are no secrets
    text = out.read_text(encoding="utf-8")
    for secret in (
        JWT,
        "cookie-secret-1",
        "cookie-secret-2",
        "alice@example.com",
        SIGNATURE,
        "opaque-id-token",
        "opaque-refresh",
        "pw-secret-9",
    ):
        assert secret not in text, secret


def test_a_file_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    har = tmp_path / "broken.har"
    har.write_text('{\n  "log": {\n    "entries": [,]\n  }\n}\n', encoding="utf-8")
    with pytest.raises(CassetteError) as info:
        import_har(har, CATALOG, tmp_path / "out.jsonl")
    assert str(info.value).startswith(f"{har}: line 3, column 17: not valid JSON")
    assert isinstance(info.value, UsageError)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"entries": []}, "no log.entries list"),
        ({"log": {"entries": [{"request": {}}]}}, "log.entries[0]: an entry needs"),
        (
            {"log": {"entries": [{"request": {"method": "GET"}, "response": {}}]}},
            "log.entries[0]: request.method, request.url and response.status are required",
        ),
    ],
)
def test_a_json_file_that_is_not_a_har_is_named(tmp_path: Path, doc: Any, problem: str) -> None:
    har = tmp_path / "x.har"
    har.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CassetteError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        import_har(har, CATALOG, tmp_path / "out.jsonl")
