"""Diffs attached to Allure results (``pytest --alluredir=reports/allure-results``).

Attached inside the test, where Allure's listener lives (on the xdist worker); a no-op
when Allure is not active.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest

from parity.results import CheckResult

__all__ = ["allure_active", "attach_record"]


def allure_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "allure_report_dir", None))


def _pretty(response: dict[str, Any]) -> list[str]:
    head = [f"HTTP {response.get('status')}"]
    head += [f"{k}: {v}" for k, v in (response.get("headers") or {}).items()]
    if "json" in response:
        body = json.dumps(response["json"], indent=2, ensure_ascii=False, sort_keys=True)
    else:
        body = str(response.get("text") or "")
    return [*head, "", *body.splitlines()]


def side_by_side_diff(evidence: dict[str, Any]) -> str | None:
    """A unified diff of the reference's and the candidate's response, or None."""
    responses = evidence.get("responses") or {}
    ref, cand = str(evidence.get("reference")), str(evidence.get("candidate"))
    if ref not in responses or cand not in responses:
        return None
    lines = difflib.unified_diff(
        _pretty(responses[ref]), _pretty(responses[cand]), ref, cand, lineterm="", n=3
    )
    return "\n".join(lines)


def attach_record(record: CheckResult) -> None:
    """Attach the differences (JSON) and the response diff (text) of a judged record."""
    import allure

    evidence = record.evidence or {}
    title = f"{record.endpoint} {record.check} [{record.scenario or '-'}]: {record.state}"
    if evidence.get("differences") or record.state != "pass":
        payload = {
            "endpoint": record.endpoint,
            "check": record.check,
            "state": record.state,
            "origin": record.origin,
            "severity": record.severity,
            "summary": record.summary,
            "differences": evidence.get("differences", []),
            "noise": evidence.get("noise", []),
            "error": evidence.get("error"),
        }
        allure.attach(
            json.dumps(payload, indent=2, ensure_ascii=False, default=str),
            name=f"{title} - differences",
            attachment_type=allure.attachment_type.JSON,
        )
        diff = side_by_side_diff(evidence)
        if diff:
            allure.attach(
                diff, name=f"{title} - response diff", attachment_type=allure.attachment_type.TEXT
            )
