"""parity.checks.uploads and parity.core.payloads streaming: payloads, hashing streams,
multipart bodies, and the direct and presigned flows against a fake backend."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from parity.checks.uploads import HashingStream, Uploader, multipart_stream
from parity.core.catalog import Catalog
from parity.core.payloads import iter_payload, make_payload, streamable
from parity.engine.client import BackendClient

MiB = 1024 * 1024


@pytest.mark.parametrize("ctype", ["application/pdf", "application/octet-stream"])
@pytest.mark.parametrize("size", [0, 8, 9, 65_536, 65_537, 3 * MiB + 17])
def test_iter_payload_streams_make_payload(ctype: str, size: int) -> None:
    chunks = list(iter_payload(size, ctype, 100_000))
    assert b"".join(chunks) == make_payload(size, ctype)
    assert all(len(c) <= 131_072 for c in chunks)


def test_images_are_not_streamable() -> None:
    assert not streamable("image/png") and streamable("application/pdf")
    with pytest.raises(ValueError):
        next(iter_payload(4096, "image/png"))


def test_hashing_stream_hashes_what_passes() -> None:
    stream = HashingStream([b"ab", b"c"])
    assert b"".join(stream) == b"abc"
    assert stream.done and stream.size == 3
    assert stream.sha256 == hashlib.sha256(b"abc").hexdigest()


def test_multipart_stream_is_a_valid_form_of_exact_length() -> None:
    from python_multipart import parse_form  # as the sandbox parses it

    ctype, length, stream, body = multipart_stream(
        {"kind": "instructions"}, "file", 'odd"name.pdf', "application/pdf", 200_000
    )
    raw = b"".join(body)
    assert len(raw) == length
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}

    def on_field(f: Any) -> None:
        fields[f.field_name.decode()] = f.value.decode()

    def on_file(f: Any) -> None:
        f.file_object.seek(0)
        files[f.field_name.decode()] = f.file_object.read()

    headers = {"Content-Type": ctype, "Content-Length": str(length)}
    parse_form(headers, __import__("io").BytesIO(raw), on_field, on_file)
    assert fields == {"kind": "instructions"}
    assert files["file"] == make_payload(200_000, "application/pdf")
    assert stream.sha256 == hashlib.sha256(files["file"]).hexdigest()


# --- the presigned and direct flows against a fake backend -----------------------------

CATALOG = {
    "version": 1,
    "roles": ["anonymous", "alice"],
    # which refusals are the gateway's own: the catalog says (parity.core.envelope)
    "envelope": {"gateway": {"backends": ["serverless"], "keys": ["message"]}},
    "endpoints": [
        {
            "id": "files.upload",
            "method": "POST",
            "route": "/things/{thingId}/files",
            "auth": "owner",
            "as": "alice",
            "scenarios": [{"name": "x", "params": {"thingId": "1"}, "expect": 201}],
        },
        {
            "id": "files.presign",
            "method": "POST",
            "route": "/things/{thingId}/presign",
            "auth": "owner",
            "as": "alice",
            "scenarios": [{"name": "x", "params": {"thingId": "1"}, "expect": 200}],
        },
        {
            "id": "files.complete",
            "method": "POST",
            "route": "/things/{thingId}/complete",
            "auth": "owner",
            "as": "alice",
            "scenarios": [{"name": "x", "params": {"thingId": "1"}, "expect": 201}],
        },
    ],
    "checks": {
        "boundary": {
            "plan_direct_limit": "10MiB",
            "direct_sizes": ["1MiB"],
            "presigned_sizes": ["3MiB"],
            "file": {"filename": "f-{size}.bin"},
            "direct": {"endpoint": "files.upload", "sha256": "sha", "url": "url"},
            "presigned": {
                "presign": {
                    "endpoint": "files.presign",
                    "json": {"name": "{filename}", "size": "{size}"},
                    "save": {"uploadUrl": "url"},
                },
                "complete": {
                    "endpoint": "files.complete",
                    "json": {"sha256": "{sha256}"},
                    "sha256": "sha",
                    "url": "url",
                },
            },
        }
    },
}


class FakeStore:
    """A backend and its storage: keeps only the sha256 and size of what it receives."""

    def __init__(self, direct_limit: int) -> None:
        self.direct_limit = direct_limit
        self.objects: dict[str, tuple[str, int, bytes]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, dict(request.headers)))
        path = request.url.path
        if path.endswith("/files"):
            if int(request.headers["content-length"]) > self.direct_limit:
                return httpx.Response(413, json={"message": "Request Entity Too Large"})
            body = request.read()
            start = body.index(b"\r\n\r\n", body.index(b'name="file"')) + 4
            data = body[start : body.rindex(b"\r\n--")]
            return self._stored("direct", data, 201)
        if path.endswith("/presign"):
            assert json.loads(request.read()) == {"name": "f-3145728.bin", "size": 3 * MiB}
            return httpx.Response(200, json={"url": "http://storage.test/put/obj"})
        if path == "/put/obj":
            assert "transfer-encoding" not in request.headers  # exact Content-Length
            sha, size = hashlib.sha256(), 0
            for chunk in request.stream:  # type: ignore[union-attr]
                sha.update(chunk)
                size += len(chunk)
            self.objects["obj"] = (sha.hexdigest(), size, b"")
            return httpx.Response(200)
        if path.endswith("/complete"):
            claimed = json.loads(request.read())["sha256"]
            assert claimed == self.objects["obj"][0]
            return httpx.Response(201, json={"sha": claimed, "url": "http://storage.test/get/obj"})
        if path.startswith("/get/"):
            name = path.rsplit("/", 1)[1]
            sha, size, data = self.objects[name]
            if data:
                return httpx.Response(200, content=data)
            return httpx.Response(200, content=make_payload(size, "application/octet-stream"))
        return httpx.Response(404, json={"message": "Not Found"})

    def _stored(self, name: str, data: bytes, status: int) -> httpx.Response:
        sha = hashlib.sha256(data).hexdigest()
        self.objects[name] = (sha, len(data), data)
        return httpx.Response(status, json={"sha": sha, "url": f"http://storage.test/get/{name}"})


def _uploader(store: FakeStore) -> Uploader:
    catalog = Catalog.model_validate(CATALOG)
    client = BackendClient(
        "serverless", "http://api.test", transport=httpx.MockTransport(store.handler)
    )
    spec = catalog.checks.boundary
    assert spec is not None
    return Uploader(client, catalog, spec, {"thingId": "t1", "run_id": "r"})


def test_direct_upload_is_streamed_hashed_and_verified() -> None:
    store = FakeStore(direct_limit=5 * MiB)
    up = _uploader(store)
    ok = up.direct(1 * MiB)
    assert ok.accepted and ok.intact, ok
    assert (
        ok.sent_sha256 == hashlib.sha256(make_payload(MiB, "application/octet-stream")).hexdigest()
    )
    assert ok.downloaded_sha256 == ok.sent_sha256 and ok.downloaded_size == MiB
    assert store.seen[0][1] == "/things/t1/files"
    refused = up.direct(6 * MiB, download=False)
    assert refused.rejected and refused.gateway and refused.status == 413


def test_presigned_upload_streams_with_content_length() -> None:
    store = FakeStore(direct_limit=0)
    outcome = _uploader(store).presigned(3 * MiB)
    assert outcome.intact, outcome
    assert outcome.step == "complete" and outcome.stored_sha256 == outcome.sent_sha256
    put = next(h for m, p, h in store.seen if m == "PUT")
    assert put["content-length"] == str(3 * MiB) and "authorization" not in put


class RefusingStore(FakeStore):
    """Refuses one step of the presigned flow with the answer given."""

    def __init__(self, step: str, status: int, body: Any) -> None:
        super().__init__(direct_limit=0)
        self.step, self.status, self.body = step, status, body

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/" + self.step):
            return httpx.Response(self.status, json=self.body)
        return super().handler(request)


@pytest.mark.parametrize(
    ("step", "status", "body", "gateway"),
    [
        ("presign", 413, {"message": "Request Entity Too Large"}, True),
        ("complete", 400, {"error": {"code": "VALIDATION_ERROR"}}, False),
    ],
)
def test_a_refused_presigned_step_decides_the_outcome(
    step: str, status: int, body: Any, gateway: bool
) -> None:
    outcome = _uploader(RefusingStore(step, status, body)).presigned(3 * MiB)
    assert not outcome.accepted and (outcome.step, outcome.status) == (step, status)
    assert outcome.gateway is gateway and outcome.body == body
    assert (outcome.sent_sha256 is not None) is (step == "complete")
