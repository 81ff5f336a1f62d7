"""Baseline entries: the ``[[accept]]`` entries of ``parity-baseline.toml`` that would
accept every occurrence of a finding, written in the format :mod:`parity.engine.baseline`
reads, ready to paste (each finding of :mod:`parity.engine.findings` carries them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, timedelta

from parity.engine.symptoms import FAILING, Hit

__all__ = ["ACCEPT_DAYS", "baseline_toml"]

#: How long a pasted baseline entry accepts its finding before it fails again.
ACCEPT_DAYS = 30
#: Checks whose baseline is applied with the candidate's status (``status = N`` in an
#: entry narrows it safely there; elsewhere an entry with a status would match nothing).
_STATUS_AWARE = frozenset({"status", "headers", "envelope", "contract"})


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
    finding_id: str, title: str, group: Sequence[Hit], rows: Sequence[str], today: date
) -> str:
    """The ``[[accept]]`` entries that accept every occurrence of a finding, in the format
    :mod:`parity.engine.baseline` reads, expiring :data:`ACCEPT_DAYS` days from ``today``."""
    # (check, candidate status, origin) -> path -> endpoints
    wanted: dict[tuple[str, int | None, str | None], dict[str, set[str]]] = {}
    for hit in group:
        if hit.record["state"] not in FAILING or hit.symptom.accepted_by:
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
