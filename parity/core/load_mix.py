"""The load mix as data: which catalog scenarios the simulated users of ``parity load`` run,
how often, and as whom (the catalog's ``checks.load``, :class:`parity.core.checkspec.LoadChecks`).

Nothing here knows the API: a task is a catalog scenario, sent the way a check sends it
(its ``uses:`` and ``steps:`` first, its deletes after, placeholders filled by the engine),
and every request is named by its route template (``GET /things/{thingId}``), so the load
figures line up per endpoint with the matrix and the gate. Without ``checks.load`` the mix
is the catalog's read-only scenarios (GET, no set-up, only 2xx expected) at equal weight,
each sent as the catalog says.

Writes run only when the mix declares them (``writes: true``) and the target allows them
(``PARITY_LOAD_WRITES``, set by ``parity load`` from the production guard); elsewhere the
writing tasks are left out and the mix says so.

:func:`build_mix` resolves the mix; a :class:`Player` is one simulated user, which sends its
requests through a :data:`Sender` (the locustfile's, over Locust's HTTP client: the engine
itself needs nothing from Locust).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parity.core import jsonpath
from parity.core.catalog_model import (
    BUILTIN_VARIABLES,
    ROLE_CREDENTIALS,
    Catalog,
    Endpoint,
    RequestParts,
    Scenario,
    Step,
    role_variable_prefix,
)
from parity.core.errors import UsageError
from parity.core.prepared import prepare, prepare_step, unique_value
from parity.core.templating import placeholders

if TYPE_CHECKING:  # pragma: no cover
    from parity.core.checkspec import LoadChecks

__all__ = [
    "ANONYMOUS",
    "DELETE_TRIES",
    "LoadAnswer",
    "LoadRequest",
    "Mix",
    "Player",
    "Sender",
    "Task",
    "UserKind",
    "build_mix",
    "default_cases",
    "mix_problems",
]

ANONYMOUS = "anonymous"
#: A delete of what a user created is tried this often before it is left for ``on_stop``
#: (every try is counted: a failed one is an error of the target).
DELETE_TRIES = 3
#: Variables a load request may use that no task saves: the run id, the per-run and
#: per-request unique values, and tokens (passwords never reach the load processes).
_GIVEN = frozenset({"run_id", "unique", "nonce", "token"})
_SUCCESS = tuple(range(200, 300))
_GONE = (404, 410)  # a retried delete whose earlier try went through


@dataclass(frozen=True)
class Task:
    """A resolved task: its scenario, weight, what it saves and how it gets its state."""

    id: str  # "endpoint-id/scenario-name"
    endpoint: Endpoint
    scenario: Scenario
    weight: int
    save: Mapping[str, str]
    setup: bool  # True: the scenario's uses/steps/creates; False: variables saved by others
    writes: bool
    needs: frozenset[str]  # variables taken from what other tasks saved (setup False)
    roles: frozenset[str]  # the roles the catalog sends its requests as


@dataclass(frozen=True)
class UserKind:
    name: str
    roles: tuple[str, ...]  # () = each request as the catalog sends it
    weight: int
    tasks: tuple[Task, ...]

    def feeder(self, variable: str) -> Task | None:
        """The task of this kind that saves ``variable``."""
        return next((t for t in self.tasks if variable in t.save), None)


@dataclass(frozen=True)
class Mix:
    users: tuple[UserKind, ...]
    declared: bool  # from checks.load (False: the default read-only mix)
    left_out: tuple[str, ...] = ()  # what was dropped and why, one line each

    def roles(self) -> list[str]:
        """The logged-in roles whose tokens the mix needs, in first-use order."""
        found: dict[str, None] = {}
        for kind in self.users:
            for role in kind.roles or [r for t in kind.tasks for r in sorted(t.roles)]:
                if role != ANONYMOUS:
                    found[role] = None
        return list(found)

    def summary(self) -> str:
        """One line: the users, their weights and tasks (``parity load`` prints it)."""
        kinds = "; ".join(
            f"{k.name} x{k.weight} ({', '.join(k.roles) or 'as the catalog says'}): "
            + ", ".join(f"{t.id}*{t.weight}" for t in k.tasks)
            for k in self.users
        )
        origin = "checks.load" if self.declared else "default: the read-only scenarios"
        return f"load mix ({origin}): {kinds}"


# --- what a scenario needs ------------------------------------------------------------


def _steps(catalog: Catalog, scenario: Scenario) -> list[Step]:
    """Every set-up and teardown request the scenario's own state needs."""
    steps: list[Step] = []
    for name in catalog.resource_order(scenario.uses):
        resource = catalog.resources[name]
        steps.append(resource.create)
        if resource.delete is not None:
            steps.append(resource.delete)
    steps.extend(scenario.steps)
    if scenario.creates is not None:
        steps.append(scenario.creates.delete)
    return steps


def _parts_vars(parts: RequestParts, first: Any) -> set[str]:
    multipart = parts.multipart
    values = [
        first,
        parts.query,
        parts.headers,
        parts.json_body,
        parts.body,
        multipart and multipart.fields,
        multipart and [f.filename for f in multipart.files.values()],
    ]
    return {name for value in values for name in placeholders(value)}


def _saved_by_setup(catalog: Catalog, scenario: Scenario) -> set[str]:
    saved: set[str] = set()
    for name in catalog.resource_order(scenario.uses):
        resource = catalog.resources[name]
        saved |= set(resource.save) | set(resource.create.save)
    for step in scenario.steps:
        saved |= set(step.save)
    if scenario.creates is not None:
        saved |= set(scenario.creates.save)
    return saved


def _credential_vars(names: Iterable[str]) -> set[str]:
    """The placeholders of ``names`` that are credentials (``{password}``,
    ``{bob_token}``...)."""
    out = set()
    for name in names:
        head, _, what = name.rpartition("_")
        if name in ROLE_CREDENTIALS or (head and what in ROLE_CREDENTIALS):
            out.add(name)
    return out


def _request_vars(catalog: Catalog, task_setup: bool, scenario: Scenario) -> set[str]:
    """Every placeholder the task's requests fill in."""
    names = _parts_vars(scenario, scenario.params)
    if task_setup:
        for step in _steps(catalog, scenario):
            names |= _parts_vars(step, step.path)
    return names


def _writes(catalog: Catalog, endpoint: Endpoint, scenario: Scenario, setup: bool) -> bool:
    if setup:
        return catalog.writes(endpoint, scenario)
    return not endpoint.read_only or scenario.creates is not None


def _task(catalog: Catalog, id: str, weight: int, save: Mapping[str, str], setup: bool) -> Task:
    endpoint_id, _, name = id.partition("/")
    endpoint = catalog.get(endpoint_id)
    scenario = endpoint.scenario(name)
    needs: frozenset[str] = frozenset()
    if not setup:
        own = _request_vars(catalog, False, scenario)
        needs = frozenset(own - _GIVEN - _credential_vars(own) - BUILTIN_VARIABLES)
    return Task(
        id, endpoint, scenario, weight, dict(save), setup,
        _writes(catalog, endpoint, scenario, setup), needs,
        frozenset(_all_roles(catalog, scenario, setup)),
    )  # fmt: skip


def _all_roles(catalog: Catalog, scenario: Scenario, setup: bool) -> set[str]:
    roles = {scenario.role}
    if setup:
        roles |= {s.role for s in _steps(catalog, scenario)}
    return roles


def default_cases(catalog: Catalog) -> list[tuple[Endpoint, Scenario]]:
    """The read-only scenarios a default mix runs: GET, no ``uses``/``steps``/``creates``,
    every expected status 2xx, and no placeholder but the run id, the unique values and
    tokens (a password never goes into a load run)."""
    out = []
    for case in catalog.cases():
        endpoint, scenario = case.endpoint, case.scenario
        if endpoint.method != "GET" or scenario.uses or scenario.steps or scenario.creates:
            continue
        if not all(200 <= s < 300 for s in scenario.expect):
            continue
        names = _request_vars(catalog, True, scenario)
        tokens = {n for n in names if n == "token" or n.endswith("_token")}
        if names - _GIVEN - tokens:
            continue
        out.append((endpoint, scenario))
    return out


# --- validation (catalog load) ---------------------------------------------------------

Problem = tuple[tuple[Any, ...], str, str]


def mix_problems(spec: LoadChecks, catalog: Catalog) -> Iterator[Problem]:
    """What the models cannot check in ``checks.load``: ``(location, problem, hint)``,
    located under ``checks``."""
    roles = set(catalog.roles) | {ANONYMOUS}
    names: set[str] = set()
    for i, kind in enumerate(spec.users):
        loc: tuple[Any, ...] = ("load", "users", i)
        if kind.name in names:
            yield (*loc, "name"), f"user kind {kind.name!r} declared twice", "Name each once"
        names.add(kind.name)
        for k, role in enumerate(kind.roles):
            if role not in roles:
                hint = f"Use one of {', '.join(sorted(roles))}"
                yield (*loc, "as", k), f"unknown role {role!r}", hint
        anonymous_only = bool(kind.roles) and set(kind.roles) == {ANONYMOUS}
        saved = {v for t in kind.tasks for v in t.save}
        for j, spec_task in enumerate(kind.tasks):
            tloc = (*loc, "tasks", j)
            try:
                task = _task(
                    catalog, spec_task.scenario, spec_task.weight, spec_task.save,
                    spec_task.setup == "catalog",
                )  # fmt: skip
            except KeyError as exc:
                what = exc.args[0] if exc.args else str(exc)
                yield (
                    (*tloc, "scenario"),
                    f"unknown scenario {spec_task.scenario!r}: {what}",
                    "Name a scenario of the catalog as endpoint-id/scenario-name",
                )
                continue
            sent_as = task.roles - {ANONYMOUS}
            if anonymous_only and sent_as:
                yield (
                    (*tloc, "scenario"),
                    f"{task.id} sends requests as {', '.join(sorted(sent_as))}, but user "
                    f"kind {kind.name!r} is anonymous",
                    "Give the kind a logged-in role (as:), or pick an anonymous scenario",
                )
            if task.writes and not spec.writes:
                yield (
                    (*tloc, "scenario"),
                    f"{task.id} writes ({task.endpoint.key}, or its set-up does)",
                    "Set writes: true in checks.load to let the mix write (only where the "
                    "target allows writes), or pick a read-only scenario",
                )
            used = _request_vars(catalog, task.setup, task.scenario)
            passwords = {
                n for n in _credential_vars(used) if not (n == "token" or n.endswith("_token"))
            }
            if passwords:
                yield (
                    (*tloc, "scenario"),
                    f"{task.id} sends {{{sorted(passwords)[0]}}}: a load run carries tokens "
                    "only, never passwords",
                    "Pick a scenario that needs no password",
                )
            missing = sorted(task.needs - saved)
            if missing:
                yield (
                    (*tloc, "setup"),
                    f"{task.id} (setup: saved) needs {{{missing[0]}}}, which no task of "
                    f"{kind.name!r} saves",
                    f"Add save: {{{missing[0]}: <JSON path>}} to a task that lists them, or "
                    "use setup: catalog",
                )


# --- the mix -------------------------------------------------------------------------------


def build_mix(
    catalog: Catalog,
    *,
    writes_allowed: bool,
    usable: Callable[[str], bool] | None = None,
) -> Mix:
    """The mix to run: ``checks.load`` when declared, else the default read-only one.

    ``usable(role)``: whether the run has credentials for a logged-in role (None: all);
    tasks and kinds that need one it lacks are left out, with the reason. Raises
    :class:`UsageError` when nothing is left to run.
    """
    usable = usable or (lambda role: True)
    left: list[str] = []
    spec = catalog.checks.load
    kinds: list[UserKind] = []
    if spec is None:
        tasks = [_task(catalog, f"{e.id}/{s.name}", 1, {}, True) for e, s in default_cases(catalog)]
        kinds.append(UserKind("reader", (), 1, tuple(tasks)))
    else:
        for users in spec.users:
            tasks = [
                _task(catalog, t.scenario, t.weight, t.save, t.setup == "catalog")
                for t in users.tasks
            ]
            kinds.append(UserKind(users.name, tuple(users.roles), users.weight, tuple(tasks)))
    out: list[UserKind] = []
    for kind in kinds:
        roles = tuple(r for r in kind.roles if r == ANONYMOUS or usable(r))
        if kind.roles and not roles:
            left.append(f"{kind.name}: no credentials for {', '.join(kind.roles)}")
            continue
        keep: list[Task] = []
        for task in kind.tasks:
            if task.writes and not writes_allowed:
                left.append(f"{kind.name}: {task.id} writes, and writes are not allowed")
                continue
            lacking = sorted(
                r for r in task.roles if r != ANONYMOUS and not kind.roles and not usable(r)
            )
            if lacking:
                left.append(f"{kind.name}: {task.id} needs credentials for {lacking[0]}")
                continue
            keep.append(task)
        # a task whose variables no kept task saves cannot run either
        saved = {v for t in keep for v in t.save}
        for task in [t for t in keep if t.needs - saved]:
            left.append(f"{kind.name}: {task.id} needs what a left-out task saves")
            keep.remove(task)
        if keep and kind.weight > 0:
            out.append(UserKind(kind.name, roles, kind.weight, tuple(keep)))
        elif kind.weight > 0:
            left.append(f"{kind.name}: no task left")
    if not out:
        where = "checks.load" if spec is not None else "the catalog's read-only scenarios"
        raise UsageError(
            f"the load mix has nothing to run ({where}" + (f"; {'; '.join(left)}" if left else "")
            + ")",
            hint="Declare checks.load in the catalog (docs/catalog.md), allow writes "
            "(--allow-writes) for a writing mix, or give the roles credentials",
        )  # fmt: skip
    return Mix(tuple(out), spec is not None, tuple(left))


# --- one simulated user ------------------------------------------------------------------


@dataclass
class LoadRequest:
    """One request as the load client sends it."""

    name: str  # the route template: what Locust groups the figures by
    method: str
    path: str  # a path on the host, or an absolute URL (a presigned upload)
    role: str  # the role whose credentials it carries (anonymous: none)
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    has_json: bool = False
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    content: bytes | None = None
    expected: tuple[int, ...] = _SUCCESS  # statuses that count as a success


@dataclass(frozen=True)
class LoadAnswer:
    status: int  # 0: no answer (the sender recorded the failure)
    body: Any = None  # the parsed JSON, or None

    def ok(self, expected: Iterable[int]) -> bool:
        return self.status in set(expected)


Sender = Callable[[LoadRequest], LoadAnswer]


class _Variables(Mapping[str, Any]):
    """Saved variables plus the tokens of the run (``{token}`` is the request's role's)."""

    def __init__(self, variables: Mapping[str, Any], role: str, tokens: Mapping[str, str]):
        self._variables, self._role, self._tokens = variables, role, tokens
        self._prefixes = {role_variable_prefix(r): r for r in tokens}

    def _token(self, name: str) -> str | None:
        if name == "token":
            return self._tokens.get(self._role)
        head, _, what = name.rpartition("_")
        role = self._prefixes.get(head + "_") if what == "token" else None
        return self._tokens.get(role) if role is not None else None

    def __contains__(self, name: object) -> bool:
        return name in self._variables or (isinstance(name, str) and self._token(name) is not None)

    def __getitem__(self, name: str) -> Any:
        if name in self._variables:
            return self._variables[name]
        token = self._token(name)
        if token is None:
            raise KeyError(name)
        return token

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)


def _pick(value: Any) -> Any:
    """A saved list stands for its values: each use takes one at random."""
    return random.choice(value) if isinstance(value, list) else value


def _has(value: Any) -> bool:
    return value is not None and value != []


class Player:
    """One simulated user: runs tasks of its kind through ``send``, keeps what its tasks
    save, deletes what it creates (retrying, and once more when it stops)."""

    def __init__(
        self,
        catalog: Catalog,
        kind: UserKind,
        role: str | None,
        send: Sender,
        *,
        run_id: str,
        tokens: Mapping[str, str],
        auth_header: str = "Authorization",
        auth_template: str = "Bearer {token}",
    ) -> None:
        self.catalog, self.kind, self.role, self.send = catalog, kind, role, send
        self.run_id, self.tokens = run_id, tokens
        self.auth_header, self.auth_template = auth_header, auth_template
        self.saved: dict[str, Any] = {}
        self.leftovers: list[tuple[Step, dict[str, Any]]] = []

    # -- requests ----------------------------------------------------------------------

    def _as(self, role: str) -> str:
        """Who sends a request the catalog sends as ``role``: the user, when its kind
        names roles and the catalog's request is a logged-in one."""
        if self.role is None or role == ANONYMOUS:
            return role
        return self.role

    def _name(self, method: str, path: str) -> str:
        endpoint = self.catalog.find(method, path) if path.startswith("/") else None
        return endpoint.key if endpoint is not None else f"{method} {path}"

    def _variables(self, variables: Mapping[str, Any], role: str) -> Mapping[str, Any]:
        return _Variables({**variables, "nonce": unique_value(self.run_id)}, role, self.tokens)

    def _finish(self, request: LoadRequest, role: str, name: str) -> LoadRequest:
        request.role, request.name = role, name
        token = self.tokens.get(role) if role != ANONYMOUS else None
        have = {k.lower() for k in request.headers}
        if token is not None and self.auth_header.lower() not in have:
            request.headers[self.auth_header] = self.auth_template.format(token=token)
        return request

    def _scenario_request(self, task: Task, variables: Mapping[str, Any]) -> LoadRequest:
        role = self._as(task.scenario.role)
        prepared = prepare(task.endpoint, task.scenario, self._variables(variables, role))
        request = LoadRequest(
            task.endpoint.key, prepared.method, prepared.path, role, dict(prepared.params),
            dict(prepared.headers), prepared.json, prepared.has_json, prepared.data,
            prepared.files, prepared.content, tuple(task.scenario.expect),
        )  # fmt: skip
        return self._finish(request, role, task.endpoint.key)

    def _step_request(self, step: Step, variables: Mapping[str, Any]) -> LoadRequest:
        # the runner's own filling-in of a step (it has no public name yet)
        role = self._as(step.role)
        prepared = prepare_step(step, self._variables(variables, role), self.kind.name)
        request = LoadRequest(
            "", prepared.method, prepared.path, role, dict(prepared.params),
            dict(prepared.headers), prepared.json, prepared.has_json, prepared.data,
            prepared.files, prepared.content, tuple(step.expect or _SUCCESS),
        )  # fmt: skip
        return self._finish(request, role, self._name(step.method, step.path))

    def _save(self, into: dict[str, Any], body: Any, paths: Mapping[str, str]) -> bool:
        for name, path in paths.items():
            try:
                into[name] = jsonpath.extract(body, path)
            except jsonpath.JsonPathError:
                return False
        return True

    # -- tasks -------------------------------------------------------------------------

    def run(self, task: Task, depth: int = 0) -> None:
        """Run ``task``; one whose variables are not saved yet runs the task that saves
        them instead (a details page needs a list page first)."""
        if not task.setup:
            missing = [v for v in sorted(task.needs) if not _has(self.saved.get(v))]
            if missing:
                feeder = self.kind.feeder(missing[0])
                if feeder is not None and feeder is not task and depth < 3:
                    self.run(feeder, depth + 1)
                return
            variables = {
                "run_id": self.run_id,
                **{v: _pick(self.saved[v]) for v in task.needs},
            }
            answer = self.send(self._scenario_request(task, variables))
            if answer.ok(task.scenario.expect):
                self._keep(task, answer.body)
            return
        self._run_with_setup(task)

    def _keep(self, task: Task, body: Any) -> None:
        found: dict[str, Any] = {}
        for name, path in task.save.items():
            if self._save(found, body, {name: path}) and _has(found[name]):
                self.saved[name] = found[name]

    def _run_with_setup(self, task: Task) -> None:
        scenario = task.scenario
        variables: dict[str, Any] = {"run_id": self.run_id, "unique": unique_value(self.run_id)}
        undo: list[tuple[Step, dict[str, Any]]] = []
        try:
            for name in self.catalog.resource_order(scenario.uses):
                resource = self.catalog.resources[name]
                request = self._step_request(resource.create, variables)
                answer = self.send(request)
                if not answer.ok(request.expected):
                    return
                saves = {**resource.create.save, **resource.save}
                if not self._save(variables, answer.body, saves):
                    return
                if resource.delete is not None:
                    undo.append((resource.delete, dict(variables)))
            for step in scenario.steps:
                request = self._step_request(step, variables)
                answer = self.send(request)
                if not answer.ok(request.expected) or not self._save(
                    variables, answer.body, step.save
                ):
                    return
            request = self._scenario_request(task, variables)
            answer = self.send(request)
            creates = scenario.creates
            made = creates is not None and answer.ok(_SUCCESS)
            if made and creates is not None and self._save(variables, answer.body, creates.save):
                undo.append((creates.delete, dict(variables)))
            if answer.ok(request.expected):
                self._keep(task, answer.body)
        finally:
            for step, saved in reversed(undo):
                self.delete(step, saved)

    def delete(self, step: Step, variables: Mapping[str, Any], retry: bool = False) -> None:
        """Send a teardown request, up to :data:`DELETE_TRIES` times; after a failed try
        404/410 are success too (that try may have deleted it before failing). What is
        still there is kept for :meth:`stop`."""
        for attempt in range(DELETE_TRIES):
            request = self._step_request(step, variables)
            if retry or attempt:
                request.expected = (*request.expected, *_GONE)
            if self.send(request).ok(request.expected):
                return
        self.leftovers.append((step, dict(variables)))

    def stop(self) -> None:
        """Try once more to delete what is left (the user is stopping)."""
        leftovers, self.leftovers = self.leftovers, []
        for step, variables in leftovers:
            self.delete(step, variables, retry=True)
