"""An OpenAPI 3.1 document built from the catalog and the inferred contracts.

Everything comes from data, nothing from the engine:

- paths, operations (``operationId`` = the catalog id) and route parameters from the
  catalog's endpoints (typed from the values the scenarios send);
- query parameters: every key a scenario of the endpoint sends, typed from the values it
  sends; required when every scenario expecting a 2xx sends it;
- request bodies: JSON bodies inferred (GenSON, as for contracts) from the scenarios that
  expect a 2xx, multipart forms from their fields and files;
- responses: one per status with a contract under ``contracts/schemas`` (the schema; a
  text contract gives its media type, an empty one no content), plus the statuses the
  catalog expects that have none (described, no schema);
- security: a ``bearerAuth`` HTTP bearer scheme on every endpoint that is not public;
- links: a resource's ``create`` answer (catalog ``resources``) links to every operation
  with a route parameter named like a variable it ``save``s (create a MOC -> read, patch,
  delete it), which is what Schemathesis' stateful phase follows.

:func:`validate_document` checks the result with ``openapi-spec-validator``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.core.catalog import ROUTE_PARAM, Catalog, Endpoint, Scenario
from parity.core.envelope import json_type
from parity.core.errors import UsageError
from parity.engine.contracts import DEFAULT_CONTRACTS_DIR, ContractStore
from parity.engine.infer import infer_body_schema

__all__ = [
    "OPENAPI_VERSION",
    "SECURITY_SCHEME",
    "ResourceLinks",
    "build_openapi",
    "resource_links",
    "validate_document",
    "write_openapi",
]

OPENAPI_VERSION = "3.1.0"
SECURITY_SCHEME = "bearerAuth"
_DROPPED_KEYS = ("$id", "$schema")


def _is_success(scenario: Scenario) -> bool:
    return all(200 <= s < 300 for s in scenario.expect)


def _type_schema(types: set[str]) -> dict[str, Any]:
    ordered = sorted(types)
    return {"type": ordered[0] if len(ordered) == 1 else ordered}


def _query_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    types: dict[str, set[str]] = {}
    arrays: set[str] = set()
    for scenario in endpoint.scenarios:
        for key, value in scenario.query.items():
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list):
                arrays.add(key)
            for v in values:
                # A templated value ("{albumId}") is a saved id: a string.
                types.setdefault(key, set()).add(json_type(v))
    successes = [s for s in endpoint.scenarios if _is_success(s)]
    params = []
    for key in sorted(types):
        schema = _type_schema(types[key])
        if key in arrays:
            schema = {"type": "array", "items": schema}
        required = bool(successes) and all(key in s.query for s in successes)
        params.append({"name": key, "in": "query", "required": required, "schema": schema})
    return params


def _path_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    """Route parameters typed from the values the scenarios send (``/links/{n}`` with
    ``n: 3`` is an integer, a templated ``{mocId}`` a string), as query parameters are."""
    params = []
    for name in endpoint.route_params:
        types = {json_type(s.params[name]) for s in endpoint.scenarios if name in s.params}
        schema = _type_schema(types or {"string"})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _request_body(endpoint: Endpoint) -> dict[str, Any] | None:
    successes = [s for s in endpoint.scenarios if _is_success(s)] or list(endpoint.scenarios)
    content: dict[str, Any] = {}
    samples = [s.json_body for s in successes if s.has_json]
    if samples:
        schema = infer_body_schema(samples)
        content["application/json"] = {"schema": _clean(schema)}
    forms = [s.multipart for s in successes if s.multipart is not None]
    if forms:
        props: dict[str, Any] = {}
        encoding: dict[str, Any] = {}
        media: dict[str, set[str]] = {}
        required: set[str] = set()
        for i, form in enumerate(forms):
            names = set(form.fields) | set(form.files)
            required = names if i == 0 else required & names
            for name in form.fields:
                props.setdefault(name, {"type": "string"})
            for name, spec in form.files.items():
                media.setdefault(name, set()).add(spec.content_type)
        for name, types in sorted(media.items()):
            # format: binary makes it a file part (with a filename), which is how tools such
            # as Schemathesis tell a file from a text field whatever its media type.
            props[name] = {"type": "string", "format": "binary"}
            if len(types) == 1:
                props[name]["contentMediaType"] = next(iter(types))
            encoding[name] = {"contentType": ", ".join(sorted(types))}
        content["multipart/form-data"] = {
            "schema": {"type": "object", "properties": props, "required": sorted(required)}
        }
        if encoding:
            content["multipart/form-data"]["encoding"] = encoding
    if not content:
        return None
    return {"required": True, "content": content}


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in _DROPPED_KEYS}


def _responses(endpoint: Endpoint, store: ContractStore) -> dict[str, Any]:
    statuses = set(store.statuses(endpoint.method, endpoint.route))
    for scenario in endpoint.scenarios:
        statuses.update(scenario.expect)
    responses: dict[str, Any] = {}
    for status in sorted(statuses):
        contract = store.get(endpoint.method, endpoint.route, status)
        entry: dict[str, Any] = {"description": f"{status} answer"}
        if contract is not None:
            entry["description"] = f"{status} answer (contract {contract.path.parent.name})"
            content = _content(contract.schema)
            if content:
                entry["content"] = content
        responses[str(status)] = entry
    return responses


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    """A response's ``content``: JSON with its contract's schema; for a text contract (an
    answer that was text, HTML, a file or JSON lines: ``parity.engine.infer.text_schema``) the
    recorded media type (any, when the samples had several) and no schema (a text contract
    knows the media type and length, not what the bytes say); none for empty bodies."""
    lengths = schema.get("x-parity-length")
    if lengths is None:
        return {"application/json": {"schema": _clean(schema)}}
    if list(lengths) == ["empty"]:
        return {}
    return {str(schema.get("contentMediaType") or "*/*"): {"schema": {}}}


def _pointer(path: str) -> str:
    """A catalog save path (``data.id``) as a JSON pointer (``/data/id``)."""
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path.split("."))


@dataclass(frozen=True)
class ResourceLinks:
    """A catalog resource's create operation and the operations its answer links to."""

    resource: str
    create: Endpoint
    #: (saved variable, its path in the create answer, the linked endpoint)
    targets: tuple[tuple[str, str, Endpoint], ...]

    @property
    def operation_ids(self) -> list[str]:
        return [self.create.id, *(t.id for _, _, t in self.targets)]


def resource_links(catalog: Catalog) -> list[ResourceLinks]:
    """Each resource whose create is a catalog endpoint, linked to every operation whose
    only route parameter is a variable it saves (a nested resource is skipped: its parent's
    id is not in the create answer)."""
    by_key = {e.key: e for e in catalog.endpoints}
    found: list[ResourceLinks] = []
    for name, resource in catalog.resources.items():
        create = resource.create
        if ROUTE_PARAM.search(create.path):
            continue
        source = by_key.get(f"{create.method} {create.path}")
        if source is None:
            continue
        targets = tuple(
            (var, path, target)
            for var, path in resource.save.items()
            for target in catalog.endpoints
            if target.route_params == [var]
        )
        if targets:
            found.append(ResourceLinks(name, source, targets))
    return found


def _links(catalog: Catalog, responses: dict[str, dict[str, Any]]) -> None:
    """Add each resource's create -> (read, patch, delete) links to ``responses``."""
    for found in resource_links(catalog):
        answers = responses[found.create.id]
        status = next((s for s in sorted(answers, key=int) if s.startswith("2")), None)
        if status is None:
            continue
        links = {
            f"{found.resource}-{target.id}": {
                "operationId": target.id,
                "parameters": {var: f"$response.body#{_pointer(path)}"},
                "description": f"the {found.resource} this call created ({var} = {path})",
            }
            for var, path, target in found.targets
        }
        answers[status].setdefault("links", {}).update(links)


def build_openapi(
    catalog: Catalog,
    store: ContractStore | None = None,
    *,
    title: str = "API under parity test",
    version: str = "1.0.0",
    servers: list[str] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``catalog`` with response schemas from ``store``."""
    store = store or ContractStore(DEFAULT_CONTRACTS_DIR)
    paths: dict[str, dict[str, Any]] = {}
    responses: dict[str, dict[str, Any]] = {}
    for endpoint in catalog.endpoints:
        op: dict[str, Any] = {
            "operationId": endpoint.id,
            "summary": endpoint.description or endpoint.key,
            "tags": list(endpoint.tags),
        }
        params = _path_parameters(endpoint) + _query_parameters(endpoint)
        if params:
            op["parameters"] = params
        body = _request_body(endpoint)
        if body is not None:
            op["requestBody"] = body
        responses[endpoint.id] = _responses(endpoint, store)
        op["responses"] = responses[endpoint.id]
        if endpoint.auth != "public":
            op["security"] = [{SECURITY_SCHEME: []}]
        paths.setdefault(endpoint.route, {})[endpoint.method.lower()] = op
    _links(catalog, responses)
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "Generated by `parity openapi` from the endpoint catalog and the "
            "inferred contracts; regenerate, do not edit by hand.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            }
        },
    }
    if servers:
        doc["servers"] = [{"url": url} for url in servers]
    return doc


def validate_document(doc: dict[str, Any]) -> None:
    """Raise :class:`UsageError` naming the first problem when ``doc`` is not valid
    OpenAPI 3.1 (checked by ``openapi-spec-validator``)."""
    from openapi_spec_validator import OpenAPIV31SpecValidator

    try:
        errors = list(OpenAPIV31SpecValidator(doc).iter_errors())
    except (KeyError, TypeError, ValueError) as exc:  # the validator trips on some shapes
        raise UsageError(
            f"the generated OpenAPI document is not valid 3.1: {type(exc).__name__} {exc}"
        ) from None
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise UsageError(
            f"the generated OpenAPI document is not valid 3.1 at {where}: {first.message} "
            f"({len(errors)} problem(s))"
        )


def write_openapi(doc: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return out
