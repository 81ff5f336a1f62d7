"""catalog.py: the shipped catalog covers moc-api.md; malformed catalogs fail clearly."""

from __future__ import annotations

import struct
import textwrap
import zlib
from pathlib import Path

import pytest

from parity.core.catalog import Catalog, express_to_template, load_catalog, parse_route_listing
from parity.core.errors import CatalogError, UsageError
from parity.core.payloads import make_payload, parse_size

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "fixtures" / "catalog.yaml"

# The endpoint table of moc-api.md: (method, path, auth, success, other statuses listed).
# 413 needs payloads past a limit and 503 a dependency down: the boundary and health
# checks cover those, so the catalog is only required to have the plain-request ones.
MOC_API = [
    ("GET", "/health", "public", 200, {503}),
    ("GET", "/api/mocs", "public", 200, {400}),
    ("GET", "/api/mocs/search", "public", 200, {400}),
    ("GET", "/api/mocs/stats", "public", 200, set()),
    ("GET", "/api/mocs/{mocId}", "public", 200, {404, 400}),
    ("POST", "/api/mocs", "user", 201, {400, 401}),
    ("PATCH", "/api/mocs/{mocId}", "owner", 200, {400, 401, 403, 404}),
    ("DELETE", "/api/mocs/{mocId}", "owner-or-admin", 200, {401, 403, 404}),
    ("POST", "/api/mocs/{mocId}/files", "owner", 201, {400, 401, 403, 413}),
    ("POST", "/api/mocs/{mocId}/files/presign", "owner", 200, {400, 401, 403}),
    ("POST", "/api/mocs/{mocId}/files/complete", "owner", 201, {400, 403}),
    ("GET", "/api/images", "user", 200, {401}),
    ("GET", "/api/images/search", "user", 200, {400, 401}),
    ("GET", "/api/images/{imageId}", "owner", 200, {401, 403, 404}),
    ("POST", "/api/images", "user", 201, {400, 401, 413}),
    ("PATCH", "/api/images/{imageId}", "owner", 200, {400, 403, 404}),
    ("DELETE", "/api/images/{imageId}", "owner", 200, {403, 404}),
    ("GET", "/api/albums", "user", 200, {401}),
    ("POST", "/api/albums", "user", 201, {400, 401}),
    ("GET", "/api/albums/{albumId}", "owner", 200, {403, 404}),
    ("DELETE", "/api/albums/{albumId}", "owner", 200, {403, 404}),
    ("GET", "/api/wishlist", "user", 200, {401}),
    ("GET", "/api/wishlist/search", "user", 200, {400, 401}),
    ("POST", "/api/wishlist", "user", 201, {400, 401}),
    ("PATCH", "/api/wishlist/{itemId}", "owner", 200, {400, 403, 404}),
    ("DELETE", "/api/wishlist/{itemId}", "owner", 200, {403, 404}),
    ("POST", "/api/wishlist/reorder", "user", 200, {400, 401}),
    ("GET", "/api/users/me", "user", 200, {401}),
    ("POST", "/api/users/me/avatar", "user", 200, {400, 401, 413}),
]
NOT_PLAIN = {413, 500, 503}
SMOKE = {
    ("GET", "/health"),
    ("GET", "/api/mocs"),
    ("GET", "/api/mocs/search"),
    ("GET", "/api/mocs/{mocId}"),
    ("POST", "/api/mocs"),
    ("GET", "/api/images"),
    ("POST", "/api/mocs/{mocId}/files"),
}


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(SHIPPED)


def test_shipped_catalog_loads(shipped: Catalog) -> None:
    assert shipped.path == SHIPPED
    assert set(shipped.roles) == {"anonymous", "alice", "bob", "admin"}


@pytest.mark.parametrize(
    ("method", "route", "auth", "success", "errors"),
    MOC_API,
    ids=[f"{m} {r}" for m, r, *_ in MOC_API],
)
def test_every_documented_endpoint_is_covered(
    shipped: Catalog, method: str, route: str, auth: str, success: int, errors: set[int]
) -> None:
    endpoint = shipped.find(method, route)
    assert endpoint is not None, f"{method} {route} is missing from the catalog"
    assert endpoint.route == route and endpoint.auth == auth
    expected = {s for sc in endpoint.scenarios for s in sc.expect}
    assert success in expected, f"no success scenario for {endpoint.key}"
    missing = (errors - NOT_PLAIN) - expected
    assert not missing, f"{endpoint.key} lacks scenarios for {sorted(missing)}"
    smoke = (method, route) in SMOKE
    assert ("smoke" in endpoint.tags) == smoke


def test_catalog_has_nothing_beyond_the_doc(shipped: Catalog) -> None:
    documented = {f"{m} {r}" for m, r, *_ in MOC_API}
    assert {e.key for e in shipped.endpoints} == documented


def test_user_endpoints_are_probed_without_token_and_by_another_user(shipped: Catalog) -> None:
    for endpoint in shipped.endpoints:
        roles = {sc.role: sc.expect for sc in endpoint.scenarios}
        if endpoint.auth != "public":
            assert (
                any(sc.role == "anonymous" and 401 in sc.expect for sc in endpoint.scenarios)
                or endpoint.auth == "owner"
            ), endpoint.id
        if endpoint.auth.startswith("owner"):
            assert 403 in roles.get("bob", ()), f"{endpoint.id}: no 403 scenario as bob"


def test_uncovered_routes_against_the_sandbox_route_table(shipped: Catalog) -> None:
    from sandbox.core.routes import ROUTES

    express_spelling = [f"{r.method} {r.express_path}" for r in ROUTES]
    assert shipped.uncovered_routes(express_spelling) == []
    extra = [*express_spelling, "GET /api/mocs/:mocId/comments", "DELETE /api/users/me"]
    assert shipped.uncovered_routes(extra) == [
        "DELETE /api/users/me",
        "GET /api/mocs/{mocId}/comments",
    ]


def test_route_listing_spellings() -> None:
    payload = {
        "status": "success",
        "data": {
            "routes": [
                {"path": "/api/mocs/:id", "methods": {"get": True, "head": True}},
                {"route": "/api/x", "method": "post"},
                "PATCH,DELETE /api/y/:yId(\\d+)",
                ["get", "/z"],
            ]
        },
    }
    assert parse_route_listing(payload) == [
        ("GET", "/api/mocs/{id}"),
        ("POST", "/api/x"),
        ("PATCH", "/api/y/{yId}"),
        ("DELETE", "/api/y/{yId}"),
        ("GET", "/z"),
    ]
    assert express_to_template("/a/:b/c/:d?") == "/a/{b}/c/{d}"


def test_find_accepts_express_spelling_and_other_param_names(shipped: Catalog) -> None:
    found = shipped.find("get", "/api/mocs/:id")
    assert found is not None and found.key == "GET /api/mocs/{mocId}"
    assert shipped.find("GET", "/api/mocs/search") is not None
    assert shipped.find("PUT", "/api/mocs/{mocId}") is None


def test_derived_properties(shipped: Catalog) -> None:
    get = shipped.get("mocs.get")
    assert get.read_only and get.route_params == ["mocId"]
    assert not shipped.get("mocs.create").read_only
    assert shipped.writes(get, get.scenario("existing"))  # its setup creates a MOC
    assert not shipped.writes(get, get.scenario("unknown-id"))
    with pytest.raises(KeyError, match=r"did you mean 'mocs\.get'"):
        shipped.get("mocs.gett")
    smoke = shipped.cases(["smoke"])
    assert smoke and all("smoke" in c.endpoint.tags for c in smoke)
    assert smoke[0].id == "health/default"
    assert shipped.resource_order(["moc", "moc"]) == ["moc"]


# --- malformed catalogs -------------------------------------------------------------------

BASE = """\
version: 1
roles: [anonymous, alice, bob]
resources:
  thing:
    create: {as: alice, method: POST, path: /things, json: {name: "t {run_id}"}}
    save: {thingId: data.id}
    delete: {as: alice, method: DELETE, path: "/things/{thingId}"}
endpoints:
  - id: things.get
    method: GET
    route: /things/{thingId}
    scenarios:
      - name: existing
        uses: [thing]
        params: {thingId: "{thingId}"}
        expect: 200
"""


def test_base_of_the_malformed_cases_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(BASE)
    catalog = load_catalog(path)
    assert catalog.get("things.get").scenarios[0].role == "anonymous"


MALFORMED = [
    # (name, replace old -> new in BASE, fragments the message must contain)
    ("yaml-syntax", ("    method: GET\n", "    method: [GET\n"), ["invalid YAML", "line 11"]),
    (
        "unknown-key",
        ("        expect: 200", "        expext: 200"),
        [
            "line 16",
            "endpoint things.get, scenario existing",
            "unknown key 'expext'",
            "Did you mean 'expect'?",
        ],
    ),
    (
        "unknown-nested-key",
        ("{as: alice, method: POST, path: /things,", "{as: alice, method: POST, pth: /things,"),
        ["resource thing, field create", "unknown key 'pth'", "Did you mean 'path'?"],
    ),
    (
        "missing-field",
        ("        expect: 200\n", ""),
        ["endpoint things.get, scenario existing", "missing required field 'expect'"],
    ),
    (
        "missing-route",
        ("    route: /things/{thingId}\n", ""),
        ["endpoint things.get", "missing required field 'route'"],
    ),
    (
        "wrong-type",
        ("expect: 200", "expect: ok"),
        ["line 16", "scenario existing, field expect", "valid integer", "'ok'"],
    ),
    ("bad-status", ("expect: 200", "expect: 999"), ["field expect", "less than or equal to 599"]),
    (
        "bad-method",
        ("    method: GET", "    method: FETCH"),
        ["endpoint things.get, field method", "'FETCH'"],
    ),
    (
        "unknown-role",
        ("        uses: [thing]\n", "        uses: [thing]\n        as: carol\n"),
        ["scenario existing, field as", "unknown role 'carol'", "anonymous, alice, bob"],
    ),
    (
        "role-typo",
        ("{as: alice, method: DELETE", "{as: alcie, method: DELETE"),
        ["resource thing, field delete.as", "unknown role 'alcie'", "Did you mean 'alice'?"],
    ),
    (
        "param-not-supplied",
        ('        params: {thingId: "{thingId}"}\n', ""),
        ["scenario existing, field params", "route parameter 'thingId'", "Add params"],
    ),
    (
        "param-unknown",
        ('params: {thingId: "{thingId}"}', 'params: {thingId: "{thingId}", x: 1}'),
        ["field params.x", "has no parameter 'x'"],
    ),
    (
        "unknown-resource",
        ("uses: [thing]", "uses: [thingy]"),
        ["scenario existing, field uses.0", "unknown resource 'thingy'", "Did you mean 'thing'?"],
    ),
    (
        "unknown-variable",
        ('params: {thingId: "{thingId}"}', 'params: {thingId: "{thingID}"}'),
        ["scenario existing, field params", "unknown variable {thingID}", "thingId"],
    ),
    (
        "duplicate-key",
        ("    method: GET\n", "    method: GET\n    method: POST\n"),
        ["line 11", "duplicate key", "'method'"],
    ),
    (
        "two-bodies",
        ("        expect: 200", "        json: {}\n        body: x\n        expect: 200"),
        ["scenario existing", "only one body kind, not json and body"],
    ),
    (
        "bad-size",
        (
            "        expect: 200",
            "        multipart: {files: {f: {filename: a, size: 3 parsecs}}}\n        expect: 200",
        ),
        ["field multipart.files.f.size", "invalid size '3 parsecs'", "10MiB"],
    ),
    (
        "express-route",
        ("route: /things/{thingId}", "route: /things/:thingId"),
        ["field route", "not :name"],
    ),
    (
        "bad-save-path",
        ("save: {thingId: data.id}", "save: {thingId: 'data..id'}"),
        ["resource thing, field save.thingId", "malformed JSON path"],
    ),
    ("no-endpoints", ("endpoints:\n", "endpoints: []\nold:\n"), ["unknown key 'old'"]),
]


@pytest.mark.parametrize(("name", "change", "fragments"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_catalog_gives_one_clear_error(
    tmp_path: Path, name: str, change: tuple[str, str], fragments: list[str]
) -> None:
    old, new = change
    assert old in BASE, f"case {name}: the base text changed"
    path = tmp_path / "catalog.yaml"
    path.write_text(BASE.replace(old, new, 1))
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2


def test_duplicate_endpoint_ids_and_scenarios(tmp_path: Path) -> None:
    entry = BASE[BASE.index("  - id: things.get") :]
    path = tmp_path / "catalog.yaml"
    path.write_text(BASE + entry.replace("route: /things/{thingId}", "route: /other/{thingId}"))
    with pytest.raises(CatalogError, match=r"endpoint things\.get, field id: duplicate endpoint"):
        load_catalog(path)
    path.write_text(BASE + entry.replace("things.get", "things.again"))
    with pytest.raises(CatalogError, match=r"GET /things/\{thingId\} is already endpoint"):
        load_catalog(path)
    scenario = entry[entry.index("      - name: existing") :]
    path.write_text(BASE + scenario)
    with pytest.raises(CatalogError, match="duplicate scenario name 'existing'"):
        load_catalog(path)


def test_resource_cycle(tmp_path: Path) -> None:
    text = BASE.replace(
        "  thing:\n",
        "  a:\n    uses: [thing]\n    create: {method: POST, path: /a}\n    leaves: test\n"
        "  thing:\n    uses: [a]\n",
    )
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match="resources use each other: a -> thing -> a"):
        load_catalog(path)


def test_missing_file() -> None:
    with pytest.raises(CatalogError, match=r"cannot read the catalog.*PARITY_CATALOG"):
        load_catalog("/nonexistent/catalog.yaml")


# --- payloads -----------------------------------------------------------------------------


def test_payloads_are_deterministic_valid_and_exact() -> None:
    assert parse_size("10MiB") == 10 * 1024 * 1024 and parse_size("10MB") == 10_000_000
    for size in (1024, 10 * 1024 * 1024):
        png = make_payload(size, "image/png")
        assert len(png) == size and png == make_payload(size, "image/png")
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
        pos = 8
        while pos < len(png):  # every chunk's CRC is right
            (length,) = struct.unpack(">I", png[pos : pos + 4])
            kind_data = png[pos + 4 : pos + 8 + length]
            (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
            assert zlib.crc32(kind_data) == crc
            pos += 12 + length
    jpeg = make_payload(200_000, "image/jpeg")
    assert len(jpeg) == 200_000 and jpeg[:3] == b"\xff\xd8\xff" and jpeg.endswith(b"\xff\xd9")
    assert make_payload(9 * 1024 * 1024)[:64] == make_payload(64)


def test_shipped_catalog_formatting_is_stable() -> None:
    # Guard against tabs and trailing spaces creeping into the hand-edited file.
    for number, line in enumerate(SHIPPED.read_text().splitlines(), start=1):
        assert "\t" not in line and line == line.rstrip(), f"catalog.yaml line {number}"
    assert textwrap.dedent(BASE) == BASE
