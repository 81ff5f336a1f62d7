"""The catalog's ``checks:`` section: what the single-purpose checks (boundary, auth,
errors, CORS, health) need to know about the API under test.

The engine knows nothing about MOCs; the upload routes, file sizes, the plan's direct-upload
rule, the error envelope, the CORS policy and the health fields are data, declared here::

    checks:
      boundary:
        uses: [moc]                        # resources created once per backend
        plan_direct_limit: 10MiB           # the plan: files up to this go direct
        client_threshold: 4MiB             # the cutoff the frontend must use
        direct_sizes: [9MiB, 10MiB, 11MiB]
        presigned_sizes: [9MiB, 10MiB, 11MiB, 100MiB]
        file: {filename: "parity-{run_id}-boundary-{size}.pdf", content_type: application/pdf}
        direct: {endpoint: mocs.files.upload, fields: {kind: instructions}, ...}
        presigned: {presign: {...}, upload: {...}, complete: {...}}
        ceiling: {high: 64MiB, precision: 64KiB, margin: 64KiB}
      auth: {other_user: bob}
      errors: {envelope: {...}, unknown_id: ..., unknown_routes: [...], fault: {...}}
      cors: {allowed_origins: [...], disallowed_origin: ..., methods: [...], headers: [...]}
      health: {endpoint: health, fields: [...], web_config: {...}, debug_routes: [...]}

Every sub-section is optional; a check whose section is missing is skipped with a reason.
Cross-references (endpoint ids, resources, roles) are validated when the catalog loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from parity.payloads import parse_size

if TYPE_CHECKING:  # pragma: no cover
    from parity.catalog import Catalog

__all__ = [
    "TOKEN_VARIANTS",
    "AuthChecks",
    "Boundary",
    "Ceiling",
    "Checks",
    "CorsChecks",
    "DirectUpload",
    "Envelope",
    "ErrorChecks",
    "Fault",
    "FileTemplate",
    "HealthChecks",
    "PresignedUpload",
    "RequestTemplate",
    "WebConfig",
]

TOKEN_VARIANTS: tuple[str, ...] = ("missing", "malformed", "wrong-signature", "expired")
TokenVariant = Literal["missing", "malformed", "wrong-signature", "expired"]
Scalar = str | int | float | bool


def _size(value: Any) -> Any:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return parse_size(value)
    return value


Size = Annotated[int, BeforeValidator(_size), Field(ge=1)]


def _route_key(value: str) -> str:
    method, _, path = value.strip().partition(" ")
    if not method.isalpha() or not path.startswith("/"):
        raise ValueError(f"{value!r} is not 'METHOD /path'")
    return f"{method.upper()} {path}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# --- boundary --------------------------------------------------------------------------


class FileTemplate(_Model):
    """The generated upload file: ``{size}`` (bytes) may appear in the name."""

    filename: str = "parity-{run_id}-boundary-{size}.bin"
    content_type: str = "application/octet-stream"


class DirectUpload(_Model):
    """The direct (multipart) upload: a catalog endpoint, the extra form fields, and where
    the answer says what was stored."""

    endpoint: str  # catalog endpoint id
    params: dict[str, Scalar] = {}  # default: each route parameter from its variable
    fields: dict[str, Scalar] = {}
    file_field: str = "file"
    sha256: str | None = None  # JSON path of the stored object's sha256 in the answer
    url: str | None = None  # JSON path of a URL the stored object can be downloaded from


class RequestTemplate(_Model):
    """One JSON request of the presigned flow, to a catalog endpoint."""

    endpoint: str
    params: dict[str, Scalar] = {}
    json_body: Any = Field(None, alias="json")
    save: dict[str, str] = {}  # variable -> JSON path in the answer
    sha256: str | None = None
    url: str | None = None


class StorageUpload(_Model):
    """The PUT of the bytes to the URL the presign answer handed out (no credentials)."""

    method: Literal["PUT", "POST"] = "PUT"
    url: str = "{uploadUrl}"
    headers: dict[str, str] = {}


class PresignedUpload(_Model):
    """presign -> PUT to storage -> complete. Templates may use ``{filename}``,
    ``{content_type}``, ``{size}``, ``{sha256}``, saved variables and ``{run_id}``."""

    presign: RequestTemplate
    upload: StorageUpload = StorageUpload()
    complete: RequestTemplate


class Ceiling(_Model):
    """The search for a backend's real direct-upload ceiling (bisection on a grid)."""

    high: Size = 64 * 1024 * 1024  # first probe; accepted means "at least this"
    precision: Size = 64 * 1024  # the answer is within this many bytes
    margin: Size = 64 * 1024  # kept below the measured ceiling for the safe threshold


class Boundary(_Model):
    uses: list[str] = []
    plan_direct_limit: Size
    client_threshold: Size | None = None
    direct_sizes: list[Size] = []
    presigned_sizes: list[Size] = []
    file: FileTemplate = FileTemplate()
    direct: DirectUpload
    presigned: PresignedUpload | None = None
    ceiling: Ceiling | None = None
    reference: str = "express"  # the backend whose behaviour the others must match


# --- auth and errors -------------------------------------------------------------------


class AuthChecks(_Model):
    """401 and 403 sweeps: every endpoint whose ``auth`` is not public gets each token
    variant; every ``owner``/``owner-or-admin`` endpoint is sent by ``other_user``."""

    other_user: str
    malformed_token: str = "not-a-jwt"
    variants: list[TokenVariant] = ["missing", "malformed", "wrong-signature", "expired"]
    status: int = 401
    forbidden_status: int = 403


class Envelope(_Model):
    """Where an application error answer keeps its parts (JSON paths), and the error code
    each status must carry."""

    code: str = "error.code"
    details: str | None = "error.details"
    message: str | None = "message"
    codes: dict[int, str] = {}


class Fault(_Model):
    """A test-only header that makes the handler fail (absent in production)."""

    header: str
    value: str
    status: int = 500


class ErrorChecks(_Model):
    envelope: Envelope = Envelope()
    unknown_id: str
    unknown_routes: list[Annotated[str, BeforeValidator(_route_key)]] = []
    validation_status: int = 400
    fault: Fault | None = None


# --- CORS --------------------------------------------------------------------------------


class CorsChecks(_Model):
    allowed_origins: list[str] = Field(min_length=1)
    disallowed_origin: str
    methods: list[str] = []  # each must be in Access-Control-Allow-Methods
    headers: list[str] = []  # each must be in Access-Control-Allow-Headers
    max_age: bool = True  # Access-Control-Max-Age must be present
    param_value: str = "parity-cors"  # fills route parameters of preflight paths

    @field_validator("allowed_origins", "disallowed_origin")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        for origin in value if isinstance(value, list) else [value]:
            if not str(origin).startswith(("http://", "https://")) or str(origin).endswith("/"):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return value


# --- health and runtime config ---------------------------------------------------------


class WebConfig(_Model):
    path: str = "/config.json"
    schema_file: str = Field(alias="schema")  # relative to the catalog file
    cache_control: str | None = None  # a directive the answer must carry, e.g. max-age=60


class HealthChecks(_Model):
    endpoint: str  # catalog endpoint id of the health check
    fields: list[str] = []  # JSON paths every backend's answer must have
    dependencies: dict[str, str] = {}  # JSON path -> the healthy value
    web_config: WebConfig | None = None
    debug_routes: list[Annotated[str, BeforeValidator(_route_key)]] = []


class Checks(_Model):
    boundary: Boundary | None = None
    auth: AuthChecks | None = None
    errors: ErrorChecks | None = None
    cors: CorsChecks | None = None
    health: HealthChecks | None = None

    def problems(self, catalog: Catalog) -> Iterator[tuple[tuple[Any, ...], str, str]]:
        """Cross-references the models cannot check: ``(location, problem, hint)``."""
        ids = {e.id for e in catalog.endpoints}
        roles = set(catalog.roles) | {"anonymous"}

        def endpoint(loc: tuple[Any, ...], value: str) -> Iterator[tuple[Any, ...]]:
            if value not in ids:
                yield loc

        hint_ep = "Use the id of an entry under endpoints:"
        b = self.boundary
        if b is not None:
            for i, name in enumerate(b.uses):
                if name not in catalog.resources:
                    yield (
                        ("boundary", "uses", i),
                        f"unknown resource {name!r}",
                        "Declare it under resources:",
                    )
            refs: list[tuple[tuple[Any, ...], str]] = [
                (("boundary", "direct", "endpoint"), b.direct.endpoint)
            ]
            if b.presigned is not None:
                refs.append(
                    (("boundary", "presigned", "presign", "endpoint"), b.presigned.presign.endpoint)
                )
                refs.append(
                    (
                        ("boundary", "presigned", "complete", "endpoint"),
                        b.presigned.complete.endpoint,
                    )
                )
            for loc, value in refs:
                for bad in endpoint(loc, value):
                    yield bad, f"unknown endpoint id {value!r}", hint_ep
            if b.reference not in ("express", "serverless"):
                yield (("boundary", "reference"), f"unknown backend {b.reference!r}", "Use express")
        if self.auth is not None and self.auth.other_user not in roles:
            yield (
                ("auth", "other_user"),
                f"unknown role {self.auth.other_user!r}",
                "Use one of the catalog's roles",
            )
        if self.health is not None:
            for bad in endpoint(("health", "endpoint"), self.health.endpoint):
                yield bad, f"unknown endpoint id {self.health.endpoint!r}", hint_ep
