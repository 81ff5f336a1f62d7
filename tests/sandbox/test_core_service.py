"""The application core, called directly (no HTTP): moc-api.md's rules for every
resource, cache invalidation across both flavours, health, test hooks, production mode."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import uuid
from typing import Any

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from sandbox.core.cache import Cache
from sandbox.core.http import Principal
from sandbox.core.imaging import make_png
from sandbox.core.infra import Infrastructure
from sandbox.core.routes import ROUTES, routes_for
from sandbox.core.seed import SEED_MOCS, seed_id
from sandbox.core.service import Application
from sandbox.settings import SandboxSettings

from .conftest import Call, _call

MOC_KEYS = {
    "id", "title", "description", "theme", "pieceCount", "tags", "authorId", "files",
    "createdAt", "updatedAt",
}  # fmt: skip
FILE_KEYS = {"id", "kind", "filename", "size", "sha256", "url", "createdAt"}
IMAGE_KEYS = {
    "id", "title", "albumId", "url", "thumbnailUrl", "width", "height", "size", "sha256",
    "tags", "createdAt",
}  # fmt: skip
ISO_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def new_moc(call: Call, user: Principal, **overrides: Any) -> dict[str, Any]:
    body = {"title": "Test MOC", "theme": "Castle", "pieceCount": 100, **overrides}
    result = call("POST", "/api/mocs", user=user, json_body=body)
    assert result.status == 201, result.body
    return dict(result.data)


def fields(result: Any) -> set[str]:
    return {d["field"] for d in result.details}


# -- envelope, lists, validation ------------------------------------------------------


def test_every_route_has_a_handler(express: Application) -> None:
    for route in ROUTES:
        assert callable(express.handler(route.handler))
    assert callable(express.list_mocs)  # handlers are reachable by their route name too


def test_list_mocs_envelope_and_pagination(call: Call) -> None:
    first = call("GET", "/api/mocs")
    assert first.status == 200
    assert first.body["status"] == "success" and first.body["message"] == "MOCs retrieved"
    assert first.headers["Cache-Control"] == "public, max-age=30"
    data = first.data
    assert set(data) == {"items", "page", "limit", "total"}
    assert (data["page"], data["limit"]) == (1, 20)
    total = data["total"]
    assert total >= len(SEED_MOCS)
    assert set(data["items"][0]) == MOC_KEYS
    seen: list[str] = []
    page = 1
    while True:
        chunk = call("GET", "/api/mocs", query={"page": page, "limit": 5}).data
        assert chunk["total"] == total and chunk["limit"] == 5
        if not chunk["items"]:
            break
        assert len(chunk["items"]) <= 5
        seen += [m["id"] for m in chunk["items"]]
        page += 1
    assert len(seen) == len(set(seen)) == total


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ({"limit": "0"}, {"limit"}),
        ({"limit": "101"}, {"limit"}),
        ({"limit": "ten"}, {"limit"}),
        ({"limit": "2.5"}, {"limit"}),
        ({"page": "0"}, {"page"}),
        ({"sort": "oldest"}, {"sort"}),
        ({"page": "-1", "limit": "1000", "sort": "x"}, {"page", "limit", "sort"}),
    ],
)
def test_list_query_validation(call: Call, query: dict[str, str], bad: set[str]) -> None:
    result = call("GET", "/api/mocs", query=query)
    assert result.status == 400
    assert result.body["status"] == "error" and result.body["data"] is None
    assert result.code == "VALIDATION_ERROR"
    assert fields(result) == bad
    assert all(d["issue"] for d in result.details)


def test_sorting_and_filters(call: Call) -> None:
    by_title = call("GET", "/api/mocs", query={"sort": "title", "limit": 100}).data["items"]
    titles = [m["title"].lower() for m in by_title]
    assert titles == sorted(titles)
    by_pieces = call("GET", "/api/mocs", query={"sort": "pieces", "limit": 100}).data["items"]
    pieces = [m["pieceCount"] for m in by_pieces]
    assert pieces == sorted(pieces, reverse=True)
    newest = call("GET", "/api/mocs", query={"limit": 100}).data["items"]
    stamps = [m["createdAt"] for m in newest]
    assert stamps == sorted(stamps, reverse=True)
    castle = call("GET", "/api/mocs", query={"theme": "castle"}).data
    assert castle["total"] >= 2 and {m["theme"] for m in castle["items"]} == {"Castle"}
    found = call("GET", "/api/mocs", query={"q": "LIGHTHOUSE"}).data
    assert [m["title"] for m in found["items"]] == ["Harbour Lighthouse"]


def test_search_requires_q(call: Call, users: dict[str, Principal]) -> None:
    missing = call("GET", "/api/mocs/search")
    assert missing.status == 400 and fields(missing) == {"q"}
    hits = call("GET", "/api/mocs/search", query={"q": "medieval"}).data
    assert hits["total"] >= 2
    assert all("medieval" in m["tags"] for m in hits["items"])
    for path in ("/api/images/search", "/api/wishlist/search"):
        result = call("GET", path, user=users["alice"])
        assert result.status == 400 and fields(result) == {"q"}


def test_a_nul_character_is_a_400_naming_the_field(call: Call, users: dict[str, Principal]) -> None:
    # PostgreSQL text cannot hold NUL: unchecked, the driver's error was a 500 (found by
    # Schemathesis on the real database, never on SQLite)
    for path in ("/api/mocs", "/api/mocs/search", "/api/images/search", "/api/wishlist/search"):
        result = call("GET", path, user=users["alice"], query={"q": "lego\x00castle"})
        assert result.status == 400, (path, result.body)
        assert result.details == [{"field": "q", "issue": "must not contain the NUL character"}]
    body = {"title": "A\x00", "theme": "Castle", "pieceCount": 1, "tags": ["ok", "b\x00"]}
    created = call("POST", "/api/mocs", user=users["alice"], json_body=body)
    assert created.status == 400 and fields(created) == {"title"}
    body["title"] = "A"
    tagged = call("POST", "/api/mocs", user=users["alice"], json_body=body)
    assert tagged.status == 400 and fields(tagged) == {"tags[1]"}


def test_stats(call: Call) -> None:
    stats = call("GET", "/api/mocs/stats").data
    assert set(stats) == {"total", "byTheme", "totalPieces"}
    assert stats["total"] == sum(stats["byTheme"].values())
    assert stats["total"] == call("GET", "/api/mocs").data["total"]
    assert stats["totalPieces"] >= sum(m[3] for m in SEED_MOCS)


def test_get_moc_404_and_bad_uuid(call: Call) -> None:
    seeded = call("GET", f"/api/mocs/{seed_id('moc:1')}")
    assert seeded.status == 200 and seeded.data["title"] == SEED_MOCS[0][1]
    assert seeded.data["files"] and set(seeded.data["files"][0]) == FILE_KEYS
    missing = call("GET", f"/api/mocs/{uuid.uuid4()}")
    assert missing.status == 404 and missing.code == "NOT_FOUND"
    assert missing.body["message"] == "MOC not found"
    bad = call("GET", "/api/mocs/not-a-uuid")
    assert bad.status == 400 and bad.details == [{"field": "mocId", "issue": "must be a UUID"}]


def test_invalid_json_body_is_400(call: Call, users: dict[str, Principal]) -> None:
    result = call("POST", "/api/mocs", user=users["alice"], raw_body=b"{not json")
    assert result.status == 400 and result.code == "VALIDATION_ERROR"
    listed = call("POST", "/api/mocs", user=users["alice"], json_body=[1, 2])
    assert listed.status == 400 and fields(listed) == {"body"}


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({}, {"title", "theme", "pieceCount"}),
        ({"title": "  ", "theme": "Castle", "pieceCount": 1}, {"title"}),
        ({"title": "x" * 201, "theme": "Castle", "pieceCount": 1}, {"title"}),
        ({"title": 5, "theme": "Castle", "pieceCount": 1}, {"title"}),
        ({"title": "A", "theme": "Castle", "pieceCount": 0}, {"pieceCount"}),
        ({"title": "A", "theme": "Castle", "pieceCount": "5"}, {"pieceCount"}),
        ({"title": "A", "theme": "Castle", "pieceCount": True}, {"pieceCount"}),
        ({"title": "A", "theme": "Castle", "pieceCount": 2.0}, {"pieceCount"}),
        ({"title": "A", "theme": 3, "pieceCount": 2}, {"theme"}),
        ({"title": "A", "theme": "C", "pieceCount": 2, "tags": "a,b"}, {"tags"}),
        ({"title": "A", "theme": "C", "pieceCount": 2, "tags": [1]}, {"tags"}),
        ({"title": "A", "theme": "C", "pieceCount": 2, "authorId": "x"}, {"authorId"}),
    ],
)
def test_create_moc_validation(
    call: Call, users: dict[str, Principal], body: dict[str, Any], bad: set[str]
) -> None:
    result = call("POST", "/api/mocs", user=users["alice"], json_body=body)
    assert result.status == 400 and result.code == "VALIDATION_ERROR", result.body
    assert result.body["message"] == "Validation failed"
    assert fields(result) == bad


def test_moc_lifecycle_and_ownership(call: Call, users: dict[str, Principal]) -> None:
    alice, bob, admin = users["alice"], users["bob"], users["admin"]
    created = call(
        "POST", "/api/mocs", user=alice,
        json_body={"title": "  Tiny Tower ", "theme": "City", "pieceCount": 42, "tags": ["tall"]},
    )  # fmt: skip
    assert created.status == 201 and created.body["message"] == "MOC created"
    moc = created.data
    assert set(moc) == MOC_KEYS
    assert moc["title"] == "Tiny Tower" and moc["authorId"] == alice.user_id
    assert moc["description"] == "" and moc["files"] == [] and moc["tags"] == ["tall"]
    assert moc["createdAt"] == moc["updatedAt"]
    assert re.match(ISO_RE, moc["createdAt"])
    path = f"/api/mocs/{moc['id']}"
    assert call("GET", path).data == moc

    patched = call("PATCH", path, user=alice, json_body={"pieceCount": 43})
    assert patched.status == 200 and patched.body["message"] == "MOC updated"
    assert patched.data["pieceCount"] == 43 and patched.data["title"] == "Tiny Tower"
    assert patched.data["updatedAt"] >= moc["updatedAt"]

    assert call("PATCH", path, user=bob, json_body={"title": "Mine"}).code == "FORBIDDEN"
    unknown = call("PATCH", path, user=alice, json_body={"colour": "red"})
    assert unknown.status == 400 and fields(unknown) == {"colour"}
    wrong = call("PATCH", path, user=alice, json_body={"pieceCount": "many", "title": ""})
    assert wrong.status == 400 and fields(wrong) == {"pieceCount", "title"}
    assert call("PATCH", path, user=alice, json_body={}).status == 400
    assert call("PATCH", f"/api/mocs/{uuid.uuid4()}", user=alice, json_body={}).status == 404

    assert call("DELETE", path, user=bob).status == 403
    deleted = call("DELETE", path, user=admin)  # admins may delete anyone's MOC
    assert deleted.status == 200 and deleted.data is None
    assert call("GET", path).status == 404
    assert call("DELETE", path, user=alice).status == 404


def test_user_route_without_principal_is_401(call: Call) -> None:
    result = call("POST", "/api/mocs", json_body={"title": "x"})
    assert result.status == 401 and result.code == "UNAUTHORIZED"


# -- files ----------------------------------------------------------------------------


def test_direct_upload(call: Call, users: dict[str, Principal]) -> None:
    moc = new_moc(call, users["alice"])
    path = f"/api/mocs/{moc['id']}/files"
    pdf = b"%PDF-1.4\n" + b"x" * 5000
    result = call(
        "POST", path, user=users["alice"], form={"kind": "instructions"},
        files={"file": ("build steps.pdf", "application/pdf", pdf)},
    )  # fmt: skip
    assert result.status == 201, result.body
    record = result.data
    assert set(record) == FILE_KEYS
    assert record["size"] == len(pdf) and record["filename"] == "build steps.pdf"
    assert record["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert httpx.get(record["url"]).content == pdf
    assert call("GET", f"/api/mocs/{moc['id']}").data["files"] == [record]

    no_file = call("POST", path, user=users["alice"], form={"kind": "instructions"})
    assert no_file.status == 400 and fields(no_file) == {"file"}
    bad_kind = call(
        "POST", path, user=users["alice"], form={"kind": "video"},
        files={"file": ("a.pdf", "application/pdf", pdf)},
    )  # fmt: skip
    assert bad_kind.status == 400 and fields(bad_kind) == {"kind"}
    not_image = call(
        "POST", path, user=users["alice"], form={"kind": "image"},
        files={"file": ("a.png", "image/png", pdf)},
    )  # fmt: skip
    assert not_image.status == 400 and fields(not_image) == {"file"}
    other = call(
        "POST", path, user=users["bob"], form={"kind": "instructions"},
        files={"file": ("a.pdf", "application/pdf", pdf)},
    )  # fmt: skip
    assert other.status == 403


def test_presign_put_complete(call: Call, users: dict[str, Principal]) -> None:
    alice = users["alice"]
    moc = new_moc(call, alice)
    base = f"/api/mocs/{moc['id']}/files"
    too_big = call(
        "POST", f"{base}/presign", user=alice,
        json_body={"filename": "big.pdf", "contentType": "application/pdf", "size": 104_857_601},
    )  # fmt: skip
    assert too_big.status == 400 and fields(too_big) == {"size"}
    assert call(
        "POST", f"{base}/presign", user=users["bob"],
        json_body={"filename": "a.pdf", "contentType": "application/pdf", "size": 10},
    ).status == 403  # fmt: skip

    payload = b"%PDF-1.7\n" + bytes(range(256)) * 400
    presigned = call(
        "POST", f"{base}/presign", user=alice,
        json_body={"filename": "big.pdf", "contentType": "application/pdf", "size": len(payload)},
    )  # fmt: skip
    assert presigned.status == 200, presigned.body
    info = presigned.data
    assert set(info) == {"uploadUrl", "key", "expiresIn", "maxBytes"}
    assert info["maxBytes"] == 104_857_600 and info["expiresIn"] == 900

    complete = {"key": info["key"], "filename": "big.pdf", "kind": "instructions"}
    early = call("POST", f"{base}/complete", user=alice, json_body={**complete, "sha256": "0" * 64})
    assert early.status == 400 and early.details == [{"field": "key", "issue": "not uploaded"}]

    put = httpx.put(info["uploadUrl"], content=payload, headers={"Content-Type": "application/pdf"})
    assert put.status_code == 200, put.text

    mismatch = call(
        "POST", f"{base}/complete", user=alice, json_body={**complete, "sha256": "0" * 64}
    )
    assert mismatch.status == 400 and fields(mismatch) == {"sha256"}
    digest = hashlib.sha256(payload).hexdigest()
    done = call("POST", f"{base}/complete", user=alice, json_body={**complete, "sha256": digest})
    assert done.status == 201, done.body
    assert done.data["size"] == len(payload) and done.data["sha256"] == digest
    again = call("POST", f"{base}/complete", user=alice, json_body={**complete, "sha256": digest})
    assert again.status == 400
    foreign_key = call(
        "POST", f"{base}/complete", user=alice,
        json_body={**complete, "key": "uploads/other/x.pdf", "sha256": digest},
    )  # fmt: skip
    assert foreign_key.status == 400 and fields(foreign_key) == {"key"}


# -- gallery --------------------------------------------------------------------------


def test_images(call: Call, users: dict[str, Principal]) -> None:
    alice, bob = users["alice"], users["bob"]
    png = make_png(30, 20)
    uploaded = call(
        "POST", "/api/images", user=alice, form={"title": "Red brick", "tags": "red, brick"},
        files={"file": ("brick.png", "image/png", png)},
    )  # fmt: skip
    assert uploaded.status == 201, uploaded.body
    image = uploaded.data
    assert set(image) == IMAGE_KEYS
    assert (image["width"], image["height"], image["size"]) == (30, 20, len(png))
    assert image["tags"] == ["red", "brick"] and image["albumId"] is None
    assert httpx.get(image["thumbnailUrl"]).content == png
    path = f"/api/images/{image['id']}"
    assert call("GET", path, user=alice).data == image
    assert call("GET", path, user=bob).status == 403
    assert call("GET", f"/api/images/{uuid.uuid4()}", user=alice).status == 404

    not_image = call(
        "POST", "/api/images", user=alice, form={"title": "x"},
        files={"file": ("x.png", "image/png", b"GIF89a....")},
    )  # fmt: skip
    assert not_image.status == 400 and fields(not_image) == {"file"}
    no_title = call("POST", "/api/images", user=alice, files={"file": ("b.png", "image/png", png)})
    assert no_title.status == 400 and fields(no_title) == {"title"}

    mine = call("GET", "/api/images", user=alice, query={"limit": 100}).data
    assert image["id"] in {i["id"] for i in mine["items"]}
    assert call("GET", "/api/images", user=alice, query={"albumId": "nope"}).status == 400
    album_id = seed_id("album:alice:1")
    in_album = call("GET", "/api/images", user=alice, query={"albumId": album_id}).data
    assert in_album["total"] == 3 and {i["albumId"] for i in in_album["items"]} == {album_id}
    found = call("GET", "/api/images/search", user=alice, query={"q": "brick"}).data
    assert [i["id"] for i in found["items"]] == [image["id"]]
    assert call("GET", "/api/images/search", user=bob, query={"q": "brick"}).data["total"] == 0

    moved = call("PATCH", path, user=alice, json_body={"albumId": album_id, "title": "Brick"})
    assert moved.status == 200 and moved.data["albumId"] == album_id
    bobs_album = seed_id("album:bob:1")
    assert call("PATCH", path, user=alice, json_body={"albumId": bobs_album}).status == 403
    assert call("PATCH", path, user=alice, json_body={"width": 3}).status == 400
    assert call("PATCH", path, user=bob, json_body={"title": "x"}).status == 403
    assert call("DELETE", path, user=bob).status == 403
    assert call("DELETE", path, user=alice).status == 200
    assert call("GET", path, user=alice).status == 404


def test_albums(call: Call, users: dict[str, Principal]) -> None:
    alice, bob = users["alice"], users["bob"]
    seeded = call("GET", f"/api/albums/{seed_id('album:alice:1')}", user=alice)
    assert seeded.status == 200
    assert {"id", "title", "imageCount", "coverImageId", "createdAt", "images"} == set(seeded.data)
    assert seeded.data["imageCount"] == len(seeded.data["images"]) >= 3
    assert call("GET", f"/api/albums/{seed_id('album:alice:1')}", user=bob).status == 403

    created = call("POST", "/api/albums", user=alice, json_body={"title": "New album"})
    assert created.status == 201 and created.data["imageCount"] == 0
    assert call("POST", "/api/albums", user=alice, json_body={}).status == 400
    album = created.data
    png = make_png(8, 8)
    image = call(
        "POST", "/api/images", user=alice, form={"title": "in album", "albumId": album["id"]},
        files={"file": ("a.png", "image/png", png)},
    ).data  # fmt: skip
    got = call("GET", f"/api/albums/{album['id']}", user=alice).data
    assert got["imageCount"] == 1 and got["coverImageId"] == image["id"]
    listed = call("GET", "/api/albums", user=alice, query={"limit": 100}).data
    assert album["id"] in {a["id"] for a in listed["items"]}
    assert call("DELETE", f"/api/albums/{album['id']}", user=bob).status == 403
    assert call("DELETE", f"/api/albums/{album['id']}", user=alice).status == 200
    assert call("GET", f"/api/images/{image['id']}", user=alice).data["albumId"] is None


# -- wishlist -------------------------------------------------------------------------


def test_wishlist(call: Call) -> None:
    me = Principal(str(uuid.uuid4()), "wishful")  # a fresh user: a list of our own
    empty = call("GET", "/api/wishlist", user=me).data
    assert empty == {"items": [], "page": 1, "limit": 20, "total": 0}
    bad = call(
        "POST", "/api/wishlist", user=me,
        json_body={"setNumber": "10294", "name": "", "priority": 6},
    )  # fmt: skip
    assert bad.status == 400 and fields(bad) == {"setNumber", "name", "priority"}
    ids = []
    for n, name in enumerate(["Titanic", "Tree House", "Ferrari"], start=1):
        created = call(
            "POST", "/api/wishlist", user=me,
            json_body={"setNumber": f"1000{n}-1", "name": name, "priority": n},
        )  # fmt: skip
        assert created.status == 201 and created.data["position"] == n
        assert created.data["imageUrl"] is None and created.data["notes"] == ""
        ids.append(created.data["id"])
    reordered = call("POST", "/api/wishlist/reorder", user=me, json_body={"ids": ids[::-1]})
    assert reordered.status == 200
    assert [i["id"] for i in reordered.data["items"]] == ids[::-1]
    assert [i["position"] for i in reordered.data["items"]] == [1, 2, 3]
    listed = call("GET", "/api/wishlist", user=me).data["items"]
    assert [i["id"] for i in listed] == ids[::-1]
    for wrong in (ids[:2], [*ids, ids[0]], [*ids[:2], str(uuid.uuid4())], "x"):
        result = call("POST", "/api/wishlist/reorder", user=me, json_body={"ids": wrong})
        assert result.status == 400 and fields(result) == {"ids"}
    path = f"/api/wishlist/{ids[1]}"
    patched = call("PATCH", path, user=me, json_body={"notes": "on sale", "priority": 5})
    assert patched.status == 200 and patched.data["notes"] == "on sale"
    assert call("PATCH", path, user=me, json_body={"position": 1}).status == 400
    assert call("PATCH", path, user=Principal(str(uuid.uuid4()), "x"), json_body={}).status == 403
    found = call("GET", "/api/wishlist/search", user=me, query={"q": "sale"}).data
    assert [i["id"] for i in found["items"]] == [ids[1]]
    assert call("DELETE", path, user=me).status == 200
    after = call("GET", "/api/wishlist", user=me).data["items"]
    assert [i["position"] for i in after] == [1, 2] and ids[1] not in {i["id"] for i in after}


# -- users ----------------------------------------------------------------------------


def test_profile_auto_created_and_avatar(call: Call) -> None:
    me = Principal(str(uuid.uuid4()), "newcomer")
    profile = call("GET", "/api/users/me", user=me)
    assert profile.status == 200 and profile.headers["Cache-Control"] == "no-store"
    assert profile.data["id"] == me.user_id and profile.data["username"] == "newcomer"
    assert profile.data["avatarUrl"] is None
    big = make_png(8, 8) + b"\0" * (2 * 1024 * 1024)
    too_big = call(
        "POST", "/api/users/me/avatar", user=me, files={"file": ("a.png", "image/png", big)}
    )
    assert too_big.status == 413 and too_big.code == "PAYLOAD_TOO_LARGE"
    text = call(
        "POST", "/api/users/me/avatar", user=me, files={"file": ("a.txt", "text/plain", b"hi")}
    )
    assert text.status == 400
    ok = call(
        "POST",
        "/api/users/me/avatar",
        user=me,
        files={"file": ("a.png", "image/png", make_png(4, 4))},
    )
    assert ok.status == 200 and ok.data["avatarUrl"].endswith(".png")
    assert call("GET", "/api/users/me", user=me).data["avatarUrl"] == ok.data["avatarUrl"]
    # a new avatar replaces the old one in the bucket too: nothing piles up per upload
    first = ok.data["avatarUrl"]
    assert httpx.get(first, timeout=10).status_code == 200
    again = call(
        "POST",
        "/api/users/me/avatar",
        user=me,
        files={"file": ("b.png", "image/png", make_png(5, 5))},
    )
    assert again.status == 200 and again.data["avatarUrl"] != first
    assert httpx.get(again.data["avatarUrl"], timeout=10).status_code == 200
    assert httpx.get(first, timeout=10).status_code == 404


# -- cache ----------------------------------------------------------------------------


def test_cache_invalidation_covers_both_flavours(
    express: Application, serverless: Application, infra: Infrastructure,
    users: dict[str, Principal],
) -> None:  # fmt: skip
    r = infra.redis
    assert serverless.cache.prefix == "v2:" and express.cache.prefix == ""
    _call(express, "GET", "/api/mocs")
    _call(serverless, "GET", "/api/mocs")
    keys = {"mocs:user:public:list:page=1&limit=20", "v2:mocs:user:public:list:page=1&limit=20"}
    assert all(r.exists(k) for k in keys)
    assert 0 < r.ttl("mocs:user:public:list:page=1&limit=20") <= 30
    alice = users["alice"]
    _call(express, "GET", "/api/wishlist", user=alice)
    _call(serverless, "GET", "/api/wishlist", user=alice)
    wish_keys = {f"{p}wishlist:user:{alice.user_id}:list:page=1&limit=20" for p in ("", "v2:")}
    assert all(r.exists(k) for k in wish_keys)

    created = _call(
        serverless, "POST", "/api/mocs", user=alice,
        json_body={"title": "Cache buster", "theme": "Space", "pieceCount": 7},
    )  # fmt: skip
    assert created.status == 201
    assert not any(r.exists(k) for k in keys)  # both namespaces, by either flavour
    assert all(r.exists(k) for k in wish_keys)  # other resources untouched
    newest = _call(express, "GET", "/api/mocs").data["items"][0]
    assert newest["id"] == created.data["id"]

    # a cached value is really served from the cache
    r.set(
        "mocs:user:public:list:page=1&limit=20",
        '{"items": [], "page": 1, "limit": 20, "total": -1}',
    )
    assert _call(express, "GET", "/api/mocs").data["total"] == -1
    r.delete("mocs:user:public:list:page=1&limit=20")


# -- operational ----------------------------------------------------------------------


def test_health(express: Application, infra: Infrastructure) -> None:
    ok = _call(express, "GET", "/health")
    assert ok.status == 200 and ok.body["status"] == "success"
    assert set(ok.data) == {"uptime", "version", "db", "cache", "storage"}
    assert (ok.data["db"], ok.data["cache"], ok.data["storage"]) == ("ok", "ok", "ok")
    down = Application("express", infra, express.settings)
    # nothing listens on port 1: a refused connection, without redis-py's retries
    down.cache = Cache(redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0)), "")
    bad = _call(down, "GET", "/health")
    assert bad.status == 503 and bad.body["status"] == "error"
    assert bad.code == "SERVICE_UNAVAILABLE"
    assert bad.data["cache"] == "down" and bad.data["db"] == "ok"


def test_debug_endpoints(
    express: Application, serverless: Application, infra: Infrastructure
) -> None:
    config = _call(serverless, "GET", "/debug/config").data
    assert config["backend"] == "serverless" and config["cachePrefix"] == "v2:"
    assert config["database"] == infra.database_label and "password" not in config["database"]
    assert config["production"] is False and config["migrationMode"] is True
    routes = _call(express, "GET", "/debug/routes").data["routes"]
    assert {"method": "GET", "path": "/api/mocs/:mocId"} in routes
    assert len(routes) == len(routes_for("express"))
    assert _call(serverless, "GET", "/debug/routes").status == 404


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("500", 500, "INTERNAL"), ("503", 503, "SERVICE_UNAVAILABLE"), ("timeout", 500, "INTERNAL")],
)
def test_debug_fault_header(
    infra: Infrastructure, settings: SandboxSettings, fault: str, status: int, code: str
) -> None:
    app = Application("serverless", infra, dataclasses.replace(settings, fault_timeout_s=0.05))
    result = _call(app, "GET", "/api/mocs", headers={"X-Debug-Fault": fault})
    assert (result.status, result.code) == (status, code)
    assert result.body["data"] is None and result.body["status"] == "error"


def test_production_mode(infra: Infrastructure, settings: SandboxSettings) -> None:
    app = Application("express", infra, dataclasses.replace(settings, production=True))
    assert _call(app, "GET", "/api/mocs", headers={"X-Debug-Fault": "500"}).status == 200
    for path in ("/debug/config", "/debug/routes"):
        result = _call(app, "GET", path)
        assert result.status == 404 and result.code == "NOT_FOUND"


def test_unexpected_exception_is_500(express: Application, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> Any:
        raise RuntimeError("kaput")

    monkeypatch.setattr(express.mocs, "_page", boom)
    result = _call(express, "GET", "/api/mocs/search", query={"q": "x"})
    assert result.status == 500 and result.code == "INTERNAL"
    assert result.body["message"] == "Internal server error"
