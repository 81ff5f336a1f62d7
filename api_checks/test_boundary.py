"""Upload boundaries (``pytest -m boundary``): moc-api.md "Limits and the upload rule", the
plan's risk T3.

- Files of each ``direct_sizes`` (9, 10 and 11 MiB) through the direct multipart endpoint,
  and of each ``presigned_sizes`` (the same plus 100 MiB) through presign -> PUT to S3 ->
  complete, on each backend. Accepted files are downloaded back: the stored object's
  sha256 must be the uploaded file's.
- Each backend's real direct-upload ceiling, found by bisection to within the catalog's
  ``precision`` (64 KiB), next to the plan's rule (10 MiB), and the client-side threshold
  that is safe on every backend.

Express is the reference: the candidate must take what Express takes (without Express, the
plan's rule is the reference). What the serverless flavour refuses in API Gateway's shape
is a ``gateway`` finding: the truth about the plan, accepted in parity-baseline.toml with
the reason and the safe threshold (so it shows as ``accepted``, never green) and failing
the run without that entry. Everything comes from the catalog's ``checks.boundary``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
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
from parity.checks.uploads import BoundaryError, Uploader
from parity.checks.verdicts import conclude, record
from parity.core.checkspec import Boundary
from parity.core.results import CheckResult
from parity.engine.baseline import Baseline
from parity.engine.diff import Difference
from parity.engine.guard import refuse_writes
from parity.engine.runner import provisioned
from parity.plugin import ParityRun, ResultSink, collection_catalog

pytestmark = [
    pytest.mark.boundary,
    pytest.mark.writes,
    pytest.mark.parity_check("boundary"),
    pytest.mark.parity_family("boundary"),
]

CHECK = "boundary"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, attr in (("direct_size", "direct_sizes"), ("presigned_size", "presigned_sizes")):
        if name not in metafunc.fixturenames:
            continue
        catalog = collection_catalog(metafunc.config)
        spec = catalog.checks.boundary
        sizes = list(getattr(spec, attr)) if spec is not None else []
        path = name.split("_")[0]
        endpoint = ""
        if spec is not None:
            ref = spec.direct if path == "direct" else spec.presigned and spec.presigned.complete
            endpoint = catalog.get(ref.endpoint).key if ref is not None else ""
        params = [
            pytest.param(
                size,
                id=size_label(size),
                # the matrix knows the cell even when the test is skipped (production)
                marks=pytest.mark.parity_check(
                    CHECK, endpoint=endpoint, scenario=f"{path}-{size_label(size)}"
                ),
            )
            for size in sizes
        ]
        metafunc.parametrize(name, params)


@pytest.fixture(scope="module")
def boundary(parity_run: ParityRun) -> Boundary:
    spec = parity_run.catalog.checks.boundary
    if spec is None:
        pytest.skip("the catalog has no checks.boundary section")
    return spec


@pytest.fixture(scope="module")
def uploaders(parity_run: ParityRun, boundary: Boundary) -> Iterator[dict[str, Uploader]]:
    """One uploader per selected backend, each with its own provisioned state (a MOC that
    receives every file and is deleted, with its files, at the end)."""
    refuse_writes(parity_run.settings, "the boundary check (it uploads files)")
    with ExitStack() as stack:
        out: dict[str, Uploader] = {}
        for name in parity_run.selected:
            client = parity_run.client(name)
            variables = stack.enter_context(
                provisioned(
                    client,
                    parity_run.catalog,
                    boundary.uses,
                    parity_run.run_id,
                    label="boundary uploads",
                )
            )
            out[name] = Uploader(client, parity_run.catalog, boundary, variables)
        yield out


def _reference(boundary: Boundary, outcomes: dict[str, Any]) -> str | None:
    return boundary.reference if boundary.reference in outcomes else None


def _judge_all(
    boundary: Boundary,
    outcomes: dict[str, Any],
    endpoint: str,
    scenario: str,
    must_accept: bool,
    baseline: Baseline,
    extra: dict[str, Any] | None = None,
) -> list[CheckResult]:
    ref_name = _reference(boundary, outcomes)
    records = []
    for name, outcome in outcomes.items():
        reference = outcomes[ref_name] if ref_name and ref_name != name else None
        diffs = judge_upload(outcome, must_accept=must_accept, reference=reference)
        evidence = {"outcome": outcome.to_dict(), **(extra or {})}
        if reference is not None:
            evidence["reference"] = reference.to_dict()
        records.append(
            record(
                endpoint=endpoint,
                check=CHECK,
                diffs=diffs,
                baseline=baseline,
                backend=name,
                scenario=scenario,
                ok=outcome.describe(),
                evidence=evidence,
            )
        )
    return records


def test_direct_upload(
    parity_run: ParityRun,
    boundary: Boundary,
    uploaders: dict[str, Uploader],
    direct_size: int,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """A file of ``direct_size`` through the direct multipart endpoint on each backend."""
    endpoint = parity_run.catalog.get(boundary.direct.endpoint).key
    outcomes = {name: up.direct(direct_size) for name, up in uploaders.items()}
    must_accept = direct_size <= boundary.plan_direct_limit
    records = _judge_all(
        boundary,
        outcomes,
        endpoint,
        f"direct-{size_label(direct_size)}",
        must_accept,
        parity_baseline,
        {"plan_direct_limit": boundary.plan_direct_limit},
    )
    parity_results.extend(records)
    for r in records:
        print(f"{r.backend}: direct {human_size(direct_size)}: {r.state}: {r.summary}")
    conclude(records, f"direct upload of {human_size(direct_size)}")


def test_presigned_upload(
    parity_run: ParityRun,
    boundary: Boundary,
    uploaders: dict[str, Uploader],
    presigned_size: int,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """A file of ``presigned_size`` through presign -> PUT to storage -> complete. The
    largest size is measured: the file must never be held in memory (not even once)."""
    if boundary.presigned is None:
        pytest.skip("the catalog's boundary section declares no presigned flow")
    endpoint = parity_run.catalog.get(boundary.presigned.complete.endpoint).key
    largest = presigned_size == max(boundary.presigned_sizes)
    outcomes = {}
    memory: dict[str, dict[str, int]] = {}
    for name, up in uploaders.items():
        if largest:
            with MemoryPeak() as peak:
                outcomes[name] = up.presigned(presigned_size)
            memory[name] = {"traced_peak": peak.traced_peak, "rss_peak_delta": peak.rss_peak_delta}
            print(
                f"{name}: presigned {human_size(presigned_size)}: peak Python allocations "
                f"{human_size(peak.traced_peak)}, peak RSS growth {human_size(peak.rss_peak_delta)}"
            )
        else:
            outcomes[name] = up.presigned(presigned_size)
    records = _judge_all(
        boundary,
        outcomes,
        endpoint,
        f"presigned-{size_label(presigned_size)}",
        True,
        parity_baseline,
        {"memory": memory} if memory else None,
    )
    parity_results.extend(records)
    for r in records:
        print(f"{r.backend}: presigned {human_size(presigned_size)}: {r.state}: {r.summary}")
    conclude(records, f"presigned upload of {human_size(presigned_size)}")
    for name, peak in memory.items():
        # Streamed from a generator and hashed on the way: a file is never held whole (for
        # files of 32 MiB and more, where a copy would stand out from the chunk buffers).
        if presigned_size < 32 * 1024 * 1024:
            break
        assert peak["traced_peak"] < presigned_size // 4, (
            f"{name}: the {human_size(presigned_size)} upload held "
            f"{human_size(peak['traced_peak'])} in memory at its peak"
        )


def test_direct_upload_ceiling(
    parity_run: ParityRun,
    boundary: Boundary,
    uploaders: dict[str, Uploader],
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """Each backend's real direct-upload ceiling (bisection), against the plan's rule; and
    the client threshold safe on all of them, against the one the frontend uses."""
    spec = boundary.ceiling
    if spec is None:
        pytest.skip("the catalog's boundary section declares no ceiling search")
    endpoint = parity_run.catalog.get(boundary.direct.endpoint).key
    plan = boundary.plan_direct_limit
    records: list[CheckResult] = []
    ceilings = {}
    for name, up in uploaders.items():

        def probe(size: int, up: Uploader = up) -> Probe:
            outcome = up.direct(size, download=False)
            if not outcome.accepted and not outcome.rejected:
                raise BoundaryError(
                    f"{up.client.name}: a direct upload of {human_size(size)} answered "
                    f"{outcome.status} {outcome.body}: not a size verdict, the search cannot go on",
                    hint="Check checks.boundary.direct in the catalog (fields, endpoint)",
                )
            return Probe(size, outcome.intact, outcome.status, outcome.gateway)

        result = bisect_ceiling(probe, spec.high, spec.precision)
        ceilings[name] = result
        refusal = next((p for p in result.probes if p.size == result.rejected), None)
        origin = "gateway" if refusal is not None and refusal.gateway else "application"
        diffs = []
        if result.accepted < plan:
            diffs.append(
                Difference(
                    "direct.ceiling",
                    "value",
                    plan,
                    result.accepted,
                    "breaking",
                    origin,
                    note=f"{name} takes direct uploads up to {result.describe()}, below the "
                    f"plan's {human_size(plan)} rule ({refusal.status if refusal else '?'}, "
                    f"{origin})",
                )
            )
        records.append(
            record(
                endpoint=endpoint,
                check=CHECK,
                diffs=diffs,
                baseline=parity_baseline,
                backend=name,
                scenario="direct-ceiling",
                ok=f"direct-upload ceiling {result.describe()}, at or above the plan's "
                f"{human_size(plan)}",
                evidence={"ceiling": result.to_dict(), "plan_direct_limit": plan},
            )
        )
    safe = safe_threshold([c.accepted for c in ceilings.values()], spec.margin, spec.precision)
    client = boundary.client_threshold or plan
    shown = ", ".join(f"{n} {c.describe()}" for n, c in ceilings.items())
    summary = (
        f"safe client threshold {human_size(safe)} (ceilings: {shown}; plan "
        f"{human_size(plan)}); the frontend's direct-upload threshold is {human_size(client)}"
    )
    diffs = []
    if client > safe:
        lowest = min(ceilings, key=lambda n: ceilings[n].accepted)
        diffs.append(
            Difference(
                "client-threshold",
                "value",
                safe,
                client,
                "breaking",
                "gateway" if any(p.gateway for p in ceilings[lowest].probes) else "application",
                note=f"the frontend sends files up to {human_size(client)} direct, but "
                f"{lowest} refuses direct uploads above {ceilings[lowest].describe()}: "
                f"lower the threshold to {human_size(safe)} or less ({summary})",
            )
        )
    records.append(
        record(
            endpoint=endpoint,
            check=CHECK,
            diffs=diffs,
            baseline=parity_baseline,
            scenario="client-threshold",
            ok=summary,
            evidence={
                "plan_direct_limit": plan,
                "client_threshold": client,
                "safe_threshold": safe,
                "ceilings": {n: c.to_dict() for n, c in ceilings.items()},
            },
        )
    )
    parity_results.extend(records)
    print(f"plan's direct-upload rule: {human_size(plan)}")
    for name, c in ceilings.items():
        print(f"{name}: direct-upload ceiling {c.describe()} ({len(c.probes)} probes)")
    print(summary)
    conclude(records, "direct-upload ceiling")
