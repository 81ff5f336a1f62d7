"""Find and delete what the suite left behind (``parity cleanup``).

Every resource the suite creates carries ``parity <run id>`` in a text field (its title or
name: the catalog's ``{run_id}`` placeholder, the smoke, e2e and load checks), and each
check deletes what it made in its teardown. A run killed midway (SIGKILL, a cancelled CI
job) cannot, so this module finds the stragglers **through the API, as each test user**,
which works against staging as well as the sandbox:

- the kinds of resources are the catalog's ``resources`` that have a ``delete`` step and a
  create path without parameters (nested ones, such as a MOC's files, go with their
  parent); the list of a kind is ``GET`` on its create path, page by page as the catalog's
  ``lists`` section says (``page``/``limit``, items at ``data.items``, total at
  ``data.total`` in this API), and an item's id is read at the path its ``save`` names
  (``data.id`` -> ``id``);
- an item is the run's when one of its text fields contains ``parity <run id>``; with
  ``older_than``, any suite-made item (a text field starting with ``parity``) whose
  ``createdAt`` is older than that;
- it is deleted with the kind's ``delete`` step, as the role that listed it; a 403 leaves it
  to its owner's turn (lists such as the public MOC list show everyone's), a 404 means it is
  already gone.

Objects in the bucket that no row points at (a presigned upload never completed) are not
visible through the API: :mod:`parity.engine.storage` sweeps those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from parity.core import jsonpath
from parity.core.catalog import Catalog, Lists, Step
from parity.core.errors import BackendError, UsageError
from parity.core.timestamps import parse_timestamp
from parity.engine.auth import ANONYMOUS
from parity.engine.client import Backends

__all__ = [
    "MARKER",
    "Kind",
    "Straggler",
    "cleanup",
    "kinds",
    "parse_duration",
    "require_selection",
    "run_marker",
]

#: The prefix of every title the suite writes: ``parity <run id> ...``.
MARKER = "parity"
MAX_PAGES = 500  # a bound, not a limit anyone should reach: 500 pages of one kind
_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def run_marker(run_id: str) -> re.Pattern[str]:
    """Matches ``parity <run id>`` (a title) and ``parity-<run id>-`` (a file name) as whole
    words, and a ``{unique}`` value ``p<run id>`` + 4 hex digits (a username, a slug):
    run ``ab12`` is not run ``ab123``."""
    rid = re.escape(run_id)
    return re.compile(
        rf"(?<![\w-]){MARKER} {rid}(?![\w-])|(?<![\w-]){MARKER}-{rid}-"
        rf"|p{rid}[0-9a-f]{{4}}(?![0-9a-f])"
    )


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string in a JSON value, nested ones included (bounded depth)."""
    if isinstance(value, str):
        yield value
    elif depth < 8 and isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif depth < 8 and isinstance(value, list):
        for item in value[:100]:
            yield from _strings(item, depth + 1)


def require_selection(run_id: str | None, older_than: object) -> None:
    """Cleanup deletes by run id or by age, never everything."""
    if run_id is None and older_than is None:
        raise UsageError(
            "nothing to select: give --run-id ID, --older-than DURATION, or both",
            hint="The run id is in the report header (run-id=...) and the matrix meta",
        )


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1h30m`` -> a timedelta; anything else is a
    :class:`UsageError` naming the option."""
    value = text.strip().lower()
    parts = _DURATION.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise UsageError(
            f"--older-than {text!r} is not a duration",
            hint="Use a number and a unit: 90s, 30m, 2h, 1d (or 1h30m)",
        )
    return sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta())


@dataclass(frozen=True)
class Kind:
    """One kind of resource the suite creates, as the catalog declares it."""

    name: str  # the catalog's resource name (moc, album, ...)
    list_path: str  # GET here lists them (the create path)
    id_key: str  # the item's id field (from the resource's save path)
    id_var: str  # the variable the delete path takes
    delete: Step


def kinds(catalog: Catalog) -> list[Kind]:
    """The deletable kinds, one per list path (``image`` and ``albumImage`` share one)."""
    out: dict[str, Kind] = {}
    for name, resource in catalog.resources.items():
        create, delete = resource.create, resource.delete
        if delete is None or "{" in create.path or create.path in out:
            continue
        saves = [(var, path) for var, path in resource.save.items() if f"{{{var}}}" in delete.path]
        if not saves:
            continue
        var, path = saves[0]
        out[create.path] = Kind(name, create.path, path.split(".")[-1], var, delete)
    return list(out.values())


@dataclass
class Straggler:
    """A resource found (and deleted, unless it was a dry run)."""

    backend: str
    kind: str
    id: str
    label: str  # the text field that carried the marker
    created_at: str | None
    role: str  # who listed it (and deleted it)
    state: str = "found"  # deleted | would delete | failed: <why>

    @property
    def failed(self) -> bool:
        return self.state.startswith("failed")


def _page_items(doc: Any, lists: Lists) -> Any:
    return doc if lists.items == "$" else jsonpath.extract(doc, lists.items, default=None)


def _total(resp: httpx.Response, doc: Any, lists: Lists) -> int | None:
    if lists.total_header:
        raw = resp.headers.get(lists.total_header, "")
        return int(raw) if raw.strip().isdigit() else None
    total = jsonpath.extract(doc, lists.total, default=None) if lists.total else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _first_params(lists: Lists) -> dict[str, Any]:
    if lists.style == "page":
        return {lists.page_param: lists.first_page, lists.limit_param: lists.page_size}
    if lists.style == "offset":
        return {lists.offset_param: 0, lists.limit_param: lists.page_size}
    if lists.style == "cursor":
        return {lists.limit_param: lists.page_size}
    return {}


def _items(
    backends: Backends, backend: str, role: str, kind: Kind, lists: Lists
) -> Iterator[dict[str, Any]]:
    """Every item the list path answers, page by page in the catalog's paging style."""
    client = backends[backend]
    target: str = kind.list_path
    params: dict[str, Any] | None = _first_params(lists)
    seen = 0
    visited: set[str] = set()
    for n in range(MAX_PAGES):
        resp = client.request("GET", target, role, params=params)
        if resp.status_code in (401, 403):
            return  # this role may not list this kind
        if resp.status_code != 200:
            raise BackendError(
                f"GET {kind.list_path} as {role} answered {resp.status_code}: cannot list "
                f"the {kind.name} resources",
                backend=backend,
                url=client.base_url,
                hint="Check that the backend is healthy and the catalog's create path lists",
            )
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        items = _page_items(doc, lists)
        if not isinstance(items, list):
            raise BackendError(
                f"GET {kind.list_path} as {role}: no list at {lists.items} in the answer",
                backend=backend,
                url=client.base_url,
                hint="Fix lists.items in the catalog to the JSON path of a page's items "
                "($ when the answer itself is the list)",
            )
        yield from (i for i in items if isinstance(i, dict))
        seen += len(items)
        total = _total(resp, doc, lists)
        following = resp.links.get("next", {}).get("url")
        if following:  # a Link header says where the next page is, whatever the style
            nxt = str(resp.url.join(following))
            if nxt in visited:  # a next link back to a page already read: the end
                return
            visited.add(nxt)
            target, params = nxt, None
            continue
        if lists.style == "none" or not items or (total is not None and seen >= total):
            return
        if lists.style == "cursor":
            cursor = (
                jsonpath.extract(doc, lists.next_cursor, default=None)
                if lists.next_cursor
                else None
            )
            if cursor in (None, ""):
                return
            params = {lists.limit_param: lists.page_size, lists.cursor_param: cursor}
            continue
        if len(items) < lists.page_size:
            return
        params = dict(_first_params(lists))
        if lists.style == "page":
            params[lists.page_param] = lists.first_page + n + 1
        else:
            params[lists.offset_param] = seen


def _created(item: dict[str, Any], field: str) -> datetime | None:
    return parse_timestamp(jsonpath.extract(item, field, default=None))


def _label(
    item: dict[str, Any], run_id: str | None, cutoff: datetime | None, created_field: str
) -> str | None:
    """The text field that makes ``item`` a straggler, or ``None``: any string at any
    depth (a tag inside a nested object counts) that carries the run's marker
    (``parity <run id>`` in a title, ``parity-<run id>-`` in a file name, or a
    ``{unique}`` natural key ``p<run id>xxxx``)."""
    texts = list(_strings(item))
    if run_id is not None:
        marker = run_marker(run_id)
        for text in texts:
            if marker.search(text):
                return text
    if cutoff is not None:
        created = _created(item, created_field)
        if created is not None and created < cutoff:
            for text in texts:
                if text.startswith(f"{MARKER} "):
                    return text
    return None


def cleanup(
    backends: Backends,
    catalog: Catalog,
    roles: Iterable[str],
    *,
    run_id: str | None = None,
    older_than: timedelta | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[Straggler]:
    """Find the run's (or the old) suite-made resources on every backend and delete them.

    Returns every resource found with its state; one that no role could delete is
    ``failed: ...``. Both backends may share one database: what one deleted, the other
    no longer lists."""
    require_selection(run_id, older_than)
    cutoff = (now or datetime.now(UTC)) - older_than if older_than is not None else None
    users = [r for r in roles if r != ANONYMOUS]
    found: dict[tuple[str, str], Straggler] = {}  # (list path, id): the first sighting
    for backend in backends:
        for kind in kinds(catalog):
            for role in users:
                for item in list(_items(backends, backend, role, kind, catalog.lists)):
                    ident = str(item.get(kind.id_key, ""))
                    label = _label(item, run_id, cutoff, catalog.lists.created_at)
                    key = (kind.list_path, ident)
                    if not ident or label is None:
                        continue
                    prior = found.get(key)
                    if prior is not None and not prior.state.startswith("failed: 403"):
                        continue  # handled (deleted, or would be)
                    created = jsonpath.extract(item, catalog.lists.created_at, default=None)
                    when = created if isinstance(created, str) else None
                    entry = Straggler(backend, kind.name, ident, label, when, role)
                    found[key] = entry
                    entry.state = "would delete" if dry_run else _delete(backends, entry, kind)
    return list(found.values())


def _delete(backends: Backends, entry: Straggler, kind: Kind) -> str:
    path = kind.delete.path.replace(f"{{{kind.id_var}}}", entry.id)
    status = backends[entry.backend].request(kind.delete.method, path, entry.role).status_code
    if 200 <= status < 300 or status == 404:  # 404: gone already (its own teardown won)
        return "deleted"
    return f"failed: {status} as {entry.role}"
