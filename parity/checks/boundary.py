"""Upload boundaries: direct multipart and presigned uploads of generated files, streamed,
hashed while they are sent, downloaded back and hashed again; and the bisection that finds
a backend's real direct-upload ceiling.

Nothing here knows the API: the routes, form fields, JSON bodies and answer paths come
from the catalog's ``checks.boundary`` section (:mod:`parity.core.checkspec`).

Memory: a file is never held whole. The payload is generated chunk by chunk
(:func:`parity.core.payloads.iter_payload`), hashed as httpx sends it (with an exact
``Content-Length``, so nothing is buffered to measure it), and the download is hashed as it
streams in: a 100 MB upload costs a couple of 1 MiB chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx

from parity.core.catalog import ROUTE_PARAM, Catalog, Endpoint
from parity.core.checkspec import Boundary, DirectUpload, FileTemplate, RequestTemplate
from parity.core.envelope import gateway_predicate
from parity.core.errors import BackendError, BackendTimeout, BackendUnreachable, ParityError
from parity.core.jsonpath import JsonPathError, extract
from parity.core.payloads import iter_payload, make_payload, streamable
from parity.core.results import Origin
from parity.core.templating import TemplateError, render
from parity.engine.auth import ANONYMOUS
from parity.engine.client import UNLIMITED_EXTENSION, BackendClient
from parity.engine.diff import Difference

__all__ = [
    "REJECTION_STATUSES",
    "BoundaryError",
    "CeilingResult",
    "HashingStream",
    "MemoryPeak",
    "Probe",
    "UploadOutcome",
    "Uploader",
    "bisect_ceiling",
    "download_sha256",
    "human_size",
    "judge_upload",
    "multipart_stream",
    "safe_threshold",
    "size_label",
]

#: Statuses that mean "too large" (413, or what a gateway answers when the Lambda event
#: limit is hit: real deployments have been seen answering 500/502/503/504).
REJECTION_STATUSES = frozenset({413, 500, 502, 503, 504})
CHUNK = 1024 * 1024
_EXCERPT = 300


class BoundaryError(ParityError):
    """An upload could not be judged (the probe itself is wrong, a step failed oddly)."""


def human_size(n: int | None) -> str:
    """``9437184`` -> ``"9 MiB (9,437,184 B)"``; ``4653056`` -> ``"4.44 MiB (4,653,056 B)"``."""
    if n is None:
        return "unknown"
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            value = n / scale
            shown = f"{value:.0f}" if value == int(value) else f"{value:.2f}"
            return f"{shown} {unit} ({n:,} B)"
    return f"{n:,} B"


class HashingStream:
    """Iterates ``chunks`` once, hashing (sha256) and counting the bytes as they pass."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._sha = hashlib.sha256()
        self.size = 0
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._sha.update(chunk)
            self.size += len(chunk)
            yield chunk
        self.done = True

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


def payload_chunks(size: int, content_type: str) -> Iterable[bytes]:
    if streamable(content_type):
        return iter_payload(size, content_type, CHUNK)
    return [make_payload(size, content_type)]  # images are small: built whole


def multipart_stream(
    fields: Mapping[str, str],
    file_field: str,
    filename: str,
    content_type: str,
    size: int,
) -> tuple[str, int, HashingStream, Iterator[bytes]]:
    """A ``multipart/form-data`` body streamed from the generated payload.

    Returns (the Content-Type header, the exact body length, the file's hashing stream,
    the body's chunks). The fields come first, then the file, like a browser's form.
    """
    boundary = f"parity-{secrets.token_hex(12)}"
    head = b""
    for name, value in fields.items():
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    safe_name = filename.replace('"', "%22")
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{safe_name}"\r\nContent-Type: {content_type}\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    stream = HashingStream(payload_chunks(size, content_type))

    def body() -> Iterator[bytes]:
        yield head
        yield from stream
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), stream, body()


def download_sha256(client: BackendClient, url: str) -> tuple[int, str, int]:
    """GET ``url`` (no credentials) streamed: (status, sha256 hex, size in bytes)."""
    sha = hashlib.sha256()
    size = 0
    http = client.client_for(ANONYMOUS)
    try:
        # streamed and hashed chunk by chunk: the response size limit does not apply
        with http.stream("GET", url, extensions={UNLIMITED_EXTENSION: True}) as response:
            for chunk in response.iter_bytes(CHUNK):
                sha.update(chunk)
                size += len(chunk)
            return response.status_code, sha.hexdigest(), size
    except httpx.HTTPError as exc:
        raise BackendError(
            f"downloading the stored object from {url.split('?')[0]} failed "
            f"({type(exc).__name__}: {exc})",
            backend=client.name,
            url=url.split("?")[0],
            hint="The URL the backend handed out must be reachable from the suite",
        ) from None


def _excerpt(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:_EXCERPT]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class Probe:
    """One request of a ceiling search."""

    size: int
    accepted: bool
    status: int
    gateway: bool


@dataclass
class UploadOutcome:
    """What happened to one file on one backend through one path."""

    backend: str
    path: Literal["direct", "presigned"]
    size: int
    status: int  # the deciding answer: the upload's, or the step that refused
    step: str  # upload | presign | storage | complete
    accepted: bool
    gateway: bool  # the deciding answer is the gateway's own (the catalog's envelope.gateway)
    body: Any = None  # excerpt of the deciding answer
    sent_sha256: str | None = None  # of the bytes that went out
    stored_sha256: str | None = None  # what the answer says was stored
    downloaded_sha256: str | None = None  # of the bytes downloaded back
    downloaded_size: int | None = None
    download_status: int | None = None
    elapsed_s: float = 0.0
    problems: list[str] = field(default_factory=list)  # accepted, but something is wrong

    @property
    def rejected(self) -> bool:
        return not self.accepted and (self.status in REJECTION_STATUSES or self.status == 0)

    @property
    def intact(self) -> bool:
        """Accepted and the stored object is the uploaded one."""
        return self.accepted and not self.problems

    def describe(self) -> str:
        if self.accepted:
            verdict = f"accepted ({self.status})"
            if self.downloaded_sha256 is not None:
                same = self.downloaded_sha256 == self.sent_sha256
                verdict += ", stored object sha256 " + ("matches" if same else "DIFFERS")
        else:
            who = "gateway" if self.gateway else "application"
            verdict = f"refused at {self.step}: {self.status} ({who})"
        return verdict + (f"; {'; '.join(self.problems)}" if self.problems else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Uploader:
    """Uploads generated files to one backend the way the catalog's boundary section says.

    ``variables`` is the provisioned state (e.g. ``mocId``) plus ``run_id``.
    """

    def __init__(
        self,
        client: BackendClient,
        catalog: Catalog,
        spec: Boundary,
        variables: Mapping[str, Any],
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.spec = spec
        self.variables = dict(variables)
        # which refusals are the gateway's own: the catalog's envelope says (none: no gateway)
        self.is_gateway = gateway_predicate(catalog.envelope)

    # -- helpers -------------------------------------------------------------------------

    def _path(
        self, endpoint: Endpoint, params: Mapping[str, Any], values: Mapping[str, Any]
    ) -> str:
        wanted = {p: params.get(p, "{" + p + "}") for p in endpoint.route_params}

        def fill(m: Any) -> str:
            try:
                value = render(wanted[m.group(1)], values)
            except TemplateError as exc:
                raise BoundaryError(
                    f"no value for {{{exc.name}}} in the route of {endpoint.id}",
                    hint="Add the resource that saves it to checks.boundary.uses, or give "
                    "params: in the boundary section",
                ) from None
            return quote(str(value), safe="")

        return ROUTE_PARAM.sub(fill, endpoint.route)

    def _render(self, value: Any, values: Mapping[str, Any], where: str) -> Any:
        try:
            return render(value, values)
        except TemplateError as exc:
            raise BoundaryError(
                f"{where}: no value for {{{exc.name}}}",
                hint="Use {filename}, {content_type}, {size}, {sha256}, {run_id} or a saved "
                "variable",
            ) from None

    def _file_values(self, file: FileTemplate, size: int) -> dict[str, Any]:
        values = {**self.variables, "size": size, "content_type": file.content_type}
        values["filename"] = self._render(file.filename, values, "checks.boundary.file")
        return values

    def _extract(self, doc: Any, path: str | None) -> Any:
        if path is None:
            return None
        try:
            return extract(doc, path)
        except JsonPathError:
            return None

    def _verify(
        self,
        outcome: UploadOutcome,
        doc: Any,
        sha_path: str | None,
        url_path: str | None,
        download: bool,
    ) -> None:
        stored = self._extract(doc, sha_path)
        if sha_path is not None:
            outcome.stored_sha256 = str(stored) if stored is not None else None
            if stored is None:
                outcome.problems.append(f"the answer has no {sha_path}")
            elif str(stored).lower() != outcome.sent_sha256:
                outcome.problems.append(
                    f"{sha_path} is {stored}, the uploaded file's sha256 is {outcome.sent_sha256}"
                )
        url = self._extract(doc, url_path)
        if download and url_path is not None:
            if not isinstance(url, str) or not url:
                outcome.problems.append(f"the answer has no {url_path} to download from")
                return
            status, sha, size = download_sha256(self.client, url)
            outcome.download_status = status
            if status != 200:
                outcome.problems.append(f"downloading the stored object answered {status}")
                return
            outcome.downloaded_sha256, outcome.downloaded_size = sha, size
            if sha != outcome.sent_sha256 or size != outcome.size:
                sent = (outcome.sent_sha256 or "")[:12]
                outcome.problems.append(
                    f"the stored object ({size:,} B, sha256 {sha[:12]}...) is not the uploaded "
                    f"file ({outcome.size:,} B, sha256 {sent}...)"
                )

    # -- the two paths -------------------------------------------------------------------

    def direct(self, size: int, *, download: bool = True) -> UploadOutcome:
        """Upload a ``size``-byte file through the direct (multipart) endpoint."""
        spec: DirectUpload = self.spec.direct
        endpoint = self.catalog.get(spec.endpoint)
        values = self._file_values(self.spec.file, size)
        path = self._path(endpoint, spec.params, values)
        fields = {
            k: str(self._render(v, values, "checks.boundary.direct.fields"))
            for k, v in spec.fields.items()
        }
        ctype, length, stream, body = multipart_stream(
            fields, spec.file_field, values["filename"], self.spec.file.content_type, size
        )
        started = time.monotonic()
        try:
            response = self.client.request(
                endpoint.method,
                path,
                endpoint.role,
                content=body,
                headers={"Content-Type": ctype, "Content-Length": str(length)},
            )
        except (BackendUnreachable, BackendTimeout):
            raise
        except BackendError as exc:
            # A server may refuse a large body by closing the connection mid-upload
            # (status 0 below: no answer, counted as a rejection).
            return UploadOutcome(
                self.client.name,
                "direct",
                size,
                0,
                "upload",
                False,
                False,
                body=str(exc)[:_EXCERPT],
                elapsed_s=time.monotonic() - started,
            )
        doc = _json(response)
        outcome = UploadOutcome(
            backend=self.client.name,
            path="direct",
            size=size,
            status=response.status_code,
            step="upload",
            accepted=response.is_success,
            gateway=self.is_gateway(doc),
            body=_excerpt(response) if not response.is_success else None,
            sent_sha256=stream.sha256 if stream.done else None,
        )
        if outcome.accepted:
            if not stream.done or stream.size != size:
                outcome.problems.append("the backend answered before the whole file was sent")
            self._verify(outcome, doc, spec.sha256, spec.url, download)
        outcome.elapsed_s = round(time.monotonic() - started, 3)
        return outcome

    def _call(
        self, template: RequestTemplate, values: Mapping[str, Any], where: str
    ) -> httpx.Response:
        endpoint = self.catalog.get(template.endpoint)
        path = self._path(endpoint, template.params, values)
        body = self._render(template.json_body, values, where)
        return self.client.request(endpoint.method, path, endpoint.role, json=body)

    def presigned(self, size: int, *, download: bool = True) -> UploadOutcome:
        """presign -> PUT the bytes to the storage URL -> complete, for a ``size``-byte file."""
        spec = self.spec.presigned
        if spec is None:
            raise BoundaryError(
                "the catalog's boundary section has no presigned: flow",
                hint="Declare presign, upload and complete under checks.boundary.presigned",
            )
        values = self._file_values(self.spec.file, size)
        started = time.monotonic()

        def refused(step: str, response: httpx.Response) -> UploadOutcome:
            doc = _json(response)
            return UploadOutcome(
                backend=self.client.name,
                path="presigned",
                size=size,
                status=response.status_code,
                step=step,
                accepted=False,
                gateway=self.is_gateway(doc),
                body=_excerpt(response),
                elapsed_s=round(time.monotonic() - started, 3),
            )

        response = self._call(spec.presign, values, "checks.boundary.presigned.presign")
        if not response.is_success:
            return refused("presign", response)
        doc = _json(response)
        for name, jpath in spec.presign.save.items():
            value = self._extract(doc, jpath)
            if value is None:
                raise BoundaryError(
                    f"{self.client.name}: the presign answer has no {jpath} "
                    f"(status {response.status_code})",
                    hint="Fix checks.boundary.presigned.presign.save in the catalog",
                )
            values[name] = value
        url = str(self._render(spec.upload.url, values, "checks.boundary.presigned.upload.url"))
        headers = {
            k: str(self._render(v, values, "checks.boundary.presigned.upload.headers"))
            for k, v in spec.upload.headers.items()
        }
        stream = HashingStream(payload_chunks(size, self.spec.file.content_type))
        headers["Content-Length"] = str(size)
        put = self.client.request(
            spec.upload.method, url, ANONYMOUS, content=stream, headers=headers
        )
        if not put.is_success:
            return refused("storage", put)
        values["sha256"] = stream.sha256
        response = self._call(spec.complete, values, "checks.boundary.presigned.complete")
        if not response.is_success:
            outcome = refused("complete", response)
            outcome.sent_sha256 = stream.sha256
            return outcome
        outcome = UploadOutcome(
            backend=self.client.name,
            path="presigned",
            size=size,
            status=response.status_code,
            step="complete",
            accepted=True,
            gateway=False,
            sent_sha256=stream.sha256,
        )
        self._verify(outcome, _json(response), spec.complete.sha256, spec.complete.url, download)
        outcome.elapsed_s = round(time.monotonic() - started, 3)
        return outcome


# --- the ceiling ---------------------------------------------------------------------------


@dataclass
class CeilingResult:
    """``accepted`` is the largest size seen accepted (0: none tried), ``rejected`` the
    smallest seen rejected (``None``: even ``high`` was accepted, the ceiling is above it)."""

    accepted: int
    rejected: int | None
    precision: int
    probes: list[Probe] = field(default_factory=list)

    @property
    def above_range(self) -> bool:
        return self.rejected is None

    def describe(self) -> str:
        if self.rejected is None:
            return f"at least {human_size(self.accepted)} (the largest size tried)"
        return (
            f"{human_size(self.accepted)} (largest accepted; {human_size(self.rejected)} rejected)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "precision": self.precision,
            "probes": [asdict(p) for p in self.probes],
        }


def bisect_ceiling(probe: Callable[[int], Probe], high: int, precision: int) -> CeilingResult:
    """Find the largest accepted size, to within ``precision`` bytes, with sizes on the
    ``precision`` grid (so the same limits always give the same answer).

    ``probe(size)`` uploads a file and says whether it was accepted. ``high`` is tried
    first: accepted means the ceiling is at least ``high`` and nothing else is tried.
    About ``log2(high / precision) + 1`` probes.
    """
    if precision <= 0 or high < precision:
        raise ValueError("need 0 < precision <= high")
    high -= high % precision
    result = CeilingResult(accepted=0, rejected=None, precision=precision)
    first = probe(high)
    result.probes.append(first)
    if first.accepted:
        result.accepted = high
        return result
    lo, hi = 0, high  # lo accepted (0: assumed), hi rejected
    while hi - lo > precision:
        mid = lo + ((hi - lo) // precision // 2) * precision
        outcome = probe(mid)
        result.probes.append(outcome)
        if outcome.accepted:
            lo = mid
        else:
            hi = mid
    result.accepted, result.rejected = lo, hi
    return result


def safe_threshold(accepted: Iterable[int], margin: int, precision: int) -> int:
    """The largest size on the ``precision`` grid at least ``margin`` below every
    backend's largest accepted size: a client-side direct-upload cutoff safe on all of
    them (headers and the multipart envelope of a real browser differ a little)."""
    lowest = min(accepted)
    value = max(0, lowest - margin)
    return value - value % precision


# --- judging ---------------------------------------------------------------------------


def size_label(n: int) -> str:
    """``9437184`` -> ``"9MiB"`` (scenario names and finding paths)."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n % scale == 0:
            return f"{n // scale}{unit}"
    return f"{n}B"


def judge_upload(
    outcome: UploadOutcome, *, must_accept: bool, reference: UploadOutcome | None = None
) -> list[Difference]:
    """Findings about one upload: refused where the reference (Express) or the plan takes
    it, accepted where the reference refuses it, or stored differently from what was sent.

    The finding's path is ``<path>.<size>`` (``direct.9MiB``), so a baseline entry can
    accept exactly the findings it means; its origin is ``gateway`` when the refusal came in
    API Gateway's shape.
    """
    name = f"{outcome.path}.{size_label(outcome.size)}"
    what = f"{outcome.backend} {outcome.path} upload of {human_size(outcome.size)}"
    origin: Origin = "gateway" if outcome.gateway else "application"
    answer = f"{outcome.status} {_short(outcome.body)}".strip()
    if outcome.accepted:
        found = [
            Difference(
                f"{name}.sha256",
                "value",
                outcome.sent_sha256,
                outcome.downloaded_sha256,
                "breaking",
                "application",
                note=f"{what}: {problem}",
            )
            for problem in outcome.problems
        ]
        if reference is not None and not reference.accepted:
            found.append(
                Difference(
                    name,
                    "status",
                    reference.status,
                    outcome.status,
                    "breaking",
                    "application",
                    note=f"{what} accepted ({outcome.status}) what {reference.backend} "
                    f"refuses ({reference.status})",
                )
            )
        return found
    if reference is not None and reference.accepted:
        return [
            Difference(
                name,
                "status",
                reference.status,
                outcome.status,
                "breaking",
                origin,
                note=f"{what} refused at {outcome.step}: {answer} ({origin}); "
                f"{reference.backend} accepts it ({reference.status})",
            )
        ]
    if must_accept:
        return [
            Difference(
                name,
                "status",
                "2xx",
                outcome.status,
                "breaking",
                origin,
                note=f"{what} refused at {outcome.step}: {answer} ({origin}); the plan "
                "sends files of this size this way",
            )
        ]
    if not outcome.rejected:
        return [
            Difference(
                name,
                "status",
                "2xx or 413",
                outcome.status,
                "breaking",
                origin,
                note=f"{what} answered {answer}: neither stored nor refused as too large",
            )
        ]
    return []


def _short(body: Any, limit: int = 80) -> str:
    if body is None:
        return ""
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class MemoryPeak:
    """Peak memory while the block runs: Python allocations (tracemalloc) and the
    process's resident set (sampled every 5 ms from /proc, Linux; 0 elsewhere)."""

    def __init__(self) -> None:
        self.traced_peak = 0
        self.rss_peak_delta = 0
        self._stop = threading.Event()
        self._rss_start = 0
        self._rss_max = 0
        self._thread: threading.Thread | None = None
        self._started_tracing = False

    @staticmethod
    def _rss() -> int:
        try:
            with open("/proc/self/statm", "rb") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self._rss_max = max(self._rss_max, self._rss())

    def __enter__(self) -> MemoryPeak:
        self._started_tracing = not tracemalloc.is_tracing()
        if self._started_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._rss_start = self._rss_max = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._rss_max = max(self._rss_max, self._rss())
        _, self.traced_peak = tracemalloc.get_traced_memory()
        if self._started_tracing:
            tracemalloc.stop()
        self.rss_peak_delta = max(0, self._rss_max - self._rss_start)
