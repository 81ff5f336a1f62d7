"""cassette.py: JSON Lines written redacted and streaming, read back streaming; a corrupt
line is an error naming the file and the line. stable.py: a capture writes the stable form,
the same bytes for two captures of an unchanged backend."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import secrets
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.core.catalog import load_catalog
from parity.core.errors import CassetteError, UsageError
from parity.engine.capture import capture_catalog
from parity.engine.cassette import CassetteWriter, Recorded, cassette_files, read_cassette
from parity.engine.cleanup import run_marker
from parity.engine.client import BackendClient
from parity.engine.infer import FORMAT_PATTERNS
from parity.engine.stable import RUN_ID, Stabiliser, catalog_literals

ROOT = Path(__file__).resolve().parents[2]


def _record(n: int = 0, **extra: object) -> Recorded:
    return Recorded(
        backend="express",
        method="GET",
        route="/api/mocs/{mocId}",
        status=200,
        url=f"http://127.0.0.1:9000/api/mocs/{n:08d}-0000-4000-8000-000000000000",
        endpoint="mocs.get",
        scenario="existing",
        role="alice",
        expected=[200],
        request={"headers": {"authorization": "Bearer abc.def"}, "body": None},
        response={
            "headers": {"content-type": "application/json"},
            "json": {"status": "success", "message": "ok", "data": {"n": n, "title": "t" * 40}},
            "text": None,
        },
        **extra,  # type: ignore[arg-type]
    )


def test_round_trip_is_redacted_and_ordered(tmp_path: Path) -> None:
    path = tmp_path / "express.jsonl"
    with CassetteWriter(path) as writer:
        writer.write(_record(1))
        writer.write(_record(2))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(ln)["v"] == 1 for ln in lines)
    records = list(read_cassette(path))
    assert [r.body["data"]["n"] for r in records] == [1, 2]
    assert records[0].request["headers"]["authorization"] == "[redacted:token]"
    assert records[0].key == "GET /api/mocs/{mocId}" and records[0].is_json


def test_an_interrupted_write_leaves_no_cassette(tmp_path: Path) -> None:
    path = tmp_path / "express.jsonl"
    with pytest.raises(RuntimeError), CassetteWriter(path) as writer:
        writer.write(_record())
        raise RuntimeError("capture interrupted")
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_blank_lines_are_skipped_and_files_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_text("\n" + _record(5).to_line() + "\n\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert [p.name for p in cassette_files(tmp_path)] == ["a.jsonl", "b.jsonl"]
    assert [r.body["data"]["n"] for r in read_cassette(tmp_path / "b.jsonl")] == [5]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"backend": "express", "method": "GET"', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (
            '{"backend": "express", "method": "GET", "route": "/x", "response": {}}',
            "missing status",
        ),
        (
            '{"backend": "e", "method": "GET", "route": "/x", "status": 42, "response": {}}',
            "not an HTTP status",
        ),
        (
            '{"backend": "e", "method": "GET", "route": "/x", "status": 200, "response": {},'
            ' "v": 9}',
            "format version",
        ),
    ],
)
def test_a_corrupt_line_names_the_file_and_the_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "express.jsonl"
    good = _record().to_line()
    path.write_text(f"{good}\n{good}\n{line}\n{good}\n", encoding="utf-8")
    reader = read_cassette(path)
    next(reader), next(reader)  # the good lines before it are read fine: streaming
    with pytest.raises(CassetteError) as info:
        next(reader)
    message = str(info.value)
    assert message.startswith(f"{path}: line 3: ")
    assert problem in message and "parity capture" in message
    assert isinstance(info.value, UsageError)  # the CLI exits 2


def test_a_missing_cassette_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="cannot open the cassette"):
        list(read_cassette(tmp_path / "nope.jsonl"))


def test_a_large_cassette_streams_with_flat_memory(tmp_path: Path) -> None:
    # 30,000 exchanges, three times the memory bound on disk; `make bench` streams 100,000
    # (10k and 100k at the same peak RSS), so this test need not pay for that here.
    path = tmp_path / "big.jsonl"
    count = 30_000
    with CassetteWriter(path) as writer:
        tracemalloc.start()
        try:  # the writer holds one line at a time (traced for the first 2,000: speed)
            for n in range(2_000):
                writer.write(_record(n))
            _, write_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # the other lines as the writer would write them, without the per-line
    # redaction (proven above): only the reading is under test from here on
    template = _record(0).to_line().replace('"Bearer abc.def"', '"[redacted:token]"')
    assert '"n":0,' in template
    with path.open("a", encoding="utf-8") as handle:
        for n in range(2_000, count):
            handle.write(template.replace('"n":0,', f'"n":{n},') + "\n")
    assert path.stat().st_size > 15 * 1024 * 1024  # three times the bound below
    tracemalloc.start()
    try:
        seen = total = 0
        for record in read_cassette(path):
            seen += 1
            total += record.body["data"]["n"]
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count and total == count * (count - 1) // 2
    assert write_peak < 5 * 1024 * 1024, write_peak
    assert read_peak < 5 * 1024 * 1024, read_peak


# --- the stable form (parity/engine/stable.py) ---------------------------------------------------

STABLE_CATALOG = """\
version: 1
roles: [anonymous]
resources:
  thing:
    create: {method: POST, path: /things, json: {title: "parity {run_id} thing", slug: "{unique}"}}
    save: {thingId: id}
    delete: {method: DELETE, path: "/things/{thingId}"}
endpoints:
  - id: health
    method: GET
    route: /health
    scenarios: [{name: default, expect: 200}]
  - id: things.create
    method: POST
    route: /things
    scenarios:
      - name: created
        json: {title: "parity {run_id} created", slug: "{unique}", file: "parity-{run_id}-a.pdf"}
        expect: 201
        creates: {save: {thingId: id}, delete: {method: DELETE, path: "/things/{thingId}"}}
  - id: things.get
    method: GET
    route: /things/{thingId}
    scenarios:
      - {name: existing, uses: [thing], params: {thingId: "{thingId}"}, expect: 200}
      - {name: unknown, params: {thingId: 00000000-0000-4000-8000-000000000001}, expect: 404}
  - id: things.list
    method: GET
    route: /things
    scenarios:
      - {name: first, expect: 200}
      - {name: second, query: {page: 2}, expect: 200}
"""


class _FakeApi:
    """An API whose answers carry everything a real one varies per run: random ids,
    times of creation, request ids, its own port in URLs, ETags, uptime."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.things: dict[str, dict[str, object]] = {}
        self.clock = clock or (lambda: datetime.now(UTC))
        self.started = time.monotonic()
        self.port = random.randint(20000, 60000)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        time.sleep(random.random() / 200)  # parallel reads finish in any order
        path, now = request.url.path, self.clock()
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        status = 200
        body: Any = None
        if path == "/health":
            uptime = round(time.monotonic() - self.started + 1, 3)
            body = {
                "uptime": uptime,
                "builtAt": "2024-06-01T10:00:00.000Z",
                "startedAt": 1717236000,
            }
        elif path == "/things" and request.method == "POST":
            sent = json.loads(request.content)
            key = str(uuid.uuid4())
            self.things[key] = {
                **sent,
                "id": key,
                "createdAt": stamp,
                "expiresAt": int(now.timestamp()) + 900,
                "url": f"http://127.0.0.1:{self.port}/files/{key}/{sent['slug']}.pdf",
                "signed": f"https://s3.test/x?X-Amz-Date={now:%Y%m%dT%H%M%S}Z&X-Amz-Expires=900",
            }
            status, body = 201, self.things[key]
        elif path == "/things" and request.method == "GET":
            # no "now" in a read: two parallel reads may share a millisecond in one
            # run and not in the next (see parity/engine/stable.py on values equal by chance)
            body = {"items": list(self.things.values())}
        elif path.startswith("/things/"):
            key = path.rsplit("/", 1)[1]
            thing = self.things.pop(key) if request.method == "DELETE" else self.things.get(key)
            status = 404 if thing is None else 200
            body = thing or {"message": f"no thing {key}"}
        text = json.dumps(body, separators=(",", ":"))
        digest = base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()[:27]
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Date": formatdate(usegmt=True),
            "X-Request-Id": str(uuid.uuid4()),
            "apigw-requestid": base64.b64encode(os.urandom(9)).decode(),
            "ETag": f'W/"{len(text):x}-{digest}"',
        }
        return httpx.Response(status, text=text, headers=headers)


def _capture(
    tmp_path: Path,
    name: str,
    run_id: str,
    concurrency: int = 1,
    clock: Callable[[], datetime] | None = None,
) -> Path:
    catalog_file = tmp_path / "stable-catalog.yaml"
    catalog_file.write_text(STABLE_CATALOG, encoding="utf-8")
    api = _FakeApi(clock)
    client = BackendClient(
        "express", f"http://127.0.0.1:{api.port}", transport=httpx.MockTransport(api)
    )
    out = tmp_path / name / "express.jsonl"
    report = capture_catalog(
        client, load_catalog(catalog_file), out, run_id=run_id, concurrency=concurrency
    )
    assert report.ok, report.failures + report.unexpected
    return out


def test_two_captures_of_an_unchanged_backend_are_byte_identical(tmp_path: Path) -> None:
    # other ports, ids, times, request ids, run ids (of another length), concurrency
    first = _capture(tmp_path, "one", run_id=secrets.token_hex(4))
    second = _capture(tmp_path, "two", run_id="live", concurrency=3)
    assert first.read_bytes() == second.read_bytes()
    # a fast backend: every resource created within one second (equal times by chance)
    frozen = datetime.now(UTC)
    third = _capture(tmp_path, "three", run_id="fast", clock=lambda: frozen)
    assert third.read_bytes() == first.read_bytes()
    raw = _capture_raw(tmp_path)
    assert raw != first.read_text(encoding="utf-8")  # there was something to stabilise


def _capture_raw(tmp_path: Path) -> str:
    catalog_file = tmp_path / "stable-catalog.yaml"
    api = _FakeApi()
    client = BackendClient(
        "express", f"http://127.0.0.1:{api.port}", transport=httpx.MockTransport(api)
    )
    out = tmp_path / "raw" / "express.jsonl"
    capture_catalog(client, load_catalog(catalog_file), out, run_id="raw", stable=False)
    return out.read_text(encoding="utf-8")


def test_surrogates_keep_each_values_format(tmp_path: Path) -> None:
    path = _capture(tmp_path, "one", run_id="c0ffee42")
    records = {(r.endpoint, r.scenario): r for r in read_cassette(path)}
    lines = path.read_text(encoding="utf-8").splitlines()
    assert not any('"elapsed_ms"' in line for line in lines)
    assert all(r.elapsed_ms == 0.0 for r in records.values())
    created = records["things.create", "created"]
    thing = created.body
    assert FORMAT_PATTERNS["uuid"].fullmatch(thing["id"])
    assert uuid.UUID(thing["id"]).version == 4  # still a version-4 UUID
    # milliseconds and zone kept, in a decade no capture ran in
    assert re.fullmatch(r"200\d-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", thing["createdAt"])
    assert FORMAT_PATTERNS["date-time"].fullmatch(thing["createdAt"])
    assert isinstance(thing["expiresAt"], int) and len(str(thing["expiresAt"])) == 10  # epoch
    assert re.search(r"X-Amz-Date=200\d{5}T\d{6}Z&", thing["signed"])  # ISO 8601 basic
    # the run id: the suite's tags still recognised, as parity cleanup looks for them
    marker = run_marker(RUN_ID)
    assert thing["title"] == "parity 00000000 created" and marker.search(thing["title"])
    assert marker.fullmatch(thing["slug"]) and re.fullmatch(r"p00000000[0-9a-f]{4}", thing["slug"])
    assert created.request["body"]["json"]["file"] == "parity-00000000-a.pdf"
    assert "c0ffee42" not in path.read_text(encoding="utf-8")
    # volatile headers
    headers = created.response["headers"]
    assert headers["date"] == "Sat, 01 Jan 2000 00:00:00 GMT"
    assert FORMAT_PATTERNS["uuid"].fullmatch(headers["x-request-id"])
    assert re.fullmatch(r"\d{12}", headers["apigw-requestid"])
    assert "user-agent" not in created.request["headers"]
    port = re.fullmatch(r"127\.0\.0\.1:(\d+)", created.request["headers"]["host"])
    assert port is not None and port.group(1) == "10001"  # five digits, like the original
    assert created.url == "http://127.0.0.1:10001/things"
    # content length and Express ETag describe the body as recorded
    text = json.dumps(thing, separators=(",", ":"))
    assert headers["etag"].startswith(f'W/"{len(text):x}-')
    health = records["health", "default"].body
    assert isinstance(health["uptime"], float)  # a float still
    # what the backend had before the capture (seeds, a build) is history: kept
    assert health["builtAt"] == "2024-06-01T10:00:00.000Z" and health["startedAt"] == 1717236000


def test_the_same_value_gets_the_same_surrogate_everywhere(tmp_path: Path) -> None:
    records = {(r.endpoint, r.scenario): r for r in read_cassette(_capture(tmp_path, "a", "r1"))}
    existing = records["things.get", "existing"]
    thing_id = existing.body["id"]
    # the id saved from the set-up answer is in the request's URL and in every URL of the body
    assert existing.url == f"http://127.0.0.1:10001/things/{thing_id}"
    assert existing.body["url"].startswith(f"http://127.0.0.1:10001/files/{thing_id}/")
    # ...and the unique value sent is the one echoed
    assert existing.body["url"].endswith(f"/{existing.body['slug']}.pdf")
    listed = records["things.list", "first"].body["items"]
    assert listed == []  # the scenarios' resources are gone: nothing to list
    # a value the catalog spells out is the request's, not the run's: kept
    unknown = records["things.get", "unknown"]
    assert unknown.url.endswith("/things/00000000-0000-4000-8000-000000000001")
    assert unknown.body["message"] == "no thing 00000000-0000-4000-8000-000000000001"
    # different values, different surrogates
    created = records["things.create", "created"].body
    assert created["id"] != thing_id and created["createdAt"] != existing.body["createdAt"]


def test_a_long_run_id_is_replaced_where_it_stands_alone() -> None:
    body = {"slug": "moc-c0ffee42", "note": "c0ffee42x and xc0ffee42 are other words"}
    out = Stabiliser(run_id="c0ffee42").value(body)
    assert out == {"slug": "moc-00000000", "note": "c0ffee42x and xc0ffee42 are other words"}
    # a short one could be a word: only the suite's tags carry it
    short = Stabiliser(run_id="live").value({"a": "parity live x", "b": "live, alive"})
    assert short == {"a": "parity 00000000 x", "b": "live, alive"}


def test_redaction_runs_before_the_surrogates(tmp_path: Path) -> None:
    # A secret containing a volatile part: were the surrogates made first, the secret
    # would no longer match and the rest of it would be written.
    stamp = "2026-12-04T01:49:02.119Z"
    secret = f"key-{stamp}-{uuid.uuid4()}"
    record = replace(
        _record(7),
        request={
            "headers": {"authorization": "Bearer x", "x-note": f"sent {secret}"},
            "body": {"json": {"password": secret, "note": f"mail a@example.com at {stamp}"}},
        },
    )
    path = tmp_path / "express.jsonl"
    with CassetteWriter(path, secrets=[secret], stabiliser=Stabiliser(run_id="r")) as writer:
        writer.write(record)
    text = path.read_text(encoding="utf-8")
    assert "key-" not in text and "example.com" not in text
    (line,) = read_cassette(path)
    assert line.request["headers"]["x-note"] == "sent [redacted:secret]"
    body = line.request["body"]["json"]
    assert body["password"] == "[redacted:secret]"
    assert re.fullmatch(r"mail \[redacted:email\] at 200\d-\S+\.000Z", body["note"])


def test_the_committed_cassette_is_in_the_stable_form() -> None:
    # Cheap and without a sandbox: what tests/contracts/test_capture_live.py proves by
    # capturing again, checked here on the file as committed.
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    kept = catalog_literals(catalog)
    path = ROOT / "fixtures" / "cassettes" / "express.jsonl"
    text = path.read_text(encoding="utf-8")
    assert '"elapsed_ms"' not in text and '"user-agent"' not in text
    for found in re.finditer(
        r"[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", text
    ):
        uid = found.group(0)
        assert uid.startswith("00000000-") or found.group(1) in "35" or uid in kept, uid
    stamps = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z", text)
    surrogates = [s for s in stamps if s.startswith("200")]
    assert surrogates and all(s < "2025" for s in stamps)  # else the sandbox's seeds, 2024
    assert set(re.findall(r"127\.0\.0\.1:(\d+)", text)) <= {"10001", "10002", "10003"}
    assert set(re.findall(r'"date":"([^"]*)"', text)) == {"Sat, 01 Jan 2000 00:00:00 GMT"}
    tags = re.findall(r"parity[ -]([0-9a-f]{8})\b", text)
    assert tags and set(tags) == {RUN_ID}
    records = list(read_cassette(path))
    assert [(r.endpoint, r.scenario) for r in records] == [
        (c.endpoint.id, c.scenario.name) for c in catalog.cases()
    ], "the cassette is not the catalog's: record it with `parity capture` (a fresh sandbox)"
