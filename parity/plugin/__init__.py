"""The pytest plugin (entry point ``parity``, :mod:`parity.plugin.hooks`): one option
group, the markers, the session's backends and embedded sandbox, records into the matrix,
redaction of what pytest writes, reachability of the backends.

What a check module needs is re-exported here (``from parity.plugin import ParityRun``).

May import: :mod:`parity.core`, :mod:`parity.engine`, :mod:`parity.checks`,
:mod:`parity.report`. Never the CLI.
"""

from parity.plugin.hooks import (
    BACKEND_CHOICES,
    DEFAULT_BASELINE,
    DEFAULT_CASSETTES,
    MARKERS,
    RESULTS_KEY,
    RUN_ID_ENV,
    TARGET_KEY,
    FuzzBudget,
    MatrixReporter,
    ParityRun,
    ParityState,
    ResultSink,
    collection_catalog,
    get_state,
    is_worker,
)

__all__ = [
    "BACKEND_CHOICES",
    "DEFAULT_BASELINE",
    "DEFAULT_CASSETTES",
    "MARKERS",
    "RESULTS_KEY",
    "RUN_ID_ENV",
    "TARGET_KEY",
    "FuzzBudget",
    "MatrixReporter",
    "ParityRun",
    "ParityState",
    "ResultSink",
    "collection_catalog",
    "get_state",
    "is_worker",
]
