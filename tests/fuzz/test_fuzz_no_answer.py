"""A generated request one backend does not answer (a timeout, a dropped connection) is a
result of the Schemathesis family, never a traceback: a difference where the other backend
answers the same case, a not-testable note where neither does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from api_checks.test_fuzz_schemathesis import _no_answer, _Other, _Run

OTHER = _Other("serverless", "http://other.test", {}, "")


@dataclass
class _Answer:
    status_code: int


class _Case:
    """Stands in for a schemathesis.Case: ``answers`` maps a base URL to a status, or to
    an exception to raise."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def call(self, *, base_url: str, headers: dict[str, str], timeout: float) -> _Answer:
        outcome = self.answers[base_url]
        if isinstance(outcome, Exception):
            raise outcome
        return _Answer(outcome)


def test_no_answer_where_the_other_backend_answers_is_a_finding() -> None:
    run = _Run()
    case = _Case({OTHER.url: 200})
    _no_answer(run, case, requests.ReadTimeout("timed out"), curl="curl x", other=OTHER)  # type: ignore[arg-type]
    (finding,) = run.findings
    assert finding.title == "no answer (ReadTimeout)" and finding.curl == "curl x"
    assert "serverless: HTTP 200" in finding.message
    assert not run.unanswered


def test_no_answer_from_either_backend_is_no_finding() -> None:
    run = _Run()
    case = _Case({OTHER.url: requests.ConnectionError("refused")})
    _no_answer(run, case, requests.ReadTimeout("timed out"), curl="curl x", other=OTHER)  # type: ignore[arg-type]
    assert not run.findings
    assert run.unanswered == ["no answer (ReadTimeout): curl x"]
    # judged alone (one backend selected): nothing to compare with either
    alone = _Run()
    _no_answer(alone, case, requests.ReadTimeout("t"), curl="curl y", other=None)  # type: ignore[arg-type]
    assert alone.unanswered == ["no answer (ReadTimeout): curl y"] and not alone.findings
