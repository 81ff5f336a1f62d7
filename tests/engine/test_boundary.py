"""parity.checks.boundary: the ceiling bisection, the safe threshold, size labels, the
judgement of one upload and the memory peak."""

from __future__ import annotations

import math
from typing import Any

import pytest

from parity.checks.boundary import (
    MemoryPeak,
    Probe,
    bisect_ceiling,
    human_size,
    judge_upload,
    safe_threshold,
    size_label,
)
from parity.checks.uploads import UploadOutcome

KiB, MiB = 1024, 1024 * 1024


def _limit_probe(limit: int, calls: list[int]) -> Any:
    def probe(size: int) -> Probe:
        calls.append(size)
        return Probe(size, size <= limit, 201 if size <= limit else 413, size > limit)

    return probe


@pytest.mark.parametrize("limit", [1, 64 * KiB, 4_716_400, 10 * MiB, 52_428_800 - 300, 63 * MiB])
def test_bisection_finds_the_ceiling_within_the_precision(limit: int) -> None:
    calls: list[int] = []
    result = bisect_ceiling(_limit_probe(limit, calls), 64 * MiB, 64 * KiB)
    assert result.rejected is not None
    assert result.accepted <= limit < result.rejected
    assert result.rejected - result.accepted == 64 * KiB
    assert all(c % (64 * KiB) == 0 for c in calls)  # on the grid: stable answers
    assert len(calls) <= math.ceil(math.log2(64 * MiB / (64 * KiB))) + 1
    assert [p.size for p in result.probes] == calls


def test_bisection_stops_when_the_top_is_accepted() -> None:
    calls: list[int] = []
    result = bisect_ceiling(_limit_probe(100 * MiB, calls), 12 * MiB, 64 * KiB)
    assert calls == [12 * MiB]
    assert result.above_range and result.accepted == 12 * MiB
    assert "at least 12 MiB" in result.describe()


def test_bisection_rejects_a_bad_range() -> None:
    with pytest.raises(ValueError):
        bisect_ceiling(_limit_probe(1, []), 10, 64)


def test_safe_threshold_keeps_a_margin_on_the_grid() -> None:
    assert safe_threshold([4_653_056, 52_363_264], 64 * KiB, 64 * KiB) == 4_587_520
    assert safe_threshold([100], 64 * KiB, 64 * KiB) == 0


def test_sizes_read_well() -> None:
    assert human_size(9 * MiB) == "9 MiB (9,437,184 B)"
    assert human_size(4_653_056) == "4.44 MiB (4,653,056 B)"
    assert human_size(512) == "512 B"
    assert size_label(11_534_336) == "11MiB" and size_label(64 * KiB) == "64KiB"
    assert size_label(1000) == "1000B"


def _outcome(backend: str, accepted: bool, status: int, **kw: Any) -> UploadOutcome:
    return UploadOutcome(
        backend, "direct", 9 * MiB, status, "upload", accepted, kw.pop("gateway", False), **kw
    )


def test_judge_upload() -> None:
    express = _outcome("express", True, 201, sent_sha256="a", downloaded_sha256="a")
    refused = _outcome(
        "serverless", False, 413, gateway=True, body={"message": "Request Entity Too Large"}
    )
    [diff] = judge_upload(refused, must_accept=True, reference=express)
    assert diff.path == "direct.9MiB" and diff.origin == "gateway" and diff.kind == "status"
    assert "express accepts it" in diff.note and "413" in diff.note
    # the plan alone: above the limit a clean 413 is fine, a 400 is not
    assert judge_upload(refused, must_accept=False) == []
    odd = _outcome("serverless", False, 400, body={"status": "error"})
    assert judge_upload(odd, must_accept=False)[0].origin == "application"
    # accepted but stored differently: an application finding
    bad = _outcome("serverless", True, 201, sent_sha256="a", problems=["the stored object differs"])
    [diff] = judge_upload(bad, must_accept=True, reference=express)
    assert diff.path == "direct.9MiB.sha256" and diff.origin == "application"
    # more permissive than the reference is a difference too
    strict = _outcome("express", False, 413)
    assert judge_upload(express, must_accept=False, reference=strict)[0].kind == "status"


def test_memory_peak_measures_allocations() -> None:
    with MemoryPeak() as peak:
        block = bytearray(8 * MiB)
        del block
    assert peak.traced_peak >= 8 * MiB
