"""The check families: the registry (:mod:`parity.checks.families`, one decorator for
built-in and user families) and what each family sends and judges beyond the engine's
differential comparison: consistency, smoke flows, errors, CORS, boundaries, fuzzing,
probes, load, coverage, the runtime config.

The pytest modules that run them live outside the package (``api_checks/``,
``contracts/``, ``e2e/``); they import from here and from :mod:`parity.plugin`.

May import: :mod:`parity.core`, :mod:`parity.engine`.
"""

# The built-in families register with the same decorator as a user's, on import.
import parity.checks.builtin  # noqa: F401
