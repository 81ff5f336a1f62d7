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
      errors: {envelope: {...}, validation_status: 400, unknown_ids: {...}, fault: {...}}
      cors: {allowed_origins: [...] or "*", disallowed_origin: ..., credentials: false, ...}
      coverage: {listing: {endpoint: ..., items: ...}} or {openapi: {file: ...} or {url: ...}}
      health: {endpoint: health, fields: [...], web_config: {...}, debug_routes: [...]}
      consistency: {resource: moc, read: {endpoint: mocs.get}, change: ..., search: ..., list: ...}
      headers: {compare: [X-Total-Count, Link], by_format: [Last-Modified], cosmetic_matters: true}

Every sub-section is optional; a check whose section is missing is skipped with a reason.
Cross-references (endpoint ids, resources, roles) are validated when the catalog loads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from parity.core import jsonpath
from parity.core.normalize import COMPARED_HEADERS, DATE_HEADERS, HeaderRules
from parity.core.payloads import parse_size
from parity.core.templating import placeholders

if TYPE_CHECKING:  # pragma: no cover
    from parity.core.catalog import Catalog
    from parity.core.envelope import Envelope as ApiEnvelope

__all__ = [
    "TOKEN_VARIANTS",
    "AuthChecks",
    "Boundary",
    "Ceiling",
    "Checks",
    "Consistency",
    "ConsistencyChange",
    "ConsistencyList",
    "ConsistencyRead",
    "ConsistencySearch",
    "CorsChecks",
    "CoverageChecks",
    "DirectUpload",
    "EndpointCall",
    "Envelope",
    "ErrorChecks",
    "Fault",
    "FileTemplate",
    "HeaderChecks",
    "HealthChecks",
    "LoadChecks",
    "LoadTask",
    "LoadUsers",
    "OpenApiSource",
    "PresignedUpload",
    "QueryProbeValues",
    "RequestTemplate",
    "RouteListing",
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


def _origin(value: str) -> str:
    if not value.startswith(("http://", "https://")) or value.endswith("/"):
        raise ValueError(f"{value!r} is not an origin (scheme://host[:port])")
    return value


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
    #: Endpoints that refuse a bad token otherwise (endpoint id -> status), e.g. httpbin's
    #: hidden-basic-auth, which answers 404 so that it cannot be found by probing.
    status_of: dict[str, Annotated[int, Field(ge=100, le=599)]] = {}

    def refused_status(self, endpoint_id: str) -> int:
        """The status a bad token gets on ``endpoint_id``."""
        return self.status_of.get(endpoint_id, self.status)


class Envelope(_Model):
    """Where an application error answer keeps its parts: JSON paths, each optional (an API
    whose errors carry no code declares ``code: null``), and the code each status must
    carry. Only what is declared is validated and compared."""

    code: str | None = None
    details: str | None = None
    message: str | None = None
    codes: dict[int, str] = {}

    @field_validator("code", "details", "message")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return None if value is None else jsonpath.validated(value)

    @model_validator(mode="after")
    def _codes_need_a_place(self) -> Envelope:
        # Left out, code: may come from the top-level envelope: (Checks.problems checks it).
        if self.codes and self.code is None and "code" in self.model_fields_set:
            raise ValueError(
                "codes: declared but code: is null; give code: the JSON path of the error "
                "code, or drop codes:"
            )
        return self

    @property
    def declared(self) -> bool:
        """Whether the catalog declares any part of an error envelope."""
        return any(p is not None for p in (self.code, self.details, self.message))

    def inherit(self, *, code: str | None, message: str | None) -> Envelope:
        """This envelope with the parts it leaves out (not even null) taken from these."""
        update = {
            name: value
            for name, value in (("code", code), ("message", message))
            if name not in self.model_fields_set and value is not None
        }
        return self.model_copy(update=update) if update else self


def _no_envelope(value: Any) -> Any:
    return {} if value is None else value


class Fault(_Model):
    """A test-only header that makes the handler fail (absent in production)."""

    header: str
    value: str
    status: int = 500


def _scalars(value: Any) -> Any:
    return value if isinstance(value, list) or value is None else [value]


def _statuses(value: Any) -> Any:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


HttpStatus = Annotated[int, Field(ge=100, le=599)]


class QueryProbeValues(_Model):
    """What the probes send for one query parameter instead of their built-in values
    (``2^31`` as huge, ``-1`` as negative, Schemathesis' or ``abc``/``1.5`` as wrong types)."""

    #: The largest number sent for the parameter: a probe value above it is not sent.
    max: float | None = None
    huge: Scalar | None = None
    negative: Scalar | None = None
    wrong_type: Annotated[list[Scalar] | None, BeforeValidator(_scalars)] = None

    @model_validator(mode="after")
    def _within_max(self) -> QueryProbeValues:
        for name in ("huge", "negative"):
            value = getattr(self, name)
            if self.above_max(value):
                raise ValueError(f"{name}: {value} is above max: {self.max:g}; lower {name}")
        for value in self.wrong_type or []:
            if self.above_max(value):
                raise ValueError(f"wrong_type: {value} is above max: {self.max:g}")
        return self

    def above_max(self, value: Any) -> bool:
        """Whether ``value`` is a number (or numeric text) above ``max``."""
        if self.max is None or isinstance(value, bool) or value is None:
            return False
        try:
            return float(value) > self.max
        except (TypeError, ValueError):
            return False


class ErrorChecks(_Model):
    """The API's error conventions. ``envelope`` absent (or null, or no path in it): the
    API declares no error shape, so the checks compare the backends' error answers
    (status, content type, shape) instead of asserting one."""

    envelope: Annotated[Envelope, BeforeValidator(_no_envelope)] = Envelope()
    #: The status (or statuses) of a validation error: the catalog scenarios expecting it
    #: are the validation cases. Empty: no validation cases.
    validation_status: Annotated[list[HttpStatus], BeforeValidator(_statuses)] = []
    not_found_status: HttpStatus = 404
    #: An unknown value per route parameter, ``default`` for the others.
    unknown_ids: dict[str, Scalar] = {}
    unknown_id: Scalar | None = None  # the old spelling of unknown_ids.default
    #: A value of the wrong type per route parameter (``default`` for the others), sent by
    #: the probes' path ``wrong-type`` probe instead of ``12345`` / ``not-a-number``.
    wrong_type_ids: dict[str, Scalar] = {}
    #: The probes' values per query parameter (``default`` for the others), where a number
    #: is work (httpbin's ``/drip?numbytes=`` drips that many bytes): each given value
    #: replaces the built-in one, and no number above ``max`` is sent.
    query_probe_values: dict[str, QueryProbeValues] = {}
    #: Endpoints whose unknown ids answer otherwise (endpoint id -> status), e.g. a list
    #: nested under an unknown parent that answers 200 and an empty list.
    unknown_id_status: dict[str, HttpStatus] = {}
    unknown_routes: list[Annotated[str, BeforeValidator(_route_key)]] = []
    fault: Fault | None = None

    @model_validator(mode="after")
    def _one_default(self) -> ErrorChecks:
        if self.unknown_id is not None and "default" in self.unknown_ids:
            raise ValueError(
                "unknown_id: and unknown_ids.default: both given; keep unknown_ids.default"
            )
        return self

    def conventions(self, api: ApiEnvelope | None) -> Envelope:
        """The error envelope to judge by: this section's, the parts it leaves out taken
        from the catalog's top-level ``envelope:`` (its error shape's code and message)."""
        error = api.error if api is not None else None
        if error is None:
            return self.envelope
        return self.envelope.inherit(code=error.code, message=error.message)

    def unknown_value(self, param: str) -> str | None:
        """The unknown value to send for route parameter ``param`` (None: none declared)."""
        value = self.unknown_ids.get(param, self.unknown_ids.get("default", self.unknown_id))
        return None if value is None else str(value)

    def wrong_type_value(self, param: str) -> str | None:
        """The wrong-typed value to send for route parameter ``param`` (None: none declared)."""
        value = self.wrong_type_ids.get(param, self.wrong_type_ids.get("default"))
        return None if value is None else str(value)

    def query_values(self, param: str) -> QueryProbeValues | None:
        """The declared probe values of query parameter ``param`` (None: none declared)."""
        return self.query_probe_values.get(param, self.query_probe_values.get("default"))


# --- CORS --------------------------------------------------------------------------------


#: The origin sent when the policy allows any origin and the catalog names none to send.
PROBE_ORIGIN = "https://parity-probe.invalid"


def _origin_value(value: Any) -> Any:
    return _origin(value) if isinstance(value, str) else value


OriginUrl = Annotated[str, BeforeValidator(_origin_value)]


class CorsChecks(_Model):
    """The CORS policy the frontend relies on. The backends' CORS answers are always
    compared with each other; against the policy only what is declared here is judged."""

    #: ``"*"`` (any origin) or the origins that must be allowed.
    allowed_origins: Literal["*"] | list[str]
    #: An origin that must be refused (none for a policy of any origin).
    disallowed_origin: OriginUrl | None = None
    #: The origins sent under a policy of any origin (default: one made-up origin).
    probe_origins: list[OriginUrl] = []
    #: true: Access-Control-Allow-Credentials: true and the origin echoed (never ``*``);
    #: false: credentials never allowed; absent: not judged.
    credentials: bool | None = None
    methods: list[str] = []  # each must be in Access-Control-Allow-Methods
    headers: list[str] = []  # each must be in Access-Control-Allow-Headers
    max_age: bool | None = None  # true: Access-Control-Max-Age present; false: absent
    param_value: str = "parity-cors"  # fills route parameters of preflight paths

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _allowed(cls, value: Any) -> Any:
        # One message for both spellings (a union would report the "*" branch only).
        if value == "*" or (isinstance(value, list) and "*" in value):
            return "*"
        if not isinstance(value, list) or not value:
            raise ValueError(f'{value!r}: give "*" (any origin) or a list of origins')
        for origin in value:
            if not isinstance(origin, str):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
            _origin(origin)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> CorsChecks:
        if self.any_origin and self.disallowed_origin is not None:
            raise ValueError(
                'disallowed_origin: a policy of any origin ("*") refuses none; drop it or '
                "list the allowed origins"
            )
        if not self.any_origin and self.probe_origins:
            raise ValueError('probe_origins: only for allowed_origins: "*" (the list is sent)')
        return self

    @property
    def any_origin(self) -> bool:
        return self.allowed_origins == "*"

    @property
    def origins(self) -> list[str]:
        """The origins the checks send as allowed ones."""
        if isinstance(self.allowed_origins, list):
            return list(self.allowed_origins)
        return list(self.probe_origins) or [PROBE_ORIGIN]


# --- coverage ----------------------------------------------------------------------------


class RouteListing(_Model):
    """A listing of the routes the reference serves (Express' ``/debug/routes``)."""

    endpoint: str  # a catalog endpoint id, or "METHOD /path" on the reference
    role: str = Field("anonymous", alias="as")
    items: str | None = None  # JSON path of the route list in the answer; None: the answer
    #: How an item spells a route: ``{method, path}`` objects (keys below; the method may be
    #: a string, a list or ``{"get": true}``), ``"GET /x/:id"`` strings, or ``[method, path]``.
    shape: Literal["objects", "strings", "pairs"] = "objects"
    method: str = "method"
    path: str = "path"

    @field_validator("items")
    @classmethod
    def _items(cls, value: str | None) -> str | None:
        return None if value is None else jsonpath.validated(value)

    @property
    def route(self) -> str | None:
        """``METHOD /path`` when ``endpoint`` is spelt so, else None (an endpoint id)."""
        try:
            return _route_key(self.endpoint)
        except ValueError:
            return None


class OpenApiSource(_Model):
    """An OpenAPI document: its ``paths`` x methods are the routes."""

    file: str | None = None  # relative to the catalog file (JSON or YAML)
    url: str | None = None  # a path on the reference, e.g. /openapi.json
    base_path: str = ""  # prefixed to every document path (its servers' base path)

    @model_validator(mode="after")
    def _one_place(self) -> OpenApiSource:
        if (self.file is None) == (self.url is None):
            raise ValueError("give exactly one of file: (beside the catalog) or url: (/path)")
        if self.url is not None and not self.url.startswith("/"):
            raise ValueError(f"url: {self.url!r} is not a path on the reference (/...)")
        if self.base_path and (not self.base_path.startswith("/") or self.base_path.endswith("/")):
            raise ValueError(f"base_path: {self.base_path!r} must start and not end with /")
        return self


class CoverageChecks(_Model):
    """Where the routes the reference serves are listed: exactly one source."""

    listing: RouteListing | None = None
    openapi: OpenApiSource | None = None
    reference: Literal["express"] = "express"  # the backend whose routes count

    @model_validator(mode="after")
    def _one_source(self) -> CoverageChecks:
        if (self.listing is None) == (self.openapi is None):
            raise ValueError("give exactly one source of routes: listing: or openapi:")
        return self

    @property
    def label(self) -> str:
        """The source as the matrix names it."""
        if self.listing is not None:
            return self.listing.route or self.listing.endpoint
        assert self.openapi is not None
        return f"GET {self.openapi.url}" if self.openapi.url else f"openapi {self.openapi.file}"


# --- consistency (api_checks/test_consistency.py) ---------------------------------------


def _path_value(value: Any) -> Any:
    return jsonpath.validated(value) if isinstance(value, str) else value


def _int_list(value: Any) -> Any:
    return value if isinstance(value, list | tuple) else [value]


ItemPath = Annotated[str, BeforeValidator(_path_value)]
StatusList = Annotated[
    list[Annotated[int, Field(ge=100, le=599)]], BeforeValidator(_int_list), Field(min_length=1)
]


class EndpointCall(_Model):
    """A request of the consistency check to a catalog endpoint. A route parameter not
    given in ``params`` takes the saved variable of its name (the resource's ``save:``)."""

    endpoint: str  # catalog endpoint id
    role: str | None = Field(None, alias="as")  # default: the endpoint's own
    params: dict[str, Scalar] = {}
    query: dict[str, Scalar | list[Scalar]] = {}
    json_body: Any = Field(None, alias="json")

    def parts(self) -> dict[str, Any]:
        """The request parts as a catalog scenario spells them (``json`` only if given)."""
        parts: dict[str, Any] = {"query": dict(self.query)}
        if "json_body" in self.model_fields_set:
            parts["json"] = self.json_body
        return parts


class ConsistencyRead(EndpointCall):
    """Reads the resource by its id."""

    item: ItemPath | None = None  # where the resource is in the answer (None: the answer)
    compare: list[ItemPath] = []  # item fields both backends must read alike
    gone: StatusList = [404]  # the read's status once the resource is deleted


class ConsistencyChange(EndpointCall):
    """Changes the resource; ``expect``: item path -> the value every backend must then
    read (and list)."""

    expect: dict[ItemPath, Any] = Field(min_length=1)


class ConsistencyList(EndpointCall):
    """A list the resource appears in (the stale-cache step). Sent once before the
    resource exists, so its templates use built-in variables only (``{run_id}``)."""

    items: ItemPath | None = None  # JSON path of the items (None: the answer is the list)
    id: ItemPath = "id"  # an item's id, inside the item


class ConsistencySearch(ConsistencyList):
    """A search that must find a new resource within ``bound_s`` seconds (an index that
    lags); its templates may use the resource's saved variables."""

    bound_s: float = Field(5.0, gt=0)


class Consistency(_Model):
    """Both backends share one store: what one writes, the other reads at once. The
    resource is created and deleted through one backend (its catalog ``create`` and
    ``delete``) and read, searched and listed through the other."""

    resource: str  # a catalog resource with a delete
    #: The created resource's id as items carry it; default: its first saved variable.
    id: str | None = None
    read: ConsistencyRead
    change: ConsistencyChange | None = None
    search: ConsistencySearch | None = None
    list_: ConsistencyList | None = Field(None, alias="list")

    def id_template(self, catalog: Catalog) -> str:
        if self.id is not None:
            return self.id
        resource = catalog.resources[self.resource]
        return "{" + next(iter({**resource.create.save, **resource.save})) + "}"

    def calls(self) -> list[tuple[str, EndpointCall]]:
        """The declared requests by their key in the section."""
        named: list[tuple[str, EndpointCall | None]] = [("read", self.read)]
        named += [("change", self.change), ("search", self.search), ("list", self.list_)]
        return [(name, call) for name, call in named if call is not None]


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


# --- load ------------------------------------------------------------------------------


class LoadTask(_Model):
    """One task of a simulated user: a catalog scenario (``endpoint-id/scenario-name``),
    run as a check runs it (its ``uses:``/``steps:`` before, its deletes after), each
    request named by its route template."""

    scenario: str
    weight: Annotated[int, Field(ge=1)] = 1
    #: Variables kept from this task's answer for the user's later tasks (JSON paths; a
    #: ``[*]`` path keeps a list, and each later use picks one of its values at random).
    save: dict[str, str] = {}
    #: ``catalog``: the scenario's own set-up; ``saved``: none, its variables come from
    #: what the user's other tasks saved (a read of a listed item, without creating one).
    setup: Literal["catalog", "saved"] = "catalog"

    @field_validator("scenario")
    @classmethod
    def _scenario_id(cls, value: str) -> str:
        endpoint, sep, name = value.partition("/")
        if not (endpoint and sep and name) or "/" in name:
            raise ValueError(f"{value!r} is not 'endpoint-id/scenario-name'")
        return value

    @field_validator("save")
    @classmethod
    def _save_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value.values():
            jsonpath.validated(path)
        return value


class LoadUsers(_Model):
    """A kind of simulated user: who it is (``as``: the roles its users take in turn,
    each request the catalog sends as a logged-in role is sent as the user's; left out,
    each request goes as the catalog says), how many of it (``weight``), what it does."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    roles: list[str] = Field([], alias="as")
    weight: Annotated[int, Field(ge=0)] = 1
    tasks: list[LoadTask] = Field(min_length=1)


class LoadChecks(_Model):
    """The load mix (``parity load``, load/locustfile.py). Without it the mix is every
    read-only scenario (GET, no set-up, 2xx expected) at equal weight. ``writes``: the mix
    may write (a task whose scenario writes is refused otherwise); it still writes only
    where the target allows writes, and leaves those tasks out elsewhere."""

    writes: bool = False
    users: list[LoadUsers] = Field(min_length=1)


# --- headers -----------------------------------------------------------------------------

#: The headers every differential comparison compares.
DEFAULT_HEADERS = frozenset(COMPARED_HEADERS)
_TOKEN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


def _header_names(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for name in value:
        if not isinstance(name, str) or not re.match(_TOKEN, name):
            raise ValueError(f"{name!r} is not a header name")
        if name.lower() in out:
            raise ValueError(f"{name!r} is listed twice (header names ignore case)")
        out.append(name.lower())
    return out


HeaderNames = Annotated[list[str], BeforeValidator(_header_names)]


class HeaderChecks(_Model):
    """Which response headers the differential comparison (the ``headers`` cell of every
    scenario, probe and sweep) compares besides the default ones, and whether a spelling
    difference counts.

    ``compare``: compared by value, normalised (case and whitespace of a token list);
    ``Set-Cookie`` by the names of its cookies and their attributes, never their values.
    ``by_format``: values that differ by nature (a date, a request id): presence and
    format (an HTTP-date, ISO 8601, a number, ...), not value. ``cosmetic_matters``:
    ``true`` (every compared header) or the headers whose spelling differences (a charset
    spelt out, a token list's case) are breaking differences, failing the cell and the
    gate, instead of cosmetic notes. ``cors_without_origin``: ``true`` compares the CORS
    headers (``Access-Control-*``, ``Vary: Origin``) of answers to requests without an
    ``Origin`` too, for an API whose clients are not only browsers (by default they are
    left out: a browser always sends ``Origin`` cross-origin, so it never sees them)."""

    compare: HeaderNames = []
    by_format: HeaderNames = []
    cosmetic_matters: bool | HeaderNames = False
    cors_without_origin: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> HeaderChecks:
        for key in ("compare", "by_format"):
            for name in getattr(self, key):
                if name in DEFAULT_HEADERS:
                    raise ValueError(f"checks.headers.{key}: {name} is always compared; remove it")
        for name in self.compare:
            if name in DATE_HEADERS:
                raise ValueError(
                    f"checks.headers.compare: {name} is a date that differs by nature; "
                    "list it under checks.headers.by_format (presence and format)"
                )
        both = sorted(set(self.compare) & set(self.by_format))
        if both:
            raise ValueError(
                f"checks.headers: {', '.join(both)} under both compare and by_format; keep one"
            )
        if "set-cookie" in self.by_format:
            raise ValueError(
                "checks.headers.by_format: set-cookie is compared by its cookies' names and "
                "attributes; list it under checks.headers.compare"
            )
        if isinstance(self.cosmetic_matters, list):
            known = DEFAULT_HEADERS | set(self.compare)
            for name in self.cosmetic_matters:
                if name not in known:
                    raise ValueError(
                        f"checks.headers.cosmetic_matters: {name} is not compared by value; "
                        "name a default header (content-type, cache-control, vary, "
                        "access-control-*) or one under checks.headers.compare"
                    )
        return self

    def rules(self) -> HeaderRules:
        """As the comparison applies it (:func:`parity.engine.diff.compare`)."""
        spelling = self.cosmetic_matters
        return HeaderRules(
            tuple(self.compare),
            tuple(self.by_format),
            spelling if isinstance(spelling, bool) else frozenset(spelling),
            cors_without_origin=self.cors_without_origin,
        )


class Checks(_Model):
    boundary: Boundary | None = None
    auth: AuthChecks | None = None
    load: LoadChecks | None = None
    errors: ErrorChecks | None = None
    cors: CorsChecks | None = None
    health: HealthChecks | None = None
    coverage: CoverageChecks | None = None
    consistency: Consistency | None = None
    headers: HeaderChecks | None = None

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
        if self.auth is not None:
            for name in self.auth.status_of:
                for bad in endpoint(("auth", "status_of", name), name):
                    yield bad, f"unknown endpoint id {name!r}", hint_ep
        if self.health is not None:
            for bad in endpoint(("health", "endpoint"), self.health.endpoint):
                yield bad, f"unknown endpoint id {self.health.endpoint!r}", hint_ep
        if self.errors is not None:
            yield from _error_problems(self.errors, catalog)
        if self.coverage is not None and self.coverage.listing is not None:
            yield from _listing_problems(self.coverage.listing, catalog, roles)
        if self.consistency is not None:
            yield from _consistency_problems(self.consistency, catalog, roles)


def _error_problems(
    spec: ErrorChecks, catalog: Catalog
) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    merged = spec.conventions(catalog.envelope)
    if merged.codes and merged.code is None:
        yield (
            ("errors", "envelope", "codes"),
            "codes: declared but no place of the error code is",
            "Give checks.errors.envelope.code (or envelope.error.code) its JSON path",
        )
    params = sorted({p for e in catalog.endpoints for p in e.route_params})
    per_param = {"unknown_ids": spec.unknown_ids, "wrong_type_ids": spec.wrong_type_ids}
    for key, names in per_param.items():
        for name in (n for n in names if n != "default" and n not in params):
            yield (
                ("errors", key, name),
                f"no route has a parameter {name!r}",
                f"Use one of {', '.join(params) or '(none)'} or default",
            )
    queried = sorted({k for e in catalog.endpoints for s in e.scenarios for k in s.query})
    for name in (n for n in spec.query_probe_values if n != "default" and n not in queried):
        yield (
            ("errors", "query_probe_values", name),
            f"no scenario sends a query parameter {name!r}",
            f"Use one of {', '.join(queried) or '(none)'} or default",
        )
    ids = {e.id for e in catalog.endpoints}
    for name in spec.unknown_id_status:
        if name not in ids:
            yield (
                ("errors", "unknown_id_status", name),
                f"unknown endpoint id {name!r}",
                "Use the id of an entry under endpoints:",
            )


def _listing_problems(
    listing: RouteListing, catalog: Catalog, roles: set[str]
) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    loc = ("coverage", "listing")
    if listing.role not in roles:
        yield (*loc, "as"), f"unknown role {listing.role!r}", "Use one of the catalog's roles"
    if listing.route is not None:
        return
    ids = {e.id for e in catalog.endpoints}
    if listing.endpoint not in ids:
        yield (
            (*loc, "endpoint"),
            f"unknown endpoint id {listing.endpoint!r}",
            "Use the id of an entry under endpoints:, or METHOD /path",
        )
    elif catalog.get(listing.endpoint).route_params:
        yield (
            (*loc, "endpoint"),
            f"the listing endpoint {listing.endpoint!r} has route parameters",
            "Give a route without parameters as METHOD /path",
        )


def _consistency_problems(
    spec: Consistency, catalog: Catalog, roles: set[str]
) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    from parity.core.variables import BUILTIN_VARIABLES, ROLE_CREDENTIALS, builtin_variables

    resource = catalog.resources.get(spec.resource)
    if resource is None:
        yield (
            ("consistency", "resource"),
            f"unknown resource {spec.resource!r}",
            "Name one of the catalog's resources: (the check creates and deletes it)",
        )
        return
    if resource.delete is None:
        yield (
            ("consistency", "resource"),
            f"resource {spec.resource!r} cannot be deleted (leaves:)",
            "Name a resource with a delete: the check reads it gone after deleting it",
        )
    builtins = set(builtin_variables(catalog.roles))
    saved: set[str] = set()
    for name in catalog.resource_order([spec.resource]):
        saved |= set(catalog.resources[name].save) | set(catalog.resources[name].create.save)
    known = builtins | saved

    def unknown(loc: tuple[Any, ...], value: Any, allowed: set[str]) -> Iterator[Any]:
        plain = sorted(allowed & saved) + sorted(BUILTIN_VARIABLES - set(ROLE_CREDENTIALS))
        for name in placeholders(value):
            if name not in allowed:
                yield (
                    loc,
                    f"unknown variable {{{name}}}",
                    f"Use one of {', '.join(plain)} (or a credential placeholder)",
                )
                return

    if spec.id is None and not saved:
        yield (
            ("consistency", "id"),
            f"resource {spec.resource!r} saves no variable to tell its id by",
            'Give id: "{variable}" or a save: on the resource',
        )
    yield from unknown(("consistency", "id"), spec.id, known)
    if spec.change is not None:
        yield from unknown(("consistency", "change", "expect"), spec.change.expect, known)
    ids = {e.id: e for e in catalog.endpoints}
    for key, call in spec.calls():
        loc: tuple[Any, ...] = ("consistency", key)
        endpoint = ids.get(call.endpoint)
        if endpoint is None:
            yield (
                (*loc, "endpoint"),
                f"unknown endpoint id {call.endpoint!r}",
                "Use the id of an entry under endpoints:",
            )
            continue
        if call.role is not None and call.role not in roles:
            yield (*loc, "as"), f"unknown role {call.role!r}", "Use one of the catalog's roles"
        # the list is read before the resource exists, and must be the same request every
        # time (a cache answers it): nothing saved, no per-request value
        allowed = builtins - {"unique", "nonce"} if key == "list" else known
        for name in call.params:
            if name not in endpoint.route_params:
                yield (
                    (*loc, "params", name),
                    f"{endpoint.route} has no parameter {name!r}",
                    f"Use one of {', '.join(endpoint.route_params) or 'none'}",
                )
        for name in endpoint.route_params:
            if name not in call.params and name not in allowed:
                yield (
                    (*loc, "params"),
                    f"route parameter {name!r} of {endpoint.route} is not supplied",
                    f"Give params: {{{name}: ...}} or save {name} on the resource",
                )
        for part, value in (("params", call.params), ("query", call.query)):
            yield from unknown((*loc, part), value, allowed)
        yield from unknown((*loc, "json"), call.json_body, allowed)
