"""The ``parity`` command (:mod:`parity.cli.app`, Typer + Rich), one module per subcommand:
``check``, ``cleanup``, ``contracts`` (capture and contracts), ``demo``, ``gate``, ``load``,
``openapi``, ``report``. Exit codes: 0 go, 1 no-go, 2 usage error.

May import: every other layer. Nothing imports it.
"""
