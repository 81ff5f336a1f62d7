"""Sample data every sandbox starts with.

A dozen public MOCs by alice and bob (varied themes, piece counts and tags, one with an
instructions file), a gallery album with images for alice (and one loose image), one
private image and album for bob (ownership tests), wishlists for alice and bob.

MOC, album, image and wishlist ids are fixed (uuid5), so catalogs and tests can name
seeded resources; user ids are the Cognito ``sub`` moto generated for this run.
Timestamps lie in 2024, so anything created through the API is always "newest".
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from sandbox.core.db import (
    Database,
    albums,
    dump_tags,
    format_timestamp,
    images,
    moc_files,
    mocs,
    users,
    wishlist_items,
)
from sandbox.core.identity import PoolInfo
from sandbox.core.imaging import make_png
from sandbox.core.storage import Storage

__all__ = ["SEED_MOCS", "SeedInfo", "seed", "seed_id"]

_NAMESPACE = uuid.UUID("6f1b5f0e-3c1a-4c6e-9a55-2f7d0c1e9b10")
_BASE = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def seed_id(name: str) -> str:
    """The fixed id of a seeded resource, e.g. ``seed_id("moc:1")``."""
    return str(uuid.uuid5(_NAMESPACE, name))


# (author role, title, theme, pieces, tags)
SEED_MOCS: tuple[tuple[str, str, str, int, tuple[str, ...]], ...] = (
    ("alice", "Medieval Blacksmith Forge", "Castle", 1450, ("medieval", "forge", "modular")),
    ("alice", "Lunar Research Base", "Space", 2310, ("moon", "base", "classic-space")),
    ("bob", "Technic Dump Truck", "Technic", 3120, ("truck", "motorized")),
    ("alice", "Corner Bakery", "City", 2780, ("modular", "bakery", "street")),
    ("bob", "Rebel Outpost on Hoth", "Star Wars", 1890, ("hoth", "snow", "rebels")),
    ("bob", "Botanical Greenhouse", "Ideas", 980, ("plants", "glass")),
    ("alice", "Castle Gatehouse", "Castle", 1675, ("medieval", "gate", "knights")),
    ("bob", "Mini Space Shuttle", "Space", 240, ("shuttle", "micro")),
    ("alice", "Harbour Lighthouse", "Creator", 1320, ("sea", "lighthouse")),
    ("bob", "Mountain Cable Car", "City", 1560, ("winter", "cable-car")),
    ("alice", "Steampunk Airship", "Ideas", 2045, ("steampunk", "airship")),
    ("bob", "Rally Car", "Technic", 612, ("car", "racing")),
)

# (owner, setNumber, name, priority, notes)
_WISHLIST: tuple[tuple[str, str, str, int, str], ...] = (
    ("alice", "10294-1", "Titanic", 5, "Birthday?"),
    ("alice", "10305-1", "Lion Knights' Castle", 4, ""),
    ("alice", "21318-1", "Tree House", 2, "wait for a sale"),
    ("bob", "42143-1", "Ferrari Daytona SP3", 4, ""),
    ("bob", "75313-1", "AT-AT", 3, "UCS"),
)


@dataclass
class SeedInfo:
    moc_ids: list[str] = field(default_factory=list)
    image_ids: dict[str, list[str]] = field(default_factory=dict)  # role -> ids
    album_ids: dict[str, list[str]] = field(default_factory=dict)
    wishlist_ids: dict[str, list[str]] = field(default_factory=dict)


def _ts(hours: float) -> str:
    return format_timestamp(_BASE + timedelta(hours=hours))


def seed(db: Database, storage: Storage, pool: PoolInfo) -> SeedInfo:
    info = SeedInfo()
    subs = pool.subs
    user_rows: list[dict[str, Any]] = [
        {
            "id": subs[role],
            "username": pool.users[role][0],
            "email": pool.emails.get(role),
            "avatar_url": None,
            "created_at": _ts(-24 * 30),
        }
        for role in pool.users
    ]
    moc_rows: list[dict[str, Any]] = []
    for n, (role, title, theme, pieces, tags) in enumerate(SEED_MOCS, start=1):
        created = _ts(24 * n)
        moc_rows.append(
            {
                "id": seed_id(f"moc:{n}"),
                "title": title,
                "description": f"{title}: a {theme.lower()} MOC with {pieces} pieces.",
                "theme": theme,
                "piece_count": pieces,
                "tags": dump_tags(list(tags)),
                "author_id": subs[role],
                "created_at": created,
                "updated_at": created,
            }
        )
    info.moc_ids = [r["id"] for r in moc_rows]

    pdf = b"%PDF-1.4\n% seeded instructions\n%%EOF\n"
    file_key = f"mocs/{moc_rows[0]['id']}/{seed_id('file:1')}/instructions.pdf"
    storage.put(file_key, pdf, "application/pdf")
    file_rows: list[dict[str, Any]] = [
        {
            "id": seed_id("file:1"),
            "moc_id": moc_rows[0]["id"],
            "kind": "instructions",
            "filename": "instructions.pdf",
            "size": len(pdf),
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "s3_key": file_key,
            "created_at": moc_rows[0]["created_at"],
        }
    ]

    album_rows: list[dict[str, Any]] = [
        {
            "id": seed_id("album:alice:1"),
            "owner_id": subs["alice"],
            "title": "Castle builds",
            "cover_image_id": seed_id("image:alice:1"),
            "created_at": _ts(300),
        },
        {
            "id": seed_id("album:bob:1"),
            "owner_id": subs["bob"],
            "title": "Work in progress",
            "cover_image_id": None,
            "created_at": _ts(301),
        },
    ]
    # (role, n, album index or None, title, size, colour, tags)
    image_specs: tuple[
        tuple[str, int, int | None, str, tuple[int, int], tuple[int, int, int], list[str]], ...
    ] = (
        ("alice", 1, 0, "Forge front view", (64, 48), (180, 60, 20), ["castle", "forge"]),
        ("alice", 2, 0, "Gatehouse at dusk", (48, 64), (60, 60, 140), ["castle"]),
        ("alice", 3, 0, "Knights on the wall", (32, 32), (120, 120, 120), ["castle", "minifig"]),
        ("alice", 4, None, "Lighthouse lamp", (40, 30), (240, 200, 40), ["sea"]),
        ("bob", 1, 1, "Truck chassis", (50, 50), (30, 30, 30), ["technic"]),
    )
    image_rows: list[dict[str, Any]] = []
    for role, n, album, title, (w, h), colour, image_tags in image_specs:
        image_id = seed_id(f"image:{role}:{n}")
        data = make_png(w, h, colour)
        base = f"gallery/{subs[role]}/{image_id}"
        storage.put(f"{base}/original.png", data, "image/png")
        storage.put(f"{base}/thumb.png", data, "image/png")
        image_rows.append(
            {
                "id": image_id,
                "owner_id": subs[role],
                "album_id": album_rows[album]["id"] if album is not None else None,
                "title": title,
                "s3_key": f"{base}/original.png",
                "thumbnail_key": f"{base}/thumb.png",
                "width": w,
                "height": h,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "tags": dump_tags(image_tags),
                "created_at": _ts(310 + len(image_rows)),
            }
        )
        info.image_ids.setdefault(role, []).append(image_id)
    for row in album_rows:
        role = "alice" if row["owner_id"] == subs["alice"] else "bob"
        info.album_ids.setdefault(role, []).append(str(row["id"]))

    wish_rows: list[dict[str, Any]] = []
    positions: dict[str, int] = {}
    for role, set_number, name, priority, notes in _WISHLIST:
        positions[role] = positions.get(role, 0) + 1
        item_id = seed_id(f"wishlist:{role}:{positions[role]}")
        wish_rows.append(
            {
                "id": item_id,
                "owner_id": subs[role],
                "set_number": set_number,
                "name": name,
                "priority": priority,
                "position": positions[role],
                "image_url": None,
                "notes": notes,
                "created_at": _ts(400 + len(wish_rows)),
            }
        )
        info.wishlist_ids.setdefault(role, []).append(item_id)

    with db.write() as conn:
        conn.execute(insert(users), user_rows)
        conn.execute(insert(mocs), moc_rows)
        conn.execute(insert(moc_files), file_rows)
        conn.execute(insert(albums), album_rows)
        conn.execute(insert(images), image_rows)
        conn.execute(insert(wishlist_items), wish_rows)
    return info
