"""Findings: the differences of a run grouped by cause, across endpoints and checks.

A matrix cell says *where* something differs; a finding says *what* differs, everywhere it
shows, and what to do about it. Five drifts give five findings, however many cells each
one touches. Findings are built from the matrix's cells alone (each cell keeps every
record's verdict and evidence), so ``parity report`` and ``parity gate`` can rebuild them
from a matrix file.

**Symptoms.** Every judged record (``drift``, ``missing``, ``error``, ``accepted``, and a
``pass`` that carries normalised spellings) gives symptoms: one per difference it lists
(``evidence.differences``; a contract check's ``evidence.violations`` are read the same
way), or one for the record itself when it lists none (a crashed check, a consistency
verdict, a failed browser flow). Within one record:

- a status whose class changed (2xx against 4xx, a route the candidate lacks) explains
  every other difference of the same answer: the record is that one status symptom;
- an answer the gateway gave in its own shape where the reference answered through the
  application is one symptom (its missing envelope keys are consequences);
- a removed key and an added key of the same parent holding the same value are one
  rename; a root-level summary (``$``: "body") beside specific differences is dropped.

**Keys.** A symptom's key is its cause, independent of the endpoint and the check:

- status: the status pair (``401 -> 403``), or "no route on the candidate" for a gateway
  404 where the reference answered;
- a body difference: the field's name (``price``, whatever list it sits in), the kind
  (removed, added, type, value, order, format, ...), the expected-to-actual pattern (JSON
  types, the format of the values, a number's offset, a header's two values), the origin,
  and whether the answers were successes or errors;
- a record without differences: the check's verdict with numbers, ids and URLs blanked
  out (a dead backend is one finding however many cells it turned into errors).

**Grouping.** Symptoms with equal keys are one finding; so are the keys that appear
together as removals in one error answer (an envelope that lost ``status``, ``data`` and
``error`` together, whichever check noticed which of them). A record without differences
whose text names a field of exactly one finding (a flow that crashed on ``price``)
joins that finding as one more place it shows.

Each finding has an id stable across runs (a hash of its key), its endpoints and cells,
severity, origin, the first evidence, what to do, and the ``parity-baseline.toml``
entries that would accept it (:func:`baseline_toml`), ready to paste.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from parity.core.normalize import value_format
from parity.engine.diff import is_gateway_shaped

__all__ = [
    "ACCEPT_DAYS",
    "FINDING_STATES",
    "baseline_toml",
    "build_findings",
    "findings_line",
    "findings_summary",
    "records_of",
]

#: How long a pasted baseline entry accepts its finding before it fails again.
ACCEPT_DAYS = 30
#: ``open``: fails the run; ``accepted``: every occurrence is in the baseline; ``reported``:
#: shown, never failing (normalised spellings: same meaning, other bytes).
FINDING_STATES = ("open", "reported", "accepted")
_STATE_ORDER = {s: i for i, s in enumerate(FINDING_STATES)}
_SEVERITY_ORDER = {"breaking": 0, "additive": 1, "cosmetic": 2, None: 3}
_FAILING = frozenset({"drift", "missing", "error"})
_JUDGED = _FAILING | {"accepted"}
_ABSENT = "(absent)"
#: Checks whose baseline is applied with the candidate's status (``status = N`` in an
#: entry narrows it safely there; elsewhere an entry with a status would match nothing).
_STATUS_AWARE = frozenset({"status", "headers", "envelope", "contract"})
_SHOWN_DIFFS = 5


# --- records ------------------------------------------------------------------------------


def records_of(cells: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every record of ``cells`` as a flat dict with its endpoint, check and evidence (the
    cell's own evidence is its worst record's)."""
    out: list[dict[str, Any]] = []
    for cell in cells:
        records = cell.get("records") or [cell]
        for r in records:
            evidence = r.get("evidence")
            out.append(
                {
                    "endpoint": str(cell.get("endpoint")),
                    "check": str(cell.get("check")),
                    "state": r.get("state"),
                    "origin": r.get("origin"),
                    "severity": r.get("severity"),
                    "summary": str(r.get("summary") or ""),
                    "scenario": r.get("scenario"),
                    "backend": r.get("backend"),
                    "evidence": evidence
                    if isinstance(evidence, dict)
                    else cell.get("evidence") or {},
                }
            )
    return out


def _answers(record: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(reference answer, candidate answer) of a record as ``{"status", "body"}``, where the
    evidence has them (differential checks, catalog scenarios, error checks, contracts)."""
    ev = record["evidence"]
    responses = ev.get("responses")
    if isinstance(responses, dict):
        cand = responses.get(ev.get("candidate")) or responses.get(record.get("backend"))
        ref = responses.get(ev.get("reference"))
        if cand is None and len(responses) == 1:
            cand = next(iter(responses.values()))
        return _answer(ref), _answer(cand)
    response = ev.get("response")
    if isinstance(response, dict) and isinstance(response.get("status"), int):
        return None, _answer(response)
    if isinstance(ev.get("status"), int):  # a contract record: the answer checked
        return None, {"status": ev["status"], "body": ev.get("response")}
    return None, None


def _answer(resp: Any) -> dict[str, Any] | None:
    if not isinstance(resp, dict) or not isinstance(resp.get("status"), int):
        return None
    body = resp["json"] if "json" in resp else resp.get("body")
    return {"status": resp["status"], "body": body}


# --- symptoms -----------------------------------------------------------------------------


@dataclass
class _Symptom:
    key: tuple[Any, ...]
    kind: str
    title: str
    severity: str | None
    origin: str | None
    accepted_by: str | None
    # (check, baseline path, candidate status or None): what a baseline entry must match
    accept: list[tuple[str, str, int | None]]
    diffs: list[dict[str, Any]] = field(default_factory=list)
    field_name: str | None = None  # the field it is about, for records that name it
    removal: bool = False  # grouped with the other removals of the same error answer
    note: str = ""


def _generalise(path: str) -> str:
    """``data.items[3].id`` -> ``data.items[*].id``: the same field in every element."""
    return re.sub(r"\[\d+\]", "[*]", path)


def _leaf(path: str) -> str:
    """The field a path is about: its last key (``data.items[*].pieceCount`` ->
    ``price``); ``$`` for the root."""
    keys = [k for k in re.split(r"[.\[\]]+", path) if k and k != "*" and not k.isdigit()]
    return keys[-1] if keys else "$"


def _parent(path: str) -> str:
    general = _generalise(path)
    cut = max(general.rfind("."), general.rfind("["))
    return general[:cut] if cut > 0 else "$"


def _jtype(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_CONTRACT_TYPE = re.compile(r"\((\w+)\)\s*$")
_TYPE_WORDS = {"integer": "number", "number": "number", "string": "string", "boolean": "boolean",
               "null": "null", "array": "array", "object": "object"}  # fmt: skip


def _declared_type(text: Any) -> str:
    """A contract violation spells types in words (``string (format date-time)``, ``1450
    (integer)``): the JSON type they name."""
    if not isinstance(text, str):
        return _jtype(text)
    m = _CONTRACT_TYPE.search(text)
    word = m.group(1) if m else text.split(" ", 1)[0]
    return _TYPE_WORDS.get(word.lower(), word.lower())


def _status_of(value: Any) -> str:
    """``[200]`` / ``200`` / ``"status 200"`` -> ``"200"``; several -> ``"200|201"``."""
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    if isinstance(value, str):
        found = re.findall(r"\b[1-5]\d\d\b", value)
        return "|".join(found) if found else value
    return str(value)


def _klass(status: Any) -> str | None:
    text = _status_of(status)
    first = text.split("|", 1)[0]
    return f"{first[0]}xx" if first[:1].isdigit() else None


def _pattern(
    kind: str, expected: Any, actual: Any, name: str, note: str = "", *, words: bool = False
) -> str:
    """What changed, without the values that change from one request to the next.
    ``words``: the values are a contract check's descriptions, not the values."""
    if kind == "type":
        if words:
            return f"{_declared_type(expected)} -> {_declared_type(actual)}"
        return f"{_jtype(expected)} -> {_jtype(actual)}"
    if kind == "format":  # the engine wrote both formats in the note (values are redacted)
        return note.rsplit(" (", 1)[0] if " -> " in note else "format changed"
    if kind != "value":
        return ""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return f"{json.dumps(expected)} -> {json.dumps(actual)}"
    if isinstance(expected, int) and isinstance(actual, int):
        delta = actual - expected
        return f"n -> n{delta:+d}" if abs(delta) < 100 else "number changed"
    if isinstance(expected, str) and isinstance(actual, str):
        fe, fa = value_format(expected, name), value_format(actual, name)
        if fe != fa and fe and fa:
            return f"{fe} -> {fa}"
        if len(expected) <= 40 and len(actual) <= 40 and not fe:
            return f"{json.dumps(expected)} -> {json.dumps(actual)}"
        return f"{fe or 'text'} changed"
    return f"{_jtype(expected)} -> {_jtype(actual)}"


def _contract_diffs(ev: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A contract record's violations as differences (the kinds the baseline matches)."""
    kinds = {"required": "removed", "additionalProperties": "added", "type": "type",
             "format": "type", "enum": "value", "const": "value", "status": "status",
             "gateway": "gateway"}  # fmt: skip
    out = []
    for v in ev.get("violations") or []:
        if not isinstance(v, dict):
            continue
        keyword = str(v.get("keyword") or "")
        out.append(
            {
                "path": str(v.get("path") or "$"),
                "kind": kinds.get(keyword, "body"),
                "expected": v.get("expected"),
                "actual": v.get("actual"),
                "severity": "additive" if keyword == "additionalProperties" else "breaking",
                "origin": v.get("origin") or "application",
                "accepted_by": v.get("accepted_by"),
                "note": v.get("note") or "",
                "problem": v.get("problem"),
            }
        )
    return out


_RENAMED_HINT = re.compile(r"unexpected '([^']+)': renamed\?")


def _differences(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    ev = record["evidence"]
    diffs = [d for d in ev.get("differences") or [] if isinstance(d, dict)]
    return diffs if diffs else _contract_diffs(ev)


def _symptoms(record: Mapping[str, Any]) -> list[_Symptom]:
    """The causes one record shows (see the module's docstring)."""
    check = record["check"]
    ref, cand = _answers(record)
    cand_status = cand["status"] if cand else None
    klass = _klass(cand_status) if cand_status is not None else None
    diffs = _differences(record)
    state = record["state"]
    out: list[_Symptom] = []
    if check == "headers":  # spellings are about headers: reported once, by that check
        for hit in record["evidence"].get("noise") or []:
            if isinstance(hit, dict) and hit.get("source") == "normalised":
                values = [*(hit.get("values") or []), "", ""]
                name = str(hit.get("path") or "").removeprefix("header ")
                out.append(_normalised(check, {"path": name, "expected": values[0],
                                               "actual": values[1]}, cand_status))  # fmt: skip
    if state not in _JUDGED:
        return out
    if not diffs:
        return [*out, _verdict(record)]
    # a status of another class explains the whole answer
    status_diff = next((d for d in diffs if d.get("kind") in ("status", "missing-endpoint")), None)
    # the gateway's own answer: by its shape, or as the check that compared it said (a
    # catalog may describe another gateway's answers than the built-in ones)
    said = any(
        d.get("origin") == "gateway" and not str(d.get("path", "")).startswith("access-control-")
        for d in diffs
    )
    ref_gateway = ref is not None and is_gateway_shaped(ref["body"])
    cand_gateway = cand is not None and (
        is_gateway_shaped(cand["body"]) or (said and not ref_gateway)
    )
    if (
        status_diff is None
        and ref is not None
        and cand is not None
        and (_klass(ref["status"]) != klass)
    ):
        status_diff = {
            "path": "status",
            "kind": "status",
            "expected": ref["status"],
            "actual": cand_status,
            "severity": "breaking",
            "origin": "gateway" if cand_gateway else "application",
            "accepted_by": None,
        }
        if all(d.get("accepted_by") for d in diffs):
            status_diff["accepted_by"] = diffs[0]["accepted_by"]
    if status_diff is not None and _klass(status_diff.get("expected")) != _klass(
        status_diff.get("actual")
    ):
        return [*out, _status(check, status_diff, diffs, cand_status, cand_gateway, dominant=True)]
    gateway_answer = next((d for d in diffs if d.get("kind") == "gateway"), None)
    if gateway_answer is not None and cand_status is not None:
        # a contract check: the gateway's own answer where the contract expects a status
        wanted = _status_of(gateway_answer.get("expected"))
        if wanted[:1].isdigit() and _klass(wanted) != klass:
            moved = {**gateway_answer, "kind": "status", "path": "$", "expected": wanted,
                     "actual": cand_status, "origin": "gateway"}  # fmt: skip
            return [*out, _status(check, moved, diffs, cand_status, True, dominant=True)]
    if gateway_answer is not None or (cand_gateway and not ref_gateway and ref is not None):
        return [*out, _gateway_answer(check, diffs, cand_status)]
    specific = [d for d in diffs if not (d.get("path") == "$" and d.get("kind") == "body")]
    body = _body_symptoms(check, specific or diffs, cand_status, klass)
    if specific and len(specific) < len(diffs) and body:
        body[0].accept.append((check, "$", cand_status))  # the summary goes with them
    return out + body


def _accepted(diffs: Sequence[Mapping[str, Any]]) -> str | None:
    """The entry that accepts every one of ``diffs`` (the first's), or None."""
    ids = [d.get("accepted_by") for d in diffs]
    return str(ids[0]) if ids and all(ids) else None


def _status(
    check: str,
    d: Mapping[str, Any],
    diffs: Sequence[Mapping[str, Any]],
    cand_status: int | None,
    cand_gateway: bool,
    *,
    dominant: bool,
) -> _Symptom:
    expected, actual = _status_of(d.get("expected")), _status_of(d.get("actual"))
    gateway = d.get("origin") == "gateway" or cand_gateway
    missing = d.get("kind") == "missing-endpoint" or (actual == "404" and gateway)
    if missing:
        key: tuple[Any, ...] = ("missing-endpoint",)
        title = "no route on the candidate: the gateway answers 404 where the reference answers"
    else:
        key = ("status", expected, actual)
        title = f"status {expected} becomes {actual}"
    status = cand_status if cand_status is not None else _int(actual)
    # the whole answer differs: every path of this check, at this status
    only_status = all(x.get("kind") in ("status", "missing-endpoint") for x in diffs)
    path = "status" if only_status and d.get("path") == "status" else "*"
    return _Symptom(
        key=key,
        kind="missing-endpoint" if missing else "status",
        title=title,
        severity="breaking",
        origin="gateway" if gateway else str(d.get("origin") or "application"),
        accepted_by=_accepted(diffs),
        accept=[(check, path, status)],
        diffs=[dict(x) for x in diffs],
    )


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _gateway_answer(
    check: str, diffs: Sequence[Mapping[str, Any]], cand_status: int | None
) -> _Symptom:
    return _Symptom(
        key=("gateway-answer", cand_status),
        kind="gateway-answer",
        title=f"the gateway answers {cand_status} in its own shape, not the application's",
        severity="breaking",
        origin="gateway",
        accepted_by=_accepted(diffs),
        accept=[(check, "*" if check != "contract" else "$", cand_status)],
        diffs=[dict(d) for d in diffs],
    )


def _body_symptoms(
    check: str, diffs: list[dict[str, Any]], cand_status: int | None, klass: str | None
) -> list[_Symptom]:
    out: list[_Symptom] = []
    used: set[int] = set()
    # renames: a removed and an added key of the same parent with the same value
    added = [(i, d) for i, d in enumerate(diffs) if d.get("kind") == "added"]
    for i, d in enumerate(diffs):
        if d.get("kind") != "removed":
            continue
        hint = _RENAMED_HINT.search(str(d.get("actual") or ""))
        partner = next(
            (
                (j, a)
                for j, a in added
                if j not in used
                and _parent(a["path"]) == _parent(d["path"])
                and json.dumps(a.get("actual"), sort_keys=True, default=str)
                == json.dumps(d.get("expected"), sort_keys=True, default=str)
            ),
            None,
        )
        new_name = _leaf(partner[1]["path"]) if partner else hint.group(1) if hint else None
        if new_name is None:
            continue
        used.add(i)
        pair = [d]
        if partner is not None:
            used.add(partner[0])
            pair.append(partner[1])
        old = _leaf(d["path"])
        out.append(
            _Symptom(
                key=("removed", old, "", str(d.get("origin")), klass),
                kind="renamed",
                title=f"{old} renamed to {new_name}",
                severity="breaking",
                origin=str(d.get("origin") or "application"),
                accepted_by=_accepted(pair),
                accept=[(check, _generalise(p["path"]), cand_status) for p in pair],
                diffs=pair,
                field_name=old,
                removal=True,
                note=f"renamed to {new_name}",
            )
        )
    for i, d in enumerate(diffs):
        if i in used:
            continue
        path = str(d.get("path") or "$")
        kind = str(d.get("kind") or "value")
        expected, actual = d.get("expected"), d.get("actual")
        if kind == "value" and actual == _ABSENT:
            kind = "removed"  # a value that is not there: the key is gone
        name = _leaf(path)
        if kind == "removed" and klass not in (None, "2xx"):
            # an error answer's envelope: error.code is part of what error says
            name = _leaf(path.split(".", 1)[0])
        origin = str(d.get("origin") or "application")
        if kind.startswith("header-"):
            key: tuple[Any, ...] = (kind, path.lower(), str(expected), str(actual), origin)
            title = _header_title(kind, path, expected, actual)
        elif kind in ("status", "missing-endpoint"):  # same-class status pair
            out.append(_status(check, d, [d], cand_status, False, dominant=False))
            continue
        else:
            pattern = _pattern(
                kind, expected, actual, name, str(d.get("note") or ""), words="problem" in d
            )
            key = (kind, name, pattern, origin, klass)
            title = _body_title(kind, path, name, pattern, expected, actual)
        out.append(
            _Symptom(
                key=key,
                kind=kind,
                title=title,
                severity=d.get("severity"),
                origin=origin,
                accepted_by=str(d["accepted_by"]) if d.get("accepted_by") else None,
                accept=[(check, path if check == "contract" else _generalise(path), cand_status)],
                diffs=[d],
                field_name=name if name != "$" else None,
                removal=kind == "removed",
                note=str(d.get("note") or ""),
            )
        )
    return out


def _header_title(kind: str, name: str, expected: Any, actual: Any) -> str:
    if kind == "header-added":
        return f"{name} header added ({actual})"
    if kind == "header-removed":
        return f"{name} header missing (reference: {expected})"
    if kind == "header-normalised":
        return f"{name} spelt differently ({expected} / {actual}), same meaning"
    return f"{name} header {expected} becomes {actual}"


def _body_title(kind: str, path: str, name: str, pattern: str, expected: Any, actual: Any) -> str:
    # the field's name: the finding lists every path it was seen at
    where = name if name != "$" else "the body"
    if kind == "removed":
        return f"{where} missing" + (" (the reference sends null)" if expected is None else "")
    if kind == "added":
        return f"{where} added"
    if kind == "order":
        return f"{where} in another order"
    if kind in ("item-added", "item-removed"):
        return f"{where}: list items {'added' if kind == 'item-added' else 'missing'}"
    if kind == "format":
        return f"{where} changes format under noise: {pattern}"
    if kind == "type":
        fe, fa = value_format(expected, name), value_format(actual, name)
        plain = {"number", "integer as text"}
        how = f" ({fe} -> {fa})" if fe and fa and fe != fa and {fe, fa} - plain else ""
        return f"{where} changes type: {pattern}{how}"
    if kind == "body":
        return f"the answer differs as a whole ({where})"
    return f"{where} differs: {pattern}" if pattern else f"{where} differs"


def _normalised(check: str, d: Mapping[str, Any], cand_status: int | None) -> _Symptom:
    name = str(d.get("path") or "")
    expected, actual = d.get("expected"), d.get("actual")
    return _Symptom(
        key=("header-normalised", name.lower(), str(d.get("rule") or ""), str(expected),
             str(actual)),
        kind="header-normalised",
        title=_header_title("header-normalised", name, expected, actual),
        severity="cosmetic",
        origin=str(d.get("origin") or "application"),
        accepted_by=None,
        accept=[],
        diffs=[dict(d)],
    )  # fmt: skip


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"),;]+", re.IGNORECASE)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(\.\d+)?")
_ROUTE = re.compile(r"(?<![\w/])/[\w{}\-./]*")


def _blank(text: str, endpoint: str) -> str:
    """A verdict's text with what differs from cell to cell blanked out."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    route = endpoint.partition(" ")[2]
    if route:
        first = first.replace(route, "<route>")
    first = _URL.sub("<url>", first)
    first = _UUID.sub("<id>", first)
    first = _HEX.sub("<id>", first)
    first = _ROUTE.sub("<route>", first)
    first = _NUMBER.sub("#", first)
    first = re.sub(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) <route>", "<route>", first)
    return first[:200]


def _verdict(record: Mapping[str, Any]) -> _Symptom:
    """A record without differences: its verdict is its cause."""
    ev = record["evidence"]
    state, check = record["state"], record["check"]
    text = str(ev.get("error") or "") if state == "error" else ""
    text = text or record["summary"] or state
    blanked = _blank(text, record["endpoint"])
    # a scenario's own words (express-to-serverless: "express -> serverless") name where
    # it ran, not what went wrong
    for word in re.split(r"[^A-Za-z0-9]+", str(record.get("scenario") or "")):
        if len(word) >= 3:
            blanked = re.sub(rf"\b{re.escape(word)}\b", "<s>", blanked)
    flow = record["endpoint"].startswith("FLOW ")
    if state == "error":
        key: tuple[Any, ...] = ("error", blanked)  # the same cause whichever check it hit
        kind = "error"
    else:
        key = ("verdict", check, state, blanked)
        kind = "flow" if flow else "verdict"
    title = " ".join(text.split())
    title = title if len(title) <= 160 else title[:157] + "..."
    return _Symptom(
        key=key,
        kind=kind,
        title=title,
        severity=record.get("severity") or ("breaking" if state != "error" else None),
        origin=record.get("origin"),
        accepted_by=None,
        accept=[(check, "*", None)] if state != "error" else [],
        diffs=[],
        note=text,
    )


# --- grouping -----------------------------------------------------------------------------


class _Union:
    def __init__(self) -> None:
        self.parent: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def find(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller key (as text) names the group: the same whatever the order
            first, second = sorted((ra, rb), key=repr)
            self.parent[second] = first


@dataclass
class _Hit:
    record: dict[str, Any]
    symptom: _Symptom


def _id(key: tuple[Any, ...]) -> str:
    return "F" + hashlib.sha1(repr(key).encode()).hexdigest()[:6]


def build_findings(
    cells: Sequence[Mapping[str, Any]],
    *,
    endpoints: Sequence[str] = (),
    today: date | None = None,
) -> list[dict[str, Any]]:
    """The findings of a matrix's ``cells``, the worst first. ``endpoints`` are the
    matrix's rows (a baseline entry's endpoint pattern must match none but its own)."""
    hits: list[_Hit] = []
    union = _Union()
    for record in records_of(cells):
        symptoms = _symptoms(record)
        for s in symptoms:
            if s.accepted_by:  # a known difference is its own finding, apart from new ones
                s.key = (*s.key, "accepted", s.accepted_by)
            union.find(s.key)
            hits.append(_Hit(record, s))
        # removals in one error answer are one shape change, whichever check saw which
        removals = [s.key for s in symptoms if s.removal and s.key[-1] not in (None, "2xx")]
        for other in removals[1:]:
            union.join(removals[0], other)
    groups: dict[tuple[Any, ...], list[_Hit]] = {}
    for hit in hits:
        groups.setdefault(union.find(hit.symptom.key), []).append(hit)
    _attach_verdicts(groups)
    _merge_inseparable(groups)
    rows = list(endpoints) or sorted({str(c.get("endpoint")) for c in cells})
    today = today or date.today()
    findings = [_finding(root, group, rows, today) for root, group in groups.items()]
    findings.sort(
        key=lambda f: (
            _STATE_ORDER[f["state"]],
            _SEVERITY_ORDER.get(f["severity"], 3),
            -len(f["cells"]),
            f["title"],
        )
    )
    for rank, f in enumerate(findings, start=1):
        f["rank"] = rank
    _cross_reference(findings)
    return findings


def _cross_reference(findings: list[dict[str, Any]]) -> None:
    """``same_cells``: the other open findings in one of this one's cells. Two findings in
    the same cells may be one cause the evidence cannot separate (a page off by one, and
    the other items it brings on another request): the reader sees them side by side."""
    where: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f["state"] == "open":
            for c in f["cells"]:
                where.setdefault((c["endpoint"], c["check"]), []).append(f["id"])
    for f in findings:
        if f["state"] != "open":
            continue
        others = {i for c in f["cells"] for i in where[(c["endpoint"], c["check"])]} - {f["id"]}
        if others:
            f["same_cells"] = sorted(others)


def _attach_verdicts(groups: dict[tuple[Any, ...], list[_Hit]]) -> None:
    """A record without differences whose text names the field of exactly one finding
    (``no 'price' in the answer``) is one more place that finding shows."""
    by_field: dict[str, set[tuple[Any, ...]]] = {}
    for root, group in groups.items():
        for hit in group:
            name = hit.symptom.field_name
            if name and len(name) > 2:
                by_field.setdefault(name, set()).add(root)
    for root in list(groups):
        group = groups[root]
        if not all(h.symptom.kind in ("error", "verdict", "flow") for h in group):
            continue
        text = " ".join(h.symptom.note for h in group)
        named = {
            r
            for name, roots in by_field.items()
            # a path's last key (data.pieceCount) or a quoted name ('pieceCount')
            if re.search(rf"(?:(?<=\.)|(?<=['\"])){re.escape(name)}(?![\w.\[])", text)
            for r in roots
        }
        if len(named) == 1:
            target = next(iter(named))
            for hit in group:
                hit.symptom.note = "seen by this check too: " + hit.symptom.note
            groups[target].extend(group)
            del groups[root]


def _record_id(hit: _Hit) -> tuple[str, str, str, str]:
    r = hit.record
    return (r["endpoint"], r["check"], str(r.get("scenario")), str(r.get("backend")))


def _merge_inseparable(groups: dict[tuple[Any, ...], list[_Hit]]) -> None:
    """Open differences that occur in exactly the same answers and nowhere else cannot be
    told apart by the evidence (a page number off by one and the other items it brings):
    one finding, which lists them all and says so."""
    by_records: dict[frozenset[tuple[str, str, str, str]], list[tuple[Any, ...]]] = {}
    for root, group in groups.items():
        kinds = {h.symptom.kind for h in group}
        if kinds & {"error", "verdict", "flow", "header-normalised"}:
            continue
        if any(h.symptom.accepted_by or h.record["state"] not in _FAILING for h in group):
            continue
        by_records.setdefault(frozenset(_record_id(h) for h in group), []).append(root)
    for roots in by_records.values():
        if len(roots) < 2:
            continue
        roots = sorted(roots, key=repr)
        keep = roots[0]
        titles = sorted({h.symptom.title for r in roots for h in groups[r]})
        for other in roots[1:]:
            groups[keep].extend(groups.pop(other))
        note = "seen together in the same answers only: " + "; ".join(titles[:5])
        for hit in groups[keep]:
            hit.symptom.note = hit.symptom.note or note
        groups[keep][0].symptom.note = note


def _title(group: Sequence[_Hit]) -> tuple[str, str]:
    """(title, kind) of a finding: its most telling symptom's."""
    order = ["missing-endpoint", "status", "gateway-answer", "renamed", "removed", "type",
             "format", "value", "order", "added", "item-removed", "item-added", "body",
             "header-changed", "header-removed", "header-added", "header-normalised",
             "verdict", "flow", "error"]  # fmt: skip
    rank = {k: i for i, k in enumerate(order)}
    # a differential check's words first: it saw both values (a contract check one)
    best = min(
        group,
        key=lambda h: (
            rank.get(h.symptom.kind, len(order)),
            any("problem" in d for d in h.symptom.diffs),
            h.symptom.title,
        ),
    )
    paths = {
        _generalise(str(d.get("path")))
        for h in group
        if h.symptom.removal
        for d in h.symptom.diffs
        if d.get("kind") in ("removed", "value")
    }
    # error.code under a missing error says nothing more
    removals = sorted(p for p in paths if not any(p.startswith(q + ".") for q in paths))
    leaves = {_leaf(p) for p in removals}
    if len(leaves) > 1 and best.symptom.kind in ("removed", "renamed"):
        statuses = sorted({str(s) for h in group for _, _, s in h.symptom.accept if s is not None})
        on = f" on {'/'.join(statuses)} answers" if statuses else ""
        return f"the answer loses {', '.join(removals)}{on}", "removed"
    return best.symptom.title, best.symptom.kind


def _finding(
    root: tuple[Any, ...], group: list[_Hit], rows: Sequence[str], today: date
) -> dict[str, Any]:
    title, kind = _title(group)
    failing = [
        h
        for h in group
        if h.record["state"] in _FAILING
        and not h.symptom.accepted_by
        and h.symptom.kind != "header-normalised"  # same meaning: reported, never failing
    ]
    if failing:
        state = "open"
    elif all(h.symptom.kind == "header-normalised" for h in group):
        state = "reported"
    else:
        state = "accepted"
    shown = failing or group
    severity = min(
        (h.symptom.severity for h in shown), key=lambda s: _SEVERITY_ORDER.get(s, 3), default=None
    )
    origins = sorted({h.symptom.origin for h in shown if h.symptom.origin})
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for h in group:
        r = h.record
        cell = cells.setdefault(
            (r["endpoint"], r["check"]),
            {"endpoint": r["endpoint"], "check": r["check"], "scenarios": [], "states": []},
        )
        scenario = r.get("scenario") or "-"
        if scenario not in cell["scenarios"]:
            cell["scenarios"].append(scenario)
        if r["state"] not in cell["states"]:
            cell["states"].append(r["state"])
    endpoints = sorted({e for e, _ in cells}, key=lambda e: (_row(rows, e), e))
    checks = sorted({c for _, c in cells})
    first = shown[0]
    accepted_by = sorted({h.symptom.accepted_by for h in group if h.symptom.accepted_by})
    finding: dict[str, Any] = {
        "id": _id(root),
        "rank": 0,
        "title": title,
        "kind": kind,
        "state": state,
        "severity": severity,
        "origin": origins[0] if len(origins) == 1 else ("mixed" if origins else None),
        "endpoints": endpoints,
        "checks": checks,
        "cells": sorted(cells.values(), key=lambda c: (_row(rows, c["endpoint"]), c["check"])),
        "occurrences": len(group),
        "paths": sorted(
            {
                _generalise(str(d.get("path")))
                for h in group
                for d in h.symptom.diffs
                if d.get("path")
            }
        )[:20],
        "first": _first(first, group),
        "action": _action(kind, title, group, state),
        "accepted_by": accepted_by,
        "baseline": None,
    }
    if state == "open":
        finding["baseline"] = baseline_toml(finding["id"], title, group, rows, today)
    notes = sorted({h.symptom.note for h in group if h.symptom.note.startswith("seen ")})
    if notes:
        finding["related"] = notes[:5]
    return finding


def _row(rows: Sequence[str], endpoint: str) -> int:
    try:
        return rows.index(endpoint)
    except ValueError:
        return len(rows)


def _first(hit: _Hit, group: Sequence[_Hit]) -> dict[str, Any]:
    r = hit.record
    # every difference of this finding in that record (a shape change has several)
    diffs = [d for h in group if h.record is r for d in h.symptom.diffs]
    ev = r["evidence"]
    first: dict[str, Any] = {
        "endpoint": r["endpoint"],
        "check": r["check"],
        "scenario": r.get("scenario"),
        "backend": r.get("backend"),
        "state": r["state"],
        "summary": r["summary"][:300],
        "differences": diffs[:_SHOWN_DIFFS],
    }
    if ev.get("error"):
        first["error"] = str(ev["error"])[:2000]
    request = ev.get("request")
    if isinstance(request, dict):
        first["request"] = {k: request.get(k) for k in ("method", "path", "url", "role")
                            if request.get(k) is not None}  # fmt: skip
    ref, cand = _answers(r)
    if ref is not None:
        first["reference_status"] = ref["status"]
    if cand is not None:
        first["candidate_status"] = cand["status"]
    return first


def _action(kind: str, title: str, group: Sequence[_Hit], state: str) -> str:
    """What to do, in one or two sentences."""
    if state == "accepted":
        ids = sorted({h.symptom.accepted_by or "" for h in group} - {""})
        return (
            f"Accepted by the baseline ({', '.join(ids)}): nothing to do until the entry "
            "expires; delete the entry once the difference is gone."
        )
    first = group[0].symptom
    name = first.field_name or "the field"
    if kind == "removed" and title.startswith("the answer loses "):
        keys = title.removeprefix("the answer loses ").split(" on ", 1)[0]
        return (
            f"Send {keys} again on these answers: a client reads the same envelope on every "
            "answer, so these are the candidate's answers in another shape."
        )
    text = {
        "missing-endpoint": "Deploy the route on the candidate (its gateway has none). Accept "
        "it only if the endpoint is retired, and then take it out of the catalog.",
        "status": "Make the candidate answer with the reference's status (the frontend "
        "branches on it). If the gateway answers first, fix its route or authorizer.",
        "gateway-answer": 'API Gateway answers itself, in its own {"message": ...} shape. '
        "Map it to the envelope (gateway responses), or make sure the frontend copes with "
        "both shapes and accept it in the baseline.",
        "renamed": f"Send {name} under its old name again (the frontend reads {name}), or "
        "change the frontend and every other client first.",
        "removed": f"Send {name} again. Where the reference sends null, send null: a missing "
        "key and a null are different to a typed client.",
        "type": f"Send {name} with the reference's JSON type: a typed client breaks on it.",
        "format": f"Values of {name} differ by nature, so they are not compared; their format "
        "is, and it changed. Make the candidate write the reference's format.",
        "value": "Make the candidate compute the same value. Accept it only if the difference "
        "carries no meaning for any client.",
        "order": "Sort as the reference does, or declare the list unordered in the catalog "
        "(noise: unordered) if its order carries no meaning.",
        "added": "A new field: harmless to a tolerant reader. Remove it, or accept it in the "
        "baseline if it is meant to be there.",
        "item-added": "The lists differ in length: find why the candidate returns other items.",
        "item-removed": "The lists differ in length: find why the candidate returns other items.",
        "body": "The answers differ as a whole: compare both responses in the evidence.",
        "header-changed": "Send the header as the reference does (browsers and caches act on it).",
        "header-removed": "Send the header as the reference does (browsers and caches act on it).",
        "header-added": "A header only the candidate sends: harmless unless it changes "
        "caching or CORS; remove it or accept it.",
        "header-normalised": "Nothing to do unless a client compares the raw header: the "
        "spelling differs, the meaning does not. It does not fail the run.",
        "error": "The suite could not judge these cells: fix the cause above (reachability, "
        "set-up, test data) and run again. This is no verdict on the candidate.",
        "flow": "A browser flow failed: open its trace and screenshot (reports/playwright) "
        "and fix what the user would see.",
        "verdict": "Open a cell's evidence for what was seen, and fix the candidate.",
    }.get(kind, "Open a cell's evidence for what was seen, and fix the candidate.")
    return text


# --- baseline entries ---------------------------------------------------------------------


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def _endpoint_patterns(endpoints: Sequence[str], rows: Sequence[str]) -> list[str]:
    """Few patterns that match exactly ``endpoints`` among the matrix's ``rows``: for each
    endpoint, the most general of ``* /route/prefix*``, ``* /route`` and the endpoint
    itself that matches no other row."""
    wanted = set(endpoints)
    known = set(rows) | wanted
    out: list[str] = []
    covered: set[str] = set()
    for endpoint in sorted(wanted):
        if endpoint in covered:
            continue
        route = endpoint.partition(" ")[2]
        cuts = [i + 1 for i, c in enumerate(route) if c == "/" and i > 0]
        candidates = [f"* {route[:i]}*" for i in cuts if route[:i].count("/") >= 3]
        candidates += [f"* {route}", endpoint]
        for pattern in candidates:
            matched = {e for e in known if _glob(pattern).match(e)}
            if matched and matched <= wanted:
                out.append(pattern)
                covered |= matched
                break
    return out


def baseline_toml(
    finding_id: str, title: str, group: Sequence[_Hit], rows: Sequence[str], today: date
) -> str:
    """The ``[[accept]]`` entries that accept every occurrence of a finding, in the format
    :mod:`parity.engine.baseline` reads, expiring :data:`ACCEPT_DAYS` days from ``today``."""
    # (check, candidate status, origin) -> path -> endpoints
    wanted: dict[tuple[str, int | None, str | None], dict[str, set[str]]] = {}
    for hit in group:
        if hit.record["state"] not in _FAILING or hit.symptom.accepted_by:
            continue
        origins = {str(d.get("origin")) for d in hit.symptom.diffs if d.get("origin")}
        origin = origins.pop() if len(origins) == 1 else None
        for check, path, status in hit.symptom.accept:
            narrowed = status if check in _STATUS_AWARE else None
            paths = wanted.setdefault((check, narrowed, origin), {})
            paths.setdefault(path, set()).add(hit.record["endpoint"])
    expires = (today + timedelta(days=ACCEPT_DAYS)).isoformat()
    lines = [f"# finding {finding_id}: {title}"]
    n = 0
    for (check, status, origin), paths in sorted(
        wanted.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or "")
    ):
        if status is not None and len(paths) > 2:
            # one answer's several paths, narrowed by its status: one entry says it
            paths = {"*": set().union(*paths.values())}
        for path, endpoints in sorted(paths.items()):
            for endpoint in _endpoint_patterns(sorted(endpoints), rows):
                n += 1
                lines += [
                    "[[accept]]",
                    f"id = {_toml_string(f'{finding_id}-{n}')}",
                    f"endpoint = {_toml_string(endpoint)}",
                    f"check = {_toml_string(check)}",
                    f"path = {_toml_string(path)}",
                ]
                if origin in ("gateway", "application"):
                    lines.append(f"origin = {_toml_string(origin)}")
                if status is not None:
                    lines.append(f"status = {status}")
                lines += [
                    f"reason = {_toml_string(f'{title} (say why this is acceptable)')}",
                    f"expires = {expires}",
                    "",
                ]
    return "\n".join(lines).rstrip() + "\n" if n else ""


# --- summaries ----------------------------------------------------------------------------


def findings_summary(findings: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts: ``open`` (failing the run) by severity, ``reported``, ``accepted``."""
    open_ = [f for f in findings if f.get("state") == "open"]
    return {
        "total": len(findings),
        "open": len(open_),
        "breaking": sum(1 for f in open_ if f.get("severity") in ("breaking", None)),
        "additive": sum(1 for f in open_ if f.get("severity") == "additive"),
        "cosmetic": sum(1 for f in open_ if f.get("severity") == "cosmetic"),
        "reported": sum(1 for f in findings if f.get("state") == "reported"),
        "accepted": sum(1 for f in findings if f.get("state") == "accepted"),
    }


def findings_line(counts: Mapping[str, int]) -> str:
    """``3 findings (2 breaking, 1 additive); 1 cosmetic note; 2 accepted``."""
    n = int(counts.get("open", 0))
    kinds = [f"{counts[k]} {k}" for k in ("breaking", "additive", "cosmetic") if counts.get(k)]
    line = f"{n} finding{'s' if n != 1 else ''}" + (f" ({', '.join(kinds)})" if kinds else "")
    if counts.get("reported"):
        line += f"; {counts['reported']} cosmetic note{'s' if counts['reported'] != 1 else ''}"
    if counts.get("accepted"):
        line += f"; {counts['accepted']} accepted"
    return line
