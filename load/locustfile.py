"""Locust user mix built from the catalog: the simulated users and their tasks are the
catalog's ``checks.load`` (or, without one, its read-only scenarios at equal weight), run
through the engine (:mod:`parity.core.load_mix`); nothing about the API is written here.

Run it through ``parity load`` (which starts the sandbox when no URL is given, fetches
tokens and writes ``reports/load-<backend>.json``), or by hand::

    PARITY_LOAD_TOKEN_ALICE=... locust -f load/locustfile.py --host http://127.0.0.1:3000

Every request is named by its route template (``GET /things/{thingId}``), so the figures
group per endpoint the way the parity matrix does; an answer counts as a failure when its
status is not one the catalog expects.

Environment (set by ``parity load``; tokens live only in the environment, never in files):

``PARITY_CATALOG``
    the catalog (default: the settings' catalog, ``fixtures/catalog.yaml``).
``PARITY_LOAD_TOKEN_<ROLE>``
    a token per logged-in role of the mix (``ALICE``, ``POWER_USER``); a role without one
    runs none of the tasks that need it (unless ``PARITY_LOAD_AUTH_MODE`` is ``none``).
``PARITY_LOAD_AUTH_HEADER`` / ``PARITY_LOAD_AUTH_TEMPLATE`` / ``PARITY_LOAD_AUTH_MODE``
    header name and value template (default ``Authorization`` / ``Bearer {token}``), and
    the auth mode (``none``: the API needs no credentials).
``PARITY_LOAD_WRITES``
    ``0`` leaves out the tasks that write (a read-only mix, e.g. on production).
``PARITY_LOAD_FAILURES_FILE``
    where to write the run's final error list (JSON) when it quits (master or single
    process only); ``parity load`` turns it into failure counts per status code.
``PARITY_LOAD_PROGRESS_FILE``
    where to write how far the run is, every second (master or single process only):
    ``{"elapsed_s", "users", "requests", "failures", "p95_ms"}``, ``elapsed_s`` null until
    the users start; ``parity load`` prints it as a progress line every 2 s. Workers report
    to the master every second (Locust's default is 3 s) so that its figures keep up.
``PARITY_LOAD_WAIT``
    think time between a user's tasks in seconds, ``MIN-MAX`` (default ``0.5-2``) or one
    number; ``0`` = none, every user sends its next request as soon as the last one is
    answered (``parity load --think-time 0``): a few seconds then give hundreds to thousands
    of requests, enough to tell a 5 % error rate from 2 %.

What a user creates it deletes again; a failed delete (an error under test) is retried, and
whatever is still left is retried once more when the user stops.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import gevent
import locust.runners
from locust import HttpUser, between, constant, events
from locust.env import Environment
from locust.runners import WorkerRunner

from parity.checks.load import (
    DEFAULT_THINK_TIME,
    FAILURES_ENV,
    PROGRESS_ENV,
    THINK_TIME_ENV,
    parse_think_time,
)
from parity.core.catalog import load_catalog
from parity.core.config_model import role_env_key
from parity.core.load_mix import LoadAnswer, LoadRequest, Player, Task, UserKind, build_mix


def _catalog_path() -> Path:
    given = os.environ.get("PARITY_CATALOG")
    if given:
        return Path(given)
    from parity.core.config import Settings

    return Settings.load({}).catalog


_CATALOG = load_catalog(_catalog_path())
_MODE = os.environ.get("PARITY_LOAD_AUTH_MODE", "")
_TOKEN_PREFIX = "PARITY_LOAD_TOKEN_"
_TOKENS = {
    role: value
    for role in _CATALOG.roles
    if (value := os.environ.get(_TOKEN_PREFIX + role_env_key(role)))
}
# every name the mix creates carries the run id, so `parity cleanup --run-id` finds what an
# interrupted run left behind
_RUN_ID = os.environ.get("PARITY_RUN_ID") or secrets.token_hex(4)
_HEADER = os.environ.get("PARITY_LOAD_AUTH_HEADER", "Authorization")
_TEMPLATE = os.environ.get("PARITY_LOAD_AUTH_TEMPLATE", "Bearer {token}")
_WRITES = os.environ.get("PARITY_LOAD_WRITES", "1") not in ("0", "false", "no")
_WAIT = parse_think_time(os.environ.get(THINK_TIME_ENV, DEFAULT_THINK_TIME), THINK_TIME_ENV)
MIX = build_mix(
    _CATALOG,
    writes_allowed=_WRITES,
    usable=lambda role: _MODE == "none" or role in _TOKENS,
)
for _line in MIX.left_out:  # into Locust's log (parity load: load-<backend>.log)
    logging.getLogger("parity.checks.load").warning("left out of the mix: %s", _line)


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


# a worker's figures reach the master every second (Locust: 3 s), so the master's progress
# keeps up with parity load's line every 2 s; a worker reads this when it sends each report
locust.runners.WORKER_REPORT_INTERVAL = 1.0


@events.init.add_listener
def _write_progress_every_second(environment: Environment, **_: Any) -> None:
    path = os.environ.get(PROGRESS_ENV)
    if not path or isinstance(environment.runner, WorkerRunner):
        return  # the master has the merged figures
    started: list[float] = []
    environment.events.test_start.add_listener(lambda **_: started.append(time.monotonic()))

    def write() -> None:
        assert environment.runner is not None
        total = environment.stats.total
        n = total.num_requests
        doc = {
            "elapsed_s": round(time.monotonic() - started[0], 1) if started else None,
            "users": environment.runner.user_count,
            "requests": n,
            "failures": total.num_failures,
            "p95_ms": int(total.get_response_time_percentile(0.95) or 0) if n else None,
        }
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        os.replace(tmp, path)  # whole or not at all for the reader

    def every_second() -> None:
        while True:
            with contextlib.suppress(OSError):  # (the run's folder gone as it ends)
                write()
            gevent.sleep(1.0)

    gevent.spawn(every_second)


class CatalogUser(HttpUser):
    """A simulated user of one kind of the mix: its role (the kind's roles in turn), its
    tasks (the kind's, by weight), sent through Locust's HTTP client."""

    abstract = True
    wait_time = constant(_WAIT[0]) if _WAIT[0] == _WAIT[1] else between(*_WAIT)
    kind: ClassVar[UserKind]
    roles: ClassVar[Iterator[str | None]]
    player: Player

    def on_start(self) -> None:
        self.player = Player(
            _CATALOG, self.kind, next(self.roles), self._send,
            run_id=_RUN_ID, tokens=_TOKENS, auth_header=_HEADER, auth_template=_TEMPLATE,
        )  # fmt: skip

    def on_stop(self) -> None:
        self.player.stop()

    def _send(self, request: LoadRequest) -> LoadAnswer:
        files: Any = request.files
        if files is not None and not files:  # fields only, still multipart (as the runner)
            files = {k: (None, v) for k, v in (request.data or {}).items()}
            data = None
        else:
            data = request.data
        with self.client.request(
            request.method,
            request.path,
            name=request.name,
            params=request.params or None,
            json=request.json if request.has_json else None,
            data=request.content if request.content is not None else data,
            files=files,
            headers=request.headers,
            catch_response=True,
        ) as r:
            status = int(r.status_code or 0)
            if status == 0:  # no answer: Locust keeps the exception as the failure
                r.failure(r.error or "no answer")
                return LoadAnswer(0)
            if status in request.expected:
                r.success()
            else:
                want = ", ".join(map(str, request.expected[:4])) + (
                    "..." if len(request.expected) > 4 else ""
                )
                r.failure(f"HTTP {status}, expected {want}")
            try:
                body = r.json()
            except ValueError:
                body = None
            return LoadAnswer(status, body)


def _run(task: Task) -> Callable[[CatalogUser], None]:
    def run(user: CatalogUser) -> None:
        user.player.run(task)

    run.__name__ = task.id
    return run


def _class_name(kind: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", kind) if p) + "User"


# One Locust user class per kind of the mix, at the kind's weight; Locust finds them here.
for _kind in MIX.users:
    _roles: list[str | None] = list(_kind.roles) or [None]  # None: roles as the catalog says
    _cls = type(
        _class_name(_kind.name),
        (CatalogUser,),
        {
            "abstract": False,
            "weight": _kind.weight,
            "kind": _kind,
            "roles": itertools.cycle(_roles),
            "tasks": {_run(t): t.weight for t in _kind.tasks},
            "__module__": __name__,
        },
    )
    globals()[_cls.__name__] = _cls
# (Locust collects every user class it finds in the module: the loop's names would count twice)
del _cls, _kind, _roles
