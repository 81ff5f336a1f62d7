"""Framework-neutral request/response types that both flavour adapters translate to.

The Express adapter (ASGI) and the Lambda handlers (API Gateway v2 events) both build a
``CoreRequest`` and turn a ``CoreResponse`` back into their own wire format, so the
application logic in :mod:`sandbox.core.service` is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_STATUS",
    "ApiError",
    "CoreRequest",
    "CoreResponse",
    "Principal",
    "UploadedFile",
    "error_envelope",
    "success",
]

# error.code -> HTTP status, as moc-api.md lists them
ERROR_STATUS: dict[str, int] = {
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "PAYLOAD_TOO_LARGE": 413,
    "INTERNAL": 500,
    "SERVICE_UNAVAILABLE": 503,
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, from verified Cognito IdToken claims."""

    user_id: str  # the Cognito ``sub``
    username: str
    groups: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        groups = claims.get("cognito:groups") or ()
        if isinstance(groups, str):  # API Gateway flattens lists to "[a b]" strings
            groups = tuple(g for g in groups.strip("[]").replace(",", " ").split() if g)
        return cls(
            user_id=str(claims["sub"]),
            username=str(claims.get("cognito:username") or claims.get("username") or ""),
            groups=tuple(groups),
        )


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class CoreRequest:
    method: str
    path: str
    route: str  # the matched template, e.g. "/api/mocs/{mocId}"
    path_params: dict[str, str] = field(default_factory=dict)
    # a repeated parameter comma-joined, as both adapters hand it on
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    json: Any = None  # parsed JSON body, when content type is JSON and it parsed
    json_error: bool = False  # body claimed to be JSON but did not parse
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    principal: Principal | None = None
    request_id: str = ""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class CoreResponse:
    status: int
    body: Any  # JSON-serialisable
    headers: dict[str, str] = field(default_factory=dict)

    def with_headers(self, headers: dict[str, str]) -> CoreResponse:
        """Add ``headers`` (e.g. Cache-Control) and return self, for chaining."""
        self.headers.update(headers)
        return self


class ApiError(Exception):
    """Raised by handlers; turned into the error envelope by the adapters."""

    def __init__(
        self, code: str, message: str, details: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]

    def to_response(self) -> CoreResponse:
        return CoreResponse(self.status, error_envelope(self.code, self.message, self.details))


def success(data: Any, message: str, status: int = 200) -> CoreResponse:
    return CoreResponse(status, {"status": "success", "message": message, "data": data})


def error_envelope(
    code: str, message: str, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code}
    if details is not None:
        error["details"] = details
    return {"status": "error", "message": message, "data": None, "error": error}
