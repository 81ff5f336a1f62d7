"""The catalog's models (pydantic): endpoints, scenarios, resources and their parts.

The file format is described in :mod:`parity.core.catalog`; loading, cross-reference checks and
error reporting are in :mod:`parity.core.catalog_load`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from parity.core import jsonpath
from parity.core.checkspec import Checks
from parity.core.envelope import OptionalEnvelope
from parity.core.payloads import make_payload, min_size, parse_size
from parity.core.variables import (
    BUILTIN_VARIABLES,
    ROLE_CREDENTIALS,
    builtin_variables,
    role_variable_prefix,
)

__all__ = [
    "BUILTIN_VARIABLES",
    "CHECK_OPERATORS",
    "READ_ONLY_METHODS",
    "ROLE_CREDENTIALS",
    "ROUTE_PARAM",
    "Answers",
    "Case",
    "Catalog",
    "Creates",
    "Endpoint",
    "FileSpec",
    "Flow",
    "FlowStep",
    "Lists",
    "Multipart",
    "Noise",
    "RequestParts",
    "Resource",
    "Scenario",
    "Step",
    "builtin_variables",
    "check_operator",
    "express_to_template",
    "parse_route_listing",
    "role_variable_prefix",
    "route_key",
    "route_shape",
]

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: A ``{name}`` route parameter.
ROUTE_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _listify(value: Any) -> Any:
    # "expect: 200" means [200]; anything not a list is wrapped so a bad value is reported
    # as "not an integer" rather than "not a tuple".
    return value if isinstance(value, list | tuple) else [value]


def _size(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        return parse_size(value)  # ValueError -> a validation error with the fix
    return value


Method = Annotated[
    Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], BeforeValidator(_upper)
]
Status = Annotated[int, Field(ge=100, le=599)]
Statuses = Annotated[tuple[Status, ...], BeforeValidator(_listify), Field(min_length=1)]
Scalar = str | int | float | bool
#: What an answer's body is: ``json`` (parsed and diffed), ``text`` (compared as text),
#: ``binary`` (compared by length and digest), ``empty``, or ``any`` (whatever the
#: reference answers: JSON is diffed, anything else compared as text).
Answers = Literal["json", "text", "binary", "empty", "any"]
SavePaths = dict[str, str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class FileSpec(_Model):
    """An upload file, generated in memory: give ``size`` (bytes or "10MiB") or ``text``."""

    filename: str
    content_type: str = "application/octet-stream"
    size: Annotated[int | None, BeforeValidator(_size)] = None
    text: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FileSpec:
        if (self.size is None) == (self.text is None):
            raise ValueError("give exactly one of size (bytes, e.g. 64KiB) or text")
        if self.size is not None and self.size < min_size(self.content_type):
            raise ValueError(
                f"a generated {self.content_type} needs at least "
                f"{min_size(self.content_type)} bytes; use text for odd content"
            )
        return self

    def payload(self) -> bytes:
        """The file's bytes (deterministic: the same spec always gives the same bytes)."""
        if self.text is not None:
            return self.text.encode("utf-8")
        assert self.size is not None
        return make_payload(self.size, self.content_type)


class Multipart(_Model):
    fields: dict[str, Scalar] = {}
    files: dict[str, FileSpec] = {}


class RequestParts(_Model):
    """The request parts shared by steps and scenarios. At most one body kind."""

    query: dict[str, Scalar | list[Scalar]] = {}
    headers: dict[str, str] = {}
    json_body: Any = Field(None, alias="json")
    multipart: Multipart | None = None
    body: str | None = None

    @model_validator(mode="after")
    def _one_body(self) -> RequestParts:
        given = [k for k in ("json_body", "multipart", "body") if k in self.model_fields_set]
        if len(given) > 1:
            names = [{"json_body": "json"}.get(k, k) for k in given]
            raise ValueError(f"give only one body kind, not {' and '.join(names)}")
        return self

    @property
    def has_json(self) -> bool:
        """True when ``json:`` was written (even ``json: null``)."""
        return "json_body" in self.model_fields_set


class Step(RequestParts):
    """A setup or teardown request. ``expect`` defaults to any 2xx."""

    role: str = Field("anonymous", alias="as")
    method: Method
    path: str
    save: SavePaths = {}
    expect: Statuses | None = None

    @field_validator("path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        if not value.startswith(("/", "{", "http://", "https://")):
            raise ValueError("a path starts with /, a {variable} or http(s)://")
        return value


class Resource(_Model):
    """Reusable state: created before a scenario that ``uses`` it, deleted after."""

    uses: list[str] = []
    create: Step
    save: SavePaths = {}
    delete: Step | None = None
    #: Why the API cannot delete it (a registered user, an audit entry): what each run
    #: leaves behind is then counted in the report instead of leaking unseen.
    leaves: str | None = None

    @model_validator(mode="after")
    def _deleted_or_left(self) -> Resource:
        if self.delete is None and not self.leaves:
            raise ValueError(
                "declare delete: (the request that deletes it) or leaves: (why the API "
                "cannot delete it)"
            )
        if self.delete is not None and self.leaves:
            raise ValueError("give delete: or leaves:, not both")
        return self


class Creates(_Model):
    """What a (POST) scenario creates, so it is deleted after the scenario."""

    save: SavePaths
    delete: Step


# --- flows: the critical user flows, step by step (api_checks/test_smoke.py) -------------

#: A ``check:`` value that is a mapping with one of these keys alone is an operator:
#: ``{contains: x}`` (a list holding x), ``{present: true|false}``, ``{equals: v}`` (v may
#: itself be a mapping). Any other value is compared for equality.
CHECK_OPERATORS = ("equals", "contains", "present")


def check_operator(expected: Any) -> tuple[str, Any]:
    """``(operator, operand)`` of a ``check:`` value (``equals`` unless spelt otherwise)."""
    if isinstance(expected, dict) and len(expected) == 1:
        ((key, operand),) = expected.items()
        if key in CHECK_OPERATORS:
            return str(key), operand
    return "equals", expected


class FlowStep(Step):
    """One request of a flow: a :class:`Step` whose answer is judged by its ``expect``
    status (any 2xx when absent) and its ``check`` assertions (JSON path -> value), and
    which may ``save`` values for the next steps. ``creates`` (as in a scenario) deletes
    what the step made after the flow, whatever happens in between."""

    name: str | None = None  # what the step does, for the report ("upload a file")
    check: dict[str, Any] = {}
    creates: Creates | None = None

    @field_validator("check")
    @classmethod
    def _checks(cls, value: dict[str, Any]) -> dict[str, Any]:
        for path, expected in value.items():
            jsonpath.validated(path)
            operator, operand = check_operator(expected)
            if operator == "present" and not isinstance(operand, bool):
                raise ValueError(f"{path}: present takes true or false, not {operand!r}")
        return value


class Flow(_Model):
    """A critical user flow: requests in order against one backend. ``uses`` resources
    are created before it and deleted after it (as a scenario's are); every step must
    answer as it says, and the flow stops at the first one that does not."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    tags: list[str] = []
    uses: list[str] = []
    steps: list[FlowStep] = Field(min_length=1)


class Noise(_Model):
    """Declared noise: JSON paths whose values differ by nature, lists compared as sets."""

    ignore: list[str] = []
    unordered: list[str] = []

    @field_validator("ignore", "unordered")
    @classmethod
    def _paths(cls, values: list[str]) -> list[str]:
        return [jsonpath.validated(value) for value in values]


class Scenario(RequestParts):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    role: str = Field("anonymous", alias="as")
    uses: list[str] = []
    steps: list[Step] = []
    params: dict[str, Scalar] = {}
    expect: Statuses
    creates: Creates | None = None
    tags: list[str] = []
    #: Overrides the endpoint's ``answers`` for this scenario (e.g. a 204 delete).
    answers: Answers | None = None


class Endpoint(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    method: Method
    route: str
    auth: Literal["public", "user", "owner", "owner-or-admin"] = "public"
    role: str = Field("anonymous", alias="as")
    frontend: str | None = None
    description: str | None = None
    tags: list[str] = []
    noise: Noise = Noise()
    #: Contract inference: whether objects may carry fields the samples never had (true:
    #: allowed here, reported by the differential checks), and objects whose keys are
    #: data (``data.byTheme``) inferred as a map of one value schema.
    additional_properties: bool = True
    maps: list[str] = []
    scenarios: list[Scenario] = Field(min_length=1)
    #: What the endpoint's answers carry; a body of another kind is an answer the suite
    #: cannot judge as declared (an error naming this setting), never a traceback.
    answers: Answers = "json"
    #: The endpoint stores nothing whatever its method (an echo such as httpbin's POST
    #: /post): a generated write to it has nothing to undo. Its scenarios still count as
    #: writes for the production guard.
    stateless: bool = False

    def answers_of(self, scenario: Scenario) -> Answers:
        return scenario.answers or self.answers

    @field_validator("maps")
    @classmethod
    def _map_paths(cls, values: list[str]) -> list[str]:
        return Noise._paths(values)

    @model_validator(mode="before")
    @classmethod
    def _default_role(cls, data: Any) -> Any:
        # A scenario without "as" runs as the endpoint's role: fill it in before validation.
        if isinstance(data, dict) and isinstance(data.get("scenarios"), list):
            role = data.get("as", data.get("role", "anonymous"))
            data = dict(data)
            data["scenarios"] = [
                {"as": role, **s}
                if isinstance(s, dict) and "as" not in s and "role" not in s
                else s
                for s in data["scenarios"]
            ]
        return data

    @field_validator("route")
    @classmethod
    def _route_shape(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("a route starts with /")
        if ":" in value:
            raise ValueError(f"write route parameters as {{name}}, not :name ({value})")
        return value

    @property
    def key(self) -> str:
        """``"GET /api/mocs/{mocId}"``."""
        return f"{self.method} {self.route}"

    @property
    def read_only(self) -> bool:
        return self.method in READ_ONLY_METHODS

    @property
    def route_params(self) -> list[str]:
        return ROUTE_PARAM.findall(self.route)

    def scenario(self, name: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise KeyError(f"{self.id} has no scenario {name!r}")


class Case(NamedTuple):
    """One (endpoint, scenario) pair; ``id`` suits pytest parametrisation."""

    endpoint: Endpoint
    scenario: Scenario

    @property
    def id(self) -> str:
        return f"{self.endpoint.id}/{self.scenario.name}"

    def __repr__(self) -> str:
        # What Allure and pytest show as the parameter: the case, not the whole model.
        return f"Case({self.id})"


def route_key(method: str, route: str) -> str:
    return f"{method.upper()} {route}"


def express_to_template(path: str) -> str:
    """Express' ``/api/mocs/:mocId`` (also ``:id?``, ``:id(\\d+)``) -> ``/api/mocs/{mocId}``."""
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?\??", r"{\1}", path)


def route_shape(route: str) -> str:
    """Route identity regardless of parameter names: ``/a/{x}`` == ``/a/{id}``."""
    route = express_to_template(route)
    return re.sub(r"\{[^}]*\}", "{}", route.rstrip("/") or "/")


def parse_route_listing(payload: Any) -> list[tuple[str, str]]:
    """``(METHOD, template)`` pairs from a ``/debug/routes``-like answer.

    Accepts the envelope (``{"data": ...}``), ``{"routes": [...]}``, and items spelled as
    ``"GET /x/:id"``, ``["GET", "/x"]`` or ``{"method"|"methods": ..., "path"|"route": ...}``
    where ``methods`` may be a list or Express' ``{"get": true}``. HEAD is skipped
    (Express answers it for every GET).
    """
    while isinstance(payload, Mapping):
        for key in ("routes", "data", "items"):
            if key in payload:
                payload = payload[key]
                break
        else:
            raise ValueError("no routes, data or items key in the route listing")
    pairs: list[tuple[str, str]] = []
    for item in payload or []:
        methods: Any
        if isinstance(item, str):
            methods, _, path = item.strip().partition(" ")
            methods = methods.split(",")
        elif isinstance(item, list | tuple) and len(item) == 2:
            methods, path = [item[0]], item[1]
        elif isinstance(item, Mapping):
            path = item.get("path") or item.get("route") or item.get("template") or ""
            methods = item.get("methods", item.get("method", []))
            if isinstance(methods, Mapping):
                methods = [m for m, on in methods.items() if on]
            elif isinstance(methods, str):
                methods = [methods]
        else:
            raise ValueError(f"cannot read route listing item {item!r}")
        for method in methods:
            method = str(method).strip().upper()
            if method and method != "HEAD" and str(path).startswith("/"):
                pairs.append((method, express_to_template(str(path).strip())))
    return pairs


class Lists(_Model):
    """How the API's list endpoints page and where a page keeps its items: what
    ``parity cleanup`` walks to find a run's stragglers.

    ``style``: ``page`` (page number and size), ``offset`` (offset and limit), ``cursor``
    (the next page's cursor at ``next_cursor`` in the body, or a ``Link: <...>; rel="next"``
    header), or ``none`` (one answer holds everything). Whatever the style, a ``Link``
    header with ``rel="next"`` is followed. The total is at ``total`` in the body or in the
    ``total_header`` (``X-Total-Count``); ``items: $`` when the body itself is the list."""

    style: Literal["page", "offset", "cursor", "none"] = "page"
    page_param: str = "page"
    limit_param: str = "limit"
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    next_cursor: str | None = None  # JSON path of the next cursor (cursor style)
    first_page: Annotated[int, Field(ge=0)] = 1
    page_size: Annotated[int, Field(ge=1)] = 100  # the API's largest ``limit``
    items: str = "data.items"  # JSON path of the page's items ("$": the body is the list)
    total: str | None = "data.total"  # JSON path of the total count (None: page until short)
    total_header: str | None = None  # a header holding the total (X-Total-Count)
    created_at: str = "createdAt"  # an item's creation time (``--older-than``)

    @field_validator("items", "total", "created_at", "next_cursor")
    @classmethod
    def _json_paths(cls, value: str | None) -> str | None:
        if value is None or value == "$":
            return value
        return jsonpath.validated(value)


class Catalog(_Model):
    version: Literal[1]
    roles: list[str] = Field(min_length=1)
    ignore_routes: dict[str, str] = {}
    #: JSON paths whose values become an ``enum`` in inferred contracts; nothing else
    #: does, so schemas never learn ids or titles. None by default: which values are an
    #: enumeration is the API's convention (the MOC catalog names ``status``, ``error.code``).
    enum_fields: list[str] = []
    resources: dict[str, Resource] = {}
    endpoints: list[Endpoint] = Field(min_length=1)
    #: Settings of the boundary, auth, errors, CORS and health checks (parity.core.checkspec).
    checks: Checks = Checks()
    #: The list endpoints' paging and item shape (parity.engine.cleanup reads it).
    lists: Lists = Lists()
    #: The API's success and error envelope and its gateway's answers (parity.core.envelope);
    #: ``none`` or absent: no envelope, answers are judged by their status only.
    envelope: OptionalEnvelope = None
    #: The critical user flows (api_checks/test_smoke.py), each a list of steps.
    flows: list[Flow] = []

    @field_validator("enum_fields")
    @classmethod
    def _enum_paths(cls, values: list[str]) -> list[str]:
        return Noise._paths(values)

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("ignore_routes")
    @classmethod
    def _ignore_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[A-Z]+ /\S*", key):
                raise ValueError(f"{key!r} is not 'METHOD /route'")
        return value

    @property
    def path(self) -> Path | None:
        """The file the catalog was loaded from."""
        return self._path

    def cases(self, tags: Iterable[str] | None = None) -> list[Case]:
        """Every (endpoint, scenario), optionally only those carrying one of ``tags``
        (endpoint tags and scenario tags both count)."""
        wanted = set(tags or ())
        return [
            Case(e, s)
            for e in self.endpoints
            for s in e.scenarios
            if not wanted or wanted & (set(e.tags) | set(s.tags))
        ]

    def get(self, endpoint_id: str) -> Endpoint:
        for endpoint in self.endpoints:
            if endpoint.id == endpoint_id:
                return endpoint
        close = difflib.get_close_matches(endpoint_id, [e.id for e in self.endpoints], n=1)
        raise KeyError(
            f"no endpoint {endpoint_id!r} in the catalog"
            + (f" (did you mean {close[0]!r}?)" if close else "")
        )

    def find(self, method: str, route: str) -> Endpoint | None:
        """The endpoint for ``method`` and ``route`` (either spelling, any param names)."""
        shape = route_shape(route)
        for endpoint in self.endpoints:
            if endpoint.method == method.upper() and route_shape(endpoint.route) == shape:
                return endpoint
        return None

    def uncovered_routes(self, routes: Any) -> list[str]:
        """Routes a backend serves (``/debug/routes``) that the catalog does not cover.

        ``routes`` is anything :func:`parse_route_listing` reads. Entries of
        ``ignore_routes`` are not reported. Returns sorted ``"METHOD /template"`` keys.
        """
        ignored = {
            (k.split(" ", 1)[0], route_shape(k.split(" ", 1)[1])) for k in self.ignore_routes
        }
        missing = {
            route_key(method, path)
            for method, path in parse_route_listing(routes)
            if (method, route_shape(path)) not in ignored and self.find(method, path) is None
        }
        return sorted(missing)

    def resource_order(self, names: Iterable[str]) -> list[str]:
        """``names`` and what they use, dependencies first, each once."""
        order: list[str] = []

        def visit(name: str) -> None:
            if name not in order:
                for dep in self.resources[name].uses:
                    visit(dep)
                order.append(name)

        for name in names:
            visit(name)
        return order

    def writes(self, endpoint: Endpoint, scenario: Scenario) -> bool:
        """Whether running the scenario changes state (its request, setup or teardown)."""
        steps = list(scenario.steps)
        for name in self.resource_order(scenario.uses):
            steps.append(self.resources[name].create)
        return (
            not endpoint.read_only
            or scenario.creates is not None
            or any(s.method not in READ_ONLY_METHODS for s in steps)
        )

    def flow_writes(self, flow: Flow) -> bool:
        """Whether running the flow changes state (a step, or a resource it uses)."""
        creates = [self.resources[name].create for name in self.resource_order(flow.uses)]
        return any(s.method not in READ_ONLY_METHODS for s in [*flow.steps, *creates])

    def route_for(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        """The endpoint a request to ``path`` (a concrete path or one with ``{variables}``)
        reaches, and the route parameters as ``path`` spells them; the most literal route
        wins (``/api/items/stats`` before ``/api/items/{itemId}``). None: no endpoint."""
        best: tuple[int, Endpoint, dict[str, str]] | None = None
        wanted = path.split("?", 1)[0].rstrip("/") or "/"
        for endpoint in self.endpoints:
            if endpoint.method != method.upper():
                continue
            pattern = "".join(
                f"(?P<{m.group(1)}>[^/]+)" if m.group(1) else re.escape(m.group(0))
                for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}|[^{]+|\{", endpoint.route)
            )
            found = re.fullmatch(pattern.rstrip("/") or "/", wanted)
            if found is None:
                continue
            literal = len(ROUTE_PARAM.sub("", endpoint.route))
            if best is None or literal > best[0]:
                best = (literal, endpoint, found.groupdict())
        return None if best is None else (best[1], best[2])
