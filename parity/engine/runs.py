"""Run folders: where each run's reports live under the reports directory
(``runs/<run id>/``), and which run is the latest (``latest.json``). Written by
:mod:`parity.report`, read by the gate and ``parity report``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["LATEST", "RUNS", "latest_run", "run_dir"]

RUNS = "runs"
LATEST = "latest.json"


def run_dir(reports_dir: Path, run_id: str) -> Path:
    """The folder of run ``run_id`` (anything but letters, digits, ``._-`` replaced)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._") or "run"
    return reports_dir / RUNS / safe


def latest_run(reports_dir: Path) -> Path | None:
    """The folder of the latest run under ``reports_dir`` (``latest.json``), or None when
    there is none (reports written before run folders: read ``reports_dir`` itself)."""
    try:
        pointer = json.loads((reports_dir / LATEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    where = pointer.get("dir") if isinstance(pointer, dict) else None
    if not isinstance(where, str):
        return None
    folder = (reports_dir / where).resolve()
    inside = folder == reports_dir.resolve() or reports_dir.resolve() in folder.parents
    return folder if inside and (folder / "parity-matrix.json").is_file() else None
