"""Run one catalog scenario against one backend: setup, the request, teardown.

:func:`run_scenario` creates the resources the scenario ``uses`` (dependencies first),
runs its ``steps``, sends the request and returns an :class:`Exchange`. Teardown (the
resources' deletes and what a ``creates:`` scenario made) runs in reverse order whatever
happened; its failures are collected in ``Exchange.teardown_errors`` (or attached to the
exception in flight) and never replace the main result.

The API answers JSON: an answer whose body is not JSON (an HTML error page, an empty 200)
raises :class:`~parity.core.errors.UnexpectedAnswer` naming the content type and the first bytes
(redacted), and so does a redirect that loops. Other redirects are answers like any other
(never followed). ``expect_json=False`` lets a caller judge non-JSON bodies itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from parity.core.catalog import Catalog, Endpoint, Scenario, Step
from parity.core.errors import ParityError, SetupError, UnexpectedAnswer
from parity.core.jsonpath import JsonPathError, extract
from parity.core.prepared import (
    BOUNDARY,
    PreparedRequest,
    multipart_fields_only,
    prepare,
    prepare_step,
    unique_value,
)
from parity.core.redact import harvest, redact_text
from parity.engine.client import ATTEMPTS_EXTENSION, BackendClient
from parity.engine.credentials import RequestVariables

__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "Exchange",
    "provisioned",
    "run_scenario",
    "run_variants",
    "send_prepared",
    "send_step",
]

#: Request headers never kept in an Exchange (they carry credentials).
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-amz-security-token"}
)
REDACTED = "[redacted]"
_FIRST_BYTES = 120  # of a body that is not JSON, in error messages
#: Answers that carry no body by definition.
_BODYLESS_STATUS = frozenset({204, 205, 304})


@dataclass
class Exchange:
    """One request and its answer, as checks and reports consume it.

    Request headers are redacted (:data:`SENSITIVE_HEADERS`); response headers have
    lower-case names.
    """

    backend: str
    endpoint: str  # catalog endpoint id
    scenario: str
    role: str
    method: str
    route: str  # the template, e.g. /api/items/{itemId}
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int
    headers: dict[str, str]
    json: Any = None
    text: str | None = None  # the body when it is not JSON
    elapsed_ms: float = 0.0
    expected: tuple[int, ...] = ()
    saved: dict[str, Any] = field(default_factory=dict)
    teardown_errors: list[str] = field(default_factory=list)
    run_id: str = ""
    attempts: int = 1  # > 1: the request was re-sent after a connection-level failure

    @property
    def ok(self) -> bool:
        """The status is one the catalog expects."""
        return self.status in self.expected

    @property
    def is_json(self) -> bool:
        return self.text is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def send_prepared(request: PreparedRequest, client: BackendClient) -> httpx.Response:
    """Send a prepared request through ``client`` as its role."""
    content, headers, data, files = request.content, request.headers, request.data, request.files
    if files is not None and not files:
        # httpx would send fields without files urlencoded; the catalog said multipart.
        content = multipart_fields_only(data or {})
        headers = {**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        data = files = None
    return client.request(
        request.method,
        request.path,
        request.role,
        params=request.params or None,
        json=request.json if request.has_json else None,
        content=content,
        files=files,
        data=data,
        headers=headers,
    )


_TEXTUAL = ("text/", "application/xml", "application/javascript", "+xml", "+json")


def _body_text(response: httpx.Response, answers: str) -> str:
    """A body that is not JSON, as the checks compare it: text as text, anything else
    (an image, a PDF, bytes that are no UTF-8) by content type, length and digest, so
    two identical files compare equal and never flood a report."""
    ctype = response.headers.get("content-type", "").lower()
    raw = response.content
    if not raw:
        # Nothing to read, whatever the Content-Type says (a HEAD, a 204, an empty 201):
        # two empty bodies are equal; the headers check compares the content types.
        return ""
    textual = any(t in ctype for t in _TEXTUAL) or (not ctype and answers != "binary")
    if answers != "binary" and textual:
        try:
            return raw.decode(response.encoding or "utf-8")
        except (LookupError, UnicodeDecodeError):
            pass
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return f"<binary {ctype or 'no content type'}, {len(raw)} bytes, sha256 {digest}>"


def _first_bytes(response: httpx.Response) -> str:
    """How a body that is not JSON starts: its content type and first bytes, redacted."""
    ctype = response.headers.get("content-type") or "no content type"
    raw = response.content
    if not raw:
        return f"empty body, {ctype}"
    head = raw[:_FIRST_BYTES].decode("utf-8", errors="replace")
    head = " ".join(redact_text(head).split())
    more = "..." if len(raw) > _FIRST_BYTES else ""
    return f"{ctype}, {len(raw)} bytes: {head!r}{more}"


def _excerpt(response: httpx.Response) -> str:
    """The answer's body, compact (no key of any API's error shape assumed)."""
    try:
        doc = response.json()
    except ValueError:
        return f"not JSON ({_first_bytes(response)})"
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str)[:200]


class _Run:
    """State of one scenario run: variables so far and what to undo."""

    def __init__(self, client: BackendClient, label: str, variables: dict[str, Any]) -> None:
        self.client = client
        self.label = label
        self.variables = variables
        self.run_id = str(variables.get("run_id", ""))
        variables.setdefault("unique", unique_value(self.run_id))
        self.undo: list[tuple[str, Step, dict[str, Any]]] = []
        #: A DELETE of this run answered 2xx: a resource then missing at teardown may be
        #: the one it deleted. Without one, a 404 at teardown is a finding.
        self.deleted = False

    def sent(self, request: PreparedRequest, response: httpx.Response) -> None:
        if request.method == "DELETE" and response.is_success:
            self.deleted = True

    def setup_error(self, what: str, problem: str, hint: str) -> SetupError:
        return SetupError(
            f"{self.label} on {self.client.name}: {what}: {problem}",
            backend=self.client.name,
            url=self.client.base_url,
            hint=hint,
        )

    def scope(self, role: str, variables: Mapping[str, Any] | None = None) -> RequestVariables:
        """What one request of ``role`` may fill in: saved variables, a fresh ``nonce``
        and the credentials."""
        variables = {**(self.variables if variables is None else variables)}
        variables["nonce"] = unique_value(self.run_id)
        return RequestVariables(variables, role, self.client.users, self.client.auth)

    def step(self, what: str, step: Step) -> httpx.Response:
        request = prepare_step(step, self.scope(step.role), f"{self.label}: {what}")
        response = send_prepared(request, self.client)
        self.sent(request, response)
        _no_redirect_loop(self.client, request.method, request.path, response)
        expected = step.expect or ()
        if (response.status_code not in expected) if expected else not response.is_success:
            want = ", ".join(map(str, expected)) or "2xx"
            raise self.setup_error(
                what,
                f"{request.method} {request.path} as {request.role} answered "
                f"{response.status_code} (expected {want}): {_excerpt(response)}",
                "The scenario cannot run without it; check that this request works on "
                "its own (role login, payload) or fix the step in the catalog",
            )
        return response

    def save(self, what: str, response: httpx.Response, paths: Mapping[str, str]) -> None:
        if not paths:
            return
        try:
            doc = response.json()
        except ValueError:
            doc = None
        harvest(doc)  # a setup's login answer: its token is redacted by value from now on
        for name, path in paths.items():
            try:
                self.variables[name] = extract(doc, path)
            except JsonPathError:
                raise self.setup_error(
                    what,
                    f"cannot save {name}: no {path} in the answer "
                    f"(status {response.status_code}: {_excerpt(response)})",
                    "Fix the save: path in the catalog",
                ) from None

    def teardown(self) -> list[str]:
        errors: list[str] = []
        #: Paths an earlier step of this teardown deleted: two undo steps may name one
        #: resource (a scenario's ``creates:`` and the ``uses:`` resource it changed).
        undone: set[str] = set()
        while self.undo:
            what, step, variables = self.undo.pop()
            try:
                request = prepare_step(
                    step, self.scope(step.role, variables), f"{self.label}: {what}"
                )
                response = send_prepared(request, self.client)
                if request.method == "DELETE" and response.is_success:
                    undone.add(request.path)
                # 404/410 means already gone: fine when this run deleted something (the
                # scenario may have deleted it itself, or this teardown did), a finding
                # otherwise (the candidate changed its id or slug, or deleted it as a side
                # effect): never a silent leak.
                gone = (404, 410) if self.deleted or request.path in undone else ()
                ok = step.expect or (*range(200, 300), *gone)
                if response.status_code in (404, 410) and response.status_code not in ok:
                    errors.append(
                        f"{what}: {request.method} {request.path} answered "
                        f"{response.status_code}: it was gone before its teardown, and this "
                        "run deleted nothing; its id or slug may have changed, and then it "
                        "is still there (parity cleanup --run-id finds it)"
                    )
                elif response.status_code not in ok:
                    errors.append(
                        f"{what}: {request.method} {request.path} answered "
                        f"{response.status_code}: {_excerpt(response)}"
                    )
            except ParityError as exc:
                errors.append(f"{what}: {exc}")
            except Exception as exc:  # a teardown bug must not hide the result either
                errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return errors


def _no_redirect_loop(
    client: BackendClient, method: str, path: str, response: httpx.Response
) -> None:
    loop = client.redirect_loop(response) if response.is_redirect else None
    if loop is not None:
        chain = " -> ".join(urlsplit(u).path or "/" for u in loop)
        raise UnexpectedAnswer(
            f"{client.name} backend answered {method} {path} with a redirect loop "
            f"({response.status_code}: {chain})",
            backend=client.name,
            url=client.base_url,
            hint="The suite does not follow redirects; fix the route or the proxy in front",
        )


def _unjudgeable(
    client: BackendClient,
    request: PreparedRequest,
    response: httpx.Response,
    endpoint: str = "",
) -> None:
    """Raise :class:`UnexpectedAnswer` for a redirect loop, or a body that is not JSON
    where the status promises one and the catalog declares JSON (``answers: json``)."""
    what = f"{client.name} backend answered {request.method} {request.path}"
    status = response.status_code
    if response.is_redirect:
        _no_redirect_loop(client, request.method, request.path, response)
        return  # a redirect is an answer: compared, never followed
    bodyless = status in _BODYLESS_STATUS or status < 200 or request.method in ("HEAD", "OPTIONS")
    if bodyless and not response.content:
        return
    try:
        response.json()
    except ValueError:
        raise UnexpectedAnswer(
            f"{what} {status} with a body that is not JSON ({_first_bytes(response)})",
            backend=client.name,
            url=client.base_url,
            hint=(
                f"The catalog says {endpoint or 'this endpoint'} answers JSON (answers: json, "
                "the default). If this body is by design, declare answers: text (or binary, "
                "empty, any) on the endpoint or the scenario; otherwise look for a proxy, CDN "
                "or error page in front of the API"
            ),
        ) from None


def _exchange(
    client: BackendClient,
    endpoint: Endpoint,
    scenario: Scenario,
    request: PreparedRequest,
    response: httpx.Response,
    run_id: str,
) -> Exchange:
    sent = response.request
    headers = {
        k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in sent.headers.items()
    }
    body_json: Any = None
    text: str | None = None
    try:
        body_json = response.json()
    except ValueError:
        text = _body_text(response, endpoint.answers_of(scenario))
    harvest(body_json)  # a token this answer hands out is redacted by value from now on
    try:
        elapsed_ms = response.elapsed.total_seconds() * 1000
    except RuntimeError:  # not set by some transports
        elapsed_ms = 0.0
    return Exchange(
        backend=client.name,
        endpoint=endpoint.id,
        scenario=scenario.name,
        role=scenario.role,
        method=request.method,
        route=endpoint.route,
        url=str(sent.url),
        request_headers=headers,
        request_body=request.summary(),
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        json=body_json,
        text=text,
        elapsed_ms=round(elapsed_ms, 3),
        expected=scenario.expect,
        run_id=run_id,
        attempts=int(response.extensions.get(ATTEMPTS_EXTENSION, 1)),
    )


def run_scenario(
    client: BackendClient,
    catalog: Catalog,
    endpoint: Endpoint,
    scenario: Scenario,
    run_id: str,
    *,
    variables: Mapping[str, Any] | None = None,
    expect_json: bool = True,
) -> Exchange:
    """Set up, send the scenario's request to ``client``'s backend, tear down.

    Raises :class:`~parity.core.errors.SetupError` when a setup request fails (teardown still
    runs; its errors are in the exception's ``teardown_errors`` and notes),
    :class:`~parity.core.errors.UnexpectedAnswer` for an answer that is not JSON (unless
    ``expect_json`` is False) or a redirect loop, and the transport errors of
    :class:`~parity.engine.client.BackendClient`.
    """
    return run_variants(
        client,
        catalog,
        endpoint,
        scenario,
        [scenario],
        run_id,
        variables=variables,
        expect_json=expect_json,
    )[0]


def _provision(run: _Run, catalog: Catalog, names: Iterable[str]) -> None:
    for name in catalog.resource_order(names):
        resource = catalog.resources[name]
        response = run.step(f"resource {name} (create)", resource.create)
        run.save(f"resource {name}", response, {**resource.create.save, **resource.save})
        if resource.delete is not None:
            run.undo.append((f"resource {name} (delete)", resource.delete, dict(run.variables)))
        else:  # declared undeletable: counted, never silent
            run.client.note_left(name, resource.leaves or "")


def send_step(
    client: BackendClient,
    step: Step,
    variables: Mapping[str, Any],
    run_id: str,
    *,
    label: str = "step",
) -> httpx.Response:
    """One catalog step (a resource's create or delete, a ``creates:`` delete) sent as the
    catalog spells it, body and headers included, its placeholders filled from
    ``variables``; the answer, unjudged."""
    run = _Run(client, label, {**variables, "run_id": run_id})
    return send_prepared(prepare_step(step, run.scope(step.role), label), client)


@contextmanager
def provisioned(
    client: BackendClient,
    catalog: Catalog,
    names: Iterable[str],
    run_id: str,
    *,
    label: str = "provisioned state",
    deletes: bool = False,
) -> Iterator[dict[str, Any]]:
    """Create the named resources (and what they use) on ``client``'s backend, yield the
    saved variables (plus ``run_id``), and delete them again whatever happens.

    For checks that send many requests against the same state (the boundary uploads).
    ``deletes``: the block itself may delete what was provisioned (a generated DELETE sent
    by another client), so a resource gone at teardown is no finding. Teardown failures are
    raised as :class:`~parity.core.errors.SetupError` after the block, unless the block itself
    raised (then they are attached as a note).
    """
    run = _Run(client, label, {"run_id": run_id})
    run.deleted = deletes
    try:
        _provision(run, catalog, names)
        yield run.variables
    except BaseException as exc:
        errors = run.teardown()
        if errors:
            exc.add_note("teardown also failed: " + "; ".join(errors))
        raise
    errors = run.teardown()
    if errors:
        raise run.setup_error("teardown", "; ".join(errors), "Delete the leftovers by hand")


def run_variants(
    client: BackendClient,
    catalog: Catalog,
    endpoint: Endpoint,
    scenario: Scenario,
    variants: Sequence[Scenario],
    run_id: str,
    *,
    variables: Mapping[str, Any] | None = None,
    expect_json: bool = True,
) -> list[Exchange]:
    """Set up ``scenario``'s state once (its resources and steps), send each of
    ``variants`` in turn (the same request as another role, with other headers or
    params...), then tear down once.

    The variants' own ``uses`` and ``steps`` are ignored: the state is the base scenario's.
    What a variant creates (``creates:``) is deleted with the rest. Errors as
    :func:`run_scenario`.
    """
    run = _Run(client, f"{endpoint.id}/{scenario.name}", {**(variables or {}), "run_id": run_id})
    exchanges: list[Exchange] = []
    try:
        _provision(run, catalog, scenario.uses)
        for number, step in enumerate(scenario.steps, start=1):
            response = run.step(f"step {number}", step)
            run.save(f"step {number}", response, step.save)
        for variant in variants:
            request = prepare(endpoint, variant, run.scope(variant.role))
            response = send_prepared(request, client)
            run.sent(request, response)
            creates = variant.creates
            cleanup: str | None = None
            if creates is not None and response.is_success:
                # Before judging the answer: what it created is deleted whatever it says.
                try:
                    run.save("creates", response, creates.save)
                except SetupError as exc:
                    cleanup = f"cannot clean up what it created: {exc}"
                    # left behind, and counted (summary.left_behind), never silent
                    client.note_left(
                        endpoint.id, "created, but its answer gives nothing to delete it by"
                    )
                else:
                    run.undo.append(("created (delete)", creates.delete, dict(run.variables)))
            answers = endpoint.answers_of(variant)
            if (expect_json and answers == "json") or response.is_redirect:
                _unjudgeable(client, request, response, endpoint.id)
            exchange = _exchange(client, endpoint, variant, request, response, run_id)
            if cleanup is not None:
                exchange.teardown_errors.append(cleanup)
            exchanges.append(exchange)
    except BaseException as exc:
        errors = run.teardown()
        if errors:
            if isinstance(exc, ParityError):
                exc.teardown_errors = tuple(errors)
            exc.add_note("teardown also failed: " + "; ".join(errors))
        raise
    saved = {k: v for k, v in run.variables.items() if k not in ("run_id", "unique")}
    errors = run.teardown()
    for exchange in exchanges:
        exchange.saved = dict(saved)
    if exchanges:
        exchanges[-1].teardown_errors += errors
    return exchanges
