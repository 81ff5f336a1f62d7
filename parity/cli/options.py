"""Options that several subcommands take, each declared once as an annotated type (the same
flag, environment twin and help wherever it appears)."""

from typing import Annotated

import typer

__all__ = ["BackendChoiceOpt", "ExpressUrlOpt", "ServerlessUrlOpt"]

#: ``--backend``: which backends a command talks to (None: the settings', default both).
BackendChoiceOpt = Annotated[
    str | None, typer.Option("--backend", help="express, serverless or both (default)")
]
ExpressUrlOpt = Annotated[
    str | None, typer.Option("--express-url", help="the Express backend (PARITY_EXPRESS_URL)")
]
ServerlessUrlOpt = Annotated[
    str | None,
    typer.Option("--serverless-url", help="the serverless backend (PARITY_SERVERLESS_URL)"),
]
