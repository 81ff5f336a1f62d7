"""Capture against a live sandbox with live Cognito tokens: the cassette and the inferred
contracts equal the committed ones byte for byte (two captures of an unchanged sandbox, in
other processes, ports, run ids and concurrency, write the same bytes), and no file
written holds a token, refresh token, password, e-mail or signature."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.cli.contracts import known_secrets
from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.engine.auth import TokenProvider
from parity.engine.capture import capture_catalog
from parity.engine.client import Backends
from parity.engine.har import import_har
from parity.engine.infer import build_contracts
from parity.engine.launcher import SandboxProcess
from tests.fakes import fake_signature

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "contracts" / "schemas"
CASSETTE = ROOT / "fixtures" / "cassettes" / "express.jsonl"
ROLES = ("alice", "bob", "admin")
SIGNATURE = fake_signature(6)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with SandboxProcess(tmp_path_factory.mktemp("capture") / "sandbox.env") as sb:
        yield sb


def _refresh_token(provider: TokenProvider, role: str) -> str | None:
    # The provider keeps the refresh token private; the test reads it to look for it.
    cached = getattr(provider, "_cache", {}).get(role)
    refresh = getattr(cached, "refresh", None)
    return refresh.reveal() if refresh is not None else None


def _leaky_catalog(path: Path, token: str, refresh: str, password: str) -> Path:
    """Scenarios that put every kind of secret into requests and (echoed) responses."""
    doc: dict[str, Any] = {
        "version": 1,
        "roles": ["anonymous", "alice"],
        "endpoints": [
            {
                "id": "wishlist.create",
                "method": "POST",
                "route": "/api/wishlist",
                "as": "alice",
                "scenarios": [
                    {
                        "name": "echoes-secrets",
                        "headers": {"Cookie": "sid=cookie-secret-123456"},
                        "json": {
                            "setNumber": "10294-1",
                            "name": "parity leak check",
                            "notes": f"mail alice@example.com, token {token}",
                            "imageUrl": f"https://s3.example.com/a.png?X-Amz-Signature={SIGNATURE}",
                        },
                        "expect": 201,
                        "creates": {
                            "save": {"itemId": "data.id"},
                            "delete": {
                                "as": "alice",
                                "method": "DELETE",
                                "path": "/api/wishlist/{itemId}",
                            },
                        },
                    },
                    {
                        "name": "secrets-in-body",
                        "json": {
                            "setNumber": "1-1",
                            "name": "x",
                            "idToken": token,
                            "refreshToken": refresh,
                            "password": password,
                        },
                        "expect": 400,
                    },
                ],
            }
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _har(path: Path, url: str, token: str, refresh: str) -> Path:
    entry = {
        "time": 5,
        "request": {
            "method": "GET",
            "url": f"{url}/api/users/me",
            "headers": [
                {"name": "Authorization", "value": f"Bearer {token}"},
                {"name": "Cookie", "value": "sid=cookie-secret-123456"},
            ],
        },
        "response": {
            "status": 200,
            "headers": [{"name": "Set-Cookie", "value": "sid=cookie-secret-123456; HttpOnly"}],
            "content": {
                "mimeType": "application/json",
                "text": json.dumps(
                    {
                        "status": "success",
                        "message": "ok",
                        "data": {
                            "idToken": token,
                            "refreshToken": refresh,
                            "email": "bob@example.com",
                            "avatarUrl": f"https://s3/x.png?X-Amz-Signature={SIGNATURE}",
                        },
                    }
                ),
            },
        },
    }
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}), encoding="utf-8")
    return path


def _paths(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _paths(value[key], f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, f"{path}[{index}]")
    else:
        yield path, value


def _differences(committed: Path, fresh: Path, limit: int = 20) -> list[str]:
    """What differs, record by record (the first differing values of each), for a reader."""
    old = committed.read_text(encoding="utf-8").splitlines()
    new = fresh.read_text(encoding="utf-8").splitlines()
    found = [f"{len(old)} committed records, {len(new)} recorded"] if len(old) != len(new) else []
    for was, now in zip(old, new, strict=False):
        if was == now:
            continue
        a, b = json.loads(was), json.loads(now)
        where = f"{b.get('endpoint')}/{b.get('scenario')}"
        if (a.get("endpoint"), a.get("scenario")) != (b.get("endpoint"), b.get("scenario")):
            found.append(f"{where}: recorded where {a.get('endpoint')}/{a.get('scenario')} was")
            continue
        left, right = dict(_paths(a)), dict(_paths(b))
        paths = sorted(p for p in left.keys() | right.keys() if left.get(p) != right.get(p))
        found += [f"{where}: {p}: {left.get(p)!r} -> {right.get(p)!r}"[:300] for p in paths[:3]]
    return found[:limit]


def test_capture_reproduces_the_cassette_and_contracts_and_writes_no_secret(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    settings = Settings.load(overrides={"backend": "express"}, environ={}).with_env(sandbox.env)
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    cassettes, leaks = tmp_path / "cassettes", tmp_path / "leaks"
    with Backends.from_settings(settings) as backends:
        client = backends["express"]
        report = capture_catalog(
            client,
            catalog,
            cassettes / "express.jsonl",
            run_id="live",
            concurrency=2,
            secrets=known_secrets(settings),
        )
        assert report.ok, report.failures + report.unexpected
        tokens = {role: client.auth.token(role) for role in ROLES}  # the ones just used
        refresh = {role: _refresh_token(client.auth, role) for role in ROLES}
        assert all(tokens.values()) and all(refresh.values())
        passwords = [u.password.reveal() for u in settings.users.values() if u.password]
        leaky = _leaky_catalog(
            tmp_path / "leaky.json", tokens["alice"], str(refresh["alice"]), passwords[0]
        )
        leak_report = capture_catalog(
            client,
            load_catalog(leaky),
            leaks / "express.jsonl",
            run_id="leak",
            secrets=known_secrets(settings),
        )
        assert leak_report.ok, leak_report.failures + leak_report.unexpected
    import_har(
        _har(tmp_path / "s.har", settings.express_url or "", tokens["bob"], str(refresh["bob"])),
        catalog,
        leaks / "har-s.jsonl",
    )

    # 1. the cassette of an unchanged backend is the committed one, byte for byte: it was
    # recorded by `parity capture` from another sandbox (another process, other ports,
    # another run id, serially), so everything a run varies is out of it
    differences = _differences(CASSETTE, cassettes / "express.jsonl")
    assert not differences, (
        "a fresh capture differs from fixtures/cassettes/express.jsonl (if the catalog or "
        "the sandbox changed, record it with `parity capture`, no URL: a fresh sandbox, "
        "and commit it):\n" + "\n".join(differences)
    )

    # ...and so are the contracts
    build_contracts(cassettes, tmp_path / "schemas", catalog=catalog)
    fresh = {
        p.relative_to(tmp_path / "schemas"): p.read_bytes()
        for p in (tmp_path / "schemas").rglob("*.json")
    }
    committed = {p.relative_to(COMMITTED): p.read_bytes() for p in COMMITTED.rglob("*.json")}
    assert sorted(map(str, fresh)) == sorted(map(str, committed)), (
        "run `parity capture && parity contracts` and commit contracts/"
    )
    changed = [str(p) for p in fresh if fresh[p] != committed[p]]
    assert not changed, f"contracts differ from a fresh capture: {changed}"
    build_contracts(leaks, tmp_path / "leak-schemas", catalog=catalog)

    # 2. no secret in anything written
    secrets = [
        *tokens.values(),
        *map(str, refresh.values()),
        *passwords,
        "cookie-secret-123456",
        SIGNATURE,
    ]
    secrets += [f"{role}@example.com" for role in ROLES]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json")]
    written = [p for p in written if p.name not in ("leaky.json",)]
    assert len(written) > 90
    hits = [
        f"{p.relative_to(tmp_path)}: {s[:12]}..."
        for p in written
        for s in secrets
        if s in p.read_text(encoding="utf-8")
    ]
    assert not hits, hits
    shapes = re.compile(
        r"eyJ[A-Za-z0-9_-]{8,}\.|X-Amz-Signature=(?!\[redacted)|"
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}"
    )
    shaped = [str(p) for p in written if shapes.search(p.read_text(encoding="utf-8"))]
    assert not shaped, shaped
    # ...and the redaction was exercised, not vacuous
    leak_text = (leaks / "express.jsonl").read_text(encoding="utf-8")
    for placeholder in (
        "[redacted:jwt]",
        "[redacted:email]",
        "[redacted:cookie]",
        "[redacted:token]",
        "[redacted:secret]",
        "[redacted:signature]",
    ):
        assert placeholder in leak_text, placeholder
