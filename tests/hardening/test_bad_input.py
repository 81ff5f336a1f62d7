"""Bad input to every file the suite reads: one clear error, never a crash.

For each loader (catalog, parity.toml, baseline, cassette, contract schema, HAR, matrix,
runtime config) the module feeds a valid document broken in the ways users break files:
missing, empty, a directory, random bytes, another format, truncated, nested too deeply,
100 MB, invalid UTF-8, a known field with a value of the wrong type, an unknown key. It
asserts the loader raises its :class:`~parity.core.errors.UsageError` subclass whose text is one
line naming the file, the place and a fix, never a bare ``KeyError``/``ValueError``/
``UnicodeDecodeError``/``RecursionError``. Through the CLI (``parity check``, ``parity
report --input``, ``PARITY_CATALOG``) a representative case per loader exits 2 with one
``error:`` line and no traceback.

Unknown keys: catalog, parity.toml, baseline, contract schemas and the runtime config reject
them (with the nearest known key); cassettes, HAR files and matrices, written by other
producers or newer versions, ignore them, and the test asserts they still load.

Every case tried is counted per loader and written to ``reports/hardening-bad-input.json``
for the issue's closing note (a Hypothesis example counts once).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.checks.runtime_config import RuntimeConfigError, load_runtime_config
from parity.cli import app as cli
from parity.core.catalog import Catalog, load_catalog
from parity.core.config import Settings
from parity.core.errors import (
    BackendError,
    CassetteError,
    CatalogError,
    ConfigError,
    ContractError,
    UsageError,
)
from parity.core.results import CheckResult
from parity.engine.baseline import load_baseline
from parity.engine.cassette import read_cassette
from parity.engine.contracts import load_contract
from parity.engine.har import import_har
from parity.engine.matrix import MatrixError, build_matrix, load_matrix

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "fixtures" / "runtime-config.schema.json"
HUGE = 100 * 1024 * 1024
EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- the documents -------------------------------------------------------------------------

CATALOG_DOC: dict[str, Any] = {
    "version": 1,
    "roles": ["alice", "admin"],
    "resources": {
        "moc": {
            "create": {"as": "alice", "method": "POST", "path": "/api/mocs", "json": {"t": 1}},
            "save": {"mocId": "data.id"},
            "delete": {"as": "alice", "method": "DELETE", "path": "/api/mocs/{mocId}"},
        }
    },
    "endpoints": [
        {
            "id": "mocs.get",
            "method": "GET",
            "route": "/api/mocs/{mocId}",
            "auth": "public",
            "tags": ["smoke"],
            "noise": {"ignore": ["data.id"]},
            "scenarios": [
                {"name": "existing", "uses": ["moc"], "params": {"mocId": "{mocId}"}, "expect": 200}
            ],
        }
    ],
    "checks": {"consistency": {"resource": "moc", "read": {"endpoint": "mocs.get"}}},
    "flows": [
        {
            "name": "read-a-moc",
            "tags": ["smoke"],
            "uses": ["moc"],
            "steps": [
                {
                    "method": "GET",
                    "path": "/api/mocs/{mocId}",
                    "expect": 200,
                    "check": {"data.id": "{mocId}"},
                }
            ],
        }
    ],
}
CONFIG_DOC: dict[str, Any] = {
    "backend": "both",
    "express_url": "http://127.0.0.1:3000",
    "stage": 10,
    "allow_writes": False,
    "timeout": 30,
    "catalog": "fixtures/catalog.yaml",
    "sandbox_drift": ["status-code"],
    "auth": {"mode": "cognito"},
    "users": {"alice": {"username": "alice"}},
}
BASELINE_DOC: dict[str, Any] = {
    "version": 1,
    "accept": [
        {
            "id": "authorizer-401",
            "endpoint": "GET /api/mocs/{mocId}",
            "check": "envelope",
            "path": "*",
            "origin": "gateway",
            "status": 401,
            "reason": "the JWT authorizer answers before the Lambda runs",
            "expires": date(2030, 6, 30),
        }
    ],
}
CASSETTE_LINE: dict[str, Any] = {
    "backend": "express",
    "elapsed_ms": 3.1,
    "endpoint": "mocs.get",
    "expected": [200],
    "method": "GET",
    "request": {"body": None, "headers": {"accept": "application/json"}},
    "response": {"headers": {"content-type": "application/json"}, "json": {"a": 1}, "text": None},
    "role": "anonymous",
    "route": "/api/mocs/{mocId}",
    "scenario": "existing",
    "source": "catalog",
    "status": 200,
    "url": "http://127.0.0.1:3000/api/mocs/1",
    "v": 1,
}
CONTRACT_DOC: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "GET /api/mocs/{mocId} -> 200",
    "type": "object",
    "additionalProperties": True,
    "properties": {"data": {"type": "object"}, "status": {"type": "string", "enum": ["ok"]}},
    "required": ["data", "status"],
    "x-parity": {"samples": 1},
}
HAR_DOC: dict[str, Any] = {
    "log": {
        "version": "1.2",
        "creator": {"name": "Playwright", "version": "1.45"},
        "entries": [
            {
                "request": {
                    "method": "GET",
                    "url": "http://127.0.0.1:3000/api/mocs/1",
                    "headers": [{"name": "accept", "value": "application/json"}],
                },
                "response": {
                    "status": 200,
                    "headers": [{"name": "content-type", "value": "application/json"}],
                    "content": {"mimeType": "application/json", "text": '{"a": 1}'},
                },
                "time": 3.5,
            }
        ],
    }
}
RUNTIME_DOC: dict[str, Any] = {
    "apiBaseUrl": "https://api.example.test",
    "useServerless": True,
    "cognitoConfig": {"userPoolId": "us-east-1_abc", "clientId": "client", "region": "us-east-1"},
    "directUploadMaxBytes": 10485760,
}


def _matrix_doc() -> dict[str, Any]:
    record = CheckResult("GET /api/mocs/{mocId}", "status", "pass", "same status")
    doc = json.loads(json.dumps(build_matrix([record])))
    doc["noise"] = doc.get("noise", [])
    doc["baseline"] = doc.get("baseline", [])
    doc["meta"] = doc.get("meta") or {"run": "x"}
    return doc


# --- writing documents -------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | date):
        return str(value) if not isinstance(value, date) else value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are all valid in a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
            + "}"
        )
    raise TypeError(type(value))


def dump_toml(doc: dict[str, Any]) -> str:
    """A TOML writer for these documents (no TOML writer is a dependency of the suite)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in doc.items():
        name = json.dumps(str(key))
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            for sub, table in value.items():
                tables.append((f"{name}.{json.dumps(str(sub))}", table))
        elif isinstance(value, dict) and value:
            tables.append((name, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((name, value))
        else:
            lines.append(f"{name} = {_toml_value(value)}")
    for name, table in tables:
        lines.append(f"[{name}]")
        lines += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in table.items()]
    for name, items in arrays:
        for item in items:
            lines.append(f"[[{name}]]")
            lines += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# --- the loaders ---------------------------------------------------------------------------

Path_ = tuple[Any, ...]


@dataclass
class Loader:
    name: str
    error: type[UsageError]
    doc: Callable[[], Any]
    dump: Callable[[Any], str]
    load: Callable[[Path, Path], object]  # (file, scratch dir)
    fields: list[tuple[Path_, str]]  # known fields and their kind, for wrong-type values
    dicts: list[Path_]  # where an unknown key can go
    strict: bool  # unknown keys are errors (else ignored)
    typo: tuple[Path_, str, str] | None  # (mapping, misspelt key, the key it replaces)
    suffix: str
    cli_kind: str
    counts: Counter[str] = field(default_factory=Counter)

    def text(self, doc: Any | None = None) -> str:
        return self.dump(self.doc() if doc is None else doc)


def _har_catalog() -> Catalog:
    return _HAR_CATALOG


def _load_har(path: Path, scratch: Path) -> object:
    return import_har(path, _har_catalog(), scratch / "har-out.jsonl")


LOADERS = [
    Loader(
        "catalog",
        CatalogError,
        lambda: copy.deepcopy(CATALOG_DOC),
        lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True),
        lambda p, _: load_catalog(p),
        [
            (("version",), "int"),
            (("roles",), "list"),
            (("resources",), "dict"),
            (("resources", "moc", "create"), "dict"),
            (("resources", "moc", "create", "method"), "str"),
            (("resources", "moc", "create", "path"), "str"),
            (("resources", "moc", "save"), "dict"),
            (("endpoints",), "list"),
            (("endpoints", 0), "dict"),
            (("endpoints", 0, "id"), "str"),
            (("endpoints", 0, "method"), "str"),
            (("endpoints", 0, "route"), "str"),
            (("endpoints", 0, "auth"), "str"),
            (("endpoints", 0, "tags"), "list"),
            (("endpoints", 0, "noise"), "dict"),
            (("endpoints", 0, "noise", "ignore"), "list"),
            (("endpoints", 0, "scenarios"), "list"),
            (("endpoints", 0, "scenarios", 0, "name"), "str"),
            (("endpoints", 0, "scenarios", 0, "uses"), "list"),
            (("endpoints", 0, "scenarios", 0, "params"), "dict"),
            (("endpoints", 0, "scenarios", 0, "expect"), "int"),
            (("checks", "consistency"), "dict"),
            (("checks", "consistency", "resource"), "str"),
            (("checks", "consistency", "read"), "dict"),
            (("flows",), "list"),
            (("flows", 0), "dict"),
            (("flows", 0, "name"), "str"),
            (("flows", 0, "steps"), "list"),
            (("flows", 0, "steps", 0, "path"), "str"),
            (("flows", 0, "steps", 0, "check"), "dict"),
        ],
        [
            (),
            ("endpoints", 0),
            ("endpoints", 0, "scenarios", 0),
            ("resources", "moc", "create"),
            ("checks", "consistency"),
            ("flows", 0),
            ("flows", 0, "steps", 0),
        ],
        True,
        (("endpoints", 0), "scenarioes", "scenarios"),
        ".yaml",
        "catalog",
    ),
    Loader(
        "parity.toml",
        ConfigError,
        lambda: copy.deepcopy(CONFIG_DOC),
        dump_toml,
        lambda p, _: Settings.load(environ={}, toml_path=p),
        [
            (("backend",), "str"),
            (("express_url",), "str"),
            (("stage",), "int"),
            (("allow_writes",), "bool"),
            (("timeout",), "num"),
            (("catalog",), "str"),
            (("sandbox_drift",), "strlist"),
            (("auth",), "dict"),
            (("auth", "mode"), "str"),
            (("users",), "dict-or-list"),
            (("users", "alice"), "dict"),
            (("users", "alice", "username"), "str"),
        ],
        [(), ("auth",), ("users", "alice")],
        True,
        ((), "stag", "stage"),
        ".toml",
        "config",
    ),
    Loader(
        "parity-baseline.toml",
        UsageError,  # BaselineError
        lambda: copy.deepcopy(BASELINE_DOC),
        dump_toml,
        lambda p, _: load_baseline(p, required=True),
        [
            (("version",), "int"),
            (("accept",), "list"),
            (("accept", 0), "dict"),
            *((("accept", 0, k), "str") for k in ("id", "endpoint", "check", "path", "reason")),
            (("accept", 0, "origin"), "str"),
            (("accept", 0, "status"), "int"),
            (("accept", 0, "expires"), "date"),
        ],
        [(), ("accept", 0)],
        True,
        (("accept", 0), "expirs", "expires"),
        ".toml",
        "baseline",
    ),
    Loader(
        "cassette",
        CassetteError,
        lambda: [copy.deepcopy(CASSETTE_LINE), copy.deepcopy(CASSETTE_LINE)],
        lambda d: "".join(json.dumps(line) + "\n" for line in d),
        lambda p, _: list(read_cassette(p)),
        [
            *(((1, k), "str") for k in ("backend", "method", "route", "url", "source")),
            *(((1, k), "str") for k in ("endpoint", "scenario", "role")),
            ((1, "status"), "int"),
            ((1, "v"), "int"),
            ((1, "expected"), "list"),
            ((1, "request"), "dict"),
            ((1, "response"), "dict"),
            ((1, "response", "headers"), "dict"),
            ((1, "response", "text"), "str"),
            ((1, "elapsed_ms"), "num"),
            ((0,), "dict"),
        ],
        [(0,), (1, "response"), (1, "request")],
        False,
        None,
        ".jsonl",
        "cassette",
    ),
    Loader(
        "contract",
        ContractError,
        lambda: copy.deepcopy(CONTRACT_DOC),
        lambda d: json.dumps(d, indent=2),
        lambda p, _: load_contract(p),
        [
            (("title",), "str"),
            (("type",), "str-or-list"),
            (("properties",), "dict"),
            (("properties", "data"), "schema"),
            (("properties", "data", "type"), "str-or-list"),
            (("properties", "status", "enum"), "list"),
            (("required",), "list"),
            (("additionalProperties",), "schema"),
        ],
        [(), ("properties", "data")],
        True,
        ((), "requird", "required"),
        ".json",
        "contract",
    ),
    Loader(
        "HAR",
        CassetteError,
        lambda: copy.deepcopy(HAR_DOC),
        lambda d: json.dumps(d, indent=2),
        _load_har,
        [
            (("log",), "dict"),
            (("log", "entries"), "list"),
            (("log", "entries", 0), "dict"),
            (("log", "entries", 0, "request"), "dict"),
            (("log", "entries", 0, "request", "method"), "str"),
            (("log", "entries", 0, "request", "url"), "str"),
            (("log", "entries", 0, "request", "headers"), "list"),
            (("log", "entries", 0, "response"), "dict"),
            (("log", "entries", 0, "response", "status"), "int"),
            (("log", "entries", 0, "response", "headers"), "list"),
            (("log", "entries", 0, "response", "content"), "dict"),
            (("log", "entries", 0, "response", "content", "text"), "str"),
            (("log", "entries", 0, "time"), "num"),
        ],
        [(), ("log",), ("log", "entries", 0), ("log", "entries", 0, "request")],
        False,
        None,
        ".har",
        "har",
    ),
    Loader(
        "matrix",
        MatrixError,
        _matrix_doc,
        lambda d: json.dumps(d, indent=2),
        lambda p, _: load_matrix(p),
        [
            (("generated_at",), "str"),
            (("meta",), "dict"),
            (("summary",), "dict"),
            (("summary", "headline"), "str"),
            (("summary", "endpoints"), "int"),
            (("summary", "at_parity"), "int"),
            (("summary", "states"), "dict"),
            (("checks",), "list"),
            (("endpoints",), "list"),
            (("endpoints", 0, "endpoint"), "str"),
            (("cells",), "list"),
            (("cells", 0, "check"), "str"),
            (("cells", 0, "evidence"), "dict"),
            (("noise",), "list"),
            (("baseline",), "list"),
        ],
        [(), ("summary",), ("cells", 0)],
        False,
        None,
        ".json",
        "matrix",
    ),
    Loader(
        "runtime config",
        RuntimeConfigError,
        lambda: copy.deepcopy(RUNTIME_DOC),
        lambda d: json.dumps(d, indent=2),
        lambda p, _: load_runtime_config(p, SCHEMA),
        [
            (("apiBaseUrl",), "str"),
            (("useServerless",), "bool"),
            (("cognitoConfig",), "dict"),
            (("cognitoConfig", "userPoolId"), "str"),
            (("cognitoConfig", "clientId"), "str"),
            (("cognitoConfig", "region"), "str"),
            (("directUploadMaxBytes",), "int"),
        ],
        [(), ("cognitoConfig",)],
        True,
        ((), "useServerles", "useServerless"),
        ".json",
        "runtime-config",
    ),
]
BY_NAME = {spec.name: spec for spec in LOADERS}
_HAR_CATALOG = Catalog.model_validate(CATALOG_DOC)


# --- bookkeeping -----------------------------------------------------------------------------

_serial = itertools.count()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("bad-input")
    _write_counts()


def _write_counts() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    out = ROOT / "reports" / f"hardening-bad-input{'-' + worker if worker else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {
        spec.name: {"total": sum(spec.counts.values()), "cases": dict(sorted(spec.counts.items()))}
        for spec in LOADERS
    }
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"\nbad-input cases per loader ({out.name}):", file=sys.stderr)
    for name, entry in data.items():
        print(f"  {name}: {entry['total']}", file=sys.stderr)


def write(scratch: Path, spec: Loader, content: str | bytes) -> Path:
    path = scratch / f"case-{next(_serial)}{spec.suffix}"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def run(spec: Loader, path: Path, scratch: Path) -> UsageError:
    """The loader's error for ``path``; fails the test if it loads or raises anything else."""
    try:
        spec.load(path, scratch)
    except spec.error as exc:
        return exc
    except UsageError as exc:  # the right family, the wrong class
        pytest.fail(f"{spec.name}: {type(exc).__name__}, not {spec.error.__name__}: {exc}")
    pytest.fail(f"{spec.name}: {path.name} loaded without an error")


def assert_clear(exc: UsageError, path: Path | str, *, place: str | None = None) -> None:
    """One line (no traceback text) naming the file, the place when known, and a fix."""
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text, text
    assert str(path) in text, f"the file is not named: {text}"
    assert exc.hint and exc.hint.strip(), f"no fix hint: {text}"
    assert len(text) < 1000, f"not short: {text}"
    if place is not None:
        assert place in text, f"{place!r} not named: {text}"


def tried(spec: Loader, case: str) -> None:
    spec.counts[case] += 1


def get_in(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def set_in(doc: Any, path: Path_, value: Any) -> None:
    get_in(doc, path[:-1])[path[-1]] = value


# --- fixed cases --------------------------------------------------------------------------

ids = [spec.name for spec in LOADERS]


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
def test_valid_document_loads(spec: Loader, scratch: Path) -> None:
    # the baseline of every mutation below: without it, "raises" would prove nothing
    spec.load(write(scratch, spec, spec.text()), scratch)  # a control: not counted


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
def test_missing_file(spec: Loader, scratch: Path) -> None:
    path = scratch / f"does-not-exist{spec.suffix}"
    assert_clear(run(spec, path, scratch), path.name)
    tried(spec, "missing")


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
@pytest.mark.parametrize("content", ["", "\n\n", "   \t\n"], ids=["empty", "newlines", "blank"])
def test_empty_file(spec: Loader, content: str, scratch: Path) -> None:
    path = write(scratch, spec, content)
    assert_clear(run(spec, path, scratch), path)
    tried(spec, "empty")


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
def test_a_directory(spec: Loader, scratch: Path) -> None:
    path = scratch / f"dir-{next(_serial)}{spec.suffix}"
    path.mkdir()
    assert_clear(run(spec, path, scratch), path, place="directory")
    tried(spec, "directory")


@pytest.mark.parametrize(
    ("spec", "other"),
    [(s, o) for s in LOADERS for o in LOADERS if o is not s],
    ids=[f"{s.name}<-{o.name}" for s in LOADERS for o in LOADERS if o is not s],
)
def test_another_format(spec: Loader, other: Loader, scratch: Path) -> None:
    path = write(scratch, spec, other.text())
    assert_clear(run(spec, path, scratch), path)
    tried(spec, "another-format")


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
@pytest.mark.parametrize("depth", [50, 5_000])
def test_nested_too_deeply(spec: Loader, depth: int, scratch: Path) -> None:
    body = "[" * depth + "]" * depth
    text = {".toml": f"a = {body}\n", ".jsonl": body + "\n"}.get(spec.suffix, body)
    path = write(scratch, spec, text)
    assert_clear(run(spec, path, scratch), path)
    tried(spec, "deeply-nested")


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
def test_huge_file_is_refused_by_its_limit(spec: Loader, scratch: Path) -> None:
    path = scratch / f"huge-{next(_serial)}{spec.suffix}"
    with path.open("wb") as fh:
        fh.truncate(HUGE)  # sparse: 100 MB of zeros without writing them
    try:
        exc = run(spec, path, scratch)
    finally:
        path.unlink()
    assert_clear(exc, path, place="limit")
    assert "PARITY_MAX_" in str(exc), f"the setting that raises the limit is not named: {exc}"
    tried(spec, "huge-100MB")


def test_limits_can_be_raised(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BY_NAME["runtime config"]
    path = write(scratch, spec, spec.text() + " " * 2 * 1024 * 1024)  # 2 MB: over 1 MB
    assert_clear(run(spec, path, scratch), path, place="PARITY_MAX_RUNTIME_CONFIG_MB")
    monkeypatch.setenv("PARITY_MAX_RUNTIME_CONFIG_MB", "3")
    spec.load(path, scratch)
    monkeypatch.setenv("PARITY_MAX_RUNTIME_CONFIG_MB", "lots")
    with pytest.raises(ConfigError, match="PARITY_MAX_RUNTIME_CONFIG_MB"):
        spec.load(path, scratch)
    tried(spec, "limit-setting")


@pytest.mark.parametrize(
    "spec", [s for s in LOADERS if s.typo], ids=[s.name for s in LOADERS if s.typo]
)
def test_misspelt_key_names_the_key_it_meant(spec: Loader, scratch: Path) -> None:
    assert spec.typo is not None
    where, typo, meant = spec.typo
    doc = spec.doc()
    mapping = get_in(doc, where)
    mapping[typo] = mapping.pop(meant)
    path = write(scratch, spec, spec.text(doc))
    exc = run(spec, path, scratch)
    assert_clear(exc, path, place=typo)
    assert f"Did you mean {meant!r}" in str(exc), str(exc)
    tried(spec, "misspelt-key")


# --- generated cases ----------------------------------------------------------------------

_scalar_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_words = _scalar_text.filter(
    lambda s: s not in {"yes", "no", "on", "off", "true", "false", "inf", "nan", "null"}
)
_ints = st.integers(-(2**63), 2**63 - 1)  # TOML integers are 64-bit
_small_list = st.lists(st.integers(-5, 5), min_size=0, max_size=3)
_small_dict = st.dictionaries(_scalar_text, st.integers(-5, 5), min_size=0, max_size=3)
_floats = st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: f != int(f))

#: Values of the wrong type for each kind of field (never coercible to the right one).
WRONG: dict[str, st.SearchStrategy[Any]] = {
    "str": st.one_of(_ints, _floats, st.booleans(), _small_list, _small_dict),
    "int": st.one_of(_words, _small_list, _small_dict),
    "num": st.one_of(_words, st.booleans(), _small_list, _small_dict),
    "bool": st.one_of(_words, _small_list, _small_dict),
    "list": st.one_of(_ints, st.booleans(), _words, _small_dict),
    "strlist": st.one_of(_ints, st.booleans(), _small_dict),
    "str-or-list": st.one_of(_ints, st.booleans(), _small_dict),
    "dict": st.one_of(_ints, st.booleans(), _words, _small_list),
    "dict-or-list": st.one_of(_ints, st.booleans(), _words),
    "schema": st.one_of(_ints, _words, _small_list),
    "date": st.one_of(_ints, st.booleans(), _words, _small_list, _small_dict),
}


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
@EXAMPLES
@given(data=st.data())
def test_wrong_type_for_a_known_field(spec: Loader, scratch: Path, data: st.DataObject) -> None:
    where, kind = data.draw(st.sampled_from(spec.fields), label="field")
    value = data.draw(WRONG[kind], label="value")
    doc = spec.doc()
    set_in(doc, where, value)
    path = write(scratch, spec, spec.text(doc))
    exc = run(spec, path, scratch)
    assert_clear(exc, path)
    assert exc.location or "line" in str(exc), f"the place is not named: {exc}"
    name = next((p for p in reversed(where) if isinstance(p, str)), None)
    if name is not None and isinstance(where[-1], str):
        assert name in str(exc), f"the field {name!r} is not named: {exc}"
    tried(spec, "wrong-type")


_keys = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).map(lambda k: "zz" + k)
_any_value = st.one_of(_ints, st.booleans(), _scalar_text, _small_list)


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
@EXAMPLES
@given(data=st.data())
def test_unknown_key(spec: Loader, scratch: Path, data: st.DataObject) -> None:
    where = data.draw(st.sampled_from(spec.dicts), label="mapping")
    key = data.draw(_keys, label="key")
    doc = spec.doc()
    get_in(doc, where)[key] = data.draw(_any_value, label="value")
    path = write(scratch, spec, spec.text(doc))
    if spec.strict:
        assert_clear(run(spec, path, scratch), path, place=key)
    else:  # foreign producers add their own keys: ignored, the file still loads
        spec.load(path, scratch)
    tried(spec, "unknown-key")


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
@EXAMPLES
@given(data=st.data())
def test_invalid_utf8(spec: Loader, scratch: Path, data: st.DataObject) -> None:
    raw = spec.text().encode("utf-8")
    at = data.draw(st.integers(0, len(raw)), label="offset")
    junk = data.draw(
        st.sampled_from([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x80"]), label="junk"
    )
    # at a character boundary: inside a multi-byte character the bytes would differ anyway
    path = write(scratch, spec, raw[:at] + junk + raw[at:])
    exc = run(spec, path, scratch)
    assert_clear(exc, path, place="UTF-8")
    line = raw[:at].count(b"\n") + 1
    assert f"line {line}" in str(exc), f"line {line} not named: {exc}"
    tried(spec, "invalid-utf8")


def _settle(spec: Loader, path: Path, scratch: Path) -> str:
    """Load ``path``: a UsageError (checked for clarity) or a clean load; anything else
    propagates and fails the test."""
    try:
        spec.load(path, scratch)
    except UsageError as exc:
        assert isinstance(exc, spec.error), f"{type(exc).__name__}: {exc}"
        assert_clear(exc, path)
        return "error"
    return "loaded"


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
@EXAMPLES
@given(data=st.data())
def test_truncated_document(spec: Loader, scratch: Path, data: st.DataObject) -> None:
    raw = spec.text().encode("utf-8")
    cut = data.draw(st.integers(1, max(1, len(raw) - 2)), label="cut")
    path = write(scratch, spec, raw[:cut])
    # a cut can leave a valid document (e.g. after a complete cassette line): then it loads
    tried(spec, f"truncated ({_settle(spec, path, scratch)})")


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
@EXAMPLES
@given(data=st.binary(min_size=1, max_size=400))
def test_random_bytes(spec: Loader, scratch: Path, data: bytes) -> None:
    path = write(scratch, spec, data)
    tried(spec, f"random-bytes ({_settle(spec, path, scratch)})")


# --- through the command line ---------------------------------------------------------------


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["parity", *args])
    monkeypatch.setattr(cli, "_debug", False)
    # --config sets PARITY_CONFIG for the run; these make monkeypatch restore both after it
    monkeypatch.setenv("PARITY_CONFIG", "")
    monkeypatch.setenv("PARITY_DEBUG", "")
    with pytest.raises(SystemExit) as stop:
        cli.main()
    out = capsys.readouterr()
    code = stop.value.code
    return (code if isinstance(code, int) else 1), out.out + out.err


def assert_one_error_line(output: str, path: Path | str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output, output
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert str(path) in lines[0], output


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
def test_cli_check_bad_file_exits_2(
    spec: Loader, scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    other = BY_NAME["parity.toml"] if spec.suffix != ".toml" else BY_NAME["catalog"]
    path = write(scratch, spec, other.text())
    code, output = run_cli(["check", str(path), "--kind", spec.cli_kind], monkeypatch, capsys)
    assert code == 2, output
    assert_one_error_line(output, path)
    tried(spec, "cli")


@pytest.mark.parametrize("spec", LOADERS, ids=ids)
def test_cli_check_good_file_exits_0(
    spec: Loader, scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = write(scratch, spec, spec.text())
    args = ["check", str(path), "--kind", spec.cli_kind, "--schema", str(SCHEMA)]
    if spec.name == "HAR":
        catalog = write(scratch, BY_NAME["catalog"], BY_NAME["catalog"].text())
        args += ["--catalog", str(catalog)]
    code, output = run_cli(args, monkeypatch, capsys)
    assert code == 0 and output.startswith("ok "), output


def test_catalog_chosen_by_environment(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    spec = BY_NAME["catalog"]
    path = write(scratch, spec, "version: 1\nroles: [alice]\nendpoints: nope\n")
    monkeypatch.setenv("PARITY_CATALOG", str(path))
    code, output = run_cli(["openapi", "--out", str(scratch / "o.json")], monkeypatch, capsys)
    assert code == 2, output
    assert_one_error_line(output, path)
    assert not (scratch / "o.json").exists()
    tried(spec, "cli-env")


def test_config_chosen_by_option(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    spec = BY_NAME["parity.toml"]
    path = write(scratch, spec, 'stage = "soon"\n')
    code, output = run_cli(
        ["--config", str(path), "openapi", "--out", str(scratch / "o.json")], monkeypatch, capsys
    )
    assert code == 2, output
    assert_one_error_line(output, path)
    assert "key stage" in output
    tried(spec, "cli-option")


def test_report_input(scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    spec = BY_NAME["matrix"]
    path = write(scratch, spec, b'{"schema_version": \xff}')
    code, output = run_cli(["report", "--input", str(path)], monkeypatch, capsys)
    assert code == 2, output
    assert_one_error_line(output, path)
    assert "UTF-8" in output and "line 1" in output
    tried(spec, "cli-report")


# --- the top-level handler ----------------------------------------------------------------


def _raising(exc: BaseException) -> Callable[..., str]:
    def load(*_: Any) -> str:
        raise exc

    return load


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (
            BackendError("express answered nonsense", backend="express", hint="Fix it"),
            3,
            "nonsense",
        ),
        (KeyError("boom"), 4, "internal error (KeyError"),
        (RuntimeError("multi\nline\nmessage"), 4, "multi line message"),
    ],
    ids=["backend", "keyerror", "multiline"],
)
def test_handler_prints_one_line_and_exit_code(
    exc: BaseException,
    code: int,
    text: str,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    from parity.cli import check as cli_check

    monkeypatch.delenv("PARITY_DEBUG", raising=False)
    monkeypatch.setitem(cli_check.KINDS, "catalog", _raising(exc))
    got, output = run_cli(["check", str(scratch / "x.yaml")], monkeypatch, capsys)
    assert got == code, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], output
    assert "Traceback" not in output
    if code == 4:
        assert "--debug" in output  # how to get the traceback


def test_debug_shows_the_traceback(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parity.cli import check as cli_check

    monkeypatch.setitem(cli_check.KINDS, "catalog", _raising(KeyError("boom")))
    monkeypatch.setattr(sys, "argv", ["parity", "check", str(scratch / "x.yaml")])
    monkeypatch.setenv("PARITY_DEBUG", "1")
    with pytest.raises(KeyError):  # re-raised: Python prints the traceback
        cli.main()


# --- every file can be chosen by option and by environment ----------------------------------


@pytest.mark.parametrize(
    ("env", "spec_name", "args"),
    [
        ("PARITY_MATRIX", "matrix", ["report"]),
        ("PARITY_HAR", "HAR", ["capture", "--catalog", str(ROOT / "fixtures" / "catalog.yaml")]),
    ],
    ids=["matrix", "har"],
)
def test_file_chosen_by_environment(
    env: str,
    spec_name: str,
    args: list[str],
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    spec = BY_NAME[spec_name]
    path = write(scratch, spec, b"\xff not JSON")
    monkeypatch.setenv(env, str(path))
    monkeypatch.chdir(scratch)  # capture would write under ./fixtures/cassettes
    code, output = run_cli(args, monkeypatch, capsys)
    assert code == 2, output
    assert_one_error_line(output, path)
    tried(spec, "cli-env")


@pytest.mark.parametrize(
    ("option", "spec_name", "content", "target", "problem"),
    [
        ("--parity-config", "parity.toml", b'stage = "soon"\n', "tests/hardening/__init__.py",
         "key stage: invalid rollout stage"),
        # collected modules parametrise from the catalog: still one line, not a collection error
        ("--catalog", "catalog", b"version: 1\nroles: [a]\nendpoints: [\xff]\n",
         "api_checks/test_health.py", "not UTF-8 text"),
    ],
    ids=["parity-config", "catalog"],
)  # fmt: skip
def test_pytest_option_bad_file(
    option: str, spec_name: str, content: bytes, target: str, problem: str, scratch: Path
) -> None:
    spec = BY_NAME[spec_name]
    path = write(scratch, spec, content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", option, str(path), "--collect-only", "-q",
         "-p", "no:randomly", str(ROOT / target)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 4, output  # pytest's usage-error exit code
    assert "Traceback" not in output and "ERRORS" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1 and str(path) in errors[0] and problem in errors[0], output
    tried(spec, "pytest-option")
