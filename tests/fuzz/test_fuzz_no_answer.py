"""A generated request one backend does not answer (a timeout, a dropped connection) is a
result of the Schemathesis family, never a traceback: a difference where the other backend
answers the same case, a not-testable note where neither does."""

from __future__ import annotations

import requests

from api_checks.test_fuzz_schemathesis import _no_answer, _Run
from parity.checks.fuzz import SingleOutcome

ANSWERED = (SingleOutcome(200), "serverless: HTTP 200, every check passed")


def test_no_answer_where_the_other_backend_answers_is_a_finding() -> None:
    run = _Run()
    _no_answer(run, requests.ReadTimeout("timed out"), curl="curl x", theirs=ANSWERED)
    (finding,) = run.findings
    assert finding.title == "no answer (ReadTimeout)" and finding.curl == "curl x"
    assert "the other backend answers otherwise: serverless: HTTP 200" in finding.message
    assert not run.unanswered


def test_no_answer_from_either_backend_is_no_finding() -> None:
    # the other backend did not answer either, or there is none (judged alone)
    run = _Run()
    _no_answer(run, requests.ConnectionError("refused"), curl="curl x", theirs=None)
    assert not run.findings
    assert run.unanswered == ["no answer (ConnectionError): curl x"]
