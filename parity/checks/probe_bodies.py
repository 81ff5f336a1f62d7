"""Body probes: the base scenario's JSON body (or multipart form) varied one field at a
time, at any depth, and the body as a whole (empty object, not an object, malformed JSON,
a missing or wrong ``Content-Type``).

Fields whose catalog values carry the run id (``parity {run_id} ...``) keep that prefix on
every text generated for them, so anything a probe leaves behind is found by ``parity
cleanup --run-id``. Generated text never holds braces (the catalog's placeholders).
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable
from typing import Any

from parity.checks.fuzzbody import field_paths, tagged_paths
from parity.checks.probe_model import Probe, ProbeContext, scenario_from
from parity.core.catalog import Catalog, Endpoint, Scenario
from parity.core.templating import PLACEHOLDER

__all__ = ["BODY_LONG_LENGTH", "UNKNOWN_KEY", "body_probes", "raw_json"]

#: A text this long is "too long" for any field a form would send.
BODY_LONG_LENGTH = 5000
UNKNOWN_KEY = "parityUnknown"
_BUILTIN_TEXT = frozenset({"run_id", "unique", "nonce"})
_WRONG: dict[type, Any] = {
    str: 12345,
    int: "abc",
    float: "abc",
    bool: "true",
    list: "abc",
    dict: "abc",
}
_EMPTY: dict[type, Any] = {str: "", list: [], dict: {}}
_NON_OBJECTS: tuple[Any, ...] = ([], "text", 42, None)
_IDENT = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")

Path = tuple[str, ...]


def raw_json(value: Any) -> str:
    """``value`` as JSON text for a raw body (``body:``): structural braces doubled so the
    templating keeps them, ``{name}`` placeholders inside strings kept as placeholders."""
    text = json.dumps(value, ensure_ascii=False)
    parts = re.split(f"({_IDENT.pattern})", text)
    return "".join(
        p if _IDENT.fullmatch(p) else p.replace("{", "{{").replace("}", "}}") for p in parts
    )


def _saved_values(body: Any) -> list[str]:
    """Variables a body takes whole (``"{ids}"``): saved values of any JSON type, which a
    raw text body cannot carry faithfully."""
    out: list[str] = []
    for _, value in field_paths(body) or [((), body)]:
        if isinstance(value, str):
            whole = PLACEHOLDER.fullmatch(value)
            if whole and whole.group(1) and whole.group(1) not in _BUILTIN_TEXT:
                out.append(whole.group(1))
    return out


def _set(body: Any, path: Path, value: Any) -> Any:
    out = copy.deepcopy(body)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is _DROP:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


class _Drop:
    def __repr__(self) -> str:
        return "(dropped)"


_DROP = _Drop()


def _dotted(path: Path) -> str:
    return ".".join(path) or "$"


def _texts(ctx: ProbeContext, salt: str, count: int = 3) -> list[str]:
    texts = list(ctx.texts)
    rng = random.Random(f"{ctx.seed}:{salt}")
    return rng.sample(texts, min(count, len(texts))) if texts else []


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 32 else text[:29] + "..."


def _json_probes(
    endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Callable[[], str]
) -> tuple[list[Probe], list[str]]:
    body = base.json_body
    probes: list[Probe] = []
    notes: list[str] = []
    tagged = tagged_paths(endpoint)

    def add(variety: str, label: str, new_body: Any, **changes: Any) -> None:
        scenario = scenario_from(base, name(), json=new_body, **changes)
        if new_body is None and "body" not in changes:  # json: null must stay set
            scenario = base.model_copy(update={"name": scenario.name, "json_body": None})
        probes.append(Probe("body", variety, label, scenario))

    for path, value in field_paths(body):
        where = _dotted(path)
        prefix = tagged.get(path, "")
        add("missing", f"{where} missing", _set(body, path, _DROP))
        add("null", f"{where} null", _set(body, path, None))
        if type(value) in _EMPTY:
            add(
                "empty",
                f"{where} empty ({_show(_EMPTY[type(value)])})",
                _set(body, path, copy.deepcopy(_EMPTY[type(value)])),
            )
        wrong = [w for w in ctx.coverage.body_wrong_types.get(where, []) if w is not None]
        if not wrong and type(value) in _WRONG:
            wrong = [_WRONG[type(value)]]
        for w in wrong:
            add("wrong-type", f"{where}={_show(w)} (wrong type)", _set(body, path, w))
        if isinstance(value, str):
            long = prefix + "x" * (BODY_LONG_LENGTH - len(prefix))
            add("too-long", f"{where} {BODY_LONG_LENGTH} characters long", _set(body, path, long))
            for text in _texts(ctx, where):
                add("unusual", f"{where}={_show(text)}", _set(body, path, prefix + text))
    objects: list[Path] = [(), *(p for p, v in field_paths(body) if isinstance(v, dict))]
    for path in objects:
        target = _set(body, (*path, UNKNOWN_KEY), "x") if path else {**body, UNKNOWN_KEY: "x"}
        add("unknown-key", f"unknown key {UNKNOWN_KEY} in {_dotted(path)}", target)
    add("empty-object", "empty object {}", {})
    for value in ctx.coverage.non_objects or _NON_OBJECTS:
        add("not-an-object", f"body {_show(value)} (not an object)", value)
    first = next(iter(body), "a")
    malformed = raw_json({first: 1})[:-3] + ","  # '{{"key": 1,' : cut mid-object
    add(
        "malformed",
        "malformed JSON",
        None,
        body=malformed,
        headers={**base.headers, "Content-Type": "application/json"},
    )
    for media in ctx.coverage.refused_media or ["text/plain"]:
        headers = {**base.headers, "Content-Type": media}
        add("content-type", f"JSON sent as {media}", body, headers=headers)
    saved = _saved_values(body)
    if saved:
        notes.append(
            f"JSON without Content-Type not sent: the body takes saved values whole "
            f"({', '.join(saved)}), which a raw text body cannot carry"
        )
    else:
        add("content-type", "JSON without Content-Type", None, body=raw_json(body))
    return probes, notes


def _form_probes(
    endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Callable[[], str]
) -> list[Probe]:
    form = base.multipart
    assert form is not None
    probes: list[Probe] = []
    tagged = tagged_paths(endpoint)

    def add(variety: str, label: str, **multipart: Any) -> None:
        parts = form.model_dump(exclude_unset=True)
        parts.update(multipart)
        probes.append(Probe("body", variety, label, scenario_from(base, name(), multipart=parts)))

    for key, value in form.fields.items():
        prefix = tagged.get((key,), "")
        others = {k: v for k, v in form.fields.items() if k != key}
        add("missing", f"form field {key} missing", fields=others)
        add("empty", f"form field {key} empty", fields={**others, key: ""})
        long = prefix + "x" * (BODY_LONG_LENGTH - len(prefix))
        add(
            "too-long",
            f"form field {key} {BODY_LONG_LENGTH} characters long",
            fields={**others, key: long},
        )
        if isinstance(value, str):
            for text in _texts(ctx, key):
                add(
                    "unusual",
                    f"form field {key}={_show(text)}",
                    fields={**others, key: prefix + text},
                )
    for key in form.files:
        files = form.model_dump(exclude_unset=True).get("files", {})
        add("missing", f"file {key} missing", files={k: v for k, v in files.items() if k != key})
    add(
        "unknown-key", f"unknown form field {UNKNOWN_KEY}", fields={**form.fields, UNKNOWN_KEY: "x"}
    )
    as_json = dict(form.fields)
    probes.append(
        Probe(
            "body",
            "content-type",
            "the form fields as JSON",
            scenario_from(base, name(), json=as_json, multipart=None),
        )
    )
    return probes


def body_probes(
    catalog: Catalog, endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Callable[[], str]
) -> tuple[list[Probe], list[str]]:
    if base.multipart is not None:
        return _form_probes(endpoint, base, ctx, name), []
    if base.has_json and isinstance(base.json_body, dict):
        return _json_probes(endpoint, base, ctx, name)
    if base.has_json or base.body is not None:
        return [], ["body probes not sent: the base body is not a JSON object or a form"]
    return [], []
