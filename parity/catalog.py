"""The endpoint catalog: what to call, as whom, with which state, expecting what.

``fixtures/catalog.yaml`` is the inventory of the API under test; adding an endpoint means
editing it, never the engine. Its shape::

    version: 1
    roles: [anonymous, alice, bob, admin]
    ignore_routes: {"GET /debug/config": "test-only hook"}   # not expected in the catalog
    enum_fields: [status, error.code]   # contracts: the only values a schema may pin
    resources:                        # reusable state, Dredd-hook style
      moc:
        uses: []                      # resources this one needs first
        create: {as: alice, method: POST, path: /api/mocs, json: {...}}
        save: {mocId: data.id}        # variable -> JSON path in the create answer
        delete: {as: alice, method: DELETE, path: "/api/mocs/{mocId}"}
    endpoints:
      - id: mocs.get
        method: GET
        route: /api/mocs/{mocId}
        auth: public                  # public | user | owner | owner-or-admin
        as: anonymous                 # default role of the scenarios
        frontend: getMoc              # the RTK Query endpoint consuming it
        tags: [smoke]
        noise: {ignore: [data.id], unordered: [data.tags]}
        additional_properties: true   # contracts: extra fields allowed (the default)
        maps: []                      # contracts: objects keyed by data, e.g. data.byTheme
        scenarios:
          - name: existing
            uses: [moc]               # created before, deleted after (reverse order)
            steps: []                 # extra setup requests, each may ``save``
            params: {mocId: "{mocId}"}
            query: {}, headers: {}, json: ..., multipart: ..., body: "raw"
            expect: 200               # or a list of statuses
            creates: {save: {id: data.id}, delete: {...}}   # for POSTs: cleaned up after

``checks:`` (optional) configures the boundary, auth, errors, CORS and health checks
(:mod:`parity.checkspec`). ``{name}`` placeholders take saved variables and ``{run_id}``.
Loading validates all of it (unknown keys, missing fields, types, roles, route parameters,
duplicate ids, references, variables) and reports the first problem as one
:class:`~parity.errors.CatalogError` naming the file, the line, the entry and the field.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from parity import jsonpath
from parity.checkspec import Checks
from parity.errors import CatalogError
from parity.inputs import read_text
from parity.payloads import make_payload, min_size, parse_size
from parity.templating import placeholders

__all__ = [
    "BUILTIN_VARIABLES",
    "MAX_NODES",
    "READ_ONLY_METHODS",
    "ROUTE_PARAM",
    "Case",
    "Catalog",
    "Creates",
    "Endpoint",
    "FileSpec",
    "Multipart",
    "Noise",
    "RequestParts",
    "Resource",
    "Scenario",
    "Step",
    "express_to_template",
    "load_catalog",
    "parse_route_listing",
    "route_key",
]

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Variables every template may use without saving them first.
BUILTIN_VARIABLES = frozenset({"run_id"})

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


class Creates(_Model):
    """What a (POST) scenario creates, so it is deleted after the scenario."""

    save: SavePaths
    delete: Step


class Noise(_Model):
    """Declared noise: JSON paths whose values differ by nature, lists compared as sets."""

    ignore: list[str] = []
    unordered: list[str] = []

    @field_validator("ignore", "unordered")
    @classmethod
    def _paths(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                jsonpath.parse(value)
            except jsonpath.JsonPathError as exc:
                raise ValueError(str(exc)) from None
        return values


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


def route_key(method: str, route: str) -> str:
    return f"{method.upper()} {route}"


def express_to_template(path: str) -> str:
    """Express' ``/api/mocs/:mocId`` (also ``:id?``, ``:id(\\d+)``) -> ``/api/mocs/{mocId}``."""
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?\??", r"{\1}", path)


def _shape(route: str) -> str:
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


class Catalog(_Model):
    version: Literal[1]
    roles: list[str] = Field(min_length=1)
    ignore_routes: dict[str, str] = {}
    #: JSON paths whose values become an ``enum`` in inferred contracts; nothing else
    #: does, so schemas never learn ids or titles.
    enum_fields: list[str] = ["status"]
    resources: dict[str, Resource] = {}
    endpoints: list[Endpoint] = Field(min_length=1)
    #: Settings of the boundary, auth, errors, CORS and health checks (parity.checkspec).
    checks: Checks = Checks()

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
        shape = _shape(route)
        for endpoint in self.endpoints:
            if endpoint.method == method.upper() and _shape(endpoint.route) == shape:
                return endpoint
        return None

    def uncovered_routes(self, routes: Any) -> list[str]:
        """Routes a backend serves (``/debug/routes``) that the catalog does not cover.

        ``routes`` is anything :func:`parse_route_listing` reads. Entries of
        ``ignore_routes`` are not reported. Returns sorted ``"METHOD /template"`` keys.
        """
        ignored = {(k.split(" ", 1)[0], _shape(k.split(" ", 1)[1])) for k in self.ignore_routes}
        missing = {
            route_key(method, path)
            for method, path in parse_route_listing(routes)
            if (method, _shape(path)) not in ignored and self.find(method, path) is None
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


# --- loading and error reporting --------------------------------------------------------


def _fail(
    path: Path, where: list[str], line: int | None, problem: str, hint: str | None
) -> CatalogError:
    location = ", ".join(([f"line {line}"] if line else []) + where) or None
    return CatalogError(problem, path=path, location=location, hint=hint)


#: Nodes a catalog may expand to once YAML aliases are followed (a real one has a few
#: thousand; "billion laughs" has 10**9 and would hang validation).
MAX_NODES = 1_000_000


def _check_expansion(path: Path, root: yaml.Node | None) -> None:
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if id(node) in sizes:  # an alias: the same node object again
            return sizes[id(node)]
        if depth > 200:
            raise _fail(path, [], node.start_mark.line + 1, "nested too deeply", "Flatten it")
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(v, depth + 1) for v in node.value)
        sizes[id(node)] = total
        if total > MAX_NODES:
            raise _fail(
                path,
                [],
                node.start_mark.line + 1,
                f"expands to more than {MAX_NODES:,} values through YAML aliases",
                "Write the entries out instead of nesting aliases",
            )
        return total

    if root is not None:
        size(root, 0)


class _Doc:
    """The raw YAML (data + node tree) for naming entries and finding line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        try:
            self.node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            raise _fail(
                path,
                [f"column {mark.column + 1}"] if mark else [],
                mark.line + 1 if mark else None,
                f"invalid YAML: {problem}",
                "Fix the syntax there (indentation, quotes, a missing colon)",
            ) from None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow
            line = text[: exc.position].count("\n") + 1
            raise _fail(
                path,
                [],
                line,
                f"invalid YAML: character {exc.character!r} is not allowed ({exc.reason})",
                "Remove it, or save the file as plain UTF-8 text",
            ) from None
        except yaml.YAMLError as exc:
            problem = " ".join(str(exc).split())
            raise _fail(path, [], None, f"invalid YAML: {problem}", "Fix the syntax") from None
        except RecursionError:
            raise _fail(path, [], None, "nested too deeply", "Flatten the document") from None
        _check_expansion(path, self.node)
        if not isinstance(self.data, dict):
            raise _fail(
                path,
                [],
                1,
                "the catalog is not a mapping",
                "Start with 'version: 1', 'roles:', 'endpoints:'",
            )
        self._check_duplicate_keys(self.node)

    def _check_duplicate_keys(self, node: yaml.Node | None) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, value in node.value:
                if key.value in seen and key.value != "<<":
                    raise _fail(
                        self.path,
                        [f"key {key.value!r}"],
                        key.start_mark.line + 1,
                        "duplicate key",
                        "Keep one of them",
                    )
                seen.add(key.value)
                self._check_duplicate_keys(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._check_duplicate_keys(item)

    def line(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest node of ``loc`` that exists."""
        node = self.node
        line = node.start_mark.line + 1 if node else None
        for part in loc:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == part:
                        child, line = value, key.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                child = node.value[part]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line

    def describe(self, loc: tuple[Any, ...]) -> tuple[list[str], tuple[Any, ...]]:
        """Entry names (``endpoint mocs.get``, ``scenario existing``) and the kept ``loc``:
        the part of a pydantic location that exists in the data, so union-branch tags
        such as ``int`` or ``function-before[...]`` disappear."""
        where: list[str] = []
        kept: list[Any] = []
        field: list[str] = []
        node: Any = self.data
        parent: str | None = None
        for part in loc:
            in_dict = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            if not (in_dict or in_list):
                continue
            child = node[part]
            kept.append(part)
            if parent == "endpoints" and isinstance(part, int):
                where.append(f"endpoint {_name(child, 'id', part)}")
                field = []
            elif parent == "scenarios" and isinstance(part, int):
                where.append(f"scenario {_name(child, 'name', part)}")
                field = []
            elif parent == "steps" and isinstance(part, int):
                where.append(f"step {part + 1}")
                field = []
            elif parent == "resources" and len(kept) == 2:
                where.append(f"resource {part}")
                field = []
            elif part not in ("endpoints", "scenarios", "steps", "resources"):
                field.append(str(part))
            parent = part if isinstance(part, str) else None
            node = child
        if field:
            where.append("field " + ".".join(field))
        elif kept and kept[-1] in ("endpoints", "scenarios", "steps", "resources"):
            where.append(f"field {kept[-1]}")  # the whole list or mapping is wrong
        return where, tuple(kept)


def _name(entry: Any, key: str, index: int) -> str:
    value = entry.get(key) if isinstance(entry, dict) else None
    return str(value) if value else f"#{index + 1}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (aliases as written in YAML)."""
    tp: Any = Catalog
    for part in loc:
        tp = _descend(tp, part)
        if tp is None:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return sorted(f.alias or n for n, f in tp.model_fields.items())
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
        else:
            return tp


def _descend(tp: Any, part: Any) -> Any:
    tp = _unwrap(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    if origin in (list, tuple) and isinstance(part, int):
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    return None


def _validation_error(doc: _Doc, exc: ValidationError) -> CatalogError:
    errors = exc.errors(include_url=False)
    # An unknown key is usually a misspelt known one, which also shows up as "missing":
    # report the cause (with its "did you mean"), not the consequence.
    err = min(errors, key=lambda e: e["type"] != "extra_forbidden")
    where, kept = doc.describe(tuple(err["loc"]))
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ")
    line = doc.line(kept)
    hint: str | None
    consequences: set[tuple[Any, ...]] = set()
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        where = doc.describe(kept[:-1])[0]  # name the mapping holding the key
        allowed = _allowed_keys(kept[:-1])
        close = difflib.get_close_matches(key, allowed, n=1)
        problem = f"unknown key {key!r}"
        hint = f"Did you mean {close[0]!r}?" if close else "Remove it or fix its spelling."
        if allowed:
            hint += f" Allowed keys: {', '.join(allowed)}"
        if close:  # the "missing" error of the key it was meant to be
            consequences.add((*tuple(err["loc"])[:-1], close[0]))
    elif kind == "missing":
        name = err["loc"][-1]
        problem, hint = f"missing required field {name!r}", f"Add {name}: ..."
    elif kind == "value_error":  # our own validators: the message says what to do
        problem, hint = msg, None
    else:
        value = err.get("input")
        shown = f" (got {value!r})" if not isinstance(value, dict | list) else ""
        problem = msg + shown
        hint = "Use one of those" if kind == "literal_error" else "Fix the value"
    more = len({tuple(e["loc"]) for e in errors} - {tuple(err["loc"])} - consequences)
    if more > 0:
        note = f"({more} more problem{'s' if more > 1 else ''} after this one)"
        hint = f"{hint} {note}" if hint else note
    return _fail(doc.path, where, line, problem, hint)


class _Checker:
    """Cross-references pydantic cannot see: roles, ids, resources, params, variables."""

    def __init__(self, doc: _Doc, catalog: Catalog) -> None:
        self.doc = doc
        self.catalog = catalog
        self.roles = list(dict.fromkeys(["anonymous", *catalog.roles]))

    def fail(self, loc: tuple[Any, ...], problem: str, hint: str) -> CatalogError:
        where, kept = self.doc.describe(loc)
        absent = ".".join(str(p) for p in loc[len(kept) :])  # e.g. params, not written
        if absent:
            if where and where[-1].startswith("field "):
                where[-1] += "." + absent
            else:
                where.append("field " + absent)
        return _fail(self.doc.path, where, self.doc.line(kept), problem, hint)

    def run(self) -> None:
        c = self.catalog
        if len(set(c.roles)) != len(c.roles):
            dup = next(r for r in c.roles if c.roles.count(r) > 1)
            raise self.fail(("roles",), f"role {dup!r} listed twice", "List each role once")
        for name, res in c.resources.items():
            self.check_resource(name, res)
        seen_ids: dict[str, int] = {}
        seen_keys: dict[str, str] = {}
        for i, ep in enumerate(c.endpoints):
            loc: tuple[Any, ...] = ("endpoints", i)
            if ep.id in seen_ids:
                raise self.fail(
                    (*loc, "id"),
                    f"duplicate endpoint id {ep.id!r}",
                    f"Rename one (entry #{seen_ids[ep.id] + 1} has it too)",
                )
            seen_ids[ep.id] = i
            shape = f"{ep.method} {_shape(ep.route)}"
            if shape in seen_keys:
                raise self.fail(
                    (*loc, "route"),
                    f"{ep.key} is already endpoint {seen_keys[shape]!r}",
                    "Merge their scenarios into one entry",
                )
            seen_keys[shape] = ep.id
            self.check_role((*loc, "as"), ep.role)
            names: set[str] = set()
            for j, sc in enumerate(ep.scenarios):
                sloc = (*loc, "scenarios", j)
                if sc.name in names:
                    raise self.fail(
                        (*sloc, "name"),
                        f"duplicate scenario name {sc.name!r}",
                        "Give each scenario of an endpoint its own name",
                    )
                names.add(sc.name)
                self.check_scenario(sloc, ep, sc)
        for loc, problem, hint in c.checks.problems(c):
            raise self.fail(("checks", *loc), problem, hint)

    def check_role(self, loc: tuple[Any, ...], role: str) -> None:
        if role not in self.roles:
            close = difflib.get_close_matches(role, self.roles, n=1)
            raise self.fail(
                loc,
                f"unknown role {role!r}",
                (f"Did you mean {close[0]!r}? " if close else "")
                + f"Use one of {', '.join(self.roles)}, or add it to roles",
            )

    def check_uses(self, loc: tuple[Any, ...], uses: list[str]) -> None:
        for k, name in enumerate(uses):
            if name not in self.catalog.resources:
                close = difflib.get_close_matches(name, list(self.catalog.resources), n=1)
                raise self.fail(
                    (*loc, k),
                    f"unknown resource {name!r}",
                    (f"Did you mean {close[0]!r}? " if close else "")
                    + "Declare it under resources: or fix the name",
                )

    def check_vars(self, loc: tuple[Any, ...], value: Any, known: set[str]) -> None:
        for name in placeholders(value):
            if name not in known:
                raise self.fail(
                    loc,
                    f"unknown variable {{{name}}}",
                    f"Save it first (a resource's or step's save:) or use one of "
                    f"{', '.join(sorted(known))}",
                )

    def check_saves(self, loc: tuple[Any, ...], save: Mapping[str, str]) -> None:
        for var, path in save.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
                raise self.fail(
                    (*loc, var), f"{var!r} is not a variable name", "Use letters, digits and _"
                )
            try:
                jsonpath.parse(path)
            except jsonpath.JsonPathError as exc:
                raise self.fail((*loc, var), str(exc), "Write a path such as data.id") from None

    def check_step(self, loc: tuple[Any, ...], step: Step, known: set[str]) -> None:
        self.check_role((*loc, "as"), step.role)
        parts = {
            "path": step.path,
            "query": step.query,
            "headers": step.headers,
            "json": step.json_body,
            "multipart": step.multipart and step.multipart.fields,
            "body": step.body,
        }
        for key, value in parts.items():
            self.check_vars((*loc, key), value, known)
        self.check_saves((*loc, "save"), step.save)

    def resource_vars(self, names: Iterable[str]) -> set[str]:
        known: set[str] = set()
        for name in self.catalog.resource_order(names):
            res = self.catalog.resources[name]
            known |= set(res.save) | set(res.create.save)
        return known

    def check_resource(self, name: str, res: Resource) -> None:
        loc: tuple[Any, ...] = ("resources", name)
        self.check_uses((*loc, "uses"), res.uses)
        self.check_cycle(name, [])
        known = set(BUILTIN_VARIABLES) | self.resource_vars(res.uses)
        self.check_step((*loc, "create"), res.create, known)
        self.check_saves((*loc, "save"), res.save)
        if res.delete is not None:
            own = known | set(res.save) | set(res.create.save)
            self.check_step((*loc, "delete"), res.delete, own)

    def check_cycle(self, name: str, chain: list[str]) -> None:
        if name in chain:
            cycle = " -> ".join([*chain[chain.index(name) :], name])
            raise self.fail(
                ("resources", chain[0], "uses"),
                f"resources use each other: {cycle}",
                "Break the cycle",
            )
        for dep in self.catalog.resources[name].uses:
            if dep in self.catalog.resources:
                self.check_cycle(dep, [*chain, name])

    def check_scenario(self, loc: tuple[Any, ...], ep: Endpoint, sc: Scenario) -> None:
        self.check_role((*loc, "as"), sc.role)
        self.check_uses((*loc, "uses"), sc.uses)
        known = set(BUILTIN_VARIABLES) | self.resource_vars(sc.uses)
        for k, step in enumerate(sc.steps):
            self.check_step((*loc, "steps", k), step, known)
            known |= set(step.save)
        wanted, given = set(ep.route_params), set(sc.params)
        for name in sorted(wanted - given):
            raise self.fail(
                (*loc, "params"),
                f"route parameter {name!r} of {ep.route} is not supplied",
                f'Add params: {{{name}: "..."}} (a value or a saved variable like "{{{name}}}")',
            )
        for name in sorted(given - wanted):
            raise self.fail(
                (*loc, "params", name),
                f"{ep.route} has no parameter {name!r}",
                f"Remove it, or use one of {', '.join(sorted(wanted)) or 'none'}",
            )
        parts = {
            "params": sc.params,
            "query": sc.query,
            "headers": sc.headers,
            "json": sc.json_body,
            "multipart": sc.multipart and sc.multipart.fields,
            "body": sc.body,
        }
        for key, value in parts.items():
            self.check_vars((*loc, key), value, known)
        if sc.creates is not None:
            self.check_saves((*loc, "creates", "save"), sc.creates.save)
            self.check_step(
                (*loc, "creates", "delete"), sc.creates.delete, known | set(sc.creates.save)
            )


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file; any problem is one :class:`CatalogError`."""
    p = Path(path)
    text = read_text(
        p,
        "catalog",
        CatalogError,
        hint="Fix --catalog / PARITY_CATALOG, or run from the project root",
    )
    doc = _Doc(p, text)
    try:
        catalog = Catalog.model_validate(doc.data)
    except ValidationError as exc:
        raise _validation_error(doc, exc) from None
    except RecursionError:  # pragma: no cover - _Doc refuses deep nesting first
        raise _fail(p, [], None, "nested too deeply", "Flatten the document") from None
    _Checker(doc, catalog).run()
    catalog._path = p
    return catalog
