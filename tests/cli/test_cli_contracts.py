"""``parity capture`` and ``parity contracts`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from parity.engine.cassette import read_cassette

ROOT = Path(__file__).resolve().parents[2]
PARITY = [sys.executable, "-c", "from parity.cli.app import main; main()"]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    return subprocess.run(
        [*PARITY, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_contracts_check_says_the_committed_contracts_are_current() -> None:
    proc = _run("contracts", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 would change" in proc.stdout and "0 stale" in proc.stdout


def test_a_corrupt_cassette_line_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    cassette = tmp_path / "express.jsonl"
    good = (ROOT / "fixtures" / "cassettes" / "express.jsonl").read_text().splitlines()[0]
    cassette.write_text(f"{good}\n{{not json\n", encoding="utf-8")
    proc = _run("contracts", "--cassettes", str(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {cassette}: line 2: not valid JSON")
    assert "parity capture" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_missing_har_file_is_a_usage_error(tmp_path: Path) -> None:
    proc = _run("capture", "--har", str(tmp_path / "nope.har"), "--out", str(tmp_path))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"error: {tmp_path / 'nope.har'}: no such HAR file. Check the --har path."
    )


def test_capture_imports_a_har_file(tmp_path: Path) -> None:
    entry = {
        "request": {
            "method": "GET",
            "url": "http://127.0.0.1:9000/api/mocs/stats",
            "headers": [{"name": "Authorization", "value": "Bearer abc"}],
        },
        "response": {
            "status": 200,
            "headers": [],
            "content": {
                "mimeType": "application/json",
                "text": json.dumps({"status": "success", "message": "ok", "data": {"total": 1}}),
            },
        },
    }
    other = {**entry, "request": {"method": "GET", "url": "http://127.0.0.1:9000/app.js"}}
    har = tmp_path / "playwright session.har"
    har.write_text(json.dumps({"log": {"entries": [entry, other]}}), encoding="utf-8")
    proc = _run("capture", "--har", str(har), "--out", str(tmp_path / "cassettes"))
    assert proc.returncode == 0, proc.stderr
    assert "1 of 2 HAR entries" in proc.stdout and "GET /app.js" in proc.stdout
    records = list(read_cassette(tmp_path / "cassettes" / "har-playwright_session.jsonl"))
    assert [(r.endpoint, r.status) for r in records] == [("mocs.stats", 200)]
    assert records[0].request["headers"]["authorization"] == "[redacted:token]"


def test_capture_without_a_url_starts_the_sandbox(tmp_path: Path) -> None:
    catalog = tmp_path / "mini.yaml"
    catalog.write_text(
        "version: 1\nroles: [anonymous, alice]\nendpoints:\n"
        "  - {id: health, method: GET, route: /health, scenarios: [{name: default, expect: 200}]}\n"
        "  - id: me\n    method: GET\n    route: /api/users/me\n    as: alice\n"
        "    scenarios: [{name: default, expect: 200}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "cassettes"
    proc = _run(
        "capture",
        "--catalog",
        str(catalog),
        "--out",
        str(out),
        "--reports-dir",
        str(tmp_path / "reports"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 exchanges recorded" in proc.stdout
    records = list(read_cassette(out / "express.jsonl"))
    assert [(r.endpoint, r.status, r.role) for r in records] == [
        ("health", 200, "anonymous"),
        ("me", 200, "alice"),
    ]
    assert records[1].request["headers"]["authorization"] == "[redacted:token]"
    proc = _run(
        "contracts",
        "--catalog",
        str(catalog),
        "--cassettes",
        str(out),
        "--out",
        str(tmp_path / "schemas"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 schemas from 2 samples" in proc.stdout
    assert (tmp_path / "schemas" / "GET_api_users_me" / "200.json").is_file()
