"""The controller's half of the plugin: it collects the records every check ships in
``user_properties``, sweeps the run's leftovers from the test bucket, and writes the parity
matrix when the session ends: JSON and HTML in the run's own folder (``reports/runs/<run
id>/``, :mod:`parity.report`), one JUnit case per finding (``junit-findings.xml`` beside
pytest's JUnit file) and one Allure result per finding; the terminal summary leads with
the findings. pytest's own JUnit file is copied into the run's folder when pytest has
written it (``pytest_unconfigure``)."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parity.core.catalog import load_catalog
from parity.core.errors import ParityError
from parity.engine.findings import findings_line
from parity.engine.matrix import build_matrix
from parity.engine.storage import sweep_run
from parity.plugin.collect import RESULTS_KEY, TARGET_KEY
from parity.plugin.session import ParityState, get_state
from parity.report import run_dir, write_reports
from parity.report.junit import findings_junit_path, write_findings_junit

__all__ = ["MatrixReporter"]


class MatrixReporter:
    """The controller's half: collects records from reports, writes the matrix at the end.

    Registered on the controller only (never on an xdist worker, which must ship its
    records untouched)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        # when the run began: load figures made before it are not this run's
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        get_state(self.config).collector.add(report)
        # JUnit XML (which writes user_properties) gets one line per record, not the
        # whole evidence.
        compact: list[tuple[str, object]] = []
        for key, value in report.user_properties:
            if key == TARGET_KEY:
                continue
            if key == RESULTS_KEY and isinstance(value, dict):
                value = (
                    f"{value.get('endpoint')} {value.get('check')} [{value.get('scenario')}]: "
                    f"{value.get('state')} - {str(value.get('summary') or '')[:300]}"
                )
            compact.append((key, value))
        report.user_properties = compact

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = get_state(self.config)
        if state.run is not None or state.collector:  # checks ran here, or on the workers
            state.swept = _sweep_bucket(state)  # also after Ctrl-C: sessionfinish still runs
        if not state.collector:
            return  # no parity check ran: leave an earlier matrix alone
        records = state.collector.records()
        usage = [u.to_dict() for u in state.baseline.usage(records)]
        settings = state.base_settings
        try:
            order = [e.key for e in load_catalog(settings.catalog).endpoints]
        except ParityError:
            order = []
        meta = {
            "run_id": state.run_id,
            "backends": {
                name: settings.url_for(name) or "embedded sandbox"
                for name in settings.selected_backends
            },
            "target_env": settings.target_env,
            "stage": settings.stage,
            "drift": list(settings.sandbox_drift),
            "baseline": str(state.baseline.path) if state.baseline.path else None,
            "exit_status": int(exitstatus),
            "storage": state.swept,
            "started_at": self.started_at,
        }
        matrix = build_matrix(
            records,
            endpoint_order=order,
            baseline=usage,
            meta=meta,
            outside=state.collector.outside,
            exit_status=int(exitstatus),
        )
        reports = Path(settings.reports_dir)
        junit = self._junit_path()
        extra: dict[str, Path] = {}
        if matrix["findings"]:
            where = findings_junit_path(junit) if junit else reports / "junit-findings.xml"
            extra["findings JUnit"] = write_findings_junit(
                matrix["findings"], where, timestamp=matrix["generated_at"]
            )
        paths = write_reports(matrix, reports, extra=extra)
        alluredir = getattr(self.config.option, "allure_report_dir", None)
        if alluredir and matrix["findings"]:
            from parity.report.allure import write_findings

            write_findings(matrix["findings"], Path(alluredir), int(time.time() * 1000))
        state.written = {"matrix": matrix, "paths": paths}

    def _junit_path(self) -> Path | None:
        xml = getattr(self.config.option, "xmlpath", None)
        return Path(xml) if xml else None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # pytest writes its JUnit file in its own sessionfinish: a copy joins the run's
        # folder now that it exists.
        state = get_state(config)
        junit = self._junit_path()
        if not state.written or junit is None or not junit.is_file():
            return
        folder = run_dir(Path(state.base_settings.reports_dir), str(state.run_id))
        if folder.is_dir():
            with contextlib.suppress(OSError):  # a convenience: the matrix is what matters
                (folder / junit.name).write_bytes(junit.read_bytes())

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        state = get_state(self.config)
        if not state.written:
            _storage_line(terminalreporter, state)
            return
        matrix, paths = state.written["matrix"], state.written["paths"]
        summary = matrix["summary"]
        tr = terminalreporter
        tr.section("parity matrix")
        clean = summary.get("clean", not summary["failing"])
        colour = {"green": True} if clean else {"red": True}
        tr.write_line(findings_line(summary["findings"]), bold=True, **colour)
        line = f"{summary['headline']}; {summary['failing']} failing cell(s)"
        tr.write_line(line, **colour)
        _findings_lines(tr, matrix["findings"])
        tr.write_line("cells: " + ", ".join(f"{n} {s}" for s, n in summary["states"].items() if n))
        for entry in summary.get("failed_outside", [])[:5]:  # the headline names the first
            tr.write_line(f"failed with no cell: {entry['test']}: {entry['reason']}", red=True)
        for entry in matrix["baseline"]:
            if entry["state"] in ("stale", "expired"):
                hint = " (it matched nothing: delete it)" if entry["state"] == "stale" else ""
                tr.write_line(f"baseline entry {entry['id']!r} is {entry['state']}{hint}")
        odd = [n for n in matrix["noise"] if n["source"] == "learned" and n["kind"] == "other"]
        if odd:
            tr.write_line(f"noise: {len(odd)} learned path(s) that are not timestamps or ids")
        _storage_line(tr, state)
        for name, path in paths.items():
            tr.write_line(f"{name}: {path}")


_LISTED = 10


def _findings_lines(tr: Any, findings: list[dict[str, Any]]) -> None:
    """One line per finding that fails the run, the worst first (then the others counted)."""
    open_ = [f for f in findings if f["state"] == "open"]
    for f in open_[:_LISTED]:
        where = f"{len(f['endpoints'])} endpoint(s), {len(f['cells'])} cell(s)"
        tr.write_line(
            f"  {f['id']} {f['severity'] or 'unjudged'}: {f['title']} ({where}: "
            f"{', '.join(f['checks'])})"
        )
    if len(open_) > _LISTED:
        tr.write_line(f"  ... and {len(open_) - _LISTED} more (parity-matrix.html lists all)")


def _storage_line(tr: Any, state: ParityState) -> None:
    swept = state.swept
    if swept is None:
        return
    if swept.get("error"):
        tr.write_line(f"storage: {swept['bucket']} not swept: {swept['error']}", red=True)
    else:
        # expected on a clean run: uploads the checks start and never complete on purpose
        # (a refused checksum, an abandoned presign) leave objects only this sweep reaches
        tr.write_line(
            f"storage: {swept['deleted']} upload(s) of run {state.run_id} that no API call "
            f"can delete (never completed) swept from {swept['bucket']}, "
            f"{swept['failed']} failed"
        )


def _sweep_bucket(state: ParityState) -> dict[str, Any] | None:
    """Delete the run's objects in the test bucket (uploads never completed: no API call
    reaches them). Runs once, where the whole run ends: on the xdist controller, or in the
    one process (before its sandbox stops). ``None`` when no bucket is named."""
    settings = state.run.settings if state.run is not None else state.base_settings
    if not settings.s3_bucket:
        return None
    where = f"s3://{settings.s3_bucket}"
    try:
        found = sweep_run(settings, state.run_id)
    except ParityError as exc:  # never lose the matrix over the bucket
        return {"bucket": where, "deleted": 0, "failed": 0, "error": str(exc)}
    if found is None:
        return None  # writes refused: the run uploaded nothing
    failed = sum(o.failed for o in found)
    return {"bucket": where, "deleted": len(found) - failed, "failed": failed, "error": None}
