"""``parity-baseline.toml``: differences the team has accepted, each with a reason and an
expiry date (schemathesis' ``--baseline`` is the model).

::

    version = 1

    [[accept]]
    id = "authorizer-401"              # optional; defaults to "entry N"
    endpoint = "* /api/*"              # "METHOD /route/template"; * matches anything
    check = "envelope"                 # status | headers | envelope | ... (* allowed)
    path = "*"                         # the difference's path: JSON path, header name, status
    origin = "gateway"                 # optional: gateway | application
    status = 401                       # optional: the candidate's status code
    reason = "the JWT authorizer answers before the Lambda runs"
    expires = 2026-06-30               # a TOML date; after it the difference fails again

An accepted difference shows as ``accepted`` (never green) and does not fail the run; an
expired entry accepts nothing, so its difference fails again; an entry whose scope was
checked but that matched nothing is *stale* (the drift is gone: delete the entry).

Only ``*`` is a wildcard in the patterns (JSON paths contain ``[`` and ``]``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from parity.core.errors import UsageError
from parity.core.inputs import parse_toml, read_text
from parity.core.results import ORIGINS, CheckResult
from parity.engine.diff import Difference

__all__ = [
    "BASELINE_KEY",
    "Baseline",
    "BaselineError",
    "Entry",
    "EntryUsage",
    "load_baseline",
]

#: ``CheckResult.evidence`` key listing the ids of the entries that accepted something.
BASELINE_KEY = "baseline"

_REQUIRED = ("endpoint", "check", "path", "reason", "expires")
_OPTIONAL = ("id", "origin", "status")
_UNJUDGED = frozenset({"error", "skipped", "not-testable"})


class BaselineError(UsageError):
    """The baseline file is malformed; names the file, the entry and the field."""


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


@dataclass(frozen=True)
class Entry:
    id: str
    endpoint: str
    check: str
    path: str
    reason: str
    expires: date
    origin: str | None = None
    status: int | None = None
    index: int = 0  # 1-based position in the file

    def in_scope(self, endpoint: str, check: str) -> bool:
        """The entry is about this (endpoint, check) cell."""
        return bool(_glob(self.endpoint).match(endpoint) and _glob(self.check).match(check))

    def matches(
        self, endpoint: str, check: str, diff: Difference, status: int | None = None
    ) -> bool:
        return (
            self.in_scope(endpoint, check)
            and bool(_glob(self.path).match(diff.path))
            and (self.origin is None or self.origin == diff.origin)
            and (self.status is None or self.status == status)
        )

    def expired(self, today: date) -> bool:
        return self.expires < today

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "check": self.check,
            "path": self.path,
            "origin": self.origin,
            "status": self.status,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }


EntryState = Literal["used", "stale", "expired", "not-evaluated"]


@dataclass
class EntryUsage:
    entry: Entry
    state: EntryState
    matched: int = 0  # how many records it accepted something in

    def to_dict(self) -> dict[str, Any]:
        return {**self.entry.describe(), "state": self.state, "matched": self.matched}


@dataclass
class Baseline:
    entries: list[Entry] = field(default_factory=list)
    path: Path | None = None
    #: The variety of the checks judged (a probe's, ``head`` of ``probe:method``): an entry
    #: naming ``<check>:<variety>`` is tried first, then one naming the check, so a
    #: difference that is real for one variety only is accepted for that one alone.
    variety: str | None = None

    def for_variety(self, variety: str) -> Baseline:
        """The same entries, judging checks of ``variety``."""
        return replace(self, variety=variety)

    def apply(
        self,
        endpoint: str,
        check: str,
        diffs: Iterable[Difference],
        *,
        status: int | None = None,
        today: date | None = None,
    ) -> list[str]:
        """Mark the differences an active entry accepts (``accepted_by``) and note the
        ones only an expired entry would have. Returns the ids of the entries used."""
        if self.variety is None:
            return self._apply(endpoint, check, diffs, status, today)
        diffs = list(diffs)
        fine = self._apply(endpoint, f"{check}:{self.variety}", diffs, status, today)
        rest = [d for d in diffs if d.accepted_by is None]
        coarse = self._apply(endpoint, check, rest, status, today)
        return fine + [c for c in coarse if c not in fine]

    def _apply(
        self,
        endpoint: str,
        check: str,
        diffs: Iterable[Difference],
        status: int | None,
        today: date | None,
    ) -> list[str]:
        today = today or date.today()
        used: list[str] = []
        for diff in diffs:
            for entry in self.entries:
                if not entry.matches(endpoint, check, diff, status):
                    continue
                if entry.expired(today):
                    diff.note = _join(
                        diff.note,
                        f"baseline entry {entry.id!r} expired on {entry.expires.isoformat()}: "
                        "fix the drift or renew the entry with a new date and reason",
                    )
                    continue
                diff.accepted_by = entry.id
                if entry.id not in used:
                    used.append(entry.id)
                break
        return used

    def usage(self, records: Iterable[CheckResult], today: date | None = None) -> list[EntryUsage]:
        """Which entries were used, are stale, expired or not evaluated by this run.

        An entry is *stale* when a cell in its scope was judged under its conditions (the
        candidate answered the entry's ``status`` and ``origin``, when it names them) and
        it accepted
        nothing there: the difference it was written for is gone. A run that never got
        there (no such status, or the check did not run) leaves it ``not-evaluated``.
        """
        today = today or date.today()
        judged: list[tuple[str, str, int | None, str | None]] = []
        counts: dict[str, int] = {}
        for record in records:
            if record.state not in _UNJUDGED:
                status, origin = _candidate_answer(record)
                judged.append((record.endpoint, record.check, status, origin))
            for entry_id in record.evidence.get(BASELINE_KEY, []) or []:
                counts[entry_id] = counts.get(entry_id, 0) + 1
        out: list[EntryUsage] = []
        for entry in self.entries:
            state: EntryState
            if entry.expired(today):
                state = "expired"
            elif counts.get(entry.id):
                state = "used"
            elif any(
                entry.in_scope(e, c)
                and (entry.status is None or s == entry.status)
                and (entry.origin is None or o in (None, entry.origin))
                for e, c, s, o in judged
            ):
                state = "stale"
            else:
                state = "not-evaluated"
            out.append(EntryUsage(entry, state, counts.get(entry.id, 0)))
        return out


def _candidate_answer(record: CheckResult) -> tuple[int | None, str | None]:
    """The candidate's status and answer origin in a differential record's evidence
    (None: unknown)."""
    responses = record.evidence.get("responses")
    candidate = record.evidence.get("candidate")
    if not isinstance(responses, dict) or not isinstance(responses.get(candidate), dict):
        return None, None
    answer = responses[candidate]
    status = answer.get("status")
    # as the check judged it from the catalog's envelope.gateway, not by a body shape
    origin = "gateway" if record.evidence.get("candidate_gateway") else "application"
    return (status if isinstance(status, int) else None), origin


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    first = f"Did you mean {close[0]!r}?" if close else "Remove it or fix its spelling."
    return f"{first} Known keys: {', '.join(known)}"


def _fail(path: Path, where: str, problem: str, hint: str) -> BaselineError:
    return BaselineError(problem, path=path, location=where, hint=hint)


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _entry(path: Path, index: int, raw: Any) -> Entry:
    where = f"[[accept]] entry {index}"
    if not isinstance(raw, Mapping):
        raise _fail(path, where, "not a table", "Write each entry as [[accept]] with keys below")
    if isinstance(raw.get("id"), str) and raw["id"].strip():
        where += f" ({raw['id'].strip()})"
    for key in raw:
        if key not in _REQUIRED + _OPTIONAL:
            raise _fail(
                path,
                f"{where}, field {key}",
                f"unknown field {key!r}",
                _did_you_mean(key, _REQUIRED + _OPTIONAL),
            )
    for key in _REQUIRED:
        if key not in raw:
            example = {
                "endpoint": 'endpoint = "GET /api/things/{id}"',
                "check": 'check = "envelope"',
                "path": 'path = "data.items[*].id" (or "*")',
                "reason": 'reason = "why this difference is accepted"',
                "expires": "expires = 2026-06-30",
            }[key]
            raise _fail(path, where, f"missing required field {key!r}", f"Add {example}")
    for key in ("endpoint", "check", "path", "reason", "id"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise _fail(path, f"{where}, field {key}", "expected non-empty text", "Quote it")
    expires = _date(raw["expires"])
    if expires is None:
        raise _fail(
            path,
            f"{where}, field expires",
            f"not a date (got {raw['expires']!r})",
            "Write a TOML date such as expires = 2026-06-30",
        )
    origin = raw.get("origin")
    if origin is not None and (not isinstance(origin, str) or origin not in ORIGINS):
        raise _fail(
            path,
            f"{where}, field origin",
            f"unknown origin {origin!r}",
            "Use gateway or application",
        )
    status = raw.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        raise _fail(
            path, f"{where}, field status", f"not an HTTP status ({status!r})", "Use e.g. 401"
        )
    endpoint = raw["endpoint"].strip()
    if not re.fullmatch(r"(\*|[A-Z]+) \S+|\*", endpoint):
        raise _fail(
            path,
            f"{where}, field endpoint",
            f"{endpoint!r} is not 'METHOD /route'",
            'Write e.g. "GET /api/items/{itemId}" or "* /api/*"',
        )
    return Entry(
        id=str(raw.get("id") or f"entry {index}").strip(),
        endpoint=endpoint,
        check=raw["check"].strip(),
        path=raw["path"].strip(),
        reason=raw["reason"].strip(),
        expires=expires,
        origin=origin,
        status=status,
        index=index,
    )


def load_baseline(path: str | Path, *, required: bool = False) -> Baseline:
    """Read and validate a baseline file. A missing file is an empty baseline unless
    ``required`` (the user named it)."""
    p = Path(path)
    if not p.exists() and not required:
        return Baseline([], None)
    hint = "Fix --baseline / PARITY_BASELINE, or create the file"
    text = read_text(p, "baseline", BaselineError, hint=f"{hint} (an absent file accepts nothing)")
    doc = parse_toml(text, p, BaselineError, hint="Fix the syntax there")
    for key in doc:
        if key not in ("version", "accept"):
            raise _fail(
                p, f"key {key}", f"unknown key {key!r}", _did_you_mean(key, ("version", "accept"))
            )
    version = doc.get("version", 1)
    if isinstance(version, bool) or version != 1:
        raise _fail(p, "key version", f"unsupported version {version!r}", "Use version = 1")
    raw_entries = doc.get("accept", [])
    if not isinstance(raw_entries, list):
        raise _fail(p, "key accept", "expected [[accept]] tables", "Write [[accept]] per entry")
    entries = [_entry(p, i, raw) for i, raw in enumerate(raw_entries, start=1)]
    seen: dict[str, int] = {}
    for entry in entries:
        if entry.id in seen:
            raise _fail(
                p,
                f"[[accept]] entry {entry.index} ({entry.id})",
                f"duplicate id (entry {seen[entry.id]} has it too)",
                "Give each entry its own id",
            )
        seen[entry.id] = entry.index
    return Baseline(entries, p)
