"""A misspelt ``-m`` marker is a usage error that suggests the known one, and it leaves an
earlier run's JUnit file alone."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_a_misspelt_marker_suggests_the_known_one_and_keeps_junit(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_x="import pytest\n\n@pytest.mark.smoke\ndef test_ok():\n    pass\n")
    junit = tmp_path / "junit.xml"
    junit.write_text("<earlier-run/>", encoding="utf-8")
    args = ["-p", "no:cacheprovider", f"--junitxml={junit}", "--express-url=http://127.0.0.1:9",
            "--serverless-url=http://127.0.0.1:9"]  # fmt: skip
    result = pytester.runpytest_subprocess(*args, "-m", "smok")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown marker 'smok' (did you mean 'smoke'?)*"])
    assert junit.read_text(encoding="utf-8") == "<earlier-run/>"
    ok = pytester.runpytest_subprocess(*args, "-m", "smoke or not parity")
    ok.assert_outcomes(passed=1)
    assert "<earlier-run/>" not in junit.read_text(encoding="utf-8")
