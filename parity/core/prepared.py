"""A catalog request with its placeholders filled in: route parameters, query, headers and
body rendered from the run's variables (saved values, ``{run_id}``, ``{unique}``, a role's
credentials), ready for the engine to send (:mod:`parity.engine.runner`). No I/O here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from parity.core.catalog_model import ROUTE_PARAM, Endpoint, RequestParts, Scenario, Step
from parity.core.errors import InternalError
from parity.core.templating import TemplateError, render

__all__ = [
    "BOUNDARY",
    "PreparedRequest",
    "multipart_fields_only",
    "prepare",
    "prepare_step",
    "unique_value",
]

_BODY_SUMMARY_LIMIT = 4096
BOUNDARY = "parity-form-boundary"


@dataclass
class PreparedRequest:
    """A request with every placeholder filled in, ready to send
    (:func:`parity.engine.runner.send_prepared`)."""

    method: str
    path: str
    role: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    has_json: bool = False
    data: dict[str, str] | None = None  # multipart fields
    files: dict[str, tuple[str, bytes, str]] | None = None  # multipart files; {} = none
    content: bytes | None = None

    def summary(self) -> str | None:
        """The body as the report shows it (files by name, size and sha256)."""
        if self.has_json:
            return _clip(json.dumps(self.json, ensure_ascii=False))
        if self.files is not None or self.data is not None:
            parts = [f"{k}={v}" for k, v in (self.data or {}).items()]
            for name, (filename, payload, ctype) in (self.files or {}).items():
                digest = hashlib.sha256(payload).hexdigest()[:12]
                parts.append(f"{name}=@{filename} ({ctype}, {len(payload)} bytes, {digest})")
            return "multipart: " + ", ".join(parts)
        if self.content is not None:
            return _clip(self.content.decode("utf-8", errors="replace"))
        return None


def _clip(text: str) -> str:
    if len(text) <= _BODY_SUMMARY_LIMIT:
        return text
    return text[:_BODY_SUMMARY_LIMIT] + f"... ({len(text)} characters)"


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(value: Any, variables: Mapping[str, Any], where: str) -> Any:
    try:
        return render(value, variables)
    except TemplateError as exc:
        # Loading the catalog checks every variable, so this is a caller's bug.
        raise InternalError(
            f"{where}: no value for {{{exc.name}}}",
            hint="Report this; pass it in run_scenario(variables=...) meanwhile",
        ) from None


def _prepare_parts(
    parts: RequestParts, method: str, path: str, role: str, variables: Mapping[str, Any], where: str
) -> PreparedRequest:
    request = PreparedRequest(method=method, path=path, role=role)
    request.params = _fill(dict(parts.query), variables, where)
    request.headers = {k: str(v) for k, v in _fill(dict(parts.headers), variables, where).items()}
    if parts.has_json:
        request.json = _fill(parts.json_body, variables, where)
        request.has_json = True
    elif parts.multipart is not None:
        fields = _fill(dict(parts.multipart.fields), variables, where)
        request.data = {k: _form_value(v) for k, v in fields.items()}
        request.files = {
            # file names carry the run id too (parity-{run_id}-x.pdf): see parity/engine/storage.py
            name: (str(_fill(spec.filename, variables, where)), spec.payload(), spec.content_type)
            for name, spec in parts.multipart.files.items()
        }
    elif parts.body is not None:
        request.content = str(_fill(parts.body, variables, where)).encode("utf-8")
    return request


def multipart_fields_only(fields: Mapping[str, str]) -> bytes:
    lines: list[str] = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        lines += [f"--{BOUNDARY}", disposition, "", value]
    lines += [f"--{BOUNDARY}--", ""]
    return "\r\n".join(lines).encode("utf-8")


def prepare(
    endpoint: Endpoint, scenario: Scenario, variables: Mapping[str, Any]
) -> PreparedRequest:
    """The scenario's request with route parameters and placeholders filled in."""
    where = f"{endpoint.id}/{scenario.name}"

    def param(m: Any) -> str:
        value = _fill(scenario.params[m.group(1)], variables, where)
        return quote(str(value), safe="")

    path = ROUTE_PARAM.sub(param, endpoint.route)
    return _prepare_parts(scenario, endpoint.method, path, scenario.role, variables, where)


def prepare_step(step: Step, variables: Mapping[str, Any], where: str) -> PreparedRequest:
    path = str(_fill(step.path, variables, where))
    return _prepare_parts(step, step.method, path, step.role, variables, where)


def unique_value(run_id: str) -> str:
    """A value no earlier run used (``p`` + the run id + 4 random hex digits): lower-case
    letters and digits only, so it fits a username, a slug or an e-mail's local part, and
    it carries the run id, so cleanup finds what it named."""
    return f"p{run_id}{secrets.token_hex(2)}"
