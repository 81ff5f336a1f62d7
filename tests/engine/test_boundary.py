"""parity.checks.boundary and parity.core.payloads streaming: bisection, thresholds, multipart
bodies, hashing streams, upload judgement and the presigned flow against a fake backend."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import httpx
import pytest

from parity.checks.boundary import (
    HashingStream,
    MemoryPeak,
    Probe,
    Uploader,
    UploadOutcome,
    bisect_ceiling,
    human_size,
    judge_upload,
    multipart_stream,
    safe_threshold,
    size_label,
)
from parity.core.catalog import Catalog
from parity.core.payloads import iter_payload, make_payload, streamable
from parity.engine.client import BackendClient

KiB, MiB = 1024, 1024 * 1024


def _limit_probe(limit: int, calls: list[int]) -> Any:
    def probe(size: int) -> Probe:
        calls.append(size)
        return Probe(size, size <= limit, 201 if size <= limit else 413, size > limit)

    return probe


@pytest.mark.parametrize("limit", [1, 64 * KiB, 4_716_400, 10 * MiB, 52_428_800 - 300, 63 * MiB])
def test_bisection_finds_the_ceiling_within_the_precision(limit: int) -> None:
    calls: list[int] = []
    result = bisect_ceiling(_limit_probe(limit, calls), 64 * MiB, 64 * KiB)
    assert result.rejected is not None
    assert result.accepted <= limit < result.rejected
    assert result.rejected - result.accepted == 64 * KiB
    assert all(c % (64 * KiB) == 0 for c in calls)  # on the grid: stable answers
    assert len(calls) <= math.ceil(math.log2(64 * MiB / (64 * KiB))) + 1
    assert [p.size for p in result.probes] == calls


def test_bisection_stops_when_the_top_is_accepted() -> None:
    calls: list[int] = []
    result = bisect_ceiling(_limit_probe(100 * MiB, calls), 12 * MiB, 64 * KiB)
    assert calls == [12 * MiB]
    assert result.above_range and result.accepted == 12 * MiB
    assert "at least 12 MiB" in result.describe()


def test_bisection_rejects_a_bad_range() -> None:
    with pytest.raises(ValueError):
        bisect_ceiling(_limit_probe(1, []), 10, 64)


def test_safe_threshold_keeps_a_margin_on_the_grid() -> None:
    assert safe_threshold([4_653_056, 52_363_264], 64 * KiB, 64 * KiB) == 4_587_520
    assert safe_threshold([100], 64 * KiB, 64 * KiB) == 0


def test_sizes_read_well() -> None:
    assert human_size(9 * MiB) == "9 MiB (9,437,184 B)"
    assert human_size(4_653_056) == "4.44 MiB (4,653,056 B)"
    assert human_size(512) == "512 B"
    assert size_label(11_534_336) == "11MiB" and size_label(64 * KiB) == "64KiB"
    assert size_label(1000) == "1000B"


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


def _outcome(backend: str, accepted: bool, status: int, **kw: Any) -> UploadOutcome:
    return UploadOutcome(
        backend, "direct", 9 * MiB, status, "upload", accepted, kw.pop("gateway", False), **kw
    )


def test_judge_upload() -> None:
    express = _outcome("express", True, 201, sent_sha256="a", downloaded_sha256="a")
    refused = _outcome(
        "serverless", False, 413, gateway=True, body={"message": "Request Entity Too Large"}
    )
    [diff] = judge_upload(refused, must_accept=True, reference=express)
    assert diff.path == "direct.9MiB" and diff.origin == "gateway" and diff.kind == "status"
    assert "express accepts it" in diff.note and "413" in diff.note
    # the plan alone: above the limit a clean 413 is fine, a 400 is not
    assert judge_upload(refused, must_accept=False) == []
    odd = _outcome("serverless", False, 400, body={"status": "error"})
    assert judge_upload(odd, must_accept=False)[0].origin == "application"
    # accepted but stored differently: an application finding
    bad = _outcome("serverless", True, 201, sent_sha256="a", problems=["the stored object differs"])
    [diff] = judge_upload(bad, must_accept=True, reference=express)
    assert diff.path == "direct.9MiB.sha256" and diff.origin == "application"
    # more permissive than the reference is a difference too
    strict = _outcome("express", False, 413)
    assert judge_upload(express, must_accept=False, reference=strict)[0].kind == "status"


def test_memory_peak_measures_allocations() -> None:
    with MemoryPeak() as peak:
        block = bytearray(8 * MiB)
        del block
    assert peak.traced_peak >= 8 * MiB


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
