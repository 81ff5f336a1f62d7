"""Redaction of what pytest itself writes: test reports and log records.

A failing check's text (an assertion that prints the answer, a Hypothesis falsifying
example, a Schemathesis failure) reaches the terminal, JUnit XML, Allure and the matrix
through the test report, so the report is rewritten where it is made, on the process that
ran the test (an xdist worker knows the tokens it minted; the controller does not):

- the exception's own text, which Allure reads from ``call.excinfo``;
- ``report.longrepr`` (the traceback pytest, JUnit and the matrix show), the captured
  output and logs (``report.sections``) and ``user_properties``.

Log records are redacted when they are made (a record factory), so ``--log-file``, live
logs and captured logs never hold a secret either. Each text goes through
:func:`parity.core.redact.redact_text`: by key, by shape and by every secret the run knows.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator
from typing import Any

import pytest

from parity.core.errors import InternalError, ParityError
from parity.core.redact import redact, redact_text

__all__ = ["ReportRedactor", "install_log_redaction"]


def _redact_exception(exc: BaseException) -> None:
    """Rewrite ``exc``'s message in place (its type and traceback stay)."""
    args = getattr(exc, "args", ())
    if args and any(isinstance(a, str) for a in args):
        exc.args = tuple(redact_text(a) if isinstance(a, str) else a for a in args)
    msg = getattr(exc, "msg", None)  # pytest.fail / skip outcomes keep their text here
    if isinstance(msg, str):
        with contextlib.suppress(AttributeError):  # a read-only attribute: keep it
            exc.msg = redact_text(msg)  # type: ignore[attr-defined]
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [redact_text(n) if isinstance(n, str) else n for n in notes]
    for inner in (exc.__cause__, exc.__context__):
        if inner is not None and inner is not exc:
            _redact_exception(inner)


def redact_report(report: pytest.TestReport) -> None:
    """Rewrite a test report's texts in place; untouched when nothing needed redacting."""
    if report.longrepr is not None:
        text = str(report.longrepr)
        clean = redact_text(text)
        if clean != text:  # keep pytest's own (coloured) rendering whenever it is clean
            if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
                path, line, reason = report.longrepr
                report.longrepr = (path, line, redact_text(str(reason)))
            else:
                report.longrepr = clean
    report.sections = [(title, redact_text(content)) for title, content in report.sections]
    report.user_properties = [(k, redact(v)) for k, v in report.user_properties]


def _one_line(report: pytest.TestReport, exc: BaseException) -> None:
    """A suite error (a backend that answered what the catalog says it cannot, a setting
    to fix) reads as its message, which names the backend, the URL and the fix: the
    traceback of the suite's own code would only bury it. Bugs keep their traceback."""
    if isinstance(exc, ParityError) and not isinstance(exc, InternalError):
        report.longrepr = f"{type(exc).__name__}: {exc}"


class ReportRedactor:
    """The pytest plugin object (registered by :mod:`parity.plugin.hooks`)."""

    # trylast: the innermost wrapper, so its rewrite happens before Allure's wrapper reads
    # the exception and before the report is logged (terminal, JUnit, xdist, the matrix).
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        if call.excinfo is not None:
            _redact_exception(call.excinfo.value)
        report: pytest.TestReport = yield
        if call.excinfo is not None and report.failed:
            _one_line(report, call.excinfo.value)
        redact_report(report)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.longrepr is not None:
            text = str(report.longrepr)
            clean = redact_text(text)
            if clean != text:
                report.longrepr = clean


def install_log_redaction() -> Callable[[], None]:
    """Redact every log record as it is made; returns the function that undoes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_parity_redacting", False):
        return lambda: None

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it as usual
            return record
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    factory._parity_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    return lambda: logging.setLogRecordFactory(previous)
