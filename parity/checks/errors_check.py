"""Error answers judged against the API's declared error conventions (the catalog's
``checks.errors``), and against the reference backend's answer to the same request.

Only what the catalog declares is asserted on one backend: the expected status always; the
envelope's code (and the code each status must carry) and message where their JSON paths
are declared. Where the catalog declares no envelope (no path in it), nothing is assumed
about the shape of an error: the candidate's answer is compared with the reference's
instead (status, content type, and the shape of the body: keys and value types, not
values).

A gateway's own answer (API Gateway's ``{"message": "Not Found"}``), as the catalog's
top-level ``envelope.gateway`` declares it, from a backend and with a status it allows, is
documented: not a drift by itself, the record says it is gateway-originated, and its shape
is not compared. A gateway-shaped answer it does not allow is a finding where an envelope is
declared. No gateway declared: no answer is a gateway's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from parity.checks import verdicts
from parity.checks.verdicts import ErrorJudgement, envelope_parts, reference_status, short
from parity.core.checkspec import Envelope
from parity.core.envelope import Gateway
from parity.core.jsonpath import JsonPathError, extract
from parity.core.results import CheckResult, Origin, Severity
from parity.engine.baseline import Baseline
from parity.engine.diff import Answer, Difference

__all__ = ["body_shape", "judge_error", "judge_errors", "media_type"]

_ABSENT = "(absent)"


def _get(body: Any, path: str) -> Any:
    try:
        return extract(body, path)
    except JsonPathError:
        return _ABSENT


def media_type(headers: Mapping[str, str]) -> str | None:
    """``application/json; charset=utf-8`` -> ``application/json`` (None: no header)."""
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower() or None
    return None


def body_shape(value: Any) -> Any:
    """The shape of a JSON value: objects keep their keys, lists the set of their items'
    shapes, scalars become their type name. Values never count (messages, ids differ)."""
    if isinstance(value, dict):
        return {k: body_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes = {json.dumps(body_shape(v), sort_keys=True): body_shape(v) for v in value}
        return [shapes[k] for k in sorted(shapes)]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _kind(shape: Any) -> str:
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, list):
        return "array"
    return str(shape)


def _join(path: str, key: str) -> str:
    return key if path == "$" else f"{path}.{key}"


def _shape_diffs(ref: Any, got: Any, path: str, ref_name: str, backend: str) -> list[Difference]:
    """Differences between two shapes (of :func:`body_shape`), reference first."""
    if isinstance(ref, dict) and isinstance(got, dict):
        diffs: list[Difference] = []
        for key in ref:
            where = _join(path, key)
            if key not in got:
                diffs.append(
                    _diff(
                        where,
                        "removed",
                        _kind(ref[key]),
                        _ABSENT,
                        "breaking",
                        f"{where}: in {ref_name}'s error answer, not in {backend}'s",
                    )
                )
            else:
                diffs += _shape_diffs(ref[key], got[key], where, ref_name, backend)
        for key in got:
            if key not in ref:
                where = _join(path, key)
                diffs.append(
                    _diff(
                        where,
                        "added",
                        _ABSENT,
                        _kind(got[key]),
                        "additive",
                        f"{where}: in {backend}'s error answer, not in {ref_name}'s",
                    )
                )
        return diffs
    if isinstance(ref, list) and isinstance(got, list):
        if ref and got and ref != got:  # an empty list says nothing about its items
            return [
                _diff(
                    f"{path}[*]",
                    "type",
                    ref,
                    got,
                    "breaking",
                    f"{path}[*]: the items' shapes differ ({ref_name} {short(ref, 60)}, "
                    f"{backend} {short(got, 60)})",
                )
            ]
        return []
    if _kind(ref) != _kind(got):
        return [
            _diff(
                path,
                "type",
                _kind(ref),
                _kind(got),
                "breaking",
                f"{path}: {_kind(ref)} in {ref_name}'s error answer, {_kind(got)} in {backend}'s",
            )
        ]
    return []


def _diff(
    path: str,
    kind: str,
    expected: Any,
    actual: Any,
    severity: Severity,
    note: str,
    origin: Origin = "application",
) -> Difference:
    return Difference(path, kind, expected, actual, severity, origin, note=note)  # type: ignore[arg-type]


def judge_error(
    backend: str,
    got: Answer,
    expected_status: int,
    envelope: Envelope,
    *,
    reference: tuple[str, Answer] | None = None,
    gateway_shape: Gateway | None = None,
) -> ErrorJudgement:
    """Judge one backend's error answer against what the catalog declares, and against the
    reference backend's answer to the same request (``reference``: its name and answer).
    ``gateway_shape``: the catalog's declared gateway answers (None: none)."""
    diffs: list[Difference] = []
    gateway = _from_gateway(gateway_shape, backend, got)
    origin: Origin = "gateway" if gateway else "application"
    where = f"{backend} answered {got.status}"
    if gateway:
        where += f" {short(got.body, 80)} (gateway-originated)"
    if got.status != expected_status:
        diffs.append(
            _diff(
                "status",
                "status",
                expected_status,
                got.status,
                "breaking",
                f"{where}, expected {expected_status}",
                origin,
            )
        )
    if envelope.declared and not gateway:
        shaped = gateway_shape is not None and gateway_shape.matches(got.body)
        diffs += _against_envelope(backend, got, expected_status, envelope, where, shaped)
    if reference is not None and reference[0] != backend:
        ref_name, ref = reference
        documented = gateway or _from_gateway(gateway_shape, ref_name, ref)
        diffs += _against_reference(backend, got, ref_name, ref, envelope, documented)
    return ErrorJudgement(diffs, gateway, where if not diffs else "")


def _from_gateway(gateway: Gateway | None, backend: str, got: Answer) -> bool:
    """Whether ``got`` is the declared gateway's own answer, allowed from ``backend``."""
    return (
        gateway is not None
        and got.is_json
        and gateway.matches(got.body)
        and gateway.allows(backend, got.status)
    )


def _against_envelope(
    backend: str, got: Answer, status: int, envelope: Envelope, where: str, shaped: bool
) -> list[Difference]:
    """The declared parts of the error envelope, on an answer with the expected status
    (``shaped``: it looks like a gateway's answer, which this backend may not give)."""
    if shaped:
        return [
            _diff(
                "$",
                "body",
                "the error envelope",
                got.body,
                "breaking",
                f"{backend} answered in the gateway's shape {short(got.body, 80)}, which the "
                f"catalog allows it not (envelope.gateway)",
            )
        ]
    if got.status != status or status < 400:
        return []  # the status finding says it; a success has no error envelope
    declared = [p for p in (envelope.code, envelope.message) if p is not None]
    if not declared:
        return []
    if not got.is_json:
        return [
            _diff(
                "$",
                "body",
                f"an error envelope with {', '.join(declared)}",
                short(got.text or "", 200),
                "breaking",
                f"{where} without a JSON body: {short(got.text or '', 100)}",
            )
        ]
    lacking = [p for p in declared if _get(got.body, p) == _ABSENT]
    if lacking:
        return [
            _diff(
                "$",
                "body",
                f"an error envelope with {', '.join(lacking)}",
                got.body,
                "breaking",
                f"{where} without {', '.join(lacking)}: {short(got.body, 100)}",
            )
        ]
    code = envelope.codes.get(status)
    if envelope.code is not None and code is not None:
        actual = _get(got.body, envelope.code)
        if actual != code:
            return [
                _diff(
                    envelope.code,
                    "value",
                    code,
                    actual,
                    "breaking",
                    f"{backend}: {envelope.code} is {actual!r}, expected {code!r}",
                )
            ]
    return []


def _against_reference(
    backend: str, got: Answer, ref_name: str, ref: Answer, envelope: Envelope, gateway: bool
) -> list[Difference]:
    """What differs from the reference's answer: the status, the content type, and the
    declared envelope parts (or, with no envelope declared, the body's shape); nothing of
    the body where either is a documented gateway answer (``gateway``)."""
    origin: Origin = "gateway" if gateway else "application"
    moved = reference_status(backend, got, ref_name, ref, origin)
    if moved is not None:
        return [moved]
    diffs: list[Difference] = []
    mine, theirs = media_type(got.headers), media_type(ref.headers)
    if mine != theirs:
        diffs.append(
            _diff(
                "content-type",
                "header-changed",
                theirs or _ABSENT,
                mine or _ABSENT,
                "breaking",
                f"content-type: {ref_name} {theirs}, {backend} {mine}",
                origin,
            )
        )
    if gateway or not (got.is_json and ref.is_json):
        return diffs  # documented gateway answers differ by design; text has no shape
    if not envelope.declared:
        return diffs + _shape_diffs(
            body_shape(ref.body), body_shape(got.body), "$", ref_name, backend
        )
    return diffs + envelope_parts(backend, got, ref_name, ref, envelope)


def judge_errors(
    answers: Mapping[str, Answer],
    status: int,
    envelope: Envelope,
    baseline: Baseline,
    *,
    endpoint: str,
    check: str,
    scenario: str,
    requests: Mapping[str, dict[str, Any]],
    reference: str = "express",
    gateway_shape: Gateway | None = None,
) -> list[CheckResult]:
    """One record per backend for an error case: each answer judged against the declared
    conventions and against the ``reference`` backend's answer to the same request."""
    return verdicts.judge_errors(
        answers,
        status,
        envelope,
        baseline,
        endpoint=endpoint,
        check=check,
        scenario=scenario,
        requests=requests,
        reference=reference,
        judge=lambda name, got, against: judge_error(
            name, got, status, envelope, reference=against, gateway_shape=gateway_shape
        ),
        response=_response,
    )


def _response(got: Answer) -> dict[str, Any]:
    return {
        "status": got.status,
        "content_type": media_type(got.headers),
        "body": got.body if got.is_json else got.text,
    }
