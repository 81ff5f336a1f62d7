"""redact_files.py: a Playwright trace or HAR holds no secret once redacted, and still opens."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.core import vault
from parity.core.redact_files import redact_file
from tests.fakes import fake_jwt
from tests.hardening.secret_scan import scan

PASSWORD = "Zq7sWmY2kLp0RtXvAa1!"
JWT = fake_jwt({"sub": "abc", "email": "alice@example.com"}, {"alg": "RS256", "kid": "k1"})
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture(autouse=True)
def _password_known() -> Iterator[None]:
    vault.forget_all()
    vault.remember(PASSWORD)  # as Settings does for every configured user
    yield
    vault.forget_all()


def _trace(path: Path) -> None:
    """The members a failed login flow's trace.zip holds (shapes as Playwright writes them)."""
    events = [
        {"type": "before", "method": "fill", "params": {"selector": "#pw", "value": PASSWORD}},
        {
            "type": "resource-snapshot",
            "snapshot": {
                "request": {
                    "headers": [{"name": "authorization", "value": f"Bearer {JWT}"}],
                    "postData": {"text": json.dumps({"AuthParameters": {"PASSWORD": PASSWORD}})},
                },
                "response": {"content": {"text": '{"email": "alice@example.com"}'}},
            },
        },
    ]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("trace.trace", "\n".join(json.dumps(e) for e in events) + "\n")
        archive.writestr("resources/abc.dat", json.dumps({"PASSWORD": PASSWORD, "IdToken": JWT}))
        archive.writestr("resources/shot.png", PNG)


def test_a_trace_is_redacted_member_by_member_and_stays_readable(tmp_path: Path) -> None:
    trace = tmp_path / "trace.zip"
    _trace(trace)
    secrets = {"password": {PASSWORD}, "token": {JWT}}
    assert scan([trace], secrets), "the planted trace must hold the secrets"

    assert redact_file(trace) is True
    assert not scan([trace], secrets), scan([trace], secrets)
    with zipfile.ZipFile(trace) as archive:
        assert archive.namelist() == ["trace.trace", "resources/abc.dat", "resources/shot.png"]
        events = [json.loads(line) for line in archive.read("trace.trace").splitlines()]
        assert events[0]["params"]["value"] == "[redacted:secret]"
        assert json.loads(archive.read("resources/abc.dat"))["IdToken"] == "[redacted:jwt]"
        assert archive.read("resources/shot.png") == PNG  # binary members as they were
    assert redact_file(trace) is False  # nothing left to redact: the file is not rewritten


def test_a_har_is_redacted_in_place(tmp_path: Path) -> None:
    har = tmp_path / "flow.har"
    entry = {
        "request": {"postData": {"text": json.dumps({"PASSWORD": PASSWORD})}},
        "response": {"content": {"text": json.dumps({"AccessToken": JWT})}},
    }
    har.write_text(json.dumps({"log": {"entries": [entry]}}))
    assert redact_file(har) is True
    assert not scan([har], {"password": {PASSWORD}, "token": {JWT}})
    assert json.loads(har.read_text())["log"]["entries"][0]["request"]["postData"]["text"]


def test_a_clean_file_is_left_alone(tmp_path: Path) -> None:
    clean = tmp_path / "notes.har"
    clean.write_text('{"log": {"entries": []}}')
    before = clean.stat().st_mtime_ns
    assert redact_file(clean) is False
    assert clean.stat().st_mtime_ns == before
