"""What every resource module of the application core shares: the ``Context`` (database,
cache, storage, settings), request validation helpers that collect moc-api.md's
``error.details`` and list/paging helpers.

Validation collects every problem of a request before answering, so one 400 lists all
of them (``[{"field": "title", "issue": "required"}, ...]``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from sqlalchemy import ColumnElement, and_, func, or_

from sandbox.core.cache import Cache
from sandbox.core.db import Database
from sandbox.core.http import ApiError, CoreRequest, Principal
from sandbox.core.storage import Storage
from sandbox.settings import SandboxSettings

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_FILE_BYTES",
    "MAX_LIMIT",
    "MISSING",
    "NO_STORE",
    "PUBLIC_CACHE",
    "Context",
    "Problems",
    "fail",
    "forbidden",
    "json_body",
    "list_data",
    "not_found",
    "pagination",
    "parse_uuid",
    "require_principal",
    "required_query",
    "safe_filename",
    "text_match",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_FILE_BYTES = 104_857_600  # 100 MB: presign and direct uploads alike
NO_STORE = {"Cache-Control": "no-store"}
PUBLIC_CACHE = {"Cache-Control": "public, max-age=30"}

Flavour = Literal["express", "serverless"]

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


class _Missing:
    """Marks a body field that was not sent (``None`` means JSON ``null``)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:  # so `value or default` treats "not sent" as empty
        return False


MISSING: Any = _Missing()


@dataclass
class Context:
    flavour: Flavour
    db: Database
    cache: Cache
    storage: Storage
    settings: SandboxSettings


def fail(field: str, issue: str) -> NoReturn:
    """A 400 about a single field."""
    raise ApiError("VALIDATION_ERROR", "Validation failed", [{"field": field, "issue": issue}])


def not_found(what: str) -> ApiError:
    return ApiError("NOT_FOUND", f"{what} not found")


def forbidden(what: str) -> ApiError:
    return ApiError("FORBIDDEN", f"You do not have access to this {what}")


def require_principal(req: CoreRequest) -> Principal:
    # The adapters authenticate "user" routes; this is the core's own safety net.
    if req.principal is None:
        raise ApiError("UNAUTHORIZED", "Unauthorized")
    return req.principal


class Problems:
    """Collects ``{field, issue}`` pairs; ``raise_if_any`` turns them into one 400."""

    def __init__(self) -> None:
        self.details: list[dict[str, str]] = []

    def add(self, field: str, issue: str) -> None:
        self.details.append({"field": field, "issue": issue})

    def __bool__(self) -> bool:
        return bool(self.details)

    def raise_if_any(self) -> None:
        if self.details:
            raise ApiError("VALIDATION_ERROR", "Validation failed", self.details)

    # -- typed field readers: return the value, or MISSING after recording a problem --

    def string(
        self,
        body: dict[str, Any],
        field: str,
        *,
        required: bool = False,
        max_length: int = 200,
        allow_empty: bool = False,
        nullable: bool = False,
    ) -> Any:
        value = body.get(field, MISSING)
        if value is MISSING:
            if required:
                self.add(field, "required")
            return MISSING
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.add(field, "must be a string")
            return MISSING
        if not allow_empty and not value.strip():
            self.add(field, "required" if required else "must not be empty")
            return MISSING
        if len(value) > max_length:
            self.add(field, f"must be at most {max_length} characters")
            return MISSING
        return value.strip() if not allow_empty else value

    def integer(
        self,
        body: dict[str, Any],
        field: str,
        *,
        required: bool = False,
        minimum: int,
        maximum: int,
    ) -> Any:
        value = body.get(field, MISSING)
        if value is MISSING:
            if required:
                self.add(field, "required")
            return MISSING
        # JSON true/false are Python ints; 3.0 is not an integer in this API
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, "must be an integer")
            return MISSING
        if not minimum <= value <= maximum:
            self.add(field, f"must be between {minimum} and {maximum}")
            return MISSING
        return value

    def string_list(
        self,
        body: dict[str, Any],
        field: str,
        *,
        max_items: int = 20,
        max_length: int = 50,
    ) -> Any:
        value = body.get(field, MISSING)
        if value is MISSING:
            return MISSING
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(field, "must be a list of strings")
            return MISSING
        if len(value) > max_items:
            self.add(field, f"must have at most {max_items} items")
            return MISSING
        cleaned = [v.strip() for v in value]
        if any(not v or len(v) > max_length for v in cleaned):
            self.add(field, f"items must be 1 to {max_length} characters")
            return MISSING
        return cleaned

    def uuid_field(self, body: dict[str, Any], field: str, *, nullable: bool = True) -> Any:
        value = body.get(field, MISSING)
        if value is MISSING:
            return MISSING
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not _UUID_RE.match(value):
            self.add(field, "must be a UUID")
            return MISSING
        return value.lower()

    def unknown_fields(self, body: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
        for name in sorted(set(body) - set(allowed)):
            self.add(name, "unknown field")


def parse_uuid(value: str, field: str) -> str:
    """A path id: canonical UUID text (lower-cased) or 400."""
    if not _UUID_RE.match(value):
        fail(field, "must be a UUID")
    return str(uuid.UUID(value))


def json_body(req: CoreRequest) -> dict[str, Any]:
    """The JSON object body; a missing body counts as ``{}`` (like Express' ``req.body``)."""
    if req.json_error:
        raise ApiError(
            "VALIDATION_ERROR", "Invalid JSON body", [{"field": "body", "issue": "invalid JSON"}]
        )
    if req.json is None:
        return {}
    if not isinstance(req.json, dict):
        raise ApiError(
            "VALIDATION_ERROR",
            "Validation failed",
            [{"field": "body", "issue": "must be a JSON object"}],
        )
    return req.json


def pagination(req: CoreRequest, problems: Problems) -> tuple[int, int]:
    """``page`` (>= 1, default 1) and ``limit`` (1..100, default 20) from the query."""
    page = _query_int(req, "page", 1, 1, None, problems)
    limit = _query_int(req, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT, problems)
    return page, limit


def _query_int(
    req: CoreRequest,
    name: str,
    default: int,
    minimum: int,
    maximum: int | None,
    problems: Problems,
) -> int:
    raw = req.query.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        problems.add(name, "must be an integer")
        return default
    value = int(text)
    if value < minimum:
        problems.add(name, f"must be >= {minimum}")
    elif maximum is not None and value > maximum:
        problems.add(name, f"must be between {minimum} and {maximum}")
    return value


def required_query(req: CoreRequest, name: str, problems: Problems, max_length: int = 200) -> str:
    value = (req.query.get(name) or "").strip()
    if not value:
        problems.add(name, "required")
    elif len(value) > max_length:
        problems.add(name, f"must be at most {max_length} characters")
    return value


def list_data(items: list[dict[str, Any]], page: int, limit: int, total: int) -> dict[str, Any]:
    return {"items": items, "page": page, "limit": limit, "total": total}


def text_match(columns: list[Any], q: str) -> ColumnElement[bool]:
    """Case-insensitive "full-text" filter: every word of ``q`` must occur in one of
    ``columns``. Stands in for OpenSearch; LIKE wildcards in ``q`` are escaped."""
    terms = [t.lower() for t in q.split() if t]
    return and_(
        *(or_(*(func.lower(c).contains(t, autoescape=True) for c in columns)) for t in terms)
    )


def safe_filename(name: str) -> str:
    """The last path segment of ``name`` with only ``[A-Za-z0-9._-]``, for S3 keys."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:120]
    return cleaned or "file"
