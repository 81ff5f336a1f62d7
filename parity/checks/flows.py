"""Smoke flows: the catalog's ``flows:``, run step by step against one backend.

Each step is a request to one of the catalog's endpoints, sent through
:func:`parity.engine.runner.run_scenario`, so it is prepared, redacted and read as every catalog
request is (a body of another kind than the endpoint's ``answers:`` is an error, never a
traceback). A step passes when its status is one it ``expect``s (any 2xx when it says
nothing) and each of its ``check:`` assertions holds; then its ``save:`` values are kept
for the next steps. The flow stops at the first step that answers wrong.

State: the flow's ``uses:`` resources are created before it and deleted after it
(:func:`parity.engine.runner.provisioned`); what a step ``creates:`` is deleted after the flow,
in reverse order, whatever happened in between. As in the runner, a delete answering 404
at teardown is fine only when the flow itself deleted something; otherwise it is a finding.

The outcome is one matrix record per flow and backend, in a row of its own spelt like the
browser flows' (``FLOW /<name>``), check ``smoke-flow``: ``pass``; ``drift`` with the
evidence (every step, the request and answer of the one that answered wrong, one
difference per failed expectation); ``error`` when the suite could not judge (a set-up
that failed, a backend that did not answer, an answer of the wrong kind) or the teardown
failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from parity.checks.verdicts import short
from parity.core.catalog import Catalog, Endpoint, Scenario, Step
from parity.core.catalog_model import Flow, FlowStep, check_operator
from parity.core.errors import InternalError, ParityError
from parity.core.jsonpath import extract
from parity.core.results import CheckResult, State
from parity.core.templating import TemplateError, render
from parity.engine.client import BackendClient
from parity.engine.credentials import RequestVariables
from parity.engine.diff import Difference, Kind
from parity.engine.runner import Exchange, provisioned, run_scenario

__all__ = [
    "FLOW_CHECK",
    "FlowOutcome",
    "StepOutcome",
    "call_endpoint",
    "flow_row",
    "run_flow",
    "send_step",
]

#: The matrix column of the smoke flows.
FLOW_CHECK = "smoke-flow"
_SUCCESS = tuple(range(200, 300))
_GONE = (404, 410)
_ABSENT = "(absent)"
#: No value at a path (``jsonpath.MISSING`` would make :func:`extract` raise instead).
_MISSING: Any = object()
_BODY_LIMIT = 8000  # characters of an answer kept in the evidence


def flow_row(flow: Flow) -> str:
    """The flow's row in the matrix, spelt like an endpoint (as the browser flows are)."""
    return f"FLOW /{flow.name}"


def call_endpoint(
    client: BackendClient,
    catalog: Catalog,
    endpoint: Endpoint,
    run_id: str,
    *,
    name: str,
    role: str,
    params: Mapping[str, Any],
    parts: Mapping[str, Any],
    variables: Mapping[str, Any],
    expect: tuple[int, ...] | None = None,
) -> Exchange:
    """One request to ``endpoint``, as a catalog scenario called ``name`` with ``parts``
    (``query``, ``headers``, ``json``, ``multipart``, ``body`` as the catalog spells them):
    prepared, sent and read by the runner like every catalog request."""
    scenario = Scenario.model_validate(
        {"name": name, "as": role, "params": dict(params), "expect": list(expect or _SUCCESS)}
        | dict(parts)
    )
    return run_scenario(client, catalog, endpoint, scenario, run_id, variables=variables)


def _step_parts(step: Step) -> dict[str, Any]:
    return step.model_dump(
        by_alias=True,
        exclude_unset=True,
        include={"query", "headers", "json_body", "multipart", "body"},
    )


def send_step(
    client: BackendClient,
    catalog: Catalog,
    step: Step,
    variables: Mapping[str, Any],
    run_id: str,
    *,
    name: str,
    expect: tuple[int, ...] | None = None,
) -> Exchange:
    """A catalog step (method + path) sent as a request to the endpoint it reaches."""
    found = catalog.route_for(step.method, step.path)
    if found is None:  # the loader refuses such a flow: a caller's bug
        raise InternalError(
            f"{step.method} {step.path} reaches no catalog endpoint",
            hint="Report this; the catalog loader checks every flow step",
        )
    endpoint, params = found
    return call_endpoint(
        client,
        catalog,
        endpoint,
        run_id,
        name=name,
        role=step.role,
        params=params,
        parts=_step_parts(step),
        variables=variables,
        expect=expect or step.expect,
    )


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, bool) or isinstance(want, bool):  # True is not 1 in an answer
        return type(got) is type(want) and got == want
    return bool(got == want)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _body(exchange: Exchange) -> Any:
    if not exchange.is_json:
        return short(exchange.text or "", _BODY_LIMIT)
    text = json.dumps(exchange.json, ensure_ascii=False, default=str)
    return exchange.json if len(text) <= _BODY_LIMIT else short(text, _BODY_LIMIT)


def _shown(value: Any, limit: int = 80) -> str:
    """A value as JSON spells it (a string in quotes: "1234" is not 1234), clipped."""
    return short(json.dumps(value, ensure_ascii=False, default=str), limit)


def _statuses(expected: tuple[int, ...]) -> str:
    return "2xx" if tuple(expected) == _SUCCESS else ", ".join(map(str, expected))


@dataclass
class StepOutcome:
    """One step of a flow: its request and answer, and what was wrong with the answer."""

    number: int
    label: str
    exchange: Exchange | None = None
    differences: list[Difference] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exchange is not None and not self.differences and self.error is None

    def line(self) -> str:
        """``3. read it: GET /api/x/1 as anonymous -> 200``, with what was wrong."""
        head = f"{self.number}. {self.label}"
        ex = self.exchange
        if ex is not None:
            head += f": {ex.method} {_path(ex)} as {ex.role} -> {ex.status}"
        if self.error:
            return f"{head}: not judged: {self.error}"
        if self.differences:
            return f"{head}: " + "; ".join(d.note for d in self.differences)
        return head

    def evidence(self) -> dict[str, Any]:
        ex = self.exchange
        out: dict[str, Any] = {"step": self.number, "name": self.label}
        if ex is not None:
            out["request"] = {
                "method": ex.method,
                "path": _path(ex),
                "role": ex.role,
                "headers": ex.request_headers,
                "body": ex.request_body,
            }
            out["expected"] = _statuses(ex.expected)
            out["responses"] = {
                ex.backend: {
                    "status": ex.status,
                    "headers": ex.headers,
                    **({"json": _body(ex)} if ex.is_json else {"text": _body(ex)}),
                    "elapsed_ms": ex.elapsed_ms,
                }
            }
        out["differences"] = [d.to_dict() for d in self.differences]
        return out


def _path(exchange: Exchange) -> str:
    parts = urlsplit(exchange.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class FlowOutcome:
    """What a flow did on one backend, and its verdict."""

    flow: str
    backend: str
    steps: list[StepOutcome] = field(default_factory=list)
    error: str | None = None  # why the flow could not be judged
    teardown: list[str] = field(default_factory=list)  # what could not be deleted

    @property
    def failed(self) -> StepOutcome | None:
        """The step that answered wrong (the flow stopped there)."""
        return next((s for s in self.steps if s.differences), None)

    @property
    def state(self) -> State:
        if self.error is not None:
            return "error"
        if self.failed is not None:
            return "drift"
        return "error" if self.teardown else "pass"

    @property
    def summary(self) -> str:
        failed = self.failed
        if self.error is not None:
            return f"the flow could not be judged: {self.error}"
        if failed is not None:
            notes = "; ".join(d.note for d in failed.differences)
            return f"step {failed.number} ({failed.label}): {notes}"
        if self.teardown:
            return f"{_steps(self.steps)} as expected, but the teardown failed: " + "; ".join(
                self.teardown
            )
        return f"{_steps(self.steps)} as expected"

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"flow": self.flow, "steps": [s.line() for s in self.steps]}
        last = self.failed or (self.steps[-1] if self.error and self.steps else None)
        if last is not None:
            out |= {k: v for k, v in last.evidence().items() if k not in ("step", "name")}
            out["step"] = {"number": last.number, "name": last.label}
        if self.error is not None:
            out["error"] = self.error
        if self.teardown:
            out["teardown"] = list(self.teardown)
            out.setdefault("error", "teardown: " + "; ".join(self.teardown))
        return out

    def record(self, row: str) -> CheckResult:
        state = self.state
        return CheckResult(
            endpoint=row,
            check=FLOW_CHECK,
            state=state,
            summary=self.summary,
            backend=self.backend,
            scenario=self.flow,
            origin="application" if state == "drift" else None,
            severity="breaking" if state == "drift" else None,
            evidence=self.evidence(),
        )


def _steps(steps: list[StepOutcome]) -> str:
    return f"{len(steps)} step{'' if len(steps) == 1 else 's'}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class _FlowRun:
    """The steps of one flow on one backend, and what they created."""

    def __init__(
        self,
        client: BackendClient,
        catalog: Catalog,
        flow: Flow,
        run_id: str,
        variables: dict[str, Any],
        outcome: FlowOutcome,
    ) -> None:
        self.client, self.catalog, self.flow, self.run_id = client, catalog, flow, run_id
        self.variables = variables
        self.outcome = outcome
        self.undo: list[tuple[Step, dict[str, Any]]] = []
        self.deleted = False  # a DELETE of the flow answered 2xx

    def run(self) -> None:
        try:
            for number, step in enumerate(self.flow.steps, start=1):
                result = StepOutcome(number, step.name or f"{step.method} {step.path}")
                self.outcome.steps.append(result)
                try:
                    self.step(step, result)
                except ParityError as exc:
                    result.error = _one_line(exc)
                    self.outcome.error = f"step {number} ({result.label}): {result.error}"
                if not result.ok:
                    break
        finally:
            self.outcome.teardown += self.teardown()

    def scope(self, role: str) -> RequestVariables:
        return RequestVariables(self.variables, role, self.client.users, self.client.auth)

    def step(self, step: FlowStep, result: StepOutcome) -> None:
        name = f"{self.flow.name}.step{result.number}"
        ex = send_step(self.client, self.catalog, step, self.variables, self.run_id, name=name)
        result.exchange = ex
        if ex.method == "DELETE" and 200 <= ex.status < 300:
            self.deleted = True
        if step.creates is not None and 200 <= ex.status < 300:
            # before judging the answer: what it created is deleted whatever it says
            result.differences += self.save(ex, step.creates.save)
            if not result.differences:
                self.undo.append((step.creates.delete, dict(self.variables)))
        if not ex.ok:
            result.differences.append(
                Difference(
                    "status",
                    "status",
                    list(ex.expected),
                    ex.status,
                    "breaking",
                    "application",
                    note=f"answered {ex.status}, expected {_statuses(ex.expected)}: "
                    f"{short(_body(ex), 200)}",
                )
            )
            return
        result.differences += self.judge(ex, step)
        if not result.differences:
            result.differences += self.save(ex, step.save)

    def judge(self, ex: Exchange, step: FlowStep) -> Iterator[Difference]:
        scope = self.scope(step.role)
        doc = ex.json if ex.is_json else _MISSING
        for path, expected in step.check.items():
            operator, operand = check_operator(expected)
            try:
                want = render(operand, scope)
            except TemplateError as exc:  # the loader checks every variable: a bug
                raise InternalError(
                    f"flow {self.flow.name}: no value for {{{exc.name}}} in check {path}",
                    hint="Report this",
                ) from None
            got = _MISSING if doc is _MISSING else extract(doc, path, default=_MISSING)
            shown = _ABSENT if got is _MISSING else got
            kind: Kind = "value"
            if operator == "present":
                if want == (got is not _MISSING):
                    continue
                kind, note = (
                    ("removed", f"no {path} in the answer")
                    if want
                    else ("added", f"{path} is in the answer: {_shown(shown)}")
                )
            elif got is _MISSING:
                kind, note = "removed", f"no {path} in the answer"
            elif operator == "contains":
                if isinstance(got, list) and any(_same(g, want) for g in got):
                    continue
                note = f"{path} does not hold {_shown(want)}: {_shown(shown, 120)}"
            else:
                if _same(got, want):
                    continue
                if _json_type(got) != _json_type(want):
                    kind = "type"
                note = f"{path} is {_shown(shown)}, expected {_shown(want)}"
            yield Difference(path, kind, want, shown, "breaking", "application", note=note)

    def save(self, ex: Exchange, paths: Mapping[str, str]) -> list[Difference]:
        found: list[Difference] = []
        for name, path in paths.items():
            value = extract(ex.json, path, default=_MISSING) if ex.is_json else _MISSING
            if value is _MISSING:
                note = f"cannot save {name}: no {path} in the answer"
                diff = Difference(path, "removed", "present", _ABSENT, "breaking", "application")
                diff.note = note
                found.append(diff)
            else:
                self.variables[name] = value
        return found

    def teardown(self) -> list[str]:
        errors: list[str] = []
        while self.undo:
            step, variables = self.undo.pop()
            # gone already: fine when the flow deleted something itself, else a finding
            ok = step.expect or (*_SUCCESS, *(_GONE if self.deleted else ()))
            what = f"{step.method} {step.path}"
            try:
                name = f"{self.flow.name}.teardown"
                ex = send_step(
                    self.client, self.catalog, step, variables, self.run_id, name=name, expect=ok
                )
            except ParityError as exc:
                errors.append(f"{what}: {_one_line(exc)}")
                continue
            if ex.ok:
                continue
            if ex.status in _GONE:
                errors.append(
                    f"{what} answered {ex.status}: it was gone before the teardown and the "
                    "flow deleted nothing; its id may have changed, and then it is still "
                    "there (parity cleanup --run-id finds it)"
                )
            else:
                errors.append(f"{what} answered {ex.status}: {short(_body(ex), 200)}")
        return errors


def run_flow(client: BackendClient, catalog: Catalog, flow: Flow, run_id: str) -> FlowOutcome:
    """Run ``flow`` against ``client``'s backend: its resources, its steps, its teardown.

    Never raises a :class:`~parity.core.errors.ParityError`: what went wrong is in the outcome
    (``error`` for what could not be judged, ``teardown`` for what was left).
    """
    outcome = FlowOutcome(flow.name, client.name)
    entered = False
    try:
        with provisioned(client, catalog, flow.uses, run_id, label=f"flow {flow.name}") as state:
            entered = True
            _FlowRun(client, catalog, flow, run_id, state, outcome).run()
    except ParityError as exc:
        if entered:  # the resources' teardown, after the steps
            outcome.teardown.append(_one_line(exc))
        else:
            outcome.error = f"set-up: {_one_line(exc)}"
    return outcome
