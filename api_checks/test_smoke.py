"""Smoke checks: the critical user flows, run after every rollout stage.

``pytest -m smoke --backend=serverless`` runs them against one backend; the default runs them
against both. Each flow deletes what it created, also when an assertion fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from parity.client import BackendClient

pytestmark = pytest.mark.smoke


def _envelope(resp: httpx.Response, status: int) -> Any:
    """Assert status and the success envelope; return ``data``."""
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url.path}: expected {status}, "
        f"got {resp.status_code}: {resp.text[:300]}"
    )
    body = resp.json()
    assert body["status"] == "success", body
    assert isinstance(body["message"], str) and body["message"], body
    return body["data"]


def _list_page(data: Any) -> list[Any]:
    assert set(data) >= {"items", "page", "limit", "total"}, data
    assert isinstance(data["items"], list)
    assert data["page"] >= 1 and 1 <= data["limit"] <= 100 and data["total"] >= 0
    return list(data["items"])


@pytest.fixture
def moc(backend: BackendClient, run_id: str) -> Iterator[dict[str, Any]]:
    """A MOC owned by alice, deleted again whatever the test does."""
    resp = backend.request(
        "POST",
        "/api/mocs",
        role="alice",
        json={
            "title": f"parity {run_id} smoke castle",
            "description": "created by the smoke checks",
            "theme": "Castle",
            "pieceCount": 1234,
            "tags": ["parity", "smoke"],
        },
    )
    created = _envelope(resp, 201)
    try:
        yield created
    finally:
        backend.request("DELETE", f"/api/mocs/{created['id']}", role="alice")


def test_health(backend: BackendClient) -> None:
    data = _envelope(backend.request("GET", "/health"), 200)
    assert {"uptime", "version", "db", "cache", "storage"} <= set(data)


def test_login_and_profile(backend: BackendClient) -> None:
    data = _envelope(backend.request("GET", "/api/users/me", role="alice"), 200)
    assert data["username"] == "alice"
    assert {"id", "username", "avatarUrl", "createdAt"} <= set(data)


def test_anonymous_profile_is_refused(backend: BackendClient) -> None:
    resp = backend.request("GET", "/api/users/me")
    assert resp.status_code == 401, resp.text


def test_create_upload_find_delete_moc(
    backend: BackendClient, moc: dict[str, Any], run_id: str
) -> None:
    assert moc["title"] == f"parity {run_id} smoke castle"
    assert moc["pieceCount"] == 1234 and moc["files"] == []

    payload = b"%PDF-1.4 smoke instructions " + run_id.encode() * 512
    resp = backend.request(
        "POST",
        f"/api/mocs/{moc['id']}/files",
        role="alice",
        files={"file": (f"parity-{run_id}-instructions.pdf", payload, "application/pdf")},
        data={"kind": "instructions"},
    )
    record = _envelope(resp, 201)
    assert record["size"] == len(payload)
    assert record["sha256"] == hashlib.sha256(payload).hexdigest()
    assert record["kind"] == "instructions"

    fetched = _envelope(backend.request("GET", f"/api/mocs/{moc['id']}"), 200)
    assert [f["id"] for f in fetched["files"]] == [record["id"]]

    listed = _list_page(
        _envelope(backend.request("GET", "/api/mocs", params={"q": run_id, "sort": "newest"}), 200)
    )
    assert moc["id"] in {m["id"] for m in listed}

    found = _list_page(
        _envelope(backend.request("GET", "/api/mocs/search", params={"q": run_id}), 200)
    )
    assert moc["id"] in {m["id"] for m in found}

    _envelope(backend.request("DELETE", f"/api/mocs/{moc['id']}", role="alice"), 200)
    gone = backend.request("GET", f"/api/mocs/{moc['id']}")
    assert gone.status_code == 404, gone.text


def test_browse_mocs_paginated(backend: BackendClient) -> None:
    first = _envelope(backend.request("GET", "/api/mocs", params={"page": 1, "limit": 2}), 200)
    items = _list_page(first)
    assert len(items) <= 2 and first["limit"] == 2
    if first["total"] > 2:
        second = _envelope(backend.request("GET", "/api/mocs", params={"page": 2, "limit": 2}), 200)
        assert {m["id"] for m in items}.isdisjoint({m["id"] for m in _list_page(second)})


def test_browse_gallery(backend: BackendClient) -> None:
    images = _list_page(_envelope(backend.request("GET", "/api/images", role="alice"), 200))
    albums = _list_page(_envelope(backend.request("GET", "/api/albums", role="alice"), 200))
    if albums:
        album = _envelope(
            backend.request("GET", f"/api/albums/{albums[0]['id']}", role="alice"), 200
        )
        assert isinstance(album["images"], list)
    for image in images[:3]:
        one = _envelope(backend.request("GET", f"/api/images/{image['id']}", role="alice"), 200)
        assert one["id"] == image["id"]
