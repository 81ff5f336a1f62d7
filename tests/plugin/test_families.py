"""The check-family registry: a family whose needs the catalog does not meet gives
not-applicable cells with the reason (never a pass, never a failure); one that applies runs;
a user's family registers with the same decorator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.checks.families import families, family, get_family, unmet
from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.core.errors import UsageError

pytest_plugins = ["pytester"]

BARE = """\
version: 1
roles: [anonymous]
endpoints:
  - id: ping
    method: GET
    route: /ping
    scenarios: [{name: default, expect: 200}]
"""


def test_builtin_families_say_what_to_declare(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(BARE, encoding="utf-8")
    catalog, settings = load_catalog(path), Settings.load(environ={})
    names = {f.name for f in families()}
    assert {"consistency", "smoke-flows", "coverage", "errors", "cors", "load"} <= names
    assert unmet("catalog-scenarios", catalog, settings) is None
    for name in ("errors", "cors", "auth", "boundary", "health", "consistency", "coverage"):
        reason = unmet(name, catalog, settings)
        assert reason and f"checks.{name}" in reason, (name, reason)
    moc = load_catalog(Path("fixtures/catalog.yaml"))
    for name in ("errors", "cors", "auth", "boundary", "health"):
        assert unmet(name, moc, settings) is None, name


def test_a_users_family_registers_like_a_builtin() -> None:
    @family("webhooks-test", marker="parity", summary="deliveries match")
    def _needs(catalog: object, settings: object) -> str | None:
        return "no webhooks endpoint"

    assert get_family("webhooks-test").summary == "deliveries match"
    with pytest.raises(UsageError, match="unknown check family 'nope'"):
        get_family("nope")


def test_a_family_that_does_not_apply_is_not_applicable_in_the_matrix(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(BARE, encoding="utf-8")
    (tmp_path / "baseline.toml").write_text("# none\n", encoding="utf-8")
    pytester.makepyfile(
        test_fam="""
        import pytest

        @pytest.mark.parity_family("cors")
        def test_cors_compared():
            raise AssertionError("a family that does not apply must not run")

        @pytest.mark.parity_family("catalog-scenarios")
        def test_scenarios_run():
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--catalog={catalog}",
        f"--baseline={tmp_path / 'baseline.toml'}",
        "--express-url=http://127.0.0.1:9",
        "--serverless-url=http://127.0.0.1:9",
        "-rs",
    )
    result.stdout.fnmatch_lines(["*not-applicable: cors: the catalog has no checks.cors*"])
    result.assert_outcomes(passed=1, skipped=1)
    matrix = json.loads((pytester.path / "reports" / "parity-matrix.json").read_text())
    cells = {(c["endpoint"], c["check"]): c["state"] for c in matrix["cells"]}
    assert cells[("FAMILY /cors", "cors")] == "not-applicable"
    assert matrix["summary"]["states"]["not-applicable"] == 1
    assert matrix["summary"]["states"]["pass"] == 0  # not-applicable is never a pass
