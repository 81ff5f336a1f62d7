"""The plugin seen from outside, through pytester: options, markers, header, fail-fast."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("PARITY_"):
            monkeypatch.delenv(key)


def test_options_live_in_one_group(pytester: pytest.Pytester, clean_env: None) -> None:
    result = pytester.runpytest_subprocess("--help")
    out = result.stdout.str()
    assert "endpoint parity and contract checks" in out
    for opt in (
        "--backend",
        "--express-url",
        "--serverless-url",
        "--web-url",
        "--stage",
        "--allow-writes",
        "--catalog",
    ):
        assert opt in out, opt
    assert "PARITY_BACKEND" in out


def test_markers_registered(pytester: pytest.Pytester, clean_env: None) -> None:
    result = pytester.runpytest_subprocess("--markers")
    out = result.stdout.str()
    markers = ("smoke", "contract", "parity", "boundary", "auth", "cors", "e2e", "load", "fuzz")
    for marker in markers:
        assert f"@pytest.mark.{marker}:" in out, marker


def test_backend_option_parametrizes_single_backend_checks(
    pytester: pytest.Pytester, clean_env: None
) -> None:
    pytester.makepyfile(
        """
        def test_one(backend_name):
            assert backend_name in ("express", "serverless")
        """
    )
    result = pytester.runpytest_subprocess("--backend=serverless", "-v", "--collect-only")
    result.stdout.fnmatch_lines(["*test_one[[]serverless[]]*"])
    assert "express]" not in result.stdout.str()
    both = pytester.runpytest_subprocess("--collect-only", "-q")
    both.stdout.fnmatch_lines(["*test_one[[]express[]]*", "*test_one[[]serverless[]]*"])


def test_env_twin_selects_backend(
    pytester: pytest.Pytester, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_one(backend_name):\n    pass\n")
    monkeypatch.setenv("PARITY_BACKEND", "express")
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_one[[]express[]]*"])
    assert "serverless" not in result.stdout.str().split("parity:")[0]


def test_report_header_lets_anyone_reproduce(pytester: pytest.Pytester, clean_env: None) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    url = f"http://127.0.0.1:{_free_port()}"
    result = pytester.runpytest_subprocess("--backend=express", f"--express-url={url}")
    result.stdout.fnmatch_lines([f"parity: *backend=express*{url}*run-id=*"])
    assert result.ret == 0


def test_unreachable_backend_fails_fast_with_one_line(
    pytester: pytest.Pytester, clean_env: None
) -> None:
    pytester.makepyfile(
        """
        def test_health(backend):
            backend.request("GET", "/health")
        """
    )
    url = f"http://127.0.0.1:{_free_port()}"
    result = pytester.runpytest_subprocess("--backend=express", f"--express-url={url}")
    assert result.ret != 0
    out = result.stdout.str() + result.stderr.str()
    assert "express" in out and url in out and "unreachable" in out
    assert "Traceback" not in out


def test_bad_backend_value_is_a_usage_error(pytester: pytest.Pytester, clean_env: None) -> None:
    result = pytester.runpytest_subprocess("--backend=lambda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice" in result.stderr.str()
