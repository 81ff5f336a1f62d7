"""An unreachable backend, said once and briefly (a matrix state, never a wall of tracebacks).

- Before any test runs, the controller probes each selected backend that has a URL (a
  backend the embedded sandbox will provide is checked when it starts) and prints one line
  per unreachable one: the backend, its URL, the reason and the fix. The probe's answer is
  kept, so :meth:`parity.plugin.session.ParityState.start` does not wait for it a second time.
- A test whose failure comes from a backend being unreachable (:class:`BackendUnreachable`
  for the backend's own URL, anywhere in the exception's chain) gets a one-line report
  instead of its traceback, and its own terminal category (``not judged``, letter ``U``),
  so pytest dumps neither the traceback nor the captured output; one short section at the
  end names the tests. The test still fails: the exit code is non-zero, JUnit carries the
  line, and its matrix cell is ``error`` with that reason (:mod:`parity.plugin.collect`).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from parity.core.config import BACKENDS, Settings
from parity.core.errors import BackendDown, BackendUnreachable
from parity.engine.client import BackendClient, ping

__all__ = [
    "CATEGORY",
    "REPORT_ATTR",
    "Reachability",
    "announce",
    "check_backend",
    "fix_hint",
    "refuse_if_down",
    "show_url",
    "unreachable_cause",
]

#: The terminal category (and final-line word) of a test not judged for that reason.
CATEGORY = "not judged"
#: The report attribute carrying the one line; a plain string, so xdist ships it as is.
REPORT_ATTR = "parity_unreachable"
#: Up to this many affected tests are listed one per line at the end; more are grouped by
#: file, so a whole unreachable run still fits on one screen (``-v`` lists every test).
LIST_LIMIT = 10

_PROBED = pytest.StashKey[dict[tuple[str, str], BackendUnreachable | None]]()
_ANNOUNCED = pytest.StashKey[set[tuple[str, str]]]()


def show_url(url: str) -> str:
    """``url`` without any ``user:password@`` (these lines reach the terminal and CI logs)."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def fix_hint(backend: str) -> str:
    return (
        f"Check the URL, start the backend, or pass --{backend}-url / PARITY_{backend.upper()}_URL"
    )


def check_backend(config: pytest.Config, name: str, url: str, timeout: float) -> str | None:
    """Why ``name`` at ``url`` cannot be reached (None when it answers), probed once per
    process: the controller's probe before the run and the session's start share it."""
    probed = config.stash.setdefault(_PROBED, {})
    key = (name, url)
    if key not in probed:
        try:
            ping(name, url, timeout=timeout)
            probed[key] = None
        except BackendUnreachable as exc:
            probed[key] = exc
    found = probed[key]
    return None if found is None else found.reason


def _upfront_line(name: str, url: str, reason: str) -> str:
    return (
        f"parity: {name} backend at {show_url(url)} is unreachable ({reason}): its checks "
        f"will not be judged. {fix_hint(name)}."
    )


def announce(config: pytest.Config, name: str, url: str, reason: str) -> None:
    """Print the up-front line for ``name`` once, past pytest's output capture (a line
    written from inside a fixture would otherwise land in the first failure's output)."""
    announced = config.stash.setdefault(_ANNOUNCED, set())
    if (name, url) in announced or hasattr(config, "workerinput"):
        return  # an xdist worker's terminal is nobody's: the controller says it up front
    announced.add((name, url))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capman = config.pluginmanager.get_plugin("capturemanager")
    quiet = capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()
    with quiet:
        reporter.ensure_newline()
        reporter.write_line(_upfront_line(name, url, reason), yellow=True)


def refuse_if_down(client: BackendClient) -> BackendClient:
    """``client``, unless it is already marked down: then the test is not run at all (its
    every request would fail at once, and its login could only add a second, misleading
    error), and fails with the one reason."""
    if client.down is not None:
        raise BackendDown(client.name, client.base_url, client.down, hint=fix_hint(client.name))
    return client


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        # an explicit cause, or the context unless the code hid it (``raise ... from None``)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )


def _same_url(a: str, b: str | None) -> bool:
    return b is not None and a.rstrip("/") == b.rstrip("/")


def unreachable_cause(exc: BaseException, settings: Settings) -> BackendUnreachable | None:
    """The :class:`BackendUnreachable` behind ``exc`` when it is about a backend's own URL
    (not, say, a storage URL the backend handed out: that is a finding about the backend)."""
    for inner in _chain(exc):
        if not isinstance(inner, BackendUnreachable) or inner.backend not in BACKENDS:
            continue
        if isinstance(inner, BackendDown) or _same_url(
            str(inner.url), settings.url_for(str(inner.backend))
        ):
            return inner
    return None


@dataclass
class _Affected:
    nodeid: str
    backend: str
    url: str
    reason: str


def _tests(count: int) -> str:
    return f"{count} test{'' if count == 1 else 's'}"


class Reachability:
    """The pytest plugin object (registered by :mod:`parity.plugin.hooks` in every process: the
    report is rewritten where the test ran, the summary is printed by the controller)."""

    def __init__(
        self, config: pytest.Config, settings_of: Callable[[pytest.Config], Settings | None]
    ) -> None:
        self.config = config
        self._settings = settings_of  # the session's settings (None before they resolve)
        self.affected: dict[str, _Affected] = {}
        self._header: list[str] = []

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = self.config
        settings = self._settings(config)
        if settings is None or hasattr(config, "workerinput") or config.option.collectonly:
            return  # a worker probes when its session starts the backends
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        in_header = reporter is not None and reporter.showheader and not reporter.no_header
        for name in settings.selected_backends:
            url = settings.url_for(name)
            if url is None:
                continue  # the embedded sandbox provides it; checked when it starts
            reason = check_backend(config, name, url, settings.timeout)
            if reason is None:
                continue
            if in_header:  # printed by pytest_report_header, just below
                config.stash.setdefault(_ANNOUNCED, set()).add((name, url))
                self._header.append(_upfront_line(name, url, reason))
            else:
                announce(config, name, url, reason)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return self._header

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        settings = self._settings(item.config)
        if call.excinfo is None or not report.failed or settings is None:
            return report
        cause = unreachable_cause(call.excinfo.value, settings)
        if cause is not None:
            url = show_url(str(cause.url))
            report.longrepr = f"{cause.backend} backend at {url} is unreachable ({cause.reason})"
            setattr(report, REPORT_ATTR, f"{cause.backend}\n{url}\n{cause.reason}")
        return report

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        if report.failed and getattr(report, REPORT_ATTR, None):
            return CATEGORY, "U", ("NOT JUDGED", {"red": True})
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        marked = getattr(report, REPORT_ATTR, None)
        parts = marked.split("\n", 2) if isinstance(marked, str) else []
        if report.failed and len(parts) == 3 and report.nodeid not in self.affected:
            self.affected[report.nodeid] = _Affected(report.nodeid, *parts)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.affected:
            return
        tr = terminalreporter
        tests = list(self.affected.values())
        tr.write_sep("=", f"{CATEGORY}: a backend is unreachable ({_tests(len(tests))})", red=True)
        groups: dict[tuple[str, str], list[_Affected]] = {}
        for test in tests:
            groups.setdefault((test.backend, test.url), []).append(test)
        for (backend, url), members in groups.items():
            reasons = Counter(t.reason for t in members).most_common()
            why = reasons[0][0]
            if len(reasons) > 1:  # e.g. refused at start-up, then marked down for the rest
                why += f"; and {len(reasons) - 1} other reason(s)"
            tr.write_line(
                f"{backend} backend at {url} ({why}): {_tests(len(members))}. {fix_hint(backend)}."
            )
            if len(tests) <= LIST_LIMIT:
                for test in members:
                    tr.write_line(f"  NOT JUDGED {test.nodeid}")
            else:
                files = Counter(t.nodeid.split("::", 1)[0] for t in members)
                for path, count in files.items():
                    tr.write_line(f"  {count} in {path}")
        more = "" if len(tests) <= LIST_LIMIT else "; -v lists every test on its own line"
        tr.write_line(f"each fails the run (an error cell in the matrix where it has one){more}")
