"""The pytest plugin (entry point ``parity``, :mod:`parity.plugin.hooks`): one option
group, the markers, the session's backends and embedded sandbox, records into the matrix,
redaction of what pytest writes, reachability of the backends.

What a check module needs is re-exported here (``from parity.plugin import ParityRun``): the
names listed in ``parity.plugin.hooks.__all__``.

May import: :mod:`parity.core`, :mod:`parity.engine`, :mod:`parity.checks`,
:mod:`parity.report`. Never the CLI.
"""

from parity.plugin import hooks
from parity.plugin.hooks import *  # noqa: F403 (the names: hooks.__all__)

__all__ = hooks.__all__
