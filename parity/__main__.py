"""``python -m parity`` is the ``parity`` command."""

from parity.cli.app import main

main()
