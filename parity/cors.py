"""CORS as a browser sees it: a preflight ``OPTIONS`` and the actual request's headers,
judged against the policy the catalog declares (``checks.cors``).

A preflight from an allowed origin must succeed (2xx), echo the origin in
``Access-Control-Allow-Origin``, list the request's method and every required method in
``Access-Control-Allow-Methods``, every required header in ``Access-Control-Allow-Headers``
(names compare case-insensitively: API Gateway lower-cases them) and, when asked, carry
``Access-Control-Max-Age``. A disallowed origin must get no ``Access-Control-Allow-Origin``
at all. The actual request carries the same ``Access-Control-Allow-Origin`` rule.

Findings are :class:`~parity.diff.Difference` objects whose path is the header name; their
origin is ``gateway`` for a backend behind API Gateway (its CORS configuration answers the
preflight and replaces whatever the Lambda sends), ``application`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from parity.checkspec import CorsChecks
from parity.diff import Difference
from parity.results import Origin

__all__ = [
    "ALLOW_HEADERS",
    "ALLOW_METHODS",
    "ALLOW_ORIGIN",
    "check_actual",
    "check_preflight",
    "preflight_headers",
    "tokens",
]

ALLOW_ORIGIN = "access-control-allow-origin"
ALLOW_METHODS = "access-control-allow-methods"
ALLOW_HEADERS = "access-control-allow-headers"
MAX_AGE = "access-control-max-age"


def tokens(value: str | None) -> set[str]:
    """``"GET, post"`` -> ``{"get", "post"}``."""
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _diff(
    header: str, kind: str, expected: object, actual: object, origin: Origin, note: str
) -> Difference:
    return Difference(header, kind, expected, actual, "breaking", origin, note=note)  # type: ignore[arg-type]


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
    h = _lower(headers)
    acao = h.get(ALLOW_ORIGIN)
    if not allowed:
        if acao is not None and (acao == "*" or acao == origin):
            return [
                _diff(
                    ALLOW_ORIGIN,
                    "header-added",
                    "(absent)",
                    acao,
                    finding_origin,
                    f"{where}: a disallowed origin got {ALLOW_ORIGIN}: {acao}",
                )
            ]
        return []
    found: list[Difference] = []
    if not 200 <= status < 300:
        found.append(
            _diff(
                "status",
                "status",
                204,
                status,
                finding_origin,
                f"{where}: preflight answered {status}",
            )
        )
    if acao != origin:
        found.append(
            _diff(
                ALLOW_ORIGIN,
                "header-removed" if acao is None else "header-changed",
                origin,
                acao or "(absent)",
                finding_origin,
                f"{where}: {ALLOW_ORIGIN} is {acao or 'absent'}, expected {origin}",
            )
        )
    methods = tokens(h.get(ALLOW_METHODS))
    wanted = [method.upper(), *(m.upper() for m in policy.methods)]
    missing = [m for m in dict.fromkeys(wanted) if m.lower() not in methods and "*" not in methods]
    if missing:
        found.append(
            _diff(
                ALLOW_METHODS,
                "header-changed" if methods else "header-removed",
                ",".join(dict.fromkeys(wanted)),
                h.get(ALLOW_METHODS, "(absent)"),
                finding_origin,
                f"{where}: {ALLOW_METHODS} lacks {', '.join(missing)} "
                f"(got {h.get(ALLOW_METHODS) or 'nothing'})",
            )
        )
    allowed_headers = tokens(h.get(ALLOW_HEADERS))
    lacking = [
        x for x in policy.headers if x.lower() not in allowed_headers and "*" not in allowed_headers
    ]
    if lacking:
        found.append(
            _diff(
                ALLOW_HEADERS,
                "header-changed" if allowed_headers else "header-removed",
                ",".join(policy.headers),
                h.get(ALLOW_HEADERS, "(absent)"),
                finding_origin,
                f"{where}: {ALLOW_HEADERS} lacks {', '.join(lacking)} "
                f"(got {h.get(ALLOW_HEADERS) or 'nothing'})",
            )
        )
    if policy.max_age and MAX_AGE not in h:
        found.append(
            _diff(
                MAX_AGE,
                "header-removed",
                "a number of seconds",
                "(absent)",
                finding_origin,
                f"{where}: no {MAX_AGE}",
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
) -> list[Difference]:
    """Findings about the CORS headers of an actual (non-preflight) answer."""
    acao = _lower(headers).get(ALLOW_ORIGIN)
    if allowed and acao not in (origin, "*"):
        return [
            _diff(
                ALLOW_ORIGIN,
                "header-removed" if acao is None else "header-changed",
                origin,
                acao or "(absent)",
                finding_origin,
                f"{where}: the answer has {ALLOW_ORIGIN} {acao or 'absent'}, expected {origin}",
            )
        ]
    if not allowed and acao is not None and acao in (origin, "*"):
        return [
            _diff(
                ALLOW_ORIGIN,
                "header-added",
                "(absent)",
                acao,
                finding_origin,
                f"{where}: a disallowed origin got {ALLOW_ORIGIN}: {acao}",
            )
        ]
    return []


def preflight_headers(origin: str, method: str, request_headers: Iterable[str]) -> dict[str, str]:
    """The headers a browser sends with a preflight."""
    headers = {"Origin": origin, "Access-Control-Request-Method": method.upper()}
    names = ",".join(h.lower() for h in request_headers)
    if names:
        headers["Access-Control-Request-Headers"] = names
    return headers
