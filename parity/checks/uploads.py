"""Uploads of generated files: direct multipart and presigned, streamed, hashed while
they are sent, downloaded back and hashed again (what the boundary checks send; their
judgement and the ceiling search: :mod:`parity.checks.boundary`).

Nothing here knows the API: the routes, form fields, JSON bodies and answer paths come
from the catalog's ``checks.boundary`` section (:mod:`parity.core.checkspec`).

Memory: a file is never held whole. The payload is generated chunk by chunk
(:func:`parity.core.payloads.iter_payload`), hashed as httpx sends it (with an exact
``Content-Length``, so nothing is buffered to measure it), and the download is hashed as it
streams in: a 100 MB upload costs a couple of 1 MiB chunks.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
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
from parity.core.templating import TemplateError, render
from parity.engine.auth import ANONYMOUS
from parity.engine.client import BackendClient
from parity.engine.transport import UNLIMITED_EXTENSION

__all__ = [
    "REJECTION_STATUSES",
    "BoundaryError",
    "HashingStream",
    "UploadOutcome",
    "Uploader",
    "download_sha256",
    "multipart_stream",
    "payload_chunks",
]

#: Statuses that mean "too large" (413, or what a gateway answers when the Lambda event
#: limit is hit: real deployments have been seen answering 500/502/503/504).
REJECTION_STATUSES = frozenset({413, 500, 502, 503, 504})
CHUNK = 1024 * 1024
_EXCERPT = 300


class BoundaryError(ParityError):
    """An upload could not be judged (the probe itself is wrong, a step failed oddly)."""


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

    def _decided_by(
        self,
        response: httpx.Response,
        path: Literal["direct", "presigned"],
        size: int,
        step: str,
        started: float,
        *,
        gateway: bool | None = None,
    ) -> UploadOutcome:
        """The outcome ``response`` decides: accepted when it is a success, else refused
        with an excerpt of it; ``gateway``: whether it is the gateway's own answer (None:
        the catalog's envelope judges its body)."""
        return UploadOutcome(
            backend=self.client.name,
            path=path,
            size=size,
            status=response.status_code,
            step=step,
            accepted=response.is_success,
            gateway=self.is_gateway(_json(response)) if gateway is None else gateway,
            body=None if response.is_success else _excerpt(response),
            elapsed_s=round(time.monotonic() - started, 3),
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
        outcome = self._decided_by(response, "direct", size, "upload", started)
        outcome.sent_sha256 = stream.sha256 if stream.done else None
        if outcome.accepted:
            if not stream.done or stream.size != size:
                outcome.problems.append("the backend answered before the whole file was sent")
            self._verify(outcome, _json(response), spec.sha256, spec.url, download)
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
            return self._decided_by(response, "presigned", size, step, started)

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
        # a stored upload: the application's answer, whatever its body looks like
        outcome = self._decided_by(response, "presigned", size, "complete", started, gateway=False)
        outcome.sent_sha256 = stream.sha256
        self._verify(outcome, _json(response), spec.complete.sha256, spec.complete.url, download)
        outcome.elapsed_s = round(time.monotonic() - started, 3)
        return outcome
