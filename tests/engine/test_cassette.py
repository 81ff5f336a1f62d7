"""cassette.py: JSON Lines written redacted and streaming, read back streaming; a corrupt
line is an error naming the file and the line."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from parity.cassette import CassetteWriter, Recorded, cassette_files, read_cassette
from parity.errors import CassetteError, UsageError


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
