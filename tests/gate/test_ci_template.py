"""The CI template (``docs/ci/rollout-gate.yml``) in its own setting: its checks step, with
its environment (``PARITY_TARGET_ENV=production``), against ``parity sandbox --production``
reached through recording proxies, then ``parity gate``.

- writes refused (``allow_writes`` off, the template's default): the gate is NO-GO and names
  exactly the smoke endpoints whose catalog scenarios write, each with the guard's reason;
  the smoke endpoints that only read are judged; no write request reaches the target;
- ``allow_writes`` on: every smoke endpoint is judged and the gate says GO.

The load step is stood in for by healthy figures (:func:`gate_with_healthy_load`), so only
the matrix decides.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.core.catalog import load_catalog
from tests.drift.checks import ROOT, gate_with_healthy_load, run_checks
from tests.hardening.test_production_guard import WRITE_METHODS, Target, _target

TEMPLATE = ROOT / "docs" / "ci" / "rollout-gate.yml"
CATALOG = ROOT / "fixtures" / "catalog.yaml"


def _template() -> dict[Any, Any]:
    return dict(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")))


def _literal_env(doc: dict[Any, Any]) -> dict[str, str]:
    """The template's own settings; those from vars/secrets are the sandbox's here."""
    return {k: str(v) for k, v in doc["env"].items() if "${{" not in str(v)}


def _pytest_steps(doc: dict[Any, Any]) -> list[list[str]]:
    """The arguments of each ``pytest`` step, as :func:`run_checks` takes them: without
    ``-n auto`` (run_checks runs serially) and ``--junitxml`` (it sets its own)."""
    steps = []
    for step in doc["jobs"]["gate"]["steps"]:
        run = str(step.get("run", ""))
        if not run.startswith("pytest "):
            continue
        args = shlex.split(run)[1:]
        if "-n" in args:
            i = args.index("-n")
            del args[i : i + 2]
        steps.append([a for a in args if not a.startswith("--junitxml")])
    return steps


def _writing_smoke_endpoints() -> set[str]:
    catalog = load_catalog(CATALOG)
    return {
        e.key
        for e in catalog.endpoints
        if "smoke" in e.tags and any(catalog.writes(e, s) for s in e.scenarios)
    }


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(
        tmp_path_factory.mktemp("ci-prod"), production_sandbox=True, target_env="production"
    )


def _gate(production: Target, tmp: Path, allow_writes: str) -> tuple[int, str]:
    doc = _template()
    env = {**production.env, **_literal_env(doc), "PARITY_ALLOW_WRITES": allow_writes}
    assert env["PARITY_TARGET_ENV"] == "production"
    reports = tmp / "reports"
    env["PARITY_REPORTS_DIR"] = str(reports)
    steps = _pytest_steps(doc)
    assert steps, "the template has no pytest step"
    for i, args in enumerate(steps):
        run = run_checks(env, args, tmp / f"junit-{i}.xml")
        assert run.returncode in (0, 1), run.output[-3000:]  # a usage error is not a verdict
    result, md = gate_with_healthy_load(reports)
    return result.returncode, md


def test_the_template_refuses_writes_by_default() -> None:
    doc = _template()
    trigger = doc["on"] if "on" in doc else doc[True]  # YAML 1.1 reads a bare `on` as true
    inputs = trigger["workflow_dispatch"]["inputs"]
    assert inputs["allow_writes"]["default"] is False
    assert re.fullmatch(r"\$\{\{ inputs\.allow_writes && '1' \|\| '0' \}\}",
                        doc["env"]["PARITY_ALLOW_WRITES"])  # fmt: skip


def test_production_run_with_writes_refused_is_no_go_naming_the_unjudged_smoke_endpoints(
    production: Target, tmp_path: Path
) -> None:
    production.reset()
    code, md = _gate(production, tmp_path, "0")
    assert code == 1 and "**NO-GO**" in md, md
    (detail,) = [ln for ln in md.splitlines() if ln.startswith("- **no unaccepted breaking drift")]
    named = set(re.findall(r"((?:GET|POST|PUT|PATCH|DELETE) /\S*) \(", detail))
    expected = _writing_smoke_endpoints()
    assert expected and named == expected, (named, expected)
    assert detail.count("refused; pass --allow-writes") == len(expected), detail
    total = sum(1 for e in load_catalog(CATALOG).endpoints if "smoke" in e.tags)
    assert f"{total - len(expected)}/{total} smoke endpoints judged" in md
    # writes refused means none reaches the target, from any check the template runs (a
    # check that writes without the `writes` marker would slip past the guard)
    writes = [r for p in production.proxies for r in p.requests if r.method in WRITE_METHODS]
    assert not writes, [f"{r.method} {r.path}" for r in writes][:10]
    print(
        f"\nCI template, writes refused: NO-GO, not judged: {', '.join(sorted(named))} "
        f"({len(writes)} write requests reached the target)"
    )


def test_production_run_with_writes_allowed_judges_every_smoke_endpoint(
    production: Target, tmp_path: Path
) -> None:
    code, md = _gate(production, tmp_path, "1")
    total = sum(1 for e in load_catalog(CATALOG).endpoints if "smoke" in e.tags)
    assert code == 0 and "**GO**" in md, md
    assert f"{total}/{total} smoke endpoints judged" in md
    print(f"\nCI template, writes allowed: GO, {total}/{total} smoke endpoints judged")
