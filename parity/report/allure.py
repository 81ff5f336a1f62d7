"""Allure results (``pytest --alluredir=reports/allure-results``): the diffs of each
record, attached inside the test, where Allure's listener lives (on the xdist worker; a
no-op when Allure is not active), and one result per finding, written by the controller
when the run ends (:func:`write_findings`)."""

from __future__ import annotations

import difflib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from parity.core.results import CheckResult

__all__ = ["allure_active", "attach_record", "write_findings"]


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


def write_findings(findings: list[dict[str, Any]], alluredir: Path, stamp_ms: int) -> int:
    """One Allure test result per finding (beside the tests' own results), written by the
    controller at the end of the run: ``failed`` when open, ``passed`` when accepted or only
    reported, with the finding (JSON) and its baseline entries attached. Returns how many."""
    from allure_commons.logger import AllureFileLogger
    from allure_commons.model2 import Attachment, Label, Parameter, Status, StatusDetails
    from allure_commons.model2 import TestResult as AllureResult
    from allure_commons.types import AttachmentType

    logger = AllureFileLogger(alluredir, clean=False)
    for f in findings:
        name = f"{f['id']} {f['title']}"
        attachments = []
        for label, body, kind in (
            ("finding", json.dumps(f, indent=2, ensure_ascii=False, default=str),
             AttachmentType.JSON),
            ("baseline entries", f.get("baseline") or "", AttachmentType.TEXT),
        ):  # fmt: skip
            if not body:
                continue
            source = f"{uuid.uuid4()}-attachment.{kind.extension}"
            logger.report_attached_data(body, source)
            attachments.append(Attachment(name=label, source=source, type=kind.mime_type))
        where = ", ".join(f"{c['endpoint']} x {c['check']}" for c in f["cells"][:20])
        status = Status.FAILED if f["state"] == "open" else Status.PASSED
        result = AllureResult(
            uuid=str(uuid.uuid4()),
            # stable across runs: Allure's history follows a finding from run to run
            historyId=f["id"],
            testCaseId=f["id"],
            fullName=f"parity.engine.findings.{f['id']}",
            name=name,
            status=status,
            statusDetails=StatusDetails(message=f"{f['state']}: {f['action']}", trace=where),
            description=f"{f['action']}\n\nCells: {where}",
            start=stamp_ms,
            stop=stamp_ms,
            labels=[
                Label(name="suite", value="parity findings"),
                Label(name="severity", value=_ALLURE_SEVERITY.get(str(f["severity"]), "normal")),
                Label(name="tag", value=f["kind"]),
            ],
            parameters=[
                Parameter(name="endpoints", value=str(len(f["endpoints"]))),
                Parameter(name="cells", value=str(len(f["cells"]))),
            ],
            attachments=attachments,
        )
        logger.report_result(result)
    return len(findings)


_ALLURE_SEVERITY = {"breaking": "critical", "additive": "minor", "cosmetic": "trivial"}
