"""``parity openapi``: write the OpenAPI 3.1 document built from the catalog and the
contracts (:mod:`parity.engine.openapi`), validated before it is written.

Registered on the app in :mod:`parity.cli.app`. A bad catalog or contract, or a document the
validator rejects, is a :class:`~parity.core.errors.UsageError` (exit 2, one line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.engine.contracts import ContractStore
from parity.engine.openapi import build_openapi, validate_document, write_openapi

__all__ = ["openapi"]

console = Console(soft_wrap=True)


def openapi(
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="endpoint catalog (default fixtures/catalog.yaml)"),
    ] = None,
    contracts_dir: Annotated[
        Path | None,
        typer.Option(
            "--contracts",
            envvar="PARITY_CONTRACTS_DIR",
            help="the inferred JSON schemas (default: as parity contracts writes them)",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="the document to write")] = Path(
        "reports/openapi.json"
    ),
    server: Annotated[
        list[str] | None, typer.Option("--server", help="a server URL to list (repeatable)")
    ] = None,
) -> None:
    """Build the OpenAPI 3.1 document (catalog + contracts), validate it, write it."""
    settings = Settings.load()
    loaded = load_catalog(catalog if catalog is not None else settings.catalog)
    store = ContractStore(contracts_dir or settings.contracts)
    doc = build_openapi(loaded, store, servers=server or None)
    validate_document(doc)
    write_openapi(doc, out)
    operations = sum(len(ops) for ops in doc["paths"].values())
    console.print(f"{operations} operation(s) on {len(doc['paths'])} path(s); valid OpenAPI 3.1")
    console.print(f"written {out}")
