"""Findings: records grouped by cause across endpoints and checks, each with what to do and
the baseline entries that accept it (loaded back with :func:`parity.engine.baseline.load_baseline`
to prove they are ready to paste)."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema

from parity.core.results import CheckResult
from parity.engine.baseline import load_baseline
from parity.engine.diff import Difference
from parity.engine.findings import findings_line, findings_summary
from parity.engine.matrix import MATRIX_SCHEMA, build_matrix, load_matrix, write_json
from parity.engine.symptoms import records_of

TODAY = date(2026, 6, 1)
ENVELOPE = {"status": "success", "message": "OK", "data": {"id": "x", "pieceCount": 1}}


def diff(path: str, kind: str, expected: Any, actual: Any, **kw: Any) -> dict[str, Any]:
    severity = kw.pop("severity", "additive" if kind == "added" else "breaking")
    return {"path": path, "kind": kind, "expected": expected, "actual": actual,
            "severity": severity, "origin": kw.pop("origin", "application"),
            "accepted_by": kw.pop("accepted_by", None), "note": kw.pop("note", "")}  # fmt: skip


def differential(
    endpoint: str,
    check: str,
    diffs: list[dict[str, Any]],
    *,
    status: tuple[int, int] = (200, 200),
    bodies: tuple[Any, Any] = (ENVELOPE, ENVELOPE),
    scenario: str = "default",
    state: str | None = None,
) -> CheckResult:
    evidence = {
        "responses": {
            "express": {"status": status[0], "headers": {}, "json": bodies[0]},
            "serverless": {"status": status[1], "headers": {}, "json": bodies[1]},
        },
        "reference": "express",
        "candidate": "serverless",
        "differences": diffs,
    }
    open_ = [d for d in diffs if not d.get("accepted_by")]
    verdict = state or ("drift" if open_ else "accepted" if diffs else "pass")
    return CheckResult(endpoint, check, verdict, f"{len(diffs)} difference(s)",  # type: ignore[arg-type]
                       scenario=scenario, origin="application" if diffs else None,
                       severity="breaking" if diffs else None, evidence=evidence)  # fmt: skip


def contract(endpoint: str, violations: list[dict[str, Any]], status: int = 200) -> CheckResult:
    return CheckResult(
        endpoint, "contract", "drift", "violations", backend="serverless", scenario="default",
        origin="application", severity="breaking",
        evidence={"status": status, "shape": "envelope", "violations": violations},
    )  # fmt: skip


def findings(records: list[CheckResult], **kw: Any) -> list[dict[str, Any]]:
    return build_matrix(records, generated_at=None, **kw)["findings"]


def open_findings(records: list[CheckResult]) -> list[dict[str, Any]]:
    return [f for f in findings(records) if f["state"] == "open"]


# --- grouping ------------------------------------------------------------------------------


def test_one_status_pair_on_many_endpoints_and_checks_is_one_finding() -> None:
    records = [
        differential(e, "status", [diff("status", "status", 401, 403)], status=(401, 403))
        for e in ("GET /api/a", "GET /api/b", "PATCH /api/a/{id}")
    ]
    records.append(CheckResult("GET /api/c", "auth", "drift", "403", backend="serverless",
                               scenario="expired", evidence={"differences": [
                                   diff("status", "status", 401, 403)]}))  # fmt: skip
    (only,) = open_findings(records)
    assert only["title"] == "status 401 becomes 403" and only["kind"] == "status"
    # in the matrix's row order
    assert only["endpoints"] == ["GET /api/a", "PATCH /api/a/{id}", "GET /api/b", "GET /api/c"]
    assert only["checks"] == ["auth", "status"] and len(only["cells"]) == 4
    assert only["severity"] == "breaking" and only["origin"] == "application"


def test_a_rename_seen_by_the_envelope_and_the_contract_and_a_crashed_flow_is_one_finding() -> None:
    records = [
        differential("GET /api/mocs", "envelope", [
            diff("data.items[0].pieceCount", "removed", 5, "(absent)"),
            diff("data.items[0].piece_count", "added", "(absent)", 5),
            diff("data.items[1].pieceCount", "removed", 7, "(absent)"),
            diff("data.items[1].piece_count", "added", "(absent)", 7)]),
        differential("GET /api/mocs/{mocId}", "envelope", [
            diff("data.pieceCount", "removed", 5, "(absent)"),
            diff("data.piece_count", "added", "(absent)", 5)]),
        contract("GET /api/mocs", [{
            "path": "data.items[*].pieceCount", "problem": "missing", "keyword": "required",
            "expected": "present (a required field)", "origin": "application",
            "actual": "absent (the object has an unexpected 'piece_count': renamed?)"}]),
        CheckResult("FLOW /moc-lifecycle", "smoke-flow", "error", "crashed", backend="serverless",
                    evidence={"error": "JsonPathError: data.pieceCount: no 'pieceCount'"}),
    ]  # fmt: skip
    (only,) = open_findings(records)
    assert only["title"] == "pieceCount renamed to piece_count" and only["kind"] == "renamed"
    assert set(only["checks"]) == {"contract", "envelope", "smoke-flow"}
    assert only["related"] and "seen by this check too" in only["related"][0]
    assert "old name" in only["action"]


def _fuzz_verdict(endpoint: str, body: dict[str, Any], verdict: str) -> CheckResult:
    """A fuzz record as parity.checks.fuzz writes it: the body it sent, quoted in its
    summary and in its curl line, then what was seen (its differences stay nested)."""
    sent = json.dumps(body, separators=(",", ":"))
    curl = f"curl -sS -i -X POST http://127.0.0.1:8001/labels --data-raw '{sent}'"
    return CheckResult(endpoint, "fuzz", "drift", f"minimal body {body!r} -> {verdict} "
                       f"(reproduce: {curl})", scenario="generated", origin="application",
                       severity="breaking", evidence={
                           "body": body, "curl": {"serverless": curl},
                           "request": {"method": "POST", "path": "/labels",
                                       "body": json.dumps(body)}})  # fmt: skip


def test_a_verdict_joins_a_finding_on_what_it_saw_not_on_a_key_it_sent() -> None:
    name_added = differential("PUT /profile", "probe:body",
                              [diff("name", "added", "(absent)", "typicode")])  # fmt: skip
    headers = 'headers: 1 difference(s): cache-control: header-removed "no-cache" -> "(absent)"'
    # the fuzz verdict is on a header; 'name' is only the key of the body it posted
    wrong = _fuzz_verdict("POST /labels", {"name": "parity label"}, headers)
    by_title = {f["title"]: f for f in open_findings([name_added, wrong])}
    assert [c["check"] for c in by_title["name added"]["cells"]] == ["probe:body"]
    assert "related" not in by_title["name added"]
    (verdict,) = [f for f in by_title.values() if f["kind"] == "verdict"]
    assert verdict["cells"] == [{"endpoint": "POST /labels", "check": "fuzz",
                                 "scenarios": ["generated"], "states": ["drift"]}]  # fmt: skip
    # a verdict naming the field in its own words still joins, whatever body it sent
    right = _fuzz_verdict("POST /labels", {"name": "parity label"},
                          "flow: no 'name' in the answer")  # fmt: skip
    (only,) = open_findings([name_added, right])
    assert only["title"] == "name added"
    assert {c["check"] for c in only["cells"]} == {"fuzz", "probe:body"}
    assert only["related"] and "seen by this check too" in only["related"][0]


def test_a_missing_route_explains_every_difference_of_its_answers() -> None:
    gateway = {"message": "Not Found"}
    kw: dict[str, Any] = {"status": (200, 404), "bodies": (ENVELOPE, gateway)}
    # origins as the checks judged them with the catalog's gateway (its answer: all gateway)
    records = [
        differential("GET /api/stats", "status",
                     [diff("status", "missing-endpoint", 200, 404, origin="gateway")], **kw),
        differential("GET /api/stats", "headers", [diff("cache-control", "header-removed",
                                                        "max-age=30", "(absent)",
                                                        origin="gateway")], **kw),
        differential("GET /api/stats", "envelope", [
            diff("data", "removed", {}, "(absent)", origin="gateway"),
            diff("status", "removed", "success", "(absent)", origin="gateway")], **kw),
        CheckResult("GET /api/stats", "contract", "drift", "gateway", backend="serverless",
                    evidence={"status": 404, "shape": "gateway", "violations": [{
                        "path": "$", "problem": "gateway-originated", "keyword": "gateway",
                        "expected": "status 200", "actual": '{"message": "Not Found"}',
                        "origin": "gateway"}]}),
    ]  # fmt: skip
    (only,) = open_findings(records)
    assert only["kind"] == "missing-endpoint" and only["origin"] == "gateway"
    assert only["checks"] == ["contract", "envelope", "headers", "status"]


def test_without_a_declared_gateway_an_express_not_found_is_the_application_s() -> None:
    """An API without a gateway (json-server, httpbin: envelope none): the differences of a
    ``{"message": "Not Found"}`` answer were judged the application's, and stay so; the
    body's shape alone makes no gateway answer of it."""
    not_found = {"message": "Not Found"}
    records = [
        # the candidate answers Express's 404 where the reference serves the route
        differential("GET /posts/{id}", "status", [diff("status", "status", 200, 404)],
                     status=(200, 404), bodies=({"id": 1}, not_found)),
        # the reference answers it, the candidate another text
        differential("GET /users/{id}", "envelope",
                     [diff("message", "value", "Not Found", "No user")], status=(404, 404),
                     bodies=(not_found, {"message": "No user"})),
    ]  # fmt: skip
    found = open_findings(records)
    assert len(found) == 2 and {f["origin"] for f in found} == {"application"}
    assert {f["kind"] for f in found} == {"status", "value"}


def test_removals_in_one_error_answer_are_one_shape_change_across_checks() -> None:
    bodies = ({"status": "error", "message": "x", "data": None, "error": {"code": "NOT_FOUND"}},
              {"message": "x"})  # fmt: skip
    records = [
        differential(f"GET /api/{r}/{{id}}", "envelope", [
            diff("data", "removed", None, "(absent)"),
            diff("error", "removed", {"code": "NOT_FOUND"}, "(absent)"),
            diff("status", "removed", "error", "(absent)")], status=(404, 404), bodies=bodies)
        for r in ("mocs", "albums")
    ] + [
        CheckResult("GET /api/mocs/{id}", "errors", "drift", "no code", backend="serverless",
                    scenario="404", evidence={"response": {"status": 404, "body": bodies[1]},
                    "differences": [diff("$", "body", "an error envelope", bodies[1]),
                                    diff("error.code", "value", "NOT_FOUND", "(absent)")]}),
    ]  # fmt: skip
    (only,) = open_findings(records)
    assert only["title"] == "the answer loses data, error, status on 404 answers"
    assert only["checks"] == ["envelope", "errors"]


def test_different_causes_stay_apart() -> None:
    records = [
        differential("GET /api/a", "envelope", [diff("data.page", "value", 1, 0)]),
        differential("GET /api/b", "envelope", [diff("data.page", "value", 3, 2)]),  # same
        differential("GET /api/c", "envelope", [diff("data.total", "type", 3, "3")]),
        differential("GET /api/d", "envelope", [diff("message", "value", "Got", "Fetched",
                                                     severity="cosmetic")]),
        differential("GET /api/e", "headers",
                     [diff("content-type", "header-changed", "application/json", "text/plain")]),
        # a removal in a success answer is not an error answer's shape change
        differential("GET /api/f", "envelope", [diff("data.albumId", "removed", None, "(absent)")]),
        differential("GET /api/g", "envelope", [diff("data", "removed", None, "(absent)")],
                     status=(404, 404)),
    ]  # fmt: skip
    titles = sorted(f["title"] for f in open_findings(records))
    assert titles == sorted([
        "page differs: n -> n-1", "total changes type: number -> string",
        'message differs: "Got" -> "Fetched"',
        "content-type header application/json becomes text/plain",
        "albumId missing (the reference sends null)", "data missing (the reference sends null)",
    ])  # fmt: skip
    page = next(f for f in open_findings(records) if f["title"].startswith("page"))
    assert page["endpoints"] == ["GET /api/a", "GET /api/b"]


def test_a_dead_backend_is_one_finding_whatever_the_check_and_port() -> None:
    records = [
        CheckResult(e, c, "error", "x", scenario="s", evidence={
            "error": f"express backend at http://127.0.0.1:{port} unreachable: connection "
                     f"refused ({n} attempts)"})
        for e, c, port, n in (("GET /api/a", "status", 9000, 3), ("GET /api/b", "contract",
                                                                  9001, 2))
    ]  # fmt: skip
    (only,) = open_findings(records)
    assert only["kind"] == "error" and only["checks"] == ["contract", "status"]
    assert only["baseline"] is None or "[[accept]]" not in only["baseline"]


def test_accepted_and_spelling_findings_do_not_fail_and_come_last() -> None:
    gateway = (
        {"status": "error", "message": "Unauthorized", "data": None},
        {"message": "Unauthorized"},
    )
    records = [
        differential("GET /api/a", "envelope",
                     [diff("status", "removed", "error", "(absent)", accepted_by="auth-401",
                           origin="gateway")], status=(401, 401), bodies=gateway),
        differential("GET /api/a", "status", [diff("status", "status", 200, 201)],
                     status=(200, 201)),
        CheckResult("GET /api/b", "headers", "pass", "same", scenario="s", evidence={
            "noise": [{"path": "header content-type", "source": "normalised", "kind": "spelling",
                       "values": ["application/json; charset=utf-8", "application/json"]}]}),
    ]  # fmt: skip
    found = findings(records)
    assert [f["state"] for f in found] == ["open", "reported", "accepted"]
    assert found[1]["severity"] == "cosmetic" and found[1]["kind"] == "header-normalised"
    assert found[2]["accepted_by"] == ["auth-401"] and found[2]["baseline"] is None
    assert found[2]["kind"] == "gateway-answer"
    counts = findings_summary(found)
    assert findings_line(counts) == "1 finding (1 breaking); 1 cosmetic note; 1 accepted"


def test_findings_do_not_depend_on_the_order_of_the_records() -> None:
    records = [
        differential(f"GET /api/{i % 3}", "envelope", [diff(f"data.f{i % 2}", "removed", 1,
                                                             "(absent)")], scenario=f"s{i}")
        for i in range(12)
    ]  # fmt: skip
    first = findings(records)
    random.Random(7).shuffle(records)
    again = findings(records)
    assert [f["id"] for f in first] == [f["id"] for f in again]
    assert first == again


# --- baseline entries ---------------------------------------------------------------------


def _differences(record: dict[str, Any]) -> list[tuple[Difference, int | None]]:
    ev = record["evidence"]
    status = None
    if isinstance(ev.get("responses"), dict):
        status = ev["responses"][ev["candidate"]]["status"]
    elif isinstance(ev.get("status"), int):
        status = ev["status"]
    raw = ev.get("differences") or ev.get("violations") or []
    return [(Difference(d["path"], "value", None, None, "breaking", d.get("origin") or
                        "application"), status) for d in raw]  # fmt: skip


def test_the_baseline_entries_load_and_accept_every_occurrence(tmp_path: Path) -> None:
    gateway = {"message": "Not Found"}
    records = [
        differential("GET /api/mocs/{id}", "envelope", [
            diff("data.pieceCount", "removed", 5, "(absent)"),
            diff("data.piece_count", "added", "(absent)", 5)]),
        differential("PATCH /api/mocs/{id}", "envelope", [
            diff("data.pieceCount", "removed", 5, "(absent)"),
            diff("data.piece_count", "added", "(absent)", 5)], status=(200, 200)),
        differential("GET /api/stats", "envelope", [
            diff("data", "removed", {}, "(absent)"), diff("message", "value", "OK", "Not Found"),
            diff("status", "removed", "success", "(absent)")], status=(200, 404),
            bodies=(ENVELOPE, gateway)),
        differential("GET /api/other", "envelope", []),
        contract("GET /api/mocs/{id}", [{"path": "data.pieceCount", "problem": "missing",
                                         "keyword": "required", "expected": "present",
                                         "actual": "absent", "origin": "application"}]),
    ]  # fmt: skip
    matrix = build_matrix(records)
    open_ = [f for f in matrix["findings"] if f["state"] == "open"]
    assert len(open_) == 2
    text = "version = 1\n\n" + "\n".join(f["baseline"] for f in open_)
    assert text.count("expires = 2") == text.count("[[accept]]") >= 3
    path = tmp_path / "parity-baseline.toml"
    path.write_text(text)
    baseline = load_baseline(path, required=True)
    rename = next(f for f in open_ if f["kind"] == "renamed")
    assert {e.endpoint for e in baseline.entries if e.id.startswith(rename["id"])} == {
        "* /api/mocs/*",
        "GET /api/mocs/{id}",
    }  # one pattern for both methods: no other row matches it
    for record in records_of(matrix["cells"]):
        if record["state"] not in ("drift", "missing"):
            continue
        for difference, status in _differences(record):
            entries = [
                e
                for e in baseline.entries
                if e.matches(record["endpoint"], record["check"], difference, status)
            ]
            assert entries, (record["endpoint"], record["check"], difference.path)
            assert all(not e.expired(date.today()) for e in entries)
    # and nothing on the endpoint no finding is about
    assert not [e for e in baseline.entries if e.in_scope("GET /api/other", "envelope")]


# --- the document -------------------------------------------------------------------------


def test_the_matrix_carries_findings_in_its_schema_and_a_v1_file_still_loads(
    tmp_path: Path,
) -> None:
    records = [differential("GET /api/a", "envelope", [diff("data.x", "removed", 1, "(absent)")])]
    doc = build_matrix(records)
    jsonschema.validate(doc, MATRIX_SCHEMA)
    assert doc["schema_version"] == 2 and doc["summary"]["findings"]["open"] == 1
    (f,) = doc["findings"]
    assert f["id"].startswith("F") and f["rank"] == 1 and f["first"]["endpoint"] == "GET /api/a"
    old = {k: v for k, v in doc.items() if k != "findings"}
    old["schema_version"] = 1
    old["summary"] = {k: v for k, v in doc["summary"].items() if k != "findings"}
    write_json(old, tmp_path / "old.json")
    loaded = load_matrix(tmp_path / "old.json")
    assert [x["id"] for x in loaded["findings"]] == [f["id"]]
    assert loaded["summary"]["findings"]["open"] == 1


# --- browser flows and load figures -------------------------------------------------------


def test_failed_browser_flows_are_findings_by_their_failure() -> None:
    records = [
        CheckResult(f"FLOW /{flow}", "browser-flow", "drift", "failed", backend=b,
                    scenario=flow, evidence={"error": f"the flow failed: AssertionError: "
                                             f"expected 1 card, got 0 (after {n} ms)"})
        for flow, b, n in (("browse", "serverless", 812), ("browse", "express", 640),
                           ("upload", "serverless", 95))
    ]  # fmt: skip
    (only,) = open_findings(records)
    assert only["kind"] == "flow" and only["endpoints"] == ["FLOW /browse", "FLOW /upload"]
    assert "browser flow failed" in only["action"]


def test_load_figures_become_findings_and_flags() -> None:
    from parity.engine.findings_load import load_findings

    overall = {"requests": 500, "failures": 20, "error_rate": 0.04, "p95_ms": 950.0}
    slow = {"backend": "serverless", "generated_at": "2026-06-01T11:00:00+00:00",
            "users": 5, "duration_s": 60, "overall": overall,
            "endpoints": [{"name": "GET /api/mocs", "p95_ms": 990.0}]}  # fmt: skip
    other = {**slow, "backend": "express", "users": 50, "overall": {"error_rate": 0.0}}
    meta = {"meta": {"run_id": "r", "started_at": "2026-06-01T12:00:00+00:00"}}
    found = load_findings(meta, {"serverless": slow, "express": other},
                          max_error_rate=0.02, p95_ms=600.0)  # fmt: skip
    titles = [f["title"] for f in found]
    assert any("do not belong to this run: made" in t for t in titles), titles
    assert "serverless error rate 4.00% under load (threshold 2.0%)" in titles
    assert "serverless p95 950 ms under load (threshold 600 ms)" in titles
    assert all(f["id"].startswith("L") and f["kind"] == "load" for f in found)
    p95 = next(f for f in found if "p95" in f["title"])
    assert p95["first"]["slowest"] == ["GET /api/mocs 990.0 ms"]
