"""The API's envelope convention (the catalog's top-level ``envelope:``): what every JSON
answer of the API looks like, and the answers a gateway in front of it gives instead.

The engine knows no envelope of its own: the keys, the values they must have and where an
error keeps its message and code are data, declared in the catalog::

    envelope:
      success:                          # answers with a status below 400
        present: [status, message, data]   # JSON paths that must be there (null is there)
        values: {status: success}          # path -> the value it must have
        types: {message: string}           # path -> JSON type (string, number, integer,
                                           #   boolean, object, array, null)
      error:                            # answers with a status of 400 or more
        present: [status, message, data]
        values: {status: error, data: null}
        message: message                   # where an error's text is (must be a string)
        code: error.code                   # where its code is (must be there, not empty)
      gateway:                          # what a gateway answers itself, before the API runs
        backends: [serverless]             # who is behind one (empty: any backend)
        statuses: [401, 403, 404, 413, 500, 503, 504]   # (empty: any status)
        keys: [message]                    # its body has exactly these keys
        message: message                   # where its text is
        messages: [Unauthorized, Not Found]   # its fixed texts (empty: any text)

``envelope: none`` (or no section at all): the API has no envelope, and the checks judge
the status only. Either shape may be left out (``error: none``) to judge the other only.

:func:`judge` says what is wrong with one answer, one :class:`Problem` per failed
condition; :func:`envelope_problems` is the same as one line per problem, for checks that
need no more (the smoke flows).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from parity.core import jsonpath

__all__ = [
    "JSON_TYPES",
    "Envelope",
    "ErrorShape",
    "Gateway",
    "Judgement",
    "Problem",
    "Shape",
    "envelope_problems",
    "gateway_predicate",
    "json_type",
    "judge",
    "text_paths",
]

JsonType = Literal["string", "number", "integer", "boolean", "object", "array", "null"]
JSON_TYPES: tuple[str, ...] = ("string", "number", "integer", "boolean", "object", "array", "null")
_ABSENT = "(absent)"  # how a missing value shows in a Problem, as in parity.engine.diff


def _none(value: Any) -> Any:
    # "envelope: none" reads better in a catalog than "envelope: null"; both mean none.
    return None if isinstance(value, str) and value.strip().lower() == "none" else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Shape(_Model):
    """One kind of answer (success or error): conditions on JSON paths."""

    present: list[str] = []
    values: dict[str, Any] = {}
    types: dict[str, JsonType] = {}
    #: Where the answer's human text is; it must be a string. Also what the differential
    #: checks call cosmetic when it differs.
    message: str | None = None

    @field_validator("present")
    @classmethod
    def _present(cls, values: list[str]) -> list[str]:
        return [jsonpath.validated(v) for v in values]

    @field_validator("values", "types")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            jsonpath.validated(key)
        return value

    @field_validator("message")
    @classmethod
    def _message(cls, value: str | None) -> str | None:
        return None if value is None else jsonpath.validated(value)


class ErrorShape(Shape):
    #: Where an error's code is: it must be there and not empty (null or "").
    code: str | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return None if value is None else jsonpath.validated(value)


Backend = Literal["express", "serverless"]


class Gateway(_Model):
    """A gateway's own answers (API Gateway's ``{"message": "Not Found"}``): recognised by
    their exact keys (and texts); allowed from ``backends`` with ``statuses`` only."""

    backends: list[Backend] = []
    statuses: list[Annotated[int, Field(ge=100, le=599)]] = []
    keys: list[str] = Field(min_length=1)
    message: str | None = None
    messages: list[str] = []

    @field_validator("message")
    @classmethod
    def _message(cls, value: str | None) -> str | None:
        return None if value is None else jsonpath.validated(value)

    @model_validator(mode="after")
    def _texts_need_their_path(self) -> Gateway:
        if self.messages and self.message is None:
            raise ValueError("messages need message: the JSON path of the gateway's text")
        return self

    def matches(self, body: Any) -> bool:
        """Whether ``body`` is shaped like the gateway's own answer."""
        if not isinstance(body, dict) or set(body) != set(self.keys):
            return False
        if not self.messages:
            return True
        text = jsonpath.extract(body, self.message, default=None) if self.message else None
        # (a str check first: a non-string message, e.g. a list, is not hashable)
        return isinstance(text, str) and text in self.messages

    def allows(self, backend: str | None, status: int) -> bool:
        """Whether ``backend`` may answer ``status`` in the gateway's shape (``backend``
        None: any backend the convention names)."""
        by_backend = backend is None or not self.backends or backend in self.backends
        return by_backend and (not self.statuses or status in self.statuses)


Maybe = BeforeValidator(_none)


class Envelope(_Model):
    success: Annotated[Shape | None, Maybe] = None
    error: Annotated[ErrorShape | None, Maybe] = None
    gateway: Annotated[Gateway | None, Maybe] = None

    def shape_for(self, status: int) -> Shape | None:
        """The shape an answer with ``status`` must have (None: not judged)."""
        return self.error if status >= 400 else self.success


#: The catalog's ``envelope:`` field: ``none`` is no envelope.
OptionalEnvelope = Annotated[Envelope | None, Maybe]


@dataclass(frozen=True)
class Problem:
    """One failed condition: the JSON path, what kind of difference (the kinds of
    :class:`parity.engine.diff.Difference`), what was wanted and what the answer had."""

    path: str
    kind: Literal["removed", "value", "type", "body"]
    expected: Any
    actual: Any
    note: str


@dataclass(frozen=True)
class Judgement:
    problems: list[Problem] = field(default_factory=list)
    #: The answer is shaped like the gateway's own (allowed or not: see ``problems``).
    gateway: bool = False

    @property
    def origin(self) -> Literal["gateway", "application"]:
        return "gateway" if self.gateway else "application"


def json_type(value: Any) -> str:
    """The JSON type of a parsed JSON value (``integer`` for an int, ``number`` for a float)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_type(value: Any, wanted: str) -> bool:
    got = json_type(value)
    return got == wanted or (wanted == "number" and got == "integer")


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, 1 is 1.0
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shape_problems(shape: Shape, status: int, body: Any) -> list[Problem]:
    found: list[Problem] = []
    absent: set[str] = set()

    def get(path: str) -> Any:
        try:
            return jsonpath.extract(body, path)
        except jsonpath.JsonPathError:  # (extract's default=MISSING means "raise")
            return jsonpath.MISSING

    def missing(path: str, wanted: Any) -> None:
        if path not in absent:
            absent.add(path)
            found.append(Problem(path, "removed", wanted, _ABSENT, f"no {path} on a {status}"))

    for path in shape.present:
        if get(path) is jsonpath.MISSING:
            missing(path, "present")
    for path, want in shape.values.items():
        got = get(path)
        if got is jsonpath.MISSING:
            missing(path, want)
        elif not _same(got, want):
            note = f"{path} is {_short(got, 60)} on a {status}, not {_short(want, 60)}"
            found.append(Problem(path, "value", want, got, note))
    wanted_types = dict(shape.types)
    if shape.message is not None:
        wanted_types.setdefault(shape.message, "string")
    for path, kind in wanted_types.items():
        got = get(path)
        if got is jsonpath.MISSING:
            missing(path, _a(kind))
        elif not _is_type(got, kind):
            note = f"{path} is {_short(got, 60)}, not {_a(kind)}"
            found.append(Problem(path, "type", kind, json_type(got), note))
    code = shape.code if isinstance(shape, ErrorShape) else None
    if code is not None:
        got = get(code)
        if got is jsonpath.MISSING:
            missing(code, "an error code")
        elif got is None or got == "":
            note = f"{code} is {_short(got, 40)}: an error without its code"
            found.append(Problem(code, "value", "an error code", got, note))
    return found


def judge(
    envelope: Envelope | None, status: int, body: Any, backend: str | None = None
) -> Judgement:
    """What is wrong with a JSON answer (``body`` parsed) of ``status`` from ``backend``,
    as ``envelope`` declares (None: nothing to judge; the status is the caller's)."""
    if envelope is None:
        return Judgement()
    gateway = envelope.gateway
    if gateway is not None and gateway.matches(body):
        if gateway.allows(backend, status):
            return Judgement([], gateway=True)
        who = backend or "a backend"
        note = f"a gateway-shaped body {_short(body, 120)} from {who} with {status}"
        return Judgement([Problem("$", "body", "the application envelope", body, note)], True)
    shape = envelope.shape_for(status)
    if shape is None:
        return Judgement()
    what = "error" if status >= 400 else "success"
    code = shape.code if isinstance(shape, ErrorShape) else None
    conditions = shape.present or shape.values or shape.types or shape.message or code
    if conditions and not isinstance(body, dict | list):
        note = f"the body is {_short(body, 120)}, not the {what} envelope"
        return Judgement([Problem("$", "body", f"the {what} envelope", body, note)])
    return Judgement(_shape_problems(shape, status, body))


def envelope_problems(
    envelope: Envelope | None, status: int, body: Any, backend: str | None = None
) -> list[str]:
    """One line per failed condition of a JSON answer (empty: it has the envelope, or is
    an allowed gateway answer, or the API declares no envelope)."""
    return [p.note for p in judge(envelope, status, body, backend).problems]


def text_paths(envelope: Envelope | None) -> tuple[str, ...]:
    """The JSON paths of human text (the messages): a change there is cosmetic."""
    if envelope is None:
        return ()
    parts: Iterable[Shape | Gateway | None] = (envelope.success, envelope.error, envelope.gateway)
    return tuple(dict.fromkeys(p.message for p in parts if p is not None and p.message))


def gateway_predicate(envelope: Envelope | None) -> Callable[[Any], bool]:
    """``body -> bool``: whether a body is the declared gateway's own answer (never, when
    the API declares no gateway)."""
    gateway = envelope.gateway if envelope is not None else None
    if gateway is None:
        return lambda body: False
    return gateway.matches
