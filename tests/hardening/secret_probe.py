"""A pytest plugin the secrets test loads into the demo's check run
(``PYTEST_ADDOPTS=-p tests.hardening.secret_probe``): it writes every credential the checks
actually sent (the value of each auth header) and every presigned-URL signature they were
handed to ``PARITY_SECRET_PROBE``, a file outside the reports directory, so the test can
look for exactly those values in what the run wrote. Test-only; does nothing unless that
variable is set."""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import httpx
import pytest

from parity.engine.client import BackendClient

_SIGNATURE = re.compile(r"X-Amz-Signature=([0-9a-fA-F]{16,})")
_lock = threading.Lock()


def pytest_configure(config: pytest.Config) -> None:
    target = os.environ.get("PARITY_SECRET_PROBE")
    if not target:
        return
    original = BackendClient.request

    def request(self: BackendClient, *args: Any, **kwargs: Any) -> httpx.Response:
        response = original(self, *args, **kwargs)
        lines = []
        header = response.request.headers.get(self.auth.settings.header)
        if header:
            lines.append(f"token\t{header.split(' ', 1)[-1]}")
        if "X-Amz-Signature=" in response.text:
            lines += [f"signature\t{s}" for s in _SIGNATURE.findall(response.text)]
        if lines:
            with _lock, open(target, "a", encoding="utf-8") as fh:
                fh.writelines(line + "\n" for line in lines)
        return response

    BackendClient.request = request  # type: ignore[method-assign]
