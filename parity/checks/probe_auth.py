"""Auth probes: the base request with no token, a malformed one, an expired one (the
settings' ``PARITY_EXPIRED_TOKEN_<ROLE>``), another user's, and the genuine token under
another scheme (another case, none at all, another word), each in every backend's own header
spelling (``AuthSettings.header``/``template``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from parity.checks.probe_model import Probe, ProbeContext, scenario_from
from parity.core.catalog import Catalog, Endpoint, Scenario
from parity.core.templating import placeholders
from parity.core.variables import role_variable_prefix

__all__ = ["auth_probes", "token_role", "undone"]

_ANONYMOUS = "anonymous"


def _real_roles(catalog: Catalog) -> list[str]:
    return [r for r in catalog.roles if r != _ANONYMOUS]


def token_role(catalog: Catalog, base: Scenario) -> str | None:
    """Whose token the auth probes use: the base scenario's role, else the first role."""
    if base.role != _ANONYMOUS:
        return base.role
    roles = _real_roles(catalog)
    return roles[0] if roles else None


def _other_user(catalog: Catalog, role: str) -> str | None:
    declared = getattr(catalog.checks.auth, "other_user", None)
    if declared and declared != role:
        return str(declared)
    return next((r for r in _real_roles(catalog) if r != role), None)


def _as_other(base: Scenario, scenario_name: str, role: str, other: str) -> Scenario:
    """``base`` sent as ``other``; what it creates is deleted by ``other`` too (the
    owner's delete would be refused: that is what the probe checks)."""
    scenario = scenario_from(base, scenario_name, **{"as": other})
    creates = scenario.creates
    if creates is not None and creates.delete.role == role:
        delete = creates.delete.model_copy(update={"role": other})
        scenario = scenario.model_copy(
            update={"creates": creates.model_copy(update={"delete": delete})}
        )
    return scenario


def undone(catalog: Catalog, endpoint: Endpoint, base: Scenario) -> bool:
    """Whether what ``base`` writes is undone after it: a read, a ``creates:`` with its
    delete, or a route parameter naming a resource the scenario ``uses`` (deleted after)."""
    if endpoint.read_only:
        return True
    if base.creates is not None:
        return True
    saved = {n for r in catalog.resource_order(base.uses) for n in catalog.resources[r].save}
    saved |= {
        n for r in catalog.resource_order(base.uses) for n in catalog.resources[r].create.save
    }
    return any(
        set(placeholders(str(base.params.get(p, "")))) & saved for p in endpoint.route_params
    )


def _scheme_variants(scheme: str | None) -> Iterator[tuple[str, str, str]]:
    """(variety, label, header template) of the genuine token under other schemes: the
    scheme in another case, no scheme at all, another scheme."""
    if scheme is not None:
        if scheme.lower() != scheme:
            yield "scheme-case", f"{scheme.lower()} (lower case)", f"{scheme.lower()} {{token}}"
        if scheme.upper() != scheme:
            yield "scheme-case", f"{scheme.upper()} (upper case)", f"{scheme.upper()} {{token}}"
        yield "bare-token", "no scheme (the bare token)", "{token}"
    for other in ("Bearer", "Token"):
        if scheme is None or other.lower() != scheme.lower():
            label = f"{other} instead of {scheme or 'no scheme'}"
            yield "other-scheme", label, f"{other} {{token}}"


def auth_probes(
    catalog: Catalog, endpoint: Endpoint, base: Scenario, ctx: ProbeContext, name: Callable[[], str]
) -> tuple[list[Probe], list[str]]:
    probes: list[Probe] = []
    notes: list[str] = []
    specs = [ctx.auth[b] for b in ctx.backends]
    if any(s.mode == "none" for s in specs):
        return [], ["auth probes not sent: a backend is set to auth mode none"]
    role = token_role(catalog, base)
    header = {b: ctx.auth[b].header for b in ctx.backends}
    anonymous_headers = {
        k: v
        for k, v in base.headers.items()
        if k.lower() not in {h.lower() for h in header.values()}
    }

    def anonymous() -> Scenario:
        return scenario_from(base, name(), **{"as": _ANONYMOUS, "headers": anonymous_headers})

    probes.append(Probe("auth", "no-token", "no token", anonymous()))
    malformed = str(getattr(catalog.checks.auth, "malformed_token", None) or "not-a-jwt")
    probes.append(
        Probe(
            "auth",
            "malformed",
            f"malformed token ({malformed})",
            anonymous(),
            headers={
                b: {header[b]: ctx.auth[b].template.replace("{token}", malformed)}
                for b in ctx.backends
            },
        )
    )
    if role is None:
        return probes, [*notes, "no role with a token in the catalog: token probes not sent"]
    tokens = ctx.expired.get(role, {})
    if all(tokens.get(b) for b in ctx.backends):
        expired = {b: dict(tokens[b] or {}) for b in ctx.backends}
        probes.append(
            Probe("auth", "expired", f"{role}'s expired token", anonymous(), headers=expired)
        )
    else:
        notes.append(f"expired token not sent: {ctx.expired_reasons.get(role) or 'none given'}")
    other = _other_user(catalog, role)
    if other is not None and not undone(catalog, endpoint, base):
        notes.append(
            f"{other}'s token not sent: {base.name} writes and nothing undoes it (no creates:, "
            f"no resource in the route), so it would change {other}'s state for good"
        )
    elif other is not None:
        probes.append(
            Probe(
                "auth",
                "other-user",
                f"{other}'s token",
                _as_other(base, name(), role, other),
            )
        )
    token = "{" + role_variable_prefix(role) + "token}"
    for variety, label, template in _scheme_variants(ctx.auth[ctx.backends[0]].scheme):
        value = template.replace("{token}", token)
        probes.append(
            Probe(
                "auth",
                variety,
                f"{role}'s token as {label}",
                anonymous(),
                headers={b: {header[b]: value} for b in ctx.backends},
            )
        )
    return probes, notes
