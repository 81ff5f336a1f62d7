"""The plain install (``pip install moc-parity``, no extra) as a user gets it: the wheel built
from this tree, installed with its dependencies from PyPI into a fresh virtual environment.

It holds the engine, the CLI and the pytest plugin and none of the optional stacks; the
QA check folders run there (``pytest -m smoke``, as docs/usage.md says) against a sandbox
started from the suite's full environment, and the families whose extra is missing are
``not-applicable`` with the install command, never an ImportError. One test, so that xdist
never builds the environment twice. About a minute (pip's cache makes the install ~20 s).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FULL_PARITY = Path(sys.executable).parent / "parity"  # the suite's own environment
#: What the plain install must not bring (module names; the extras of pyproject.toml).
OPTIONAL = (
    "moto",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "fakeredis",
    "psycopg",
    "playwright",
    "locust",
    "schemathesis",
)
#: The wheel's sources, and the check folders a user copies next to it.
SOURCES = ("pyproject.toml", "README.md", "parity", "sandbox")
CHECKS = ("api_checks", "contracts", "fixtures", "e2e", "conftest.py", "parity-baseline.toml")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "reports", "*.egg-info", "build")


def _env(**extra: str) -> dict[str, str]:
    drop = ("PARITY_", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(drop)},
        "COLUMNS": "200",
        **extra,
    }


def _run(
    cmd: list[str], cwd: Path, timeout: float = 180, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout
    )


def _copy(names: tuple[str, ...], into: Path) -> None:
    into.mkdir(parents=True)
    for name in names:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=IGNORE)
        else:
            shutil.copy2(source, into / name)


def _plain_venv(tmp: Path) -> Path:
    """Build the wheel (from a copy of the tree: nothing written into the working tree)
    and install it, plain, into a fresh virtual environment; its bin directory."""
    _copy(SOURCES, tmp / "src")
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(tmp / "src"),
        ],
        tmp,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("moc_parity-*.whl")
    venv = tmp / "plain"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_env())
    installed = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile", str(wheel)],
        tmp,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin"


class _Sandbox:
    """``parity sandbox`` of the full environment, on free ports, until stop()."""

    def __init__(self, tmp: Path) -> None:
        self.env_file = tmp / "sandbox.env"
        self.proc = subprocess.Popen(
            [str(FULL_PARITY), "sandbox", "--env-file", str(self.env_file)],
            cwd=ROOT,
            env=_env(PARITY_REPORTS_DIR=str(tmp / "sandbox-reports")),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait(self, timeout: float = 90) -> dict[str, str]:
        assert self.proc.stdout is not None
        deadline, seen = time.monotonic() + timeout, []
        for line in self.proc.stdout:
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                break
            assert time.monotonic() < deadline, "".join(seen)
        assert self.env_file.exists(), "".join(seen)
        lines = self.env_file.read_text(encoding="utf-8").splitlines()
        return dict(ln.split("=", 1) for ln in lines if "=" in ln and not ln.startswith("#"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


@pytest.mark.timeout(400)
def test_the_plain_install_runs_the_checks_without_the_extras(tmp_path: Path) -> None:
    sandbox = _Sandbox(tmp_path)  # starts while the environment is built
    try:
        bin_dir = _plain_venv(tmp_path)
        python = str(bin_dir / "python")

        # none of the optional stacks came with it
        probe = (
            "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
        )
        found = _run([python, "-c", probe, *OPTIONAL], tmp_path)
        assert found.returncode == 0 and found.stdout.strip() == "[]", found.stdout + found.stderr

        # every engine module imports: an optional stack is imported where it is used
        walk = (
            "import importlib, pkgutil, parity\n"
            "for m in pkgutil.walk_packages(parity.__path__, 'parity.'):\n"
            "    if not m.name.endswith('__main__'):\n"
            "        importlib.import_module(m.name)\n"
        )
        imported = _run([python, "-c", walk], tmp_path)
        assert imported.returncode == 0, imported.stderr[-3000:]

        # the CLI and the plugin work
        cli = _run([str(bin_dir / "parity"), "--help"], tmp_path)
        assert cli.returncode == 0 and "sandbox" in cli.stdout, cli.stdout + cli.stderr
        plugin = _run([str(bin_dir / "pytest"), "--help"], tmp_path)
        assert plugin.returncode == 0, plugin.stdout + plugin.stderr
        assert "--backend" in plugin.stdout and "--express-url" in plugin.stdout

        # what needs an extra says which, in one line (exit 2), never a traceback
        checks = tmp_path / "checks"
        _copy(CHECKS, checks)
        for args, extra in (
            (["sandbox", "--env-file", str(tmp_path / "no.env")], "sandbox"),
            (["load", "--duration", "1"], "load"),
        ):
            out = _run([str(bin_dir / "parity"), *args], checks, timeout=60)
            text = out.stdout + out.stderr
            assert out.returncode == 2, text
            assert f"pip install 'moc-parity[{extra}]'" in text, text
            assert "Traceback" not in text, text

        # the smoke checks pass against the full environment's sandbox; the browser
        # flows among them are not-applicable, and so is fuzzing
        env = sandbox.wait()
        for marker, extras in (("smoke", ("e2e",)), ("fuzz or e2e", ("fuzz", "e2e"))):
            run = _run(
                [str(bin_dir / "pytest"), "-m", marker, "-q", "-rs", "-p", "no:cacheprovider"],
                checks,
                timeout=300,
                **env,
            )
            text = run.stdout + run.stderr
            assert run.returncode == 0, text[-4000:]
            assert marker != "smoke" or " passed" in text, text[-4000:]
            assert "ImportError" not in text and "ModuleNotFoundError" not in text, text[-4000:]
            for extra in extras:
                line = f"not-applicable: {extra}: the [{extra}] extra is not installed"
                assert line in text and f"pip install 'moc-parity[{extra}]'" in text, text[-4000:]
    finally:
        sandbox.stop()
