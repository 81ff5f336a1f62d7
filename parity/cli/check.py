"""``parity check FILE``: load one input file the way a run would, before committing it.

Registered on the app in :mod:`parity.cli.app`. The kind is taken from ``--kind`` or guessed
from the name (``*.yaml`` catalog, ``*baseline*.toml`` baseline, other ``*.toml`` config,
``*.jsonl`` cassette, ``*.har`` HAR, ``*matrix*.json`` matrix, ``config.json`` runtime
config, other ``*.json`` contract schema). A good file prints what was read and exits 0;
a bad one is the loader's :class:`~parity.core.errors.UsageError` (exit 2, one line).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from parity.checks.runtime_config import DEFAULT_SCHEMA, load_runtime_config
from parity.core.catalog import load_catalog
from parity.core.config import STAGES, Settings
from parity.core.errors import UsageError
from parity.core.inputs import parse_toml, read_text
from parity.engine.baseline import load_baseline
from parity.engine.cassette import read_cassette
from parity.engine.contracts import load_contract
from parity.engine.gate import read_gate_table, thresholds_for
from parity.engine.har import import_har
from parity.engine.matrix import load_matrix

__all__ = ["KINDS", "check", "check_file", "guess_kind"]

console = Console(soft_wrap=True)


def _catalog(path: Path, catalog: Path | None, schema: Path | None) -> str:
    cat = load_catalog(path)
    return f"catalog: {len(cat.endpoints)} endpoints, {len(cat.resources)} resources"


def _config(path: Path, catalog: Path | None, schema: Path | None) -> str:
    settings = Settings.load(environ={}, toml_path=path)
    # [gate] is only read by `parity gate`; check it here so a typo shows before the gate
    table = read_gate_table(path)
    for stage in STAGES:
        thresholds_for(stage, table, path)
    return f"config: backend {settings.backend}, catalog {settings.catalog}"


def _baseline(path: Path, catalog: Path | None, schema: Path | None) -> str:
    return f"baseline: {len(load_baseline(path, required=True).entries)} entries"


def _cassette(path: Path, catalog: Path | None, schema: Path | None) -> str:
    return f"cassette: {sum(1 for _ in read_cassette(path))} exchanges"


def _contract(path: Path, catalog: Path | None, schema: Path | None) -> str:
    return f"contract schema: {load_contract(path).title}"


def _har(path: Path, catalog: Path | None, schema: Path | None) -> str:
    cat = load_catalog(catalog or Settings.load().catalog)
    with TemporaryDirectory() as tmp:  # the import is the check; its cassette is dropped
        report = import_har(path, cat, Path(tmp) / "check.jsonl")
    return f"HAR: {report.entries} entries, {report.written} match a catalog endpoint"


def _matrix(path: Path, catalog: Path | None, schema: Path | None) -> str:
    return f"matrix: {load_matrix(path)['summary']['headline']}"


def _runtime_config(path: Path, catalog: Path | None, schema: Path | None) -> str:
    doc = load_runtime_config(path, schema or DEFAULT_SCHEMA)
    return f"runtime config: {len(doc)} keys, valid"


#: kind -> loader; each returns a one-line summary or raises a UsageError.
KINDS: dict[str, Callable[[Path, Path | None, Path | None], str]] = {
    "catalog": _catalog,
    "config": _config,
    "baseline": _baseline,
    "cassette": _cassette,
    "contract": _contract,
    "har": _har,
    "matrix": _matrix,
    "runtime-config": _runtime_config,
}


def _has_accept_tables(path: Path) -> bool:
    """A baseline under another name: its ``[[accept]]`` tables give it away."""
    try:
        doc = parse_toml(
            read_text(path, "baseline", UsageError, hint=""), path, UsageError, hint=""
        )
    except UsageError:
        return False  # the config loader reports the problem
    return "accept" in doc


def guess_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".yaml", ".yml")):
        return "catalog"
    if name.endswith(".toml"):
        return "baseline" if "baseline" in name or _has_accept_tables(path) else "config"
    if name.endswith(".jsonl"):
        return "cassette"
    if name.endswith(".har"):
        return "har"
    if name.endswith(".json"):
        if "matrix" in name:
            return "matrix"
        return "runtime-config" if name == "config.json" else "contract"
    raise UsageError(
        "cannot tell what kind of file this is from its name",
        path=path,
        hint=f"Pass --kind, one of {', '.join(KINDS)}",
    )


def check_file(
    path: Path,
    kind: str | None = None,
    *,
    catalog: Path | None = None,
    schema: Path | None = None,
) -> str:
    """Load ``path`` as ``kind`` (guessed when None); returns the summary line."""
    kind = kind or guess_kind(path)
    if kind not in KINDS:
        raise UsageError(
            f"unknown kind {kind!r}", location="--kind", hint=f"Use {', '.join(KINDS)}"
        )
    return KINDS[kind](path, catalog, schema)


def check(
    file: Annotated[Path, typer.Argument(help="the file to check")],
    kind: Annotated[
        str | None,
        typer.Option("--kind", help=f"what it is: {', '.join(KINDS)} (default: from its name)"),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="HAR: the catalog to match against (or PARITY_CATALOG)"),
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option(
            "--schema",
            envvar="PARITY_RUNTIME_CONFIG_SCHEMA",
            help=f"runtime config: its JSON Schema (default {DEFAULT_SCHEMA})",
        ),
    ] = None,
) -> None:
    """Check one input file as a run would read it: exit 0 and a summary, or 2 and the error.

    Any of: the catalog, parity.toml, a baseline, a cassette, a contract, a HAR file, a
    matrix, the runtime config."""
    summary = check_file(file, kind, catalog=catalog, schema=schema)
    console.print(f"[bold green]ok[/] {escape(str(file))}: {escape(summary)}")
