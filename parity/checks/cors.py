"""CORS as a browser sees it: a preflight ``OPTIONS`` and the actual request's headers,
compared between the two backends and judged against the policy the catalog declares
(``checks.cors``).

**Differential** (:func:`compare_cors`): the candidate's CORS answer must be the
reference's, whether or not both satisfy the policy: for an origin that is let in, the
status, every ``Access-Control-*`` header and the CORS part of ``Vary`` (``Origin``,
``Access-Control-Request-*``); lists (methods, headers, exposed headers, ``Vary``) compare
as sets, header names case-insensitively (API Gateway lower-cases them). For an origin that
is refused, only the decision counts: a browser sees nothing else of the answer.

**Policy** (:func:`check_preflight`, :func:`check_actual`): only what is declared is judged.
An allowed origin's preflight answers 2xx and lets the origin in (echoed, or ``*`` under a
policy of any origin without credentials), allows the request's method unless it is a
CORS-safelisted one (GET, HEAD, POST need no listing) and every declared method and header
(``*`` is a wildcard only without credentials, and never covers ``Authorization``: the
Fetch standard), and carries (or not) ``Access-Control-Max-Age`` and
``Access-Control-Allow-Credentials`` as declared. A disallowed origin is never let in.

Findings are :class:`~parity.engine.diff.Difference` objects whose path is the header name; their
origin is ``gateway`` for a backend behind API Gateway (its CORS configuration answers the
preflight and replaces whatever the Lambda sends), ``application`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parity.core.checkspec import CorsChecks
from parity.core.results import Origin, Severity
from parity.engine.diff import Difference

__all__ = [
    "ALLOW_CREDENTIALS",
    "ALLOW_HEADERS",
    "ALLOW_METHODS",
    "ALLOW_ORIGIN",
    "CorsAnswer",
    "check_actual",
    "check_preflight",
    "compare_cors",
    "lets_in",
    "preflight_headers",
    "preflight_not_applicable",
    "tokens",
]

ALLOW_ORIGIN = "access-control-allow-origin"
ALLOW_METHODS = "access-control-allow-methods"
ALLOW_HEADERS = "access-control-allow-headers"
ALLOW_CREDENTIALS = "access-control-allow-credentials"
EXPOSE_HEADERS = "access-control-expose-headers"
MAX_AGE = "access-control-max-age"
VARY = "vary"
#: Methods a browser sends cross-origin without their being listed (Fetch standard).
SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
#: Headers whose value is a list compared as a set; methods compare upper-case.
_LISTS = frozenset({ALLOW_METHODS, ALLOW_HEADERS, EXPOSE_HEADERS, VARY})
_ABSENT = "(absent)"


def tokens(value: str | None) -> set[str]:
    """``"GET, post"`` -> ``{"get", "post"}``."""
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _vary_cors(value: str | None) -> set[str]:
    """The CORS part of a ``Vary`` header (what a cache must key a CORS answer on)."""
    return {t for t in tokens(value) if t == "origin" or t.startswith("access-control-")}


@dataclass(frozen=True)
class CorsAnswer:
    """The part of an answer CORS is about: the status, ``Access-Control-*`` and ``Vary``."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str]) -> CorsAnswer:
        kept = {
            k: v for k, v in _lower(headers).items() if k.startswith("access-control-") or k == VARY
        }
        return cls(status, kept)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "headers": dict(self.headers)}


def lets_in(headers: Mapping[str, str], origin: str) -> bool:
    """Whether the answer lets ``origin`` read it (``Access-Control-Allow-Origin``)."""
    acao = _lower(headers).get(ALLOW_ORIGIN)
    return acao is not None and (acao.strip() == "*" or acao.strip() == origin)


def _diff(
    header: str,
    kind: str,
    expected: object,
    actual: object,
    origin: Origin,
    note: str,
    severity: Severity = "breaking",
) -> Difference:
    return Difference(header, kind, expected, actual, severity, origin, note=note)  # type: ignore[arg-type]


# --- the two backends compared -----------------------------------------------------------


def compare_cors(
    ref_name: str,
    ref: CorsAnswer,
    backend: str,
    got: CorsAnswer,
    *,
    origin: str,
    allowed: bool | None,
    where: str,
    finding_origin: Origin,
) -> list[Difference]:
    """Differences between two backends' CORS answers to the same request from ``origin``.

    ``allowed`` False (an origin the policy refuses): only whether each lets it in. Else
    (allowed, or unknown) every CORS header when either lets it in; when neither does,
    the decision is all a browser sees."""
    mine, theirs = lets_in(got.headers, origin), lets_in(ref.headers, origin)
    if mine != theirs or allowed is False or not (mine or theirs):
        if mine == theirs:
            return []
        return [
            _diff(
                ALLOW_ORIGIN,
                "header-added" if mine else "header-removed",
                ref.headers.get(ALLOW_ORIGIN, _ABSENT),
                got.headers.get(ALLOW_ORIGIN, _ABSENT),
                finding_origin,
                f"{where}: {ref_name} {'lets' if theirs else 'keeps'} {origin} "
                f"{'in' if theirs else 'out'}, {backend} {'lets it in' if mine else 'does not'}",
            )
        ]
    found: list[Difference] = []
    if got.status != ref.status:
        found.append(
            _diff(
                "status",
                "status",
                ref.status,
                got.status,
                finding_origin,
                f"{where}: {backend} answered {got.status}, {ref_name} {ref.status}",
            )
        )
    for name in sorted(set(ref.headers) | set(got.headers)):
        found += _compare_header(
            name,
            ref.headers.get(name),
            got.headers.get(name),
            ref_name,
            backend,
            where,
            finding_origin,
        )
    return found


def _same(a: str | None, b: str | None) -> bool:
    # Values compare exactly: browsers read "true" (credentials) and origins verbatim.
    if a is None or b is None:
        return a is b
    return a.strip() == b.strip()


def _compare_header(
    name: str,
    theirs: str | None,
    mine: str | None,
    ref_name: str,
    backend: str,
    where: str,
    origin: Origin,
) -> list[Difference]:
    if name in _LISTS:
        read = _vary_cors if name == VARY else tokens
        a, b = read(theirs), read(mine)
        if a == b:
            return []
        lost, extra = sorted(a - b), sorted(b - a)
        said = "; ".join(
            part
            for part in (
                f"{backend} lacks {', '.join(lost)}" if lost else "",
                f"{backend} adds {', '.join(extra)}" if extra else "",
            )
            if part
        )
        kind = (
            "header-added"
            if theirs is None
            else "header-removed"
            if mine is None
            else "header-changed"
        )
        return [
            _diff(
                name,
                kind,
                theirs or _ABSENT,
                mine or _ABSENT,
                origin,
                f"{where}: {name}: {said} ({ref_name} {theirs or 'nothing'})",
                "breaking" if lost else "additive",
            )
        ]
    if _same(theirs, mine):
        return []
    kind = (
        "header-added" if theirs is None else "header-removed" if mine is None else "header-changed"
    )
    severity: Severity = "breaking"
    if name == MAX_AGE:  # how often a preflight is sent, not what it allows
        severity = "cosmetic"
    elif theirs is None and name != ALLOW_CREDENTIALS:  # credentials added change the policy
        severity = "additive"
    return [
        _diff(
            name,
            kind,
            theirs if theirs is not None else _ABSENT,
            mine if mine is not None else _ABSENT,
            origin,
            f"{where}: {name}: {ref_name} {theirs if theirs is not None else 'absent'}, "
            f"{backend} {mine if mine is not None else 'absent'}",
            severity,
        )
    ]


# --- one backend against the declared policy ----------------------------------------------


def _admission(
    headers: Mapping[str, str], origin: str, policy: CorsChecks, where: str, finding: Origin
) -> list[Difference]:
    """An allowed origin is let in as the policy says, with credentials as declared."""
    h = _lower(headers)
    acao = h.get(ALLOW_ORIGIN)
    found: list[Difference] = []
    star_ok = policy.any_origin and policy.credentials is not True
    if not (acao == origin or (acao == "*" and star_ok)):
        expected = f"{origin} or *" if star_ok else origin
        why = ""
        if acao == "*":
            why = (
                " (* with credentials is refused by browsers)"
                if policy.credentials
                else " (* lets in every origin, not the declared list)"
            )
        found.append(
            _diff(
                ALLOW_ORIGIN,
                "header-removed" if acao is None else "header-changed",
                expected,
                acao or _ABSENT,
                finding,
                f"{where}: {ALLOW_ORIGIN} is {acao or 'absent'}, expected {expected}{why}",
            )
        )
    acac = (h.get(ALLOW_CREDENTIALS) or "").strip()  # browsers want exactly "true"
    if policy.credentials is True and acac != "true":
        found.append(
            _diff(
                ALLOW_CREDENTIALS,
                "header-removed" if not acac else "header-changed",
                "true",
                h.get(ALLOW_CREDENTIALS, _ABSENT),
                finding,
                f"{where}: credentials are allowed by the policy but {ALLOW_CREDENTIALS} is "
                f"{h.get(ALLOW_CREDENTIALS) or 'absent'}",
            )
        )
    if policy.credentials is False and acac == "true":
        found.append(
            _diff(
                ALLOW_CREDENTIALS,
                "header-added",
                _ABSENT,
                h[ALLOW_CREDENTIALS],
                finding,
                f"{where}: {ALLOW_CREDENTIALS}: true, but the policy allows no credentials",
            )
        )
    return found


def _refused(
    headers: Mapping[str, str], origin: str, where: str, finding: Origin
) -> list[Difference]:
    if not lets_in(headers, origin):
        return []
    acao = _lower(headers)[ALLOW_ORIGIN]
    return [
        _diff(
            ALLOW_ORIGIN,
            "header-added",
            _ABSENT,
            acao,
            finding,
            f"{where}: a disallowed origin got {ALLOW_ORIGIN}: {acao}",
        )
    ]


def check_preflight(
    status: int,
    headers: Mapping[str, str],
    *,
    origin: str,
    allowed: bool,
    method: str,
    policy: CorsChecks,
    where: str,
    finding_origin: Origin,
) -> list[Difference]:
    """Findings about one preflight answer (``where`` names backend, path and origin)."""
    if not allowed:
        return _refused(headers, origin, where, finding_origin)
    h = _lower(headers)
    found: list[Difference] = []
    if not 200 <= status < 300:
        found.append(
            _diff(
                "status",
                "status",
                "2xx",
                status,
                finding_origin,
                f"{where}: preflight answered {status}",
            )
        )
    found += _admission(h, origin, policy, where, finding_origin)
    wildcard = policy.credentials is not True  # with credentials "*" is a literal name
    methods = {m.upper() for m in tokens(h.get(ALLOW_METHODS))}
    wanted = [m.upper() for m in policy.methods]
    if method.upper() not in SAFELISTED_METHODS:
        wanted.insert(0, method.upper())
    missing = [
        m for m in dict.fromkeys(wanted) if m not in methods and not (wildcard and "*" in methods)
    ]
    if missing:
        found.append(
            _diff(
                ALLOW_METHODS,
                "header-changed" if methods else "header-removed",
                ",".join(dict.fromkeys(wanted)),
                h.get(ALLOW_METHODS, _ABSENT),
                finding_origin,
                f"{where}: {ALLOW_METHODS} lacks {', '.join(missing)} "
                f"(got {h.get(ALLOW_METHODS) or 'nothing'})",
            )
        )
    allowed_headers = tokens(h.get(ALLOW_HEADERS))
    star = wildcard and "*" in allowed_headers
    lacking = [
        x
        for x in policy.headers
        if x.lower() not in allowed_headers and not (star and x.lower() != "authorization")
    ]
    if lacking:
        found.append(
            _diff(
                ALLOW_HEADERS,
                "header-changed" if allowed_headers else "header-removed",
                ",".join(policy.headers),
                h.get(ALLOW_HEADERS, _ABSENT),
                finding_origin,
                f"{where}: {ALLOW_HEADERS} lacks {', '.join(lacking)} "
                f"(got {h.get(ALLOW_HEADERS) or 'nothing'})",
            )
        )
    if policy.max_age is True and MAX_AGE not in h:
        found.append(
            _diff(
                MAX_AGE,
                "header-removed",
                "a number of seconds",
                _ABSENT,
                finding_origin,
                f"{where}: no {MAX_AGE}",
            )
        )
    if policy.max_age is False and MAX_AGE in h:
        found.append(
            _diff(
                MAX_AGE,
                "header-added",
                _ABSENT,
                h[MAX_AGE],
                finding_origin,
                f"{where}: {MAX_AGE}: {h[MAX_AGE]}, but the policy says none",
            )
        )
    return found


def check_actual(
    headers: Mapping[str, str],
    *,
    origin: str,
    allowed: bool,
    where: str,
    finding_origin: Origin,
    policy: CorsChecks | None = None,
) -> list[Difference]:
    """Findings about the CORS headers of an actual (non-preflight) answer. Without a
    ``policy`` an allowed origin may be echoed or get ``*``."""
    if not allowed:
        return _refused(headers, origin, where, finding_origin)
    if policy is not None:
        return _admission(headers, origin, policy, where, finding_origin)
    if lets_in(headers, origin):
        return []
    acao = _lower(headers).get(ALLOW_ORIGIN)
    return [
        _diff(
            ALLOW_ORIGIN,
            "header-removed" if acao is None else "header-changed",
            origin,
            acao or _ABSENT,
            finding_origin,
            f"{where}: the answer has {ALLOW_ORIGIN} {acao or 'absent'}, expected {origin}",
        )
    ]


def preflight_not_applicable(method: str) -> str | None:
    """Why an endpoint gets no preflight of its own (None: it does). An ``OPTIONS``
    endpoint is the preflight: its answer is judged as the actual request."""
    if method.upper() == "OPTIONS":
        return (
            "an OPTIONS endpoint is itself the preflight (its answer is judged as the "
            "actual request): a browser sends no preflight before it"
        )
    return None


def preflight_headers(origin: str, method: str, request_headers: Iterable[str]) -> dict[str, str]:
    """The headers a browser sends with a preflight."""
    headers = {"Origin": origin, "Access-Control-Request-Method": method.upper()}
    names = ",".join(h.lower() for h in request_headers)
    if names:
        headers["Access-Control-Request-Headers"] = names
    return headers
