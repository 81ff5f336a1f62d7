"""Uploading a MOC from the browser: a small file goes directly through the API (multipart),
an 11 MB one goes presign -> PUT to S3 -> complete and never crosses the API's payload limit."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from e2e.pages import MocDetailPage, UploadPage
from e2e.support import NetworkLog, origin
from parity.core.errors import ConfigError
from parity.plugin import ParityRun

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]

MB = 1024 * 1024


@pytest.fixture
def created_mocs(parity_run: ParityRun, flow_backend: str) -> Iterator[list[str]]:
    """Ids of MOCs a flow created: deleted afterwards through the API, whatever happened."""
    try:
        parity_run.settings.require_writes("the upload flow")
    except ConfigError as exc:
        pytest.skip(str(exc))
    ids: list[str] = []
    yield ids
    client = parity_run.client(flow_backend)
    for moc_id in ids:
        client.request("DELETE", f"/api/mocs/{moc_id}", role="alice")


def creates_a_moc(request: Request) -> bool:
    """The upload flow's first request: ``POST /api/mocs`` creates the MOC the file goes to."""
    return request.method == "POST" and urlsplit(request.url).path == "/api/mocs"


@pytest.mark.parametrize(
    ("size", "method"),
    [pytest.param(200 * 1024, "direct", id="small"), pytest.param(11 * MB, "presigned", id="11MB")],
)
def test_upload_a_moc(
    size: int,
    method: str,
    sign_in: Callable[[str], str],
    upload_page: UploadPage,
    upload_files: Callable[[int, str], Path],
    page: Page,
    network: NetworkLog,
    flow_backend: str,
    created_mocs: list[str],
    run_id: str,
    end_state: Callable[[str], None],
) -> None:
    file = upload_files(size, f"parity-{run_id}-instructions-{size}.pdf")
    sign_in("alice")
    upload_page.open()

    # The flow's calls start at its own create request, not at a mark taken now: the MOC list
    # the login lands on loads its stats, then the list, and that GET /api/mocs can go out
    # after the upload form shows (1 failure in 4 demo runs).
    with page.expect_request(creates_a_moc) as create:
        result = upload_page.upload(
            file, title=f"parity {run_id} e2e {method} upload", theme="Castle"
        )
    created_mocs.append(result.moc_id)

    assert result.method == method
    assert result.size == size
    assert result.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
    own = f"/api/mocs/{result.moc_id}/"
    calls = [
        (c.method, c.path.replace(result.moc_id, "{id}"))
        for c in network.api_calls(network.position(create.value))
        # a slow list can go out even after the create: the flow's calls create the MOC or act
        # on it (a second create would still show)
        if (c.method, c.path) == ("POST", "/api/mocs") or c.path.startswith(own)
    ]
    if method == "direct":
        assert calls == [("POST", "/api/mocs"), ("POST", "/api/mocs/{id}/files")]
    else:
        assert calls == [
            ("POST", "/api/mocs"),
            ("POST", "/api/mocs/{id}/files/presign"),
            ("POST", "/api/mocs/{id}/files/complete"),
        ]
        api_origins = {origin(c.url) for c in network.api_calls()}
        puts = network.requests_to(lambda r: r.method == "PUT")
        assert len(puts) == 1 and origin(puts[0].url) not in api_origins  # straight to S3
    network.expect_only(flow_backend)
    end_state(f"upload-{'small' if method == 'direct' else '11mb'}")

    upload_page.result.get_by_test_id("upload-result-link").click()
    detail = MocDetailPage(upload_page.app)
    expect(detail.files).to_have_count(1)
    expect(detail.files.first).to_have_attribute("data-size", str(size))
