"""The probe kinds that vary the address, the method and the query of an endpoint's base
scenario (credentials: :mod:`parity.checks.probe_auth`; bodies: :mod:`parity.checks.probe_bodies`;
repetition: one probe that sends the base request twice).

Every value comes from the catalog (the scenarios' parameters and their values, the
``checks.errors`` unknown values, ``checks.auth``, ``checks.cors``), from the settings (the
auth header each backend expects, the expired tokens), from Schemathesis' coverage phase
(wrong types, an unknown parameter) or from Hypothesis (unusual text): nothing here knows
the API under test. Each generator returns the probes and notes on what it could not send.
"""

from __future__ import annotations

import random
from typing import Any

from parity.checks.probe_model import Probe, ProbeContext, scenario_from
from parity.checks.probe_values import Coverage
from parity.core.catalog import Catalog, Endpoint, Scenario
from parity.core.checkspec import QueryProbeValues
from parity.core.templating import placeholders
from parity.core.variables import builtin_variables

__all__ = [
    "ENCODED_VALUES",
    "LONG_LENGTH",
    "OTHER_METHODS",
    "UNKNOWN_METHOD",
    "Namer",
    "method_probes",
    "path_probes",
    "query_probes",
    "repetition_probes",
    "unknown_value",
]

#: Path parameter values with characters a router may decode, refuse or split on.
ENCODED_VALUES: tuple[tuple[str, str], ...] = (
    ("a/b", "an encoded slash (%2F)"),
    ("a b", "an encoded space (%20)"),
    ("100%", "a percent sign (%25)"),
    ("Ωmega", "non-ASCII (UTF-8 encoded)"),
    ("a;b", "a semicolon"),
    ("\x00", "a NUL byte (%00)"),
)
#: The length of a "very long" value (a path segment, a query value); bodies go longer.
LONG_LENGTH = 1024
#: Methods tried on a route that does not have them, in this order (the first one free).
OTHER_METHODS = ("PUT", "DELETE", "PATCH", "POST", "GET")
#: A method no catalog can declare, sent to every endpoint.
UNKNOWN_METHOD = "TRACE"
_ANONYMOUS = "anonymous"


class Namer:
    """Scenario names unique within one endpoint's plan (the judge pairs answers by it)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"probe-{self.count:03d}"


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- path --------------------------------------------------------------------------------


def unknown_value(catalog: Catalog, param: str) -> str | None:
    """An unknown value for route parameter ``param``: the catalog's ``checks.errors``
    ``unknown_ids`` when declared, else a literal a scenario sends for it where it expects
    the not-found status; None when the catalog gives neither."""
    spec = catalog.checks.errors
    if spec is not None:
        declared = spec.unknown_value(param)
        if declared is not None:
            return declared
    not_found = spec.not_found_status if spec is not None else 404
    for endpoint in catalog.endpoints:
        for scenario in endpoint.scenarios:
            value = scenario.params.get(param)
            if value is None or not_found not in scenario.expect:
                continue
            if not list(placeholders(str(value))):
                return str(value)
    return None


def _wrong_type(catalog: Catalog, param: str, known: str | None) -> str:
    # The catalog's checks.errors.wrong_type_ids (a route whose number means work: httpbin's
    # /delay/{n} sleeps n seconds), else a number where the API uses text ids, text where
    # it uses numbers.
    spec = catalog.checks.errors
    declared = spec.wrong_type_value(param) if spec is not None else None
    if declared is not None:
        return declared
    return "not-a-number" if known is not None and known.isdigit() else "12345"


def path_probes(
    catalog: Catalog, endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Namer
) -> tuple[list[Probe], list[str]]:
    probes: list[Probe] = []
    notes: list[str] = []
    if not endpoint.route.endswith("/"):
        probes.append(
            Probe(
                "path",
                "trailing-slash",
                f"{endpoint.route}/",
                base.model_copy(update={"name": name()}),
                route=endpoint.route + "/",
            )
        )
    for param in endpoint.route_params:
        unknown = unknown_value(catalog, param)
        values: list[tuple[str, str, str]] = []
        if unknown is None:
            notes.append(
                f"{param} unknown: no unknown value (declare checks.errors.unknown_ids.{param})"
            )
        else:
            values.append(("unknown", unknown, f"{param} unknown ({_show(unknown)})"))
        wrong = _wrong_type(catalog, param, unknown)
        values.append(("wrong-type", wrong, f"{param} of the wrong type ({_show(wrong)})"))
        values.append(("empty", "", f"{param} empty"))
        long = ((unknown or "x") * (LONG_LENGTH // max(1, len(unknown or "x")) + 1))[:LONG_LENGTH]
        values.append(("very-long", long, f"{param} {LONG_LENGTH} characters long"))
        for value, what in ENCODED_VALUES:
            values.append(("encoded", value, f"{param} with {what}"))
        for variety, value, label in values:
            scenario = base.model_copy(
                update={"name": name(), "params": {**base.params, param: value}}
            )
            probes.append(Probe("path", variety, label, scenario))
    return probes, notes


# --- method ------------------------------------------------------------------------------


def _without_body(base: Scenario, scenario_name: str, **changes: Any) -> Scenario:
    # nothing to create: an OPTIONS answer has no id to save, and nothing to delete after
    return scenario_from(
        base, scenario_name, json=None, multipart=None, body=None, creates=None, **changes
    )


def method_probes(
    catalog: Catalog, endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Namer
) -> tuple[list[Probe], list[str]]:
    probes: list[Probe] = []
    notes: list[str] = []
    if endpoint.method == "GET":
        probes.append(
            Probe("method", "head", "HEAD", base.model_copy(update={"name": name()}), method="HEAD")
        )
    # A preflight carries no credentials: the browser sends it before the real request.
    plain = _without_body(base, name(), **{"as": _ANONYMOUS})
    probes.append(Probe("method", "options", "OPTIONS without Origin", plain, method="OPTIONS"))
    origin = _origin(catalog, ctx)
    if origin is None:
        notes.append("OPTIONS with Origin: no origin (declare checks.cors or give --web-url)")
    else:
        wanted = ["content-type"] if base.has_json or base.multipart is not None else []
        if endpoint.auth != "public":
            wanted.insert(0, "authorization")
        headers = {"Origin": origin, "Access-Control-Request-Method": endpoint.method}
        if wanted:
            headers["Access-Control-Request-Headers"] = ",".join(wanted)
        preflight = _without_body(base, name(), **{"as": _ANONYMOUS, "headers": headers})
        probes.append(
            Probe("method", "preflight", f"OPTIONS from {origin}", preflight, method="OPTIONS")
        )
    other = next((m for m in OTHER_METHODS if catalog.find(m, endpoint.route) is None), None)
    if other is not None:
        scenario = base.model_copy(update={"name": name()})
        probes.append(
            Probe(
                "method",
                "other-method",
                f"{other} (not a method of this route)",
                scenario,
                method=other,
            )
        )
    # A method no route of any API has: frameworks answer it 404, 405 or 501 as they please.
    probes.append(
        Probe(
            "method",
            "unknown-method",
            f"{UNKNOWN_METHOD} (a method no route has)",
            _without_body(base, name()),
            method=UNKNOWN_METHOD,
        )
    )
    return probes, notes


def _origin(catalog: Catalog, ctx: ProbeContext) -> str | None:
    cors = catalog.checks.cors
    allowed = getattr(cors, "allowed_origins", None)
    if isinstance(allowed, list) and allowed:
        return str(allowed[0])
    return ctx.origin


# --- query -------------------------------------------------------------------------------


def available(catalog: Catalog, base: Scenario) -> set[str]:
    """The variables a request in ``base``'s state may use: the built-in ones, the roles'
    credentials, and what its resources and steps save."""
    names = set(builtin_variables(catalog.roles))
    for resource in catalog.resource_order(base.uses):
        names.update(catalog.resources[resource].create.save)
        names.update(catalog.resources[resource].save)
    for step in base.steps:
        names.update(step.save)
    return names


def _query_values(
    catalog: Catalog, endpoint: Endpoint, base: Scenario
) -> tuple[dict[str, Any], list[str]]:
    """Every query parameter the endpoint's scenarios send, with the base scenario's value
    (else the first scenario's that sends it), base ones first; a value that needs state
    the base scenario does not set up (another scenario's saved id) is left out."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    have = available(catalog, base)
    for scenario in (base, *endpoint.scenarios):
        for key, value in scenario.query.items():
            value = value[0] if isinstance(value, list) and value else value
            missing = set(placeholders(value)) - have
            if key in values or missing:
                if missing and key not in values and key not in base.query:
                    notes.append(
                        f"{key}: not probed; its values need {', '.join(sorted(missing))}"
                        f", which {base.name} does not set up"
                    )
                continue
            values[key] = value
    return values, notes


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _varied_query(base: Scenario, scenario_name: str, query: dict[str, Any]) -> Scenario:
    return base.model_copy(update={"name": scenario_name, "query": query})


def query_probes(
    catalog: Catalog, endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Namer
) -> tuple[list[Probe], list[str]]:
    probes: list[Probe] = []
    coverage = ctx.coverage

    def add(variety: str, label: str, query: dict[str, Any]) -> None:
        probes.append(Probe("query", variety, label, _varied_query(base, name(), query)))

    values, notes = _query_values(catalog, endpoint, base)
    spec = catalog.checks.errors
    for key, value in values.items():
        rest = {k: v for k, v in base.query.items() if k != key}
        declared = spec.query_values(key) if spec is not None else None
        if key in base.query:
            add("missing", f"{key} missing", rest)
        add("empty", f"{key}=", {**rest, key: ""})
        for variety, label, sent in _odd_values(key, value, declared, coverage):
            # no number above the catalog's max: where a number is work (a drip, a sleep)
            if declared is not None and declared.above_max(sent):
                notes.append(
                    f"{key}={_show(sent)} ({variety}): not sent, above "
                    f"checks.errors.query_probe_values.{key}.max ({declared.max:g})"
                )
            else:
                add(variety, label, {**rest, key: sent})
        if not _is_int(value):
            for text in _pick(ctx, 2, key):
                add("unusual", f"{key}={_show(text)}", {**rest, key: text})
        add("repeated", f"{key} repeated", {**rest, key: [value, value]})
    unknown = coverage.unknown_query or ("parityProbe", "1")
    add("unknown", f"unknown parameter {unknown[0]}", {**base.query, unknown[0]: unknown[1]})
    return probes, sorted(set(notes))


def _odd_values(
    key: str, value: Any, declared: QueryProbeValues | None, coverage: Coverage
) -> list[tuple[str, str, Any]]:
    """The wrong-typed, negative, zero and huge values of query parameter ``key`` (variety,
    label, value): the catalog's ``checks.errors.query_probe_values`` where declared, else
    Schemathesis' wrong types and the built-in numbers."""
    odd: list[tuple[str, str, Any]] = []
    if declared is not None and declared.wrong_type is not None:
        wrong: list[Any] = list(declared.wrong_type)
    else:
        wrong = [w for w in coverage.query_wrong_types.get(key, []) if not isinstance(w, list)]
        if not wrong and _is_int(value):
            wrong = ["abc", "1.5"]
    odd += [("wrong-type", f"{key}={_show(w)}", w) for w in wrong]
    huge = _declared_huge(declared)
    if _is_int(value):
        negative = -1 if declared is None or declared.negative is None else declared.negative
        odd.append(("negative", f"{key}={_show(negative)}", negative))
        odd.append(("zero", f"{key}=0", 0))
        if huge is None:
            odd.append(("huge", f"{key}=2^31", 2**31))
        else:
            odd.append(("huge", f"{key}={_show(huge)}", huge))
    elif huge is not None:
        odd.append(("huge", f"{key}={_show(huge)}", huge))
    else:
        odd.append(("huge", f"{key} {LONG_LENGTH} characters long", "x" * LONG_LENGTH))
    return odd


def _declared_huge(declared: QueryProbeValues | None) -> Any:
    # the catalog's huge value, else its max (the largest number it lets a probe send)
    if declared is None:
        return None
    if declared.huge is not None:
        return declared.huge
    if declared.max is None:
        return None
    return int(declared.max) if float(declared.max).is_integer() else declared.max


def _pick(ctx: ProbeContext, count: int, salt: str) -> list[str]:
    """``count`` of the unusual texts, chosen under the seed (a different pair per field,
    so every text is tried somewhere)."""
    texts = list(ctx.texts)
    if not texts:
        return []
    rng = random.Random(f"{ctx.seed}:{salt}")
    return rng.sample(texts, min(count, len(texts)))


# --- repetition --------------------------------------------------------------------------


def repetition_probes(
    catalog: Catalog, endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Namer
) -> tuple[list[Probe], list[str]]:
    if endpoint.read_only:
        return [], []
    scenario = base.model_copy(update={"name": name()})
    label = f"{endpoint.method} sent twice"
    return [Probe("repetition", "twice", label, scenario, sends=2)], []
