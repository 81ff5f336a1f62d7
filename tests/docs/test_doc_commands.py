"""The shell commands of README.md and docs/*.md work as written (issue 19).

Every ``bash`` block carries a tag in the HTML comment just above it, so a new block must
say how it is proven:

- ``<!-- doc: run -->``: run as written, against a sandbox this test starts, with the
  suite's environment first on ``PATH`` (as after ``. .venv/bin/activate``) and every
  output redirected to a scratch folder (``PARITY_REPORTS_DIR``, cassettes, contracts), so
  the repository is never written;
- ``<!-- doc: collect -->``: each ``pytest`` line is run with ``--collect-only`` (the
  paths, markers and options exist and select at least one test; the checks themselves run
  elsewhere in ``make test``), other lines as written;
- ``<!-- doc: template (why) -->``: not run (real staging URLs, a production target, the
  ``make`` targets that are this very run), with the reason.

A block without a tag, or a ``run`` block that fails, fails this test naming the file,
the line and the output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from parity.core.results import CheckResult
from parity.engine.launcher import SandboxProcess
from parity.engine.matrix import build_matrix
from parity.report import write_reports

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(bash|sh|shell|console)\s*$")
_TAG = re.compile(r"<!--\s*doc:\s*(run|collect|template)\b([^>]*)-->")
#: Placeholders a reader fills in, made real: the sandbox env file `parity sandbox` prints.
SUBSTITUTIONS = {"/tmp/parity-$(id -u)/sandbox.env": "$DOC_SANDBOX_ENV"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    tag: str | None
    why: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks() -> Iterator[Block]:
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        n = 0
        while n < len(lines):
            if not _FENCE.match(lines[n]):
                n += 1
                continue
            start = n
            before = next((lines[i] for i in range(n - 1, -1, -1) if lines[i].strip()), "")
            tag = _TAG.search(before)
            n += 1
            body: list[str] = []
            while n < len(lines) and not lines[n].startswith("```"):
                body.append(lines[n])
                n += 1
            n += 1
            yield Block(
                path,
                start + 1,
                tag.group(1) if tag else None,
                (tag.group(2).strip(" ()") if tag else ""),
                "\n".join(body),
            )


ALL = list(blocks())


def test_every_shell_block_says_how_it_is_proven() -> None:
    untagged = [b.where for b in ALL if b.tag is None]
    assert not untagged, (
        "shell blocks without a <!-- doc: run|collect|template (why) --> line above them: "
        + ", ".join(untagged)
    )
    for block in ALL:
        if block.tag == "template":
            assert block.why, f"{block.where}: a template says why it is not run"
        else:
            assert "..." not in block.text, f"{block.where}: a placeholder '...' in a run block"


def _script(block: Block) -> str:
    text = block.text
    for doc, real in SUBSTITUTIONS.items():
        text = text.replace(doc, real)
    if block.tag == "collect":
        # a pytest command line (possibly continued) gets --collect-only at its end
        text = re.sub(r"^(\s*pytest\b[^\n#]*?)(\s*#.*)?$", r"\1 --collect-only -q\2", text,
                      flags=re.M)  # fmt: skip
    return "set -euo pipefail\n" + text + "\n"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("doc-commands")
    with SandboxProcess(work / "private" / "sandbox.env", log_file=work / "sandbox.log"):
        yield work


RUNNABLE = [b for b in ALL if b.tag in ("run", "collect")]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("block", RUNNABLE, ids=[b.where for b in RUNNABLE])
def test_the_block_works_as_written(block: Block, sandbox: Path) -> None:
    work = sandbox / block.where.replace("/", "_").replace(":", "_")
    work.mkdir()
    contracts = work / "contracts"
    shutil.copytree(ROOT / "contracts" / "schemas", contracts)
    env_file = sandbox / "private" / "sandbox.env"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "DOC_SANDBOX_ENV": str(env_file),
            "PARITY_REPORTS_DIR": str(work / "reports"),
            "PARITY_CASSETTES": str(work / "cassettes"),
            "PARITY_CONTRACTS_DIR": str(contracts),
            "PARITY_RUNTIME_DIR": str(sandbox / "private"),
        }
    )
    # the sandbox's settings, as `set -a; . sandbox.env; set +a` gives them
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("PARITY_"):
            env[key] = value
    # a matrix from an earlier run, as a reader has one, for `parity report` and friends
    reports = work / "reports"
    write_reports(build_matrix([CheckResult("GET /health", "status", "pass")]), reports)
    before = _repo_status()
    run = subprocess.run(
        ["bash", "-c", _script(block)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = (run.stdout + run.stderr)[-4000:]
    assert run.returncode == 0, f"{block.where} failed (exit {run.returncode}):\n{output}"
    assert "Traceback" not in run.stdout + run.stderr, f"{block.where}:\n{output}"
    if block.tag == "collect":  # each pytest line selected something
        text = run.stdout + run.stderr
        assert "tests collected" in text, f"{block.where}: no pytest line ran:\n{output}"
        assert not re.search(r"no tests collected|\b0/\d+ tests collected", text), (
            f"{block.where}: a pytest line selects no test:\n{output}"
        )
    assert _repo_status() == before, f"{block.where} wrote into the repository"


def _repo_status() -> str:
    """What git sees changed under the committed inputs (a block must change none)."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--", "fixtures", "contracts", "parity-baseline.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
