"""Locust user mix shaped like real use of the MOC Instructions API.

Run it through ``parity load`` (which starts the sandbox when no URL is given, fetches
tokens and writes ``reports/load-<backend>.json``), or by hand::

    PARITY_LOAD_TOKEN_ALICE=... locust -f load/locustfile.py --host http://127.0.0.1:3000

The mix: anonymous browsers (most of the traffic: gallery pages, search, MOC details),
logged-in users (browsing too, plus wishlist edits, their profile and the odd image
upload). Requests are named by route template (``GET /api/mocs/{mocId}``), so the figures
group per endpoint the way the parity matrix does.

Environment (set by ``parity load``; tokens live only in the environment, never in files):

``PARITY_LOAD_TOKEN_<ROLE>``
    an ID token per logged-in role (``ALICE``, ``BOB``); none = no logged-in users run.
``PARITY_LOAD_AUTH_HEADER`` / ``PARITY_LOAD_AUTH_TEMPLATE``
    header name and value template (default ``Authorization`` / ``Bearer {token}``).
``PARITY_LOAD_WRITES``
    ``0`` leaves out uploads and wishlist edits (read-only mix, e.g. on production).
``PARITY_LOAD_FAILURES_FILE``
    where to write the run's final error list (JSON) when it quits (master or single
    process only); ``parity load`` turns it into failure counts per status code.
``PARITY_LOAD_WAIT``
    think time between a user's tasks in seconds, ``MIN-MAX`` (default ``0.5-2``) or one
    number; ``0`` = none, every user sends its next request as soon as the last one is
    answered (``parity load --think-time 0``): a few seconds then give hundreds to thousands
    of requests, enough to tell a 5 % error rate from 2 %.

What a user creates it deletes again; a failed delete (an error under test) is retried, and
whatever is still left is retried once more when the user stops.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import struct
import zlib
from typing import Any

from locust import HttpUser, between, constant, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

from parity.load import DEFAULT_THINK_TIME, FAILURES_ENV, THINK_TIME_ENV, parse_think_time

SEARCH_TERMS = ("castle", "technic", "ship", "city", "train", "parity")
THEMES = ("Castle", "Technic", "City", "Space")


def _png(width: int = 32, height: int = 32) -> bytes:
    """A valid solid-colour RGB PNG (the API sniffs the type and size from the header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xc8\x30\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()

_TOKENS = {
    key[len("PARITY_LOAD_TOKEN_") :].lower(): value
    for key, value in os.environ.items()
    if key.startswith("PARITY_LOAD_TOKEN_") and value
}
_ROLES = itertools.cycle(sorted(_TOKENS) or [""])
# every name the mix creates carries "parity <run id>", so `parity cleanup --run-id` finds
# what an interrupted run left behind
_RUN_ID = os.environ.get("PARITY_RUN_ID") or secrets.token_hex(4)
_HEADER = os.environ.get("PARITY_LOAD_AUTH_HEADER", "Authorization")
_TEMPLATE = os.environ.get("PARITY_LOAD_AUTH_TEMPLATE", "Bearer {token}")
_WRITES = os.environ.get("PARITY_LOAD_WRITES", "1") not in ("0", "false", "no")
_WAIT = parse_think_time(os.environ.get(THINK_TIME_ENV, DEFAULT_THINK_TIME), THINK_TIME_ENV)
DELETE_TRIES = 3


@events.init.add_listener
def _write_failures_on_quit(environment: Environment, **_: Any) -> None:
    path = os.environ.get(FAILURES_ENV)
    if not path or isinstance(environment.runner, WorkerRunner):
        return  # workers hand their errors to the master, which writes the merged list

    def write(**_: Any) -> None:
        assert environment.runner is not None
        errors = list(environment.runner.stats.serialize_errors().values())
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(errors, fh)

    environment.events.quit.add_listener(write)


def _ids(response: Any) -> list[str]:
    try:
        data = response.json().get("data")
    except Exception:
        return []
    items = data.get("items", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        return []
    return [i["id"] for i in items if isinstance(i, dict) and "id" in i]


class Browser(HttpUser):
    """Shared browsing behaviour: gallery pages, search, a MOC's details."""

    abstract = True
    wait_time = constant(_WAIT[0]) if _WAIT[0] == _WAIT[1] else between(*_WAIT)
    moc_ids: list[str]

    def on_start(self) -> None:
        self.moc_ids = []

    @task(5)
    def gallery(self) -> None:
        query: dict[str, Any] = {"page": random.randint(1, 3), "limit": 20}
        if random.random() < 0.3:
            query["theme"] = random.choice(THEMES)
        with self.client.get(
            "/api/mocs", params=query, name="GET /api/mocs", catch_response=True
        ) as r:
            if r.status_code == 200:
                self.moc_ids = _ids(r) or self.moc_ids
                r.success()

    @task(3)
    def search(self) -> None:
        self.client.get(
            "/api/mocs/search",
            params={"q": random.choice(SEARCH_TERMS)},
            name="GET /api/mocs/search",
        )

    @task(3)
    def moc_details(self) -> None:
        if not self.moc_ids:
            return self.gallery()
        self.client.get(f"/api/mocs/{random.choice(self.moc_ids)}", name="GET /api/mocs/{mocId}")

    @task(1)
    def stats(self) -> None:
        self.client.get("/api/mocs/stats", name="GET /api/mocs/stats")


class AnonymousVisitor(Browser):
    """Most of the traffic: people browsing the gallery without logging in."""

    weight = 3


class LoggedInUser(Browser):
    """A logged-in builder: browses, edits the wishlist, sometimes uploads an image."""

    weight = 1 if _TOKENS else 0

    leftovers: list[tuple[str, str]]

    def on_start(self) -> None:
        super().on_start()
        self.leftovers = []
        role = next(_ROLES)
        token = _TOKENS.get(role, "")
        self.client.headers[_HEADER] = _TEMPLATE.format(token=token)

    def on_stop(self) -> None:
        leftovers, self.leftovers = self.leftovers, []
        for path, name in leftovers:
            self._delete(path, name, retry=True)

    def _delete(self, path: str, name: str, retry: bool = False) -> None:
        """Delete something this user created, trying up to DELETE_TRIES times.

        Every try is counted (a failed one is an error of the target). On a retry a 404 is
        success: the failed try may have deleted it before failing."""
        for attempt in range(DELETE_TRIES):
            with self.client.delete(path, name=name, catch_response=True) as r:
                if r.status_code == 200 or ((retry or attempt) and r.status_code == 404):
                    r.success()
                    return
        self.leftovers.append((path, name))

    @task(2)
    def profile(self) -> None:
        self.client.get("/api/users/me", name="GET /api/users/me")

    @task(2)
    def wishlist(self) -> None:
        self.client.get("/api/wishlist", name="GET /api/wishlist")

    @task(1)
    def my_images(self) -> None:
        self.client.get("/api/images", params={"limit": 20}, name="GET /api/images")

    @task(2)
    def wishlist_edit(self) -> None:
        if not _WRITES:
            return
        r = self.client.post(
            "/api/wishlist",
            json={"setNumber": "10294-1", "name": f"parity {_RUN_ID} load Titanic", "priority": 3},
            name="POST /api/wishlist",
        )
        ids = [r.json()["data"]["id"]] if r.status_code == 201 else []
        for item in ids:
            self.client.patch(
                f"/api/wishlist/{item}", json={"priority": 1}, name="PATCH /api/wishlist/{itemId}"
            )
            self._delete(f"/api/wishlist/{item}", "DELETE /api/wishlist/{itemId}")

    @task(1)
    def upload(self) -> None:
        if not _WRITES:
            return
        r = self.client.post(
            "/api/images",
            data={"title": f"parity {_RUN_ID} load image"},
            files={"file": (f"parity-{_RUN_ID}-load.png", PNG, "image/png")},
            name="POST /api/images",
        )
        if r.status_code == 201:
            image = r.json()["data"]["id"]
            self._delete(f"/api/images/{image}", "DELETE /api/images/{imageId}")
