"""The API checks need nothing beyond the plain install (``pip install moc-parity``) except
Schemathesis, which ``test_fuzz_schemathesis.py`` imports: without the ``[fuzz]`` extra that
module is collected without being imported, as one ``not-applicable`` item naming the
install command (the fuzz family's other checks are not-applicable through its registry
entry, parity/checks/builtin.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.plugin.extras import ExtraMissingModule

#: Check modules that import an extra's packages at module level -> the extra.
NEEDS_EXTRA = {"test_fuzz_schemathesis.py": "fuzz"}


def pytest_pycollect_makemodule(
    module_path: Path, parent: pytest.Collector
) -> pytest.Module | None:
    extra = NEEDS_EXTRA.get(module_path.name)
    return ExtraMissingModule.unless_installed(extra, module_path, parent) if extra else None
