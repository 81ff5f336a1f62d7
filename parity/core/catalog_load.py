"""Loading the catalog: YAML with line numbers, pydantic validation, cross-references.

:func:`load_catalog` reads ``fixtures/catalog.yaml`` (or ``--catalog`` /
``PARITY_CATALOG``) through :mod:`parity.core.inputs`, validates it against
:mod:`parity.core.catalog_model` and reports the first problem as one
:class:`~parity.core.errors.CatalogError` naming the file, the line, the entry and the field
(an unknown key with the nearest known one).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ValidationError

from parity.core import jsonpath
from parity.core.catalog_model import (
    Catalog,
    Endpoint,
    Flow,
    RequestParts,
    Resource,
    Scenario,
    Step,
    builtin_variables,
    route_shape,
)
from parity.core.errors import CatalogError
from parity.core.inputs import read_text
from parity.core.load_mix import mix_problems
from parity.core.templating import placeholders

__all__ = ["MAX_NODES", "load_catalog"]


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


#: libyaml when PyYAML was built with it: about 10x faster, and every pytest process
#: (and each of the suite's own pytest subprocesses) loads the catalog at collection.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Doc:
    """The raw YAML (data + node tree) for naming entries and finding line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        try:
            self.node = yaml.compose(text, Loader=_LOADER)
            self.data = yaml.load(text, Loader=_LOADER)  # a safe loader (C or Python)
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
            elif parent == "flows" and len(kept) == 2:
                where.append(f"flow {_name(child, 'name', part)}")
                field = []
            elif part not in _LISTS:
                field.append(str(part))
            parent = part if isinstance(part, str) else None
            node = child
        if field:
            where.append("field " + ".".join(field))
        elif kept and kept[-1] in _LISTS:
            where.append(f"field {kept[-1]}")  # the whole list or mapping is wrong
        return where, tuple(kept)


#: The catalog's lists and mappings of named entries: an error names the entry in them.
_LISTS = ("endpoints", "scenarios", "steps", "resources", "flows")


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
            shape = f"{ep.method} {route_shape(ep.route)}"
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
        if c.checks.load is not None:  # the load mix resolves scenarios as a run would
            for loc, problem, hint in mix_problems(c.checks.load, c):
                raise self.fail(("checks", *loc), problem, hint)
        flow_names: set[str] = set()
        for i, flow in enumerate(c.flows):
            if flow.name in flow_names:
                raise self.fail(
                    ("flows", i, "name"),
                    f"duplicate flow name {flow.name!r}",
                    "Give each flow its own name (it names the flow's row in the matrix)",
                )
            flow_names.add(flow.name)
            self.check_flow(("flows", i), flow)

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
        self.check_request(loc, step, known, path=step.path)
        self.check_saves((*loc, "save"), step.save)

    def check_request(
        self, loc: tuple[Any, ...], parts: RequestParts, known: set[str], **first: Any
    ) -> None:
        """Every ``{name}`` in a request (``first``: its path or params, then query,
        headers, body and multipart fields and file names) is a known variable."""
        values = {
            **first,
            "query": parts.query,
            "headers": parts.headers,
            "json": parts.json_body,
            "multipart": parts.multipart and parts.multipart.fields,
            "files": parts.multipart and {n: f.filename for n, f in parts.multipart.files.items()},
            "body": parts.body,
        }
        for key, value in values.items():
            self.check_vars((*loc, key), value, known)

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
        known = set(builtin_variables(self.catalog.roles)) | self.resource_vars(res.uses)
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
        known = set(builtin_variables(self.catalog.roles)) | self.resource_vars(sc.uses)
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
        self.check_request(loc, sc, known, params=sc.params)
        if sc.creates is not None:
            self.check_saves((*loc, "creates", "save"), sc.creates.save)
            self.check_step(
                (*loc, "creates", "delete"), sc.creates.delete, known | set(sc.creates.save)
            )

    def check_flow(self, loc: tuple[Any, ...], flow: Flow) -> None:
        self.check_uses((*loc, "uses"), flow.uses)
        known = set(builtin_variables(self.catalog.roles)) | self.resource_vars(flow.uses)
        for k, step in enumerate(flow.steps):
            sloc = (*loc, "steps", k)
            self.check_step(sloc, step, known)
            self.check_endpoint_path((*sloc, "path"), step.method, step.path)
            # a check compares with what earlier steps saved, never with its own answer
            for path, expected in step.check.items():
                self.check_vars((*sloc, "check", path), expected, known)
            known |= set(step.save)
            if step.creates is not None:
                self.check_saves((*sloc, "creates", "save"), step.creates.save)
                known |= set(step.creates.save)
                delete = step.creates.delete
                self.check_step((*sloc, "creates", "delete"), delete, known)
                where = (*sloc, "creates", "delete", "path")
                self.check_endpoint_path(where, delete.method, delete.path)

    def check_endpoint_path(self, loc: tuple[Any, ...], method: str, path: str) -> None:
        """A flow's request goes to one of the catalog's endpoints (the runner judges its
        answer as that endpoint declares)."""
        if "?" in path:
            raise self.fail(
                loc,
                f"{method} {path}: the path has a query string",
                "Put query parameters under query: {name: value}",
            )
        if self.catalog.route_for(method, path) is None:
            raise self.fail(
                loc,
                f"{method} {path} is no endpoint of the catalog",
                "A flow's step calls a catalog endpoint: write its route, with the values "
                "or {variables} in place of its {parameters}, or add the endpoint",
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
