"""A pytest plugin for the json-server pair's suite run: the candidate put back to the seed
before each test of the families that write what the suite cannot undo.

json-server-py applies whatever method it is sent to whatever path (a PUT or DELETE on a
collection replaces or removes it, a PUT of an unknown id creates it, an id in a PATCH body
moves the item: JS-39, JS-41, JS-45, JS-46 in ``examples/json-server/differences.md``). The
probes send exactly such requests (a method the route lacks, an empty route parameter:
``PUT /posts/``), and the generated writes send ids in bodies; each one is a real
difference, but what it leaves behind would make every later cell of the run differ for
its sake. So before each test of the modules named in ``PARITY_PAIR_RESET`` the candidate's
database is put back to the seed over HTTP, the way it would put back anything: a PUT of
every seeded collection and of the profile, a DELETE of every top-level key the seed lacks
(``GET /`` lists them: the candidate answers the whole database there, JS-08). The
reference is not touched: it refuses those requests, and the suite's teardowns undo what
it accepts.

Before the first such test both databases are read (``GET /db`` on the reference, ``GET /``
on the candidate) into the snapshot file, so the pair's test can check that the families
run before (which undo all they do) left both as the seed.

Loaded by ``tests/outside/test_json_server_pair.py`` with ``-p tests.outside.pair_reset``;
``PARITY_PAIR_RESET`` is a JSON object: ``{"seed": <db.json>, "snapshot": <file>,
"modules": [<test file names>]}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = ["reset_candidate"]

_ENV = "PARITY_PAIR_RESET"
_TIMEOUT = 10.0


def reset_candidate(base_url: str, seed: dict[str, Any]) -> None:
    """Put json-server-py's database back to ``seed`` through its own API."""
    with httpx.Client(base_url=base_url, timeout=_TIMEOUT) as client:
        for key, value in seed.items():
            client.put(f"/{key}", json=value).raise_for_status()
        now = client.get("/").json()
        for extra in sorted(set(now) - set(seed)) if isinstance(now, dict) else []:
            client.delete(f"/{extra}").raise_for_status()


def _databases(express: str, serverless: str) -> dict[str, Any]:
    with httpx.Client(timeout=_TIMEOUT) as client:
        return {
            "express": client.get(f"{express}/db").json(),
            "serverless": client.get(f"{serverless}/").json(),
        }


class _Reset:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.seed: dict[str, Any] = json.loads(Path(spec["seed"]).read_text(encoding="utf-8"))
        self.snapshot = Path(spec["snapshot"])
        self.modules = set(spec["modules"])
        self.express = os.environ["PARITY_EXPRESS_URL"]
        self.serverless = os.environ["PARITY_SERVERLESS_URL"]
        self.resets = 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.path.name not in self.modules:
            return
        if not self.snapshot.exists():
            databases = _databases(self.express, self.serverless)
            self.snapshot.write_text(json.dumps(databases), encoding="utf-8")
        reset_candidate(self.serverless, self.seed)
        self.resets += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(f"pair_reset: candidate put back to the seed {self.resets}x")


def pytest_configure(config: pytest.Config) -> None:
    raw = os.environ.get(_ENV)
    if raw:
        config.pluginmanager.register(_Reset(json.loads(raw)), "parity-pair-reset")
