"""Symptoms: what one record of a matrix shows is different, each with its cause as a key.

Every judged record (``drift``, ``missing``, ``error``, ``accepted``, and a ``pass`` that
carries normalised spellings) gives symptoms: one per difference it lists
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

:mod:`parity.engine.findings` groups the symptoms of a run into findings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from parity.core.normalize import value_format
from parity.core.results import describe

__all__ = [
    "FAILING",
    "Hit",
    "Symptom",
    "answers_of",
    "generalise",
    "leaf",
    "records_of",
    "symptoms_of",
]

#: The states that fail a run (an ``accepted`` record is judged too, and does not).
FAILING = frozenset({"drift", "missing", "error"})
_JUDGED = FAILING | {"accepted"}
_ABSENT = "(absent)"


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


def answers_of(record: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
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
class Symptom:
    """One cause a record shows, and what a baseline entry must match to accept it."""

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
    #: A verdict's words about what it saw: its note without what the record sent (the
    #: body or query it quotes, the curl line that reproduces it), whose keys are no field
    #: the verdict is about. None: the note is all it says.
    said: str | None = None


def generalise(path: str) -> str:
    """``data.items[3].id`` -> ``data.items[*].id``: the same field in every element."""
    return re.sub(r"\[\d+\]", "[*]", path)


def leaf(path: str) -> str:
    """The field a path is about: its last key (``data.items[*].pieceCount`` ->
    ``price``); ``$`` for the root."""
    keys = [k for k in re.split(r"[.\[\]]+", path) if k and k != "*" and not k.isdigit()]
    return keys[-1] if keys else "$"


def _parent(path: str) -> str:
    general = generalise(path)
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


def symptoms_of(record: Mapping[str, Any]) -> list[Symptom]:
    """The causes one record shows (see the module's docstring)."""
    check = record["check"]
    ref, cand = answers_of(record)
    cand_status = cand["status"] if cand else None
    klass = _klass(cand_status) if cand_status is not None else None
    diffs = _differences(record)
    state = record["state"]
    out: list[Symptom] = []
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
    # the gateway's own answer, as the check that judged it said (the catalog's
    # envelope.gateway; none declared, no answer is), never guessed from a body's shape: a
    # difference of gateway origin (not a CORS header's) is the candidate's answer
    cand_gateway = cand is not None and any(
        d.get("origin") == "gateway" and not str(d.get("path", "")).startswith("access-control-")
        for d in diffs
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
    if gateway_answer is not None or (cand_gateway and ref is not None):
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
) -> Symptom:
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
    return Symptom(
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
) -> Symptom:
    return Symptom(
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
) -> list[Symptom]:
    out: list[Symptom] = []
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
        new_name = leaf(partner[1]["path"]) if partner else hint.group(1) if hint else None
        if new_name is None:
            continue
        used.add(i)
        pair = [d]
        if partner is not None:
            used.add(partner[0])
            pair.append(partner[1])
        old = leaf(d["path"])
        out.append(
            Symptom(
                key=("removed", old, "", str(d.get("origin")), klass),
                kind="renamed",
                title=f"{old} renamed to {new_name}",
                severity="breaking",
                origin=str(d.get("origin") or "application"),
                accepted_by=_accepted(pair),
                accept=[(check, generalise(p["path"]), cand_status) for p in pair],
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
        name = leaf(path)
        if kind == "removed" and klass not in (None, "2xx"):
            # an error answer's envelope: error.code is part of what error says
            name = leaf(path.split(".", 1)[0])
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
            Symptom(
                key=key,
                kind=kind,
                title=title,
                severity=d.get("severity"),
                origin=origin,
                accepted_by=str(d["accepted_by"]) if d.get("accepted_by") else None,
                accept=[(check, path if check == "contract" else generalise(path), cand_status)],
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


def _normalised(check: str, d: Mapping[str, Any], cand_status: int | None) -> Symptom:
    name = str(d.get("path") or "")
    expected, actual = d.get("expected"), d.get("actual")
    return Symptom(
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


_REPRODUCE = re.compile(r"\(?\breproduce: curl\b[^\n]*")


def _without_the_request(text: str, ev: Mapping[str, Any]) -> str:
    """``text`` without what the record sent: the body or query it quotes (``minimal body
    {'name': ...} -> ...``) and the curl line that reproduces it. A key quoted there names
    what was sent, not a field the verdict found different."""
    said = _REPRODUCE.sub(" ", text)
    request = ev.get("request")
    sent: list[Any] = [ev.get(k) for k in ("body", "query") if ev.get(k) not in (None, "", {})]
    if isinstance(request, dict) and request.get("body"):
        sent.append(request["body"])
    shown: set[str] = set()
    for value in sent:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, (dict, list)):  # only an object or a list quotes keys
            shown |= {repr(value), describe(value), json.dumps(value),
                      json.dumps(value, separators=(",", ":"))}  # fmt: skip
    for text_sent in sorted(shown, key=len, reverse=True):
        said = said.replace(text_sent, " ")
    return said


def _verdict(record: Mapping[str, Any]) -> Symptom:
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
    return Symptom(
        key=key,
        kind=kind,
        title=title,
        severity=record.get("severity") or ("breaking" if state != "error" else None),
        origin=record.get("origin"),
        accepted_by=None,
        accept=[(check, "*", None)] if state != "error" else [],
        diffs=[],
        note=text,
        said=_without_the_request(text, ev),
    )


@dataclass
class Hit:
    """One symptom and the record it showed in: what the findings group."""

    record: dict[str, Any]
    symptom: Symptom
