"""The web app's runtime config (``/config.json``) as a file: check one before it ships.

The live check (``api_checks/test_health.py``) fetches ``/config.json`` from the web host;
:func:`load_runtime_config` checks a local file against the same schema
(``checks.health.web_config.schema`` in the catalog, ``fixtures/runtime-config.schema.json``
by default), so a config can be tried before it is uploaded. Keys the schema does not name
are errors here, with the nearest known key: the frontend's Zod schema strips them
silently, so a misspelt ``useServerles`` would quietly fall back to the default.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from parity.core.errors import UsageError
from parity.core.inputs import parse_json, read_text
from parity.engine.violations import check_schema, json_path, short_message

__all__ = [
    "DEFAULT_SCHEMA",
    "RuntimeConfigError",
    "load_runtime_config",
    "load_runtime_config_schema",
]

DEFAULT_SCHEMA = Path("fixtures/runtime-config.schema.json")


class RuntimeConfigError(UsageError):
    """The runtime config file or its schema is malformed; names the file and the key."""


def load_runtime_config_schema(path: str | Path = DEFAULT_SCHEMA) -> dict[str, Any]:
    """Read the runtime config's JSON Schema (draft 2020-12)."""
    p = Path(path)
    hint = "Fix --schema / PARITY_RUNTIME_CONFIG_SCHEMA (checks.health.web_config.schema)"
    doc = parse_json(read_text(p, "contract", RuntimeConfigError, hint=hint), p,
                     RuntimeConfigError, hint="Fix the JSON there")  # fmt: skip
    if not isinstance(doc, dict):
        raise RuntimeConfigError("a schema must be a JSON object", path=p, hint=hint)
    check_schema(doc, p, RuntimeConfigError, fix="Fix that keyword", hint=hint)
    return doc


def _unknown_keys(path: Path, doc: Any, schema: dict[str, Any], where: list[Any]) -> None:
    """Keys of ``doc`` its schema does not name (recursing into named objects)."""
    props = schema.get("properties")
    if not isinstance(doc, dict) or not isinstance(props, dict):
        return
    for key, value in doc.items():
        if key not in props:
            close = difflib.get_close_matches(str(key), sorted(props), n=1)
            first = f"Did you mean {close[0]!r}?" if close else "Remove it or fix its spelling."
            raise RuntimeConfigError(
                f"unknown key {key!r} (the frontend would ignore it)",
                path=path,
                location=json_path([*where, key]),
                hint=f"{first} Known keys here: {', '.join(sorted(props))}",
            )
        if isinstance(props[key], dict):
            _unknown_keys(path, value, props[key], [*where, key])


def load_runtime_config(
    path: str | Path, schema: str | Path | dict[str, Any] = DEFAULT_SCHEMA
) -> dict[str, Any]:
    """Read a runtime config file and check it against ``schema`` (a path or the schema)."""
    p = Path(path)
    hint = "Fix --file / PARITY_RUNTIME_CONFIG"
    if not isinstance(schema, dict):
        schema = load_runtime_config_schema(schema)
    doc = parse_json(read_text(p, "runtime-config", RuntimeConfigError, hint=hint), p,
                     RuntimeConfigError, hint="Fix the JSON there")  # fmt: skip
    if not isinstance(doc, dict):
        raise RuntimeConfigError(
            "the runtime config must be a JSON object",
            path=p,
            location="line 1",
            hint='Start with {"apiBaseUrl": ..., "useServerless": ..., "cognitoConfig": {...}}',
        )
    # a misspelt key is the cause of the "required" error that follows: report it first
    _unknown_keys(p, doc, schema, [])
    validator = Draft202012Validator(schema)
    try:
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    except RecursionError:
        raise RuntimeConfigError("nested too deeply to be read", path=p, hint=hint) from None
    if errors:
        first = errors[0]
        more = f" ({len(errors) - 1} more problem(s) after this one)" if len(errors) > 1 else ""
        raise RuntimeConfigError(
            short_message(first.message),
            path=p,
            location=json_path(first.absolute_path),
            hint=f"Fix the value to match the schema{more}",
        )
    return doc
