"""The optional stacks (pyproject's extras) seen missing, through a patched
``importlib.util.find_spec``: a family whose extra is missing is not-applicable with the
install command, a check module that imports it is collected without being imported, and
the commands that need one stop with one line (exit 2), never an ImportError.
The real plain install: tests/package/test_wheel.py."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from parity.checks.families import unmet
from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.core.errors import UsageError
from parity.core.extras import EXTRAS, install_command, missing_extra, require_extra

pytest_plugins = ["pytester"]

CATALOG = Path(__file__).resolve().parents[2] / "fixtures" / "catalog.yaml"
#: pytest-playwright's hooks do not nest in an in-process run (its soft-assertion scope)
NO_BROWSER = ("-p", "no:playwright")


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``without("locust", ...)``: those modules are not installed, as find_spec sees it."""
    real = importlib.util.find_spec

    def hide(*names: str) -> None:
        def find_spec(name: str, package: str | None = None) -> object:
            return None if name.split(".")[0] in names else real(name, package)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide


def test_every_extra_is_installed_in_the_suites_environment() -> None:
    for extra in EXTRAS:
        assert missing_extra(extra) is None, extra


def test_a_missing_extra_names_its_install_command(without: Callable[..., None]) -> None:
    without("schemathesis")
    reason = missing_extra("fuzz")
    assert reason == (
        "the [fuzz] extra is not installed (no schemathesis): pip install 'moc-parity[fuzz]'"
    )
    assert install_command("e2e") == "pip install 'moc-parity[e2e]'"
    assert missing_extra("load") is None


def test_a_family_whose_extra_is_missing_is_not_applicable(without: Callable[..., None]) -> None:
    catalog, settings = load_catalog(CATALOG), Settings.load(environ={})
    assert unmet("fuzz", catalog, settings) is None
    assert unmet("load", catalog, settings) is None
    without("schemathesis", "locust")
    for name in ("fuzz", "load"):
        reason = unmet(name, catalog, settings)
        assert reason and install_command(name) in reason, (name, reason)
    assert unmet("cors", catalog, settings) is None  # the others do not care


def test_require_extra_is_a_one_line_usage_error(without: Callable[..., None]) -> None:
    require_extra("load", "parity load")  # installed: nothing
    without("locust")
    with pytest.raises(UsageError) as caught:
        require_extra("load", "parity load")
    text = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in text
    assert text.startswith("parity load needs the [load] extra") and install_command("load") in text


def test_the_embedded_sandbox_without_its_extra_says_what_to_do(
    without: Callable[..., None], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from parity.engine.launcher import SandboxProcess

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("no sandbox process may start without the extra")

    monkeypatch.setattr(subprocess, "Popen", no_child)
    without("uvicorn", "moto")
    with pytest.raises(UsageError) as caught:
        SandboxProcess(tmp_path / "sb.env").start()
    text = str(caught.value)
    assert "no uvicorn, moto" in text and "pip install 'moc-parity[sandbox]'" in text, text
    assert "--express-url" in text and "--serverless-url" in text and "\n" not in text


def test_parity_load_without_locust_exits_2_with_the_install_command(
    without: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from parity.cli import app as cli
    from parity.engine import launcher

    def no_sandbox(*args: object, **kwargs: object) -> None:
        raise AssertionError("parity load must stop before starting anything")

    monkeypatch.setattr(launcher.SandboxProcess, "start", no_sandbox)
    monkeypatch.setattr(sys, "argv", ["parity", "load", "--reports-dir", str(tmp_path)])
    without("locust")
    with pytest.raises(SystemExit) as caught:
        cli.main()
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "parity load needs the [load] extra" in err and install_command("load") in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err


def test_a_check_module_whose_extra_is_missing_is_one_not_applicable_cell(
    pytester: pytest.Pytester, without: Callable[..., None]
) -> None:
    pytester.makeconftest(
        """
        from parity.plugin.extras import ExtraMissingModule

        def pytest_pycollect_makemodule(module_path, parent):
            if module_path.name == "test_needs_fuzz.py":
                return ExtraMissingModule.unless_installed("fuzz", module_path, parent)
            return None
        """
    )
    pytester.makepyfile(
        test_needs_fuzz="""
        import pytest
        import schemathesis  # not installed: never imported

        pytestmark = [pytest.mark.smoke, pytest.mark.parity_check("fuzz")]

        def test_never_collected():
            raise AssertionError("the module must not be imported")
        """,
        test_plain="""
        def test_runs():
            pass
        """,
    )
    (pytester.path / "baseline.toml").write_text("# none\n", encoding="utf-8")
    without("schemathesis")
    result = pytester.runpytest_inprocess(
        *NO_BROWSER,
        "-p",
        "no:cacheprovider",
        f"--catalog={CATALOG}",
        f"--baseline={pytester.path / 'baseline.toml'}",
        "--express-url=http://127.0.0.1:9",
        "--serverless-url=http://127.0.0.1:9",
        "-rs",
    )
    result.stdout.fnmatch_lines(
        ["*not-applicable: fuzz: the [[]fuzz[]] extra is not installed*moc-parity[[]fuzz[]]*"]
    )
    result.assert_outcomes(passed=1, skipped=1)
    assert "ImportError" not in result.stdout.str()
    matrix = json.loads((pytester.path / "reports" / "parity-matrix.json").read_text())
    cells = {(c["endpoint"], c["check"]): c["state"] for c in matrix["cells"]}
    assert cells[("FAMILY /fuzz", "fuzz")] == "not-applicable"
    # selected by the module's own markers and the family's
    listed = pytester.runpytest_inprocess(
        *NO_BROWSER,
        "-p",
        "no:cacheprovider",
        f"--catalog={CATALOG}",
        "--collect-only",
        "-q",
        "-m",
        "smoke",
    )
    listed.stdout.fnmatch_lines(["test_needs_fuzz.py::test_extra_installed"])
