"""Differences between the reference answer (Express) and the candidate's (serverless).

:func:`compare` diffs status, the headers that matter (:mod:`parity.core.normalize`) and the body
(the JSON diff of :mod:`parity.engine.bodies`), and gives every difference a kind, a
severity and an origin:

- severity ``breaking`` (status, type, missing field, missing endpoint, changed value,
  order), ``additive`` (a new field or header) or ``cosmetic`` (human text: the paths the
  catalog's envelope names as messages);
- origin ``gateway`` when one side's answer is the gateway's own (as the catalog's
  ``envelope.gateway`` describes it), or for CORS headers (the gateway's CORS configuration
  replaces whatever the integration sends); ``application`` otherwise.

Without a catalog (``compare(text=None, gateway=None)``) a ``message`` key is text and no
answer is a gateway's: which answers are a gateway's is the catalog's to declare, never a
default of the code.

Learned noise (paths that differ between two reference answers) and declared rules (catalog
``noise:``) are applied here, and what they removed is returned too: nothing is dropped
silently. A value under noise is still compared by its format
(:func:`~parity.core.normalize.value_format`: a timestamp's notation, an id's kind, a URL's
host, a token's kind): a changed format is a ``format`` difference. Headers that differ
only in spelling (normalised away) come back as noise hits of source ``normalised``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from parity.core.normalize import (
    HeaderRules,
    NoiseKind,
    Part,
    PathPattern,
    Rules,
    classify_noise,
    format_path,
    relevant_headers,
    spelling_differences,
    value_format,
)
from parity.core.results import Origin, Severity
from parity.engine.bodies import ABSENT, Known, json_type, raw_diffs, reorder

__all__ = [
    "SEVERITY_ORDER",
    "TEXT_FIELDS",
    "Answer",
    "Comparison",
    "Difference",
    "GatewayRule",
    "Kind",
    "Noise",
    "NoiseHit",
    "TextRule",
    "compare",
    "diff_body",
    "diff_headers",
    "diff_status",
    "learn_noise",
    "no_gateway",
    "text_rule",
    "worst_severity",
]

Kind = Literal[
    "status",
    "missing-endpoint",
    "value",
    "type",
    "added",
    "removed",
    "item-added",
    "item-removed",
    "order",
    "body",
    "header-added",
    "header-removed",
    "header-changed",
    # a value under noise (not compared) whose format changed
    "format",
]

#: Keys holding human text: a changed value there is cosmetic, not breaking. The built-in
#: rule, for callers without a catalog; the checks pass the catalog envelope's message
#: paths instead (:func:`text_rule`), and its gateway (:data:`GatewayRule`).
TEXT_FIELDS = frozenset({"message"})
#: Whether a body path holds human text (a change there is cosmetic).
TextRule = Callable[[Sequence[Part]], bool]
#: Whether a body is the gateway's own answer (not the application's): the catalog's
#: ``envelope.gateway`` (:func:`parity.core.envelope.gateway_predicate`).
GatewayRule = Callable[[Any], bool]
SEVERITY_ORDER: tuple[Severity, ...] = ("cosmetic", "additive", "breaking")


@dataclass
class Answer:
    """One response as compared: status, headers (any case) and the parsed JSON body, or
    the text when it is not JSON."""

    status: int
    headers: dict[str, str]
    body: Any = None
    text: str | None = None  # set when the body is not JSON

    @property
    def is_json(self) -> bool:
        return self.text is None


@dataclass
class Difference:
    path: str  # "status", a header name, or a JSON path ("data.items[0].id", "$")
    kind: Kind
    expected: Any  # the reference's value ("(absent)" when it has none)
    actual: Any  # the candidate's value
    severity: Severity
    origin: Origin
    accepted_by: str | None = None  # the baseline entry that accepts it
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Difference:
        return cls(**data)


@dataclass
class NoiseHit:
    """A path where the two reference answers differed, or a declared rule applied."""

    path: str
    # normalised: a header spelt differently with the same meaning (reported, cosmetic)
    source: Literal["learned", "declared", "normalised"]
    kind: NoiseKind
    values: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Noise:
    """What differed between two answers of the reference to the same request."""

    status: bool = False
    headers: dict[str, list[Any]] = field(default_factory=dict)
    body: list[tuple[tuple[Part, ...], list[Any]]] = field(default_factory=list)

    def hits(self) -> list[NoiseHit]:
        out: list[NoiseHit] = []
        if self.status:
            out.append(NoiseHit("status", "learned", "other"))
        for name, values in sorted(self.headers.items()):
            out.append(
                NoiseHit(f"header {name}", "learned", classify_noise([name], values), values)
            )
        for parts, values in self.body:
            out.append(
                NoiseHit(format_path(parts), "learned", classify_noise(parts, values), values)
            )
        return out

    def covers(self, parts: Sequence[Part]) -> bool:
        return any(len(parts) >= len(p) and tuple(parts[: len(p)]) == p for p, _ in self.body)

    def samples(self, parts: Sequence[Part]) -> list[Any] | None:
        """The two reference values at exactly ``parts`` (None: the noise lies above)."""
        return next((list(s) for p, s in self.body if p == tuple(parts)), None)

    def type_is_stable(self, parts: Sequence[Part], value: Any) -> bool:
        """Both reference answers had a value of ``value``'s JSON type at exactly ``parts``:
        the value is noise, its type is not."""
        for p, samples in self.body:
            if p == tuple(parts):
                return all(v is not None and json_type(v) == json_type(value) for v in samples)
        return False


@dataclass
class Comparison:
    """The differences per check (``status``, ``headers``, ``envelope``) and what noise
    and declared rules took out."""

    status: list[Difference] = field(default_factory=list)
    headers: list[Difference] = field(default_factory=list)
    envelope: list[Difference] = field(default_factory=list)
    noise: list[NoiseHit] = field(default_factory=list)

    def by_check(self) -> dict[str, list[Difference]]:
        return {"status": self.status, "headers": self.headers, "envelope": self.envelope}


def no_gateway(body: Any) -> bool:
    """The :data:`GatewayRule` of an API that declares no gateway: no answer is a gateway's."""
    return False


def _origin(expected: Answer, actual: Answer, gateway: GatewayRule = no_gateway) -> Origin:
    return "gateway" if gateway(expected.body) or gateway(actual.body) else "application"


def worst_severity(diffs: Iterable[Difference]) -> Severity | None:
    found = {d.severity for d in diffs}
    return next((s for s in reversed(SEVERITY_ORDER) if s in found), None)


def diff_status(
    expected: Answer,
    actual: Answer,
    *,
    noise: Noise | None = None,
    gateway: GatewayRule = no_gateway,
) -> list[Difference]:
    if expected.status == actual.status or (noise is not None and noise.status):
        return []
    missing = actual.status == 404 and expected.status != 404 and gateway(actual.body)
    return [
        Difference(
            "status",
            "missing-endpoint" if missing else "status",
            expected.status,
            actual.status,
            "breaking",
            _origin(expected, actual, gateway),
            note="no route on the candidate: the gateway answered 404" if missing else "",
        )
    ]


def diff_headers(
    expected: Answer,
    actual: Answer,
    *,
    noise: Noise | None = None,
    cors: bool = True,
    gateway: GatewayRule = no_gateway,
    cors_gateway: bool = False,
    headers: HeaderRules | None = None,
) -> list[Difference]:
    """Differences of the :data:`~parity.core.normalize.COMPARED_HEADERS` (``cors``: whether the
    request carried an ``Origin``, see :func:`~parity.core.normalize.relevant_headers`).
    ``cors_gateway``: a gateway in front answers CORS (API Gateway's CORS configuration),
    so a difference in an ``Access-Control-*`` header is the gateway's; without one (an
    API whose envelope declares no gateway) it is the application's. ``headers``: the
    catalog's ``checks.headers`` (more headers compared; spellings that matter: a header
    spelt differently with the same meaning is then a breaking ``header-changed``)."""
    exp = relevant_headers(expected.headers, cors=cors, rules=headers)
    act = relevant_headers(actual.headers, cors=cors, rules=headers)
    body_origin = _origin(expected, actual, gateway)
    diffs: list[Difference] = []
    for name in sorted(set(exp) | set(act)):
        if noise is not None and name in noise.headers:
            continue
        e, a = exp.get(name), act.get(name)
        if e == a:
            continue
        cors_header = cors_gateway and name.startswith("access-control-")
        origin: Origin = "gateway" if cors_header else body_origin
        if e is None:
            diffs.append(Difference(name, "header-added", ABSENT, a, "additive", origin))
        elif a is None:
            diffs.append(Difference(name, "header-removed", e, ABSENT, "breaking", origin))
        else:
            note = _FORMAT_NOTE if headers and name in headers.by_format else ""
            if name == "set-cookie":
                note = _COOKIE_NOTE
            diffs.append(Difference(name, "header-changed", e, a, "breaking", origin, note=note))
    if headers is not None and headers.spelling:
        for name, e, a in spelling_differences(
            expected.headers, actual.headers, cors=cors, rules=headers
        ):
            if not headers.spelling_matters(name) or (noise is not None and name in noise.headers):
                continue
            origin = (
                "gateway" if cors_gateway and name.startswith("access-control-") else body_origin
            )
            diffs.append(
                Difference(name, "header-changed", e, a, "breaking", origin, note=_SPELT_NOTE)
            )
    return diffs


_FORMAT_NOTE = "compared by format (checks.headers.by_format): values differ by nature"
_COOKIE_NOTE = "Set-Cookie compared by its cookies' names and attributes; values never shown"
_SPELT_NOTE = (
    "same meaning, other spelling; checks.headers.cosmetic_matters makes the spelling matter"
)


# --- bodies: what each JSON difference (parity.engine.bodies) means ------------------------


def _builtin_text(parts: Sequence[Part]) -> bool:
    return bool(parts) and parts[-1] in TEXT_FIELDS


def text_rule(paths: Iterable[str] | None) -> TextRule:
    """The paths of human text, as the catalog's envelope names them (``message``,
    ``error.details[*].message``); None: the built-in :data:`TEXT_FIELDS` keys at any
    depth, for callers without a catalog."""
    if paths is None:
        return _builtin_text
    patterns = tuple(PathPattern.parse(p) for p in paths)
    return lambda parts: any(p.names(parts) for p in patterns)


def _severity(
    kind: Kind, parts: Sequence[Part], expected: Any, actual: Any, text: TextRule = _builtin_text
) -> Severity:
    if kind in ("added", "header-added"):
        return "additive"
    if kind == "value" and text(parts) and isinstance(expected, str):
        return "cosmetic" if isinstance(actual, str) else "breaking"
    return "breaking"


def diff_body(
    expected: Answer,
    actual: Answer,
    *,
    rules: Rules | None = None,
    noise: Noise | None = None,
    values: bool = True,
    text: TextRule = _builtin_text,
    gateway: GatewayRule = no_gateway,
) -> tuple[list[Difference], list[NoiseHit]]:
    """Differences of the bodies, and the declared-rule hits (learned noise hits come from
    :meth:`Noise.hits`). ``values=False`` compares the shape only (keys, types and the
    human text, ``text``), for a reference recorded in another run."""
    rules = rules or Rules()
    origin = _origin(expected, actual, gateway)
    if not expected.is_json or not actual.is_json:
        if expected.is_json == actual.is_json and expected.text == actual.text:
            return [], []
        exp = expected.body if expected.is_json else expected.text
        act = actual.body if actual.is_json else actual.text
        kind: Kind = "value" if expected.is_json == actual.is_json else "body"
        return [Difference("$", kind, _clip(exp), _clip(act), "breaking", origin)], []
    order_paths: list[tuple[Part, ...]] = []
    known: Known = {}
    reordered = reorder(expected.body, actual.body, (), rules, order_paths, known)
    diffs: list[Difference] = []
    declared: dict[str, NoiseHit] = {}
    for parts in order_paths if values else []:
        if noise is not None and noise.covers(parts):
            continue
        diffs.append(
            Difference(
                format_path(parts),
                "order",
                "same items",
                "in another order",
                "breaking",
                origin,
                note="the same items in a different order",
            )
        )
    for kind, parts, t1, t2 in raw_diffs(expected.body, reordered, rules, known=known):
        # Noise is about values: a type the two reference answers agreed on still counts.
        typed = kind == "type" and t2 is not None
        if (
            noise is not None
            and noise.covers(parts)
            and not (typed and noise.type_is_stable(parts, t1))
        ):
            # compared by format, when the two reference answers agree on it
            samples = noise.samples(parts) if kind == "value" else None
            found = _format_change(parts, t1, t2, origin, "learned", values, samples)
            diffs += [found] if found and samples is not None else []
            continue
        if not values and _declared_noise(kind, t1, t2) and not (kind == "value" and text(parts)):
            hit = declared.setdefault("*", NoiseHit("(recorded values)", "declared", "other"))
            if len(hit.values) < 4:
                hit.values.append([format_path(parts), t1, t2])
            found = _format_change(parts, t1, t2, origin, "recorded", values)
            diffs += [found] if found and kind == "value" else []
            continue
        pattern = rules.ignores(parts)
        if pattern is not None and _declared_noise(kind, t1, t2):
            hit = declared.setdefault(pattern.text, NoiseHit(pattern.text, "declared", "other"))
            if len(hit.values) < 4:
                hit.values.append([t1, t2])
            found = _format_change(parts, t1, t2, origin, "declared", values)
            diffs += [found] if found and kind == "value" else []
            continue
        diffs.append(
            Difference(
                format_path(parts), kind, t1, t2, _severity(kind, parts, t1, t2, text), origin
            )
        )
    for key, hit in declared.items():
        if key != "*":
            hit.kind = classify_noise(PathPattern.parse(hit.path).parts, _flat(hit.values))
    return diffs, list(declared.values())


def _format_change(
    parts: Sequence[Part],
    expected: Any,
    actual: Any,
    origin: Origin,
    source: str,
    hosts: bool,
    samples: Sequence[Any] | None = (),
) -> Difference | None:
    """A ``format`` difference when a value that is not compared (noise) is written in
    another format on the candidate; None when the formats agree or say nothing. With
    ``samples`` (the reference's own answers), they must agree among themselves first."""
    name = next((str(p) for p in reversed(parts) if isinstance(p, str) and p != "*"), "")
    want = value_format(expected, name, hosts=hosts)
    got = value_format(actual, name, hosts=hosts)
    if want is None or got is None or want == got:
        return None
    if any(value_format(s, name, hosts=hosts) != want for s in samples or ()):
        return None  # the reference itself writes it in more than one way
    return Difference(
        format_path(parts),
        "format",
        expected,
        actual,
        "breaking",
        origin,
        note=f"{want} -> {got} ({source} noise: values are not compared, formats are)",
    )


def _declared_noise(kind: Kind, t1: Any, t2: Any) -> bool:
    """Declared ``ignore`` rules cover values, not structure: a key that vanished or a
    value whose type changed (other than to or from null) is still reported."""
    if kind in ("value", "item-added", "item-removed"):
        return True
    return kind == "type" and (t1 is None or t2 is None)


def _flat(pairs: list[Any]) -> list[Any]:
    return [v for pair in pairs for v in pair]


def _clip(value: Any, limit: int = 2000) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"... ({len(value)} characters)"
    return value


def learn_noise(first: Answer, second: Answer, *, headers: HeaderRules | None = None) -> Noise:
    """Noise learned from two answers of the reference to the same request (Diffy).
    ``headers``: the catalog's ``checks.headers``, as :func:`compare` is given it: the
    headers it lists are learned too (a listed request id that changes from answer to answer
    is noise, not drift)."""
    noise = Noise(status=first.status != second.status)
    a = relevant_headers(first.headers, rules=headers)
    b = relevant_headers(second.headers, rules=headers)
    for name in set(a) | set(b):
        if a.get(name) != b.get(name):
            noise.headers[name] = [a.get(name), b.get(name)]
    if first.is_json and second.is_json:
        for _, parts, t1, t2 in raw_diffs(first.body, second.body, Rules()):
            noise.body.append((parts, [t1, t2]))
    elif first.text != second.text or first.is_json != second.is_json:
        noise.body.append(((), [None, None]))
    return noise


def compare(
    expected: Answer,
    actual: Answer,
    *,
    rules: Rules | None = None,
    noise: Noise | None = None,
    values: bool = True,
    cors: bool = True,
    text: Iterable[str] | None = None,
    gateway: GatewayRule | None = None,
    cors_gateway: bool = False,
    headers: HeaderRules | None = None,
) -> Comparison:
    """Status, headers and body of ``actual`` against ``expected`` (``values``: see
    :func:`diff_body`; ``cors``, ``cors_gateway``, ``headers``: see :func:`diff_headers`).

    ``text``: the JSON paths of human text, ``gateway``: which bodies are the gateway's
    own; both from the catalog's envelope (:mod:`parity.core.envelope`). None: the built-in
    ``message`` keys, and no gateway (none declared: no answer is a gateway's)."""
    rule = text_rule(text)
    own = gateway or no_gateway
    body, declared = diff_body(
        expected, actual, rules=rules, noise=noise, values=values, text=rule, gateway=own
    )
    # same meaning, other spelling: reported, never dropped (cosmetic findings), unless
    # the catalog says the spelling matters (then a difference, see diff_headers)
    spelt = [
        NoiseHit(f"header {name}", "normalised", "spelling", [e, a])
        for name, e, a in spelling_differences(
            expected.headers, actual.headers, cors=cors, rules=headers
        )
        if (noise is None or name not in noise.headers)
        and not (headers is not None and headers.spelling_matters(name))
    ]
    return Comparison(
        status=diff_status(expected, actual, noise=noise, gateway=own),
        headers=diff_headers(
            expected,
            actual,
            noise=noise,
            cors=cors,
            gateway=own,
            cors_gateway=cors_gateway,
            headers=headers,
        ),
        envelope=body,
        noise=[*(noise.hits() if noise else []), *declared, *spelt],
    )
