"""What every outside pair's test module asserts, written once (tests/outside/families.py runs
the pair and reads its matrix; this module holds the assertions both pair modules share).

A pair module (``test_json_server_pair.py``, ``test_httpbin_pair.py``) gives a
:class:`PairChecks`: its hand-found differences, those no family finds yet, the suite's
known gaps and false alarms (strict xfails: each must still show), and how many endpoints
the probe family does not apply to. Its tests then call the methods below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parity.checks.families import families
from tests.outside.families import (
    NOT_PASS,
    HandFound,
    PairRun,
    Pattern,
    Record,
    explained_by,
    families_finding,
    locked,
    shared_dir,
)

#: The reason the probe family gives an endpoint it does not apply to (api_checks/test_probes.py).
PROBE_NOT_APPLICABLE = "probe: no 2xx scenario as "


def shared_pair_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, run: Callable[[Path], PairRun]
) -> PairRun:
    """One run of the pair per test session, shared by pytest-xdist workers through a file
    under the session's common temp root (the first worker runs it, the others read it)."""
    shared = shared_dir(tmp_path_factory.getbasetemp())
    result = shared / f"{name}-pair-every-family.json"
    with locked(shared / f"{name}-pair-every-family.lock"):
        if result.exists():
            return PairRun.from_json(result.read_text())
        done = run(tmp_path_factory.mktemp(f"{name}-pair"))
        result.write_text(done.to_json())
    summary = done.matrix.get("summary", {})
    print(
        f"\n{name} pair, every family: {done.seconds:.1f} s "
        f"({', '.join(f'{s.name} {s.seconds:.1f} s' for s in done.steps)}), "
        f"requests {done.requests}, {summary.get('cells')} cells {summary.get('states')}"
    )
    return done


@dataclass(frozen=True)
class PairChecks:
    differences: list[HandFound]
    #: Hand-found differences no family finds yet (id -> why): strict xfails.
    not_found_yet: Mapping[str, str] = field(default_factory=dict)
    #: Non-pass cells that are a family's limitation, no difference (pattern -> why).
    suite_gaps: Mapping[str, str] = field(default_factory=dict)
    #: Non-pass cells that are no real difference (pattern -> why the suite flags them).
    false_alarms: Mapping[str, str] = field(default_factory=dict)
    #: Endpoints the probe family does not apply to (no 2xx scenario in the catalog).
    probe_not_applicable: int = 0

    @property
    def known_patterns(self) -> dict[str, str]:
        return {**self.suite_gaps, **self.false_alarms}

    def known(self, record: Record) -> bool:
        return any(Pattern.parse(p).matches(record) for p in self.known_patterns)

    # --- parameters ---------------------------------------------------------------------

    def difference_params(self) -> list[Any]:
        return [
            pytest.param(
                d,
                id=d.id,
                marks=[pytest.mark.xfail(strict=True, reason=self.not_found_yet[d.id])]
                if d.id in self.not_found_yet
                else [],
            )
            for d in self.differences
        ]

    # --- assertions ---------------------------------------------------------------------

    def every_family_ran(self, run: PairRun, recs: list[Record], *, exit_code: int = 1) -> None:
        for step in run.steps:
            assert "Traceback" not in step.output, f"{step.name}:\n{step.output[-4000:]}"
            assert "INTERNALERROR" not in step.output, f"{step.name}:\n{step.output[-4000:]}"
        for name in ("parity load", "parity capture", "parity contracts"):
            assert run.step(name).returncode == 0, run.step(name).output[-3000:]
        # 1: checks failed, which they must (the pair differs); anything else is a crash.
        every = run.step("pytest (every family)")
        assert every.returncode == exit_code, every.output[-4000:]
        seen = {r.family for r in recs}
        wanted = {f.name for f in families()} - {"load"}  # load: parity load, its own test
        assert wanted <= seen, f"families without a cell: {sorted(wanted - seen)}"

    def hand_found_is_a_non_pass_cell(self, recs: list[Record], difference: HandFound) -> None:
        found = families_finding(difference, recs)
        print(f"{difference.id} found through {found or 'no family'}")
        assert found, f"{difference.id} ({difference.summary}): no non-pass cell shows it"

    def every_other_cell_passes_or_is_not_applicable(self, recs: list[Record]) -> None:
        unexplained = [
            r for r in recs if r.state in NOT_PASS and not explained_by(r, self.differences)
        ]
        for r in unexplained:
            print(f"{'known' if self.known(r) else 'NEW'}: {r.show()}")
        new = [r for r in unexplained if not self.known(r)]
        assert not new, "non-pass cells no hand-found difference explains:\n" + "\n".join(
            r.show() for r in new
        )
        # a known pattern no cell shows any more is stale: the gap was closed, delete it
        stale = [
            p
            for p in self.known_patterns
            if not any(r.state in NOT_PASS and Pattern.parse(p).matches(r) for r in recs)
        ]
        assert not stale, f"known patterns no non-pass cell shows any more: {stale}"
        vague = [r for r in recs if r.state == "not-applicable" and not r.summary.strip()]
        assert not vague, [r.show() for r in vague]

    def probe_cells_without_a_base_are_not_applicable(self, recs: list[Record]) -> None:
        """An endpoint with no 2xx scenario is the probe family's ``not-applicable`` cell
        with the reason (never ``not-testable``, which would read as a false alarm)."""
        probes = [r for r in recs if r.family == "probe"]
        assert not [r.show() for r in probes if r.state == "not-testable"]
        idle = [r for r in probes if r.state == "not-applicable"]
        assert len(idle) == self.probe_not_applicable, [r.show() for r in idle]
        for r in idle:
            assert r.check == "probe", r.show()
            assert r.summary.startswith(PROBE_NOT_APPLICABLE), r.show()
            assert "the catalog's scenarios expect " in r.summary, r.show()

    @staticmethod
    def load_mix_ran_on_both(run: PairRun) -> None:
        # The reader's mix reads what both serve alike: no request may fail on either.
        assert set(run.load) == {"express", "serverless"}, run.step("parity load").output
        for backend, figures in run.load.items():
            overall = figures["overall"]
            assert overall["requests"] > 0, (backend, overall)
            assert overall["failures"] == 0, (backend, figures.get("failures_by_kind"))
