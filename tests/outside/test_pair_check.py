"""The outside pairs' own bookkeeping can fail: a known non-pass cell must still show, and
an unknown one fails the check of the other cells (tests/outside/pair_check.py)."""

from __future__ import annotations

import pytest

from tests.outside.families import Record
from tests.outside.pair_check import PairChecks

GAP = "GET /x | fuzz | *"


def _drift() -> Record:
    return Record("GET /x", "fuzz", "default", "serverless", "drift", "it differs", frozenset())


def test_a_known_cell_that_still_shows_passes() -> None:
    PairChecks([], false_alarms={GAP: "why"}).every_other_cell_passes_or_is_not_applicable(
        [_drift()]
    )


def test_a_known_cell_that_is_gone_is_stale() -> None:
    with pytest.raises(AssertionError, match="no non-pass cell shows any more"):
        PairChecks([], false_alarms={GAP: "why"}).every_other_cell_passes_or_is_not_applicable([])


def test_an_unknown_non_pass_cell_fails() -> None:
    with pytest.raises(AssertionError, match="no hand-found difference explains"):
        PairChecks([]).every_other_cell_passes_or_is_not_applicable([_drift()])
