"""Named, deliberate divergences of the serverless flavour from the Express one.

The suite's self-tests start a sandbox with ``--drift NAME`` and prove that the check
meant to catch that kind of difference does.  Only the serverless flavour ever drifts:
the gateway asks :meth:`Drifts.filter_routes` for its route table, and the Lambda handler
wrapper passes each request and response through :meth:`Drifts.transform_request` and
:meth:`Drifts.transform_response` around ``Application.handle``.

Adding a drift = one small function decorated with ``@_drift(name, description, hook)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from sandbox.core.http import CoreRequest, CoreResponse
from sandbox.core.routes import Route

__all__ = ["DRIFTS", "Drifts"]

RouteFilter = Callable[[tuple[Route, ...]], tuple[Route, ...]]
RequestHook = Callable[[Route, CoreRequest], CoreRequest]
ResponseHook = Callable[[Route, CoreRequest, CoreResponse], CoreResponse]
Hook = Literal["routes", "request", "response"]


@dataclass(frozen=True)
class _Drift:
    name: str
    description: str
    hook: Hook
    fn: Callable[..., Any]


_REGISTRY: dict[str, _Drift] = {}


def _drift(name: str, description: str, hook: Hook) -> Callable[[Callable[..., Any]], Any]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = _Drift(name, description, hook, fn)
        return fn

    return register


# --- the drifts --------------------------------------------------------------------------


@_drift(
    "missing-endpoint",
    'GET /api/mocs/stats has no gateway route: serverless answers 404 {"message":"Not Found"}',
    "routes",
)
def _missing_endpoint(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    return tuple(r for r in routes if r.key != "GET /api/mocs/stats")


@_drift("status-code", "POST /api/mocs answers 200 instead of 201", "response")
def _status_code(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if route.key == "POST /api/mocs" and resp.status == 201:
        return replace(resp, status=200)
    return resp


# --- the mechanism -----------------------------------------------------------------------

DRIFTS: dict[str, str] = {d.name: d.description for d in _REGISTRY.values()}


class Drifts:
    """A validated set of active drifts and the hooks they contribute."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        wanted = sorted({n.strip() for n in names if n.strip()})
        unknown = [n for n in wanted if n not in _REGISTRY]
        if unknown:
            raise ValueError(
                f"unknown drift {', '.join(unknown)}: known drifts are {', '.join(sorted(DRIFTS))}"
            )
        self.names: tuple[str, ...] = tuple(wanted)
        self._active = [_REGISTRY[n] for n in wanted]

    def __bool__(self) -> bool:
        return bool(self.names)

    def __repr__(self) -> str:
        return f"Drifts({list(self.names)!r})"

    def _hooks(self, hook: Hook) -> list[Callable[..., Any]]:
        return [d.fn for d in self._active if d.hook == hook]

    def filter_routes(self, routes: tuple[Route, ...]) -> tuple[Route, ...]:
        for fn in self._hooks("routes"):
            routes = fn(routes)
        return routes

    def transform_request(self, route: Route, req: CoreRequest) -> CoreRequest:
        for fn in self._hooks("request"):
            req = fn(route, req)
        return req

    def transform_response(
        self, route: Route, req: CoreRequest, resp: CoreResponse
    ) -> CoreResponse:
        for fn in self._hooks("response"):
            resp = fn(route, req, resp)
        return resp
