"""Every check family against an outside pair, and the matrix it writes read against the
differences found by hand (issue 16: "every family runs against each pair").

One run of a pair is: ``parity load`` for a moment (the catalog's mix), ``parity capture``
and ``parity contracts`` against the reference, then one pytest process with every family's
module in a fixed order (the families that only write what they undo first, the fuzzing
and the probes last), under the pair's settings and nothing of the caller's ``PARITY_*``.

The matrix is then read as records (one per cell, scenario and backend), each with the
*signatures* of what differs in it: the difference paths its findings and its summary
name (``status``, a header, a JSON path; ``schemathesis:<check>`` for a Schemathesis
verdict). A hand-found difference (:class:`HandFound`) explains a non-pass record when

1. the record is on one of the difference's own scenarios and on its check (or on a
   scenario its ``also`` names, whatever the check);
2. every signature of the record is one of the difference's ``paths`` and the record's
   endpoint is the difference's or in its ``scope`` (``*``: every endpoint);
3. the record matches one of its ``shows`` patterns: where else the same cause shows, in
   any family, written down after reading those cells' evidence
   (``"ENDPOINT | CHECK | SCENARIO [| STATE]"``, shell globs).

A difference is *found* through the families of the non-pass records it explains on its
own endpoint or through ``shows``; a non-pass record no difference explains is a false
alarm (or a real difference the list lacks).
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_VENV = ROOT / ".venv" / "bin"
PYTHON = str(_VENV / "python") if (_VENV / "python").exists() else sys.executable
PARITY = [PYTHON, "-m", "parity"]

#: The families' modules, in the order they run: those that undo what they write first,
#: then the fuzzing and the probes (whose requests the candidate may apply for good).
FAMILY_MODULES = (
    "contracts/test_contracts.py",
    "api_checks/test_catalog_scenarios.py",
    "api_checks/test_parity.py",
    "api_checks/test_smoke.py",
    "api_checks/test_consistency.py",
    "api_checks/test_coverage.py",
    "api_checks/test_errors.py",
    "api_checks/test_auth.py",
    "api_checks/test_cors.py",
    "api_checks/test_boundary.py",
    "api_checks/test_health.py",
    "api_checks/test_fuzz_differential.py",
    "api_checks/test_fuzz_schemathesis.py",
    "api_checks/test_probes.py",
)
#: The modules whose requests nothing undoes on a candidate that applies any method to
#: any path (the json-server pair puts its candidate back to the seed before each).
UNDOING_NOTHING = ("test_fuzz_differential.py", "test_fuzz_schemathesis.py", "test_probes.py")

#: The matrix check -> the family it belongs to (parity/checks/builtin.py).
_FAMILY_OF_CHECK = {
    "status": "differential",
    "headers": "differential",
    "envelope": "differential",
    "catalog-scenario": "catalog-scenarios",
    "contract": "contract",
    "smoke-flow": "smoke-flows",
    "consistency": "consistency",
    "search-lag": "consistency",
    "cache": "consistency",
    "catalog": "coverage",
    "errors": "errors",
    "auth": "auth",
    "cors": "cors",
    "boundary": "boundary",
    "health": "health",
    "debug": "health",
    "web-config": "health",
    "fuzz": "fuzz",
    "probe": "probe",
}


def family_of(check: str) -> str:
    return _FAMILY_OF_CHECK.get(check.split(":", 1)[0], check)


# --- one run of every family ---------------------------------------------------------------


@dataclass
class Step:
    """One command of the run: what it printed and how it ended."""

    name: str
    returncode: int
    output: str
    seconds: float


@dataclass
class PairRun:
    steps: list[Step]
    matrix: dict[str, Any]
    seconds: float
    requests: dict[str, int] = field(default_factory=dict)  # per backend, from its log
    load: dict[str, dict[str, Any]] = field(default_factory=dict)  # load-<backend>.json
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return "\n".join(f"$ {s.name} (exit {s.returncode})\n{s.output}" for s in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def to_json(self) -> str:
        return json.dumps(
            {
                "steps": [s.__dict__ for s in self.steps],
                "matrix": self.matrix,
                "seconds": self.seconds,
                "requests": self.requests,
                "load": self.load,
                "extra": self.extra,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PairRun:
        data = json.loads(text)
        data["steps"] = [Step(**s) for s in data["steps"]]
        return cls(**data)


def pair_env(settings: Mapping[str, str], work: Path) -> dict[str, str]:
    """The environment of every command of a run: the caller's, minus its ``PARITY_*``,
    plus the pair's settings and this run's files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env.update(
        PARITY_REPORTS_DIR=str(work / "reports"),
        PARITY_CASSETTES=str(work / "cassettes"),
        PARITY_CONTRACTS_DIR=str(work / "contracts"),
        PARITY_RUNTIME_DIR=str(work / "runtime"),
    )
    env.update(settings)
    return env


def _run(name: str, command: Sequence[str], env: Mapping[str, str], timeout: float) -> Step:
    started = time.monotonic()
    done = subprocess.run(
        list(command),
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Step(name, done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def run_every_family(
    env: Mapping[str, str],
    work: Path,
    *,
    probe_budget: str,
    load_seconds: int = 1,
    plugins: Sequence[str] = (),
    workers: int = 0,
    timeout: float = 600,
) -> PairRun:
    """``parity load``, ``parity capture``, ``parity contracts`` and one pytest run of
    every family's module (:data:`FAMILY_MODULES`) against the pair ``env`` points at.

    ``workers``: pytest-xdist workers for a pair whose order does not matter (each module
    stays on one worker, in order: ``--dist loadfile``); 0 runs the modules in order in
    one process (a candidate the last modules may break)."""
    started = time.monotonic()
    steps = []
    load_dir = work / "load"
    steps.append(
        _run(
            "parity load",
            [*PARITY, "load", "--users", "2", "--duration", str(load_seconds),
             "--think-time", "0.05", "--reports-dir", str(load_dir)],
            env,
            timeout,
        )
    )  # fmt: skip
    steps.append(
        _run("parity capture", [*PARITY, "capture", "--out", str(work / "cassettes")], env, timeout)
    )
    steps.append(
        _run(
            "parity contracts",
            [*PARITY, "contracts", "--cassettes", str(work / "cassettes"),
             "--out", str(work / "contracts")],
            env,
            timeout,
        )
    )  # fmt: skip
    modules = [m for m in FAMILY_MODULES if (ROOT / m).exists()]
    pytest_command = [PYTHON, "-m", "pytest", *modules, "-p", "no:cacheprovider"]
    pytest_command += ["-p", "no:randomly", "-q", "-o", "addopts=", "--durations=15"]
    for plugin in plugins:
        pytest_command += ["-p", plugin]
    if workers:
        pytest_command += ["-n", str(workers), "--dist", "loadfile"]
    if "api_checks/test_probes.py" in modules:
        pytest_command.append(f"--probe-budget={probe_budget}")
    steps.append(_run("pytest (every family)", pytest_command, env, timeout))
    matrix_file = work / "reports" / "parity-matrix.json"
    matrix = json.loads(matrix_file.read_text()) if matrix_file.exists() else {}
    load = {
        p.stem.removeprefix("load-"): json.loads(p.read_text())
        for p in sorted(load_dir.glob("load-*.json"))
    }
    return PairRun(steps, matrix, time.monotonic() - started, load=load)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock (pytest-xdist workers: the first runs the pair, the others wait)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_dir(base: Path) -> Path:
    """The directory every xdist worker of this session sees (alone: the session's own)."""
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


# --- the matrix as records ------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    endpoint: str
    check: str
    scenario: str
    backend: str
    state: str
    summary: str
    signatures: frozenset[str]

    @property
    def family(self) -> str:
        return family_of(self.check)

    def show(self) -> str:
        who = f" {self.backend}" if self.backend else ""
        return (
            f"{self.endpoint} | {self.check} | {self.scenario}{who} | {self.state}: "
            f"{self.summary[:300]}"
        )


_KINDS = (
    "status|missing-endpoint|header-removed|header-added|header-changed|removed|added|type"
    "|value|item-added|item-removed|format|body|expected"
)
# "<path>: <kind> " after the start, "): ", "; " or "difference(s): ": a difference line of
# a differential, fuzz or probe summary ("cache-control: header-removed ...", probes'
# "status: expected 200, got 404").
_SHOWN = re.compile(rf"(?:^|\): |; |difference\(s\): )([^\s;:()]+): (?:{_KINDS})\b")
_SCHEMATHESIS = re.compile(r"^(?:generated writes: )?([A-Z][a-z]+(?: [a-z]+)*) \(HTTP \d{3}\)")


def summary_signatures(summary: str) -> set[str]:
    """The difference paths a record's one-line summary names (at most a few)."""
    found = {m.group(1) for m in _SHOWN.finditer(summary)}
    found.discard("headers")  # "headers: 2 difference(s): ..." is a check, not a path
    found.discard("envelope")
    m = _SCHEMATHESIS.match(summary)
    if m:
        found.add(f"schemathesis:{m.group(1)}")
    return found


def _finding_signatures(finding: Mapping[str, Any]) -> set[str]:
    if finding.get("kind") == "status":
        return {"status"}
    return {str(p) for p in finding.get("paths") or []}


def records(matrix: Mapping[str, Any]) -> list[Record]:
    by_cell: dict[tuple[str, str, str], set[str]] = {}
    for finding in matrix.get("findings", []):
        signatures = _finding_signatures(finding)
        for cell in finding.get("cells", []):
            for scenario in cell.get("scenarios", []):
                key = (cell["endpoint"], cell["check"], "" if scenario == "-" else scenario)
                by_cell.setdefault(key, set()).update(signatures)
    out = []
    for cell in matrix.get("cells", []):
        kept = (cell.get("evidence") or {}).get("differences") or []
        for r in cell.get("records", []):
            scenario = r.get("scenario") or ""
            signatures = set(by_cell.get((cell["endpoint"], cell["check"], scenario), set()))
            signatures |= summary_signatures(r.get("summary") or "")
            if scenario == (cell.get("scenario") or "") and r["state"] == cell["state"]:
                signatures |= {str(d["path"]) for d in kept if isinstance(d, dict) and "path" in d}
            out.append(
                Record(
                    cell["endpoint"],
                    cell["check"],
                    scenario,
                    r.get("backend") or "",
                    r["state"],
                    r.get("summary") or "",
                    frozenset(signatures),
                )
            )
    return out


# --- hand-found differences -----------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """``"ENDPOINT | CHECK | SCENARIO [| STATE [| BACKEND]]"``, each part a shell glob (a
    record without a backend, a differential one, matches any BACKEND)."""

    endpoint: str
    check: str
    scenario: str
    state: str = "*"
    backend: str = "*"

    @classmethod
    def parse(cls, text: str) -> Pattern:
        parts = [p.strip() for p in text.split("|")]
        if not 3 <= len(parts) <= 5 or not all(parts):
            raise ValueError(f"{text!r}: want 'ENDPOINT | CHECK | SCENARIO [| STATE [| BACKEND]]'")
        return cls(*parts)

    def matches(self, record: Record) -> bool:
        return (
            fnmatch.fnmatchcase(record.endpoint, self.endpoint)
            and fnmatch.fnmatchcase(record.check, self.check)
            and fnmatch.fnmatchcase(record.scenario, self.scenario)
            and fnmatch.fnmatchcase(record.state, self.state)
            and (not record.backend or fnmatch.fnmatchcase(record.backend, self.backend))
        )


def path_matches(path: str, patterns: Iterable[str]) -> bool:
    # "x*" matches by prefix ("*" anything, "[*" a list item), anything else exactly.
    return any(path.startswith(p[:-1]) if p.endswith("*") else path == p for p in patterns)


@dataclass(frozen=True)
class HandFound:
    """A difference found by hand, as the suite can meet it."""

    id: str
    endpoint: str  # METHOD /route
    summary: str
    check: str | None  # the differential check meant to see it
    scenarios: tuple[str, ...]  # its own scenarios, on `endpoint`
    paths: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()  # other endpoints ("*": all) where `paths` show
    also: tuple[str, ...] = ()  # "METHOD /route" (on `check`) or "METHOD /route [scenario]"
    shows: tuple[Pattern, ...] = ()
    #: Rule 1 on any check of its own scenarios (a different status brings a different
    #: body and contract), not only on ``check``.
    any_check: bool = False

    def in_scope(self, endpoint: str) -> bool:
        return endpoint == self.endpoint or "*" in self.scope or endpoint in self.scope

    def own(self, record: Record) -> bool:
        """Rule 1: one of its scenarios on its check, or a scenario ``also`` names."""
        if record.endpoint == self.endpoint and record.scenario in self.scenarios:
            return self.any_check or self.check is None or record.check == self.check
        if f"{record.endpoint} [{record.scenario}]" in self.also:
            return True
        return record.endpoint in self.also and record.check == self.check

    def claims(self, signature: str, endpoint: str) -> bool:
        """Rule 2 for one signature: one of its paths, on an endpoint in its scope."""
        return bool(self.paths) and self.in_scope(endpoint) and path_matches(signature, self.paths)

    def shown(self, record: Record) -> bool:
        """Rule 3: a ``shows`` pattern."""
        return any(p.matches(record) for p in self.shows)

    def found_by(self, record: Record) -> bool:
        """Whether a non-pass record shows this difference itself, not only a cause it
        shares with others: one of its own scenarios (in any family) showing one of its
        paths, or on its check when it names no path; or a ``shows`` pattern."""
        if self.shown(record):
            return True
        on_own = record.endpoint == self.endpoint and record.scenario in self.scenarios
        if not self.paths:  # nothing to tell it from another cause but its check
            if on_own:
                return self.check is None or record.check == self.check
            return self.own(record)
        if not (on_own or self.own(record)):
            return False
        return any(path_matches(s, self.paths) for s in record.signatures)


NOT_PASS = frozenset({"drift", "missing", "error", "accepted", "not-testable", "skipped"})


def explained_by(record: Record, differences: Sequence[HandFound]) -> list[str]:
    """The differences that explain ``record`` (empty: none does). Rules 1 and 3 name one
    difference each; by rule 2 every signature must be some difference's path in scope."""
    named = [d.id for d in differences if d.own(record) or d.shown(record)]
    if named:
        return named
    if not record.signatures:
        return []
    claimers: list[str] = []
    for signature in sorted(record.signatures):
        ids = [d.id for d in differences if d.claims(signature, record.endpoint)]
        if not ids:
            return []
        claimers += [i for i in ids if i not in claimers]
    return claimers


def families_finding(difference: HandFound, recs: Iterable[Record]) -> dict[str, int]:
    """Family -> how many non-pass records show ``difference``."""
    found: dict[str, int] = {}
    for r in recs:
        if r.state in NOT_PASS and difference.found_by(r):
            found[r.family] = found.get(r.family, 0) + 1
    return found


def unexplained(recs: Iterable[Record], differences: Sequence[HandFound]) -> list[Record]:
    return [r for r in recs if r.state in NOT_PASS and not explained_by(r, differences)]


def patterns(texts: Iterable[str]) -> tuple[Pattern, ...]:
    return tuple(Pattern.parse(t) for t in texts)


def load_differences(toml_file: Path, catalog_file: Path, *, any_check: bool) -> list[HandFound]:
    """``differences.toml`` of a pair as :class:`HandFound` entries. A difference names
    its scenarios as ``scenario = "<endpoint id>/<scenario>"`` (json-server) or as
    ``method``, ``route`` and ``scenarios = [...]`` (httpbin)."""
    import tomllib

    from parity.core.catalog import load_catalog

    keys = {e.id: e.key for e in load_catalog(catalog_file).endpoints}
    out = []
    for d in tomllib.loads(toml_file.read_text(encoding="utf-8"))["difference"]:
        if "scenario" in d:
            endpoint_id, _, scenario = str(d["scenario"]).rpartition("/")
            endpoint, scenarios = keys[endpoint_id], (scenario,)
        else:
            endpoint, scenarios = f"{d['method']} {d['route']}", tuple(d.get("scenarios", ()))
        out.append(
            HandFound(
                id=d["id"],
                endpoint=endpoint,
                summary=d["summary"],
                check=d.get("check"),
                scenarios=scenarios,
                paths=tuple(d.get("paths", ())),
                scope=tuple(d.get("scope", ())),
                also=tuple(d.get("also", ())),
                shows=patterns(d.get("shows", ())),
                any_check=any_check,
            )
        )
    return out


def access_lines(log: Path, pattern: str) -> int:
    """Requests in a server's access log (lines matching ``pattern``)."""
    regex = re.compile(pattern)
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(1 for line in text.splitlines() if regex.search(line))
