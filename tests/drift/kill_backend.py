"""A pytest plugin for the "backend dies mid-run" self-test: after
``PARITY_TEST_KILL_AFTER`` tests it SIGKILLs the sandbox (``PARITY_SANDBOX_PID``, a process
the self-test started itself), so the rest of the run meets a dead backend."""

from __future__ import annotations

import os
import signal
import time

_done = {"tests": 0, "killed": False}


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _done["tests"] += 1
    after = int(os.environ.get("PARITY_TEST_KILL_AFTER", "0") or 0)
    if _done["killed"] or not after or _done["tests"] < after:
        return
    pid = int(os.environ["PARITY_SANDBOX_PID"])
    os.kill(pid, signal.SIGKILL)
    _done["killed"] = True
    time.sleep(0.5)  # let the kernel close its listening sockets
