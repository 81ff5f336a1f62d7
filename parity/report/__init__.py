"""Outputs built from the parity matrix, one module per format: ``html`` (the
self-contained page engineers open from CI artifacts), ``allure`` (diffs and findings in
Allure results) and ``junit`` (one case per finding; pytest writes its own JUnit file).

**One run, one folder.** Every run writes into ``<reports>/runs/<run id>/`` (its matrix,
page, the JUnit files and the findings' cases), and points at it from ``<reports>``:
``latest.json`` (``{"run_id", "dir", "generated_at", "files"}``), the symlink ``latest``
(where the file system has them), and copies of its ``parity-matrix.json`` and
``parity-matrix.html`` there, so scripts, CI templates and people that read
``reports/parity-matrix.json`` read the latest run. Another run (a smoke run, ``make
test``) moves the pointer, never another run's folder.

May import: :mod:`parity.core` and :mod:`parity.engine` (the matrix and findings it renders).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parity.engine.runs import LATEST, RUNS, latest_run, run_dir

__all__ = ["LATEST", "RUNS", "latest_run", "run_dir", "write_reports"]


def _copy(source: Path, target: Path) -> None:
    """Copy atomically: a reader of ``target`` never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _point(reports_dir: Path, folder: Path, matrix: Mapping[str, Any]) -> None:
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    pointer = {
        "run_id": (matrix.get("meta") or {}).get("run_id"),
        "dir": folder.relative_to(reports_dir).as_posix(),
        "generated_at": matrix.get("generated_at"),
        "files": files,
    }
    fd, tmp = tempfile.mkstemp(prefix=LATEST, suffix=".tmp", dir=reports_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(pointer, fh, indent=1)
        fh.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, reports_dir / LATEST)
    link = reports_dir / "latest"
    if link.exists() and not link.is_symlink():
        return  # someone's own folder of that name: leave it
    try:  # a symlink for people in a shell; latest.json is the pointer tools read
        tmp_link = reports_dir / f".latest-{os.getpid()}"
        tmp_link.unlink(missing_ok=True)
        tmp_link.symlink_to(folder.relative_to(reports_dir), target_is_directory=True)
        os.replace(tmp_link, link)
    except OSError:
        pass


def write_reports(
    matrix: Mapping[str, Any], reports_dir: Path, *, extra: Mapping[str, Path] | None = None
) -> dict[str, Path]:
    """``parity-matrix.json`` and ``.html`` in the run's folder under ``reports_dir``, the
    pointer to it, and the copies at the top of ``reports_dir``. ``extra`` (name -> file):
    more files of the run, copied into its folder (JUnit files)."""
    from parity.core.redact import redact
    from parity.engine.matrix import write_json
    from parity.report.html import write_html

    # Records were redacted where they were made; this pass also covers what was added on
    # the way (meta, summaries, findings, baseline usage) with every secret this process
    # knows.
    matrix = redact(matrix)
    run_id = str((matrix.get("meta") or {}).get("run_id") or matrix.get("generated_at") or "run")
    folder = run_dir(reports_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    json_path = write_json(matrix, folder / "parity-matrix.json")
    html_path = write_html(matrix, folder / "parity-matrix.html", reports_dir=reports_dir)
    out = {"matrix JSON": json_path, "matrix HTML": html_path}
    for name, path in (extra or {}).items():
        if path.is_file():
            _copy(path, folder / path.name)
            out[name] = folder / path.name
    _copy(json_path, reports_dir / "parity-matrix.json")
    _copy(html_path, reports_dir / "parity-matrix.html")
    _point(reports_dir, folder, matrix)
    out["latest"] = reports_dir / "parity-matrix.html"
    return out
