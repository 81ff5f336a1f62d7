"""Wishlist endpoints: a user's own list of LEGO sets, ordered by ``position``.

Positions are 1..n without gaps: new items go last, deletes close the gap, and
``reorder`` takes a permutation of all of the user's item ids.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from sandbox.core.common import (
    DEFAULT_LIMIT,
    MISSING,
    NO_STORE,
    Context,
    Problems,
    fail,
    forbidden,
    json_body,
    list_data,
    not_found,
    pagination,
    parse_uuid,
    require_principal,
    required_query,
    text_match,
)
from sandbox.core.db import now_iso, wishlist_items
from sandbox.core.http import CoreRequest, CoreResponse, Principal, success

__all__ = ["SET_NUMBER_RE", "WishlistService"]

SET_NUMBER_RE = re.compile(r"^\d{3,7}-\d{1,2}$")  # "10294-1"
_FIELDS = frozenset({"setNumber", "name", "priority", "imageUrl", "notes"})
_ORDER = (wishlist_items.c.position, wishlist_items.c.created_at, wishlist_items.c.id)


class WishlistService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.db = ctx.db

    def handlers(self) -> dict[str, Callable[[CoreRequest], CoreResponse]]:
        return {
            "list_wishlist": self.list_wishlist,
            "search_wishlist": self.search_wishlist,
            "create_wishlist_item": self.create_wishlist_item,
            "reorder_wishlist": self.reorder_wishlist,
            "update_wishlist_item": self.update_wishlist_item,
            "delete_wishlist_item": self.delete_wishlist_item,
        }

    def list_wishlist(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        problems = Problems()
        page, limit = pagination(req, problems)
        problems.raise_if_any()
        key = f"list:page={page}&limit={limit}"
        data = self.ctx.cache.get("wishlist", principal.user_id, key)
        if data is None:
            data = self._page(principal, None, page, limit)
            self.ctx.cache.set("wishlist", principal.user_id, key, data)
        return success(data, "Wishlist retrieved").with_headers(NO_STORE)

    def search_wishlist(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        problems = Problems()
        q = required_query(req, "q", problems)
        page, limit = pagination(req, problems)
        problems.raise_if_any()
        data = self._page(principal, q, page, limit)
        return success(data, "Search results retrieved").with_headers(NO_STORE)

    def create_wishlist_item(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, _FIELDS)
        values = self._validate(body, problems, partial=False)
        problems.raise_if_any()
        with self.db.write() as conn:
            last = conn.execute(
                select(func.max(wishlist_items.c.position)).where(
                    wishlist_items.c.owner_id == principal.user_id
                )
            ).scalar_one()
            row = {
                "id": str(uuid.uuid4()),
                "owner_id": principal.user_id,
                "set_number": values["set_number"],
                "name": values["name"],
                "priority": values.get("priority", 3),
                "position": int(last or 0) + 1,
                "image_url": values.get("image_url"),
                "notes": values.get("notes", ""),
                "created_at": now_iso(),
            }
            conn.execute(insert(wishlist_items).values(**row))
        self._invalidate(principal)
        return success(_render(row), "Wishlist item created", 201).with_headers(NO_STORE)

    def update_wishlist_item(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        item = self._load(req, principal)
        body = json_body(req)
        problems = Problems()
        if "position" in body:
            problems.add("position", "read-only: use POST /api/wishlist/reorder")
        problems.unknown_fields({k: v for k, v in body.items() if k != "position"}, _FIELDS)
        changes = self._validate(body, problems, partial=True)
        if not body:
            problems.add("body", "no fields to update")
        problems.raise_if_any()
        with self.db.write() as conn:
            conn.execute(
                update(wishlist_items).where(wishlist_items.c.id == item["id"]).values(**changes)
            )
        self._invalidate(principal)
        item.update(changes)
        return success(_render(item), "Wishlist item updated").with_headers(NO_STORE)

    def delete_wishlist_item(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        item = self._load(req, principal)
        with self.db.write() as conn:
            conn.execute(delete(wishlist_items).where(wishlist_items.c.id == item["id"]))
            ids = self._ids(conn, principal)
            self._renumber(conn, ids)
        self._invalidate(principal)
        return success(None, "Wishlist item deleted").with_headers(NO_STORE)

    def reorder_wishlist(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, {"ids"})
        ids = body.get("ids", MISSING)
        if ids is MISSING:
            problems.add("ids", "required")
        elif not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.add("ids", "must be a list of item ids")
        problems.raise_if_any()
        wanted = [i.lower() for i in ids]
        with self.db.write() as conn:
            current = self._ids(conn, principal)
            if len(wanted) != len(set(wanted)) or set(wanted) != set(current):
                fail("ids", "must be a permutation of your wishlist item ids")
            self._renumber(conn, wanted)
            rows = [
                dict(r)
                for r in conn.execute(
                    select(wishlist_items)
                    .where(wishlist_items.c.owner_id == principal.user_id)
                    .order_by(*_ORDER)
                ).mappings()
            ]
        self._invalidate(principal)
        # the whole list, in its new order, as one page
        data = list_data([_render(r) for r in rows], 1, max(DEFAULT_LIMIT, len(rows)), len(rows))
        return success(data, "Wishlist reordered").with_headers(NO_STORE)

    # -- helpers -----------------------------------------------------------------------

    def _invalidate(self, principal: Principal) -> None:
        self.ctx.cache.invalidate("wishlist", principal.user_id)

    @staticmethod
    def _validate(body: dict[str, Any], problems: Problems, *, partial: bool) -> dict[str, Any]:
        """Column values of the valid fields present in ``body``."""
        required = not partial
        values: dict[str, Any] = {}
        set_number = problems.string(body, "setNumber", required=required, max_length=32)
        if set_number is not MISSING:
            if SET_NUMBER_RE.match(set_number):
                values["set_number"] = set_number
            else:
                problems.add("setNumber", "must look like 10294-1")
        name = problems.string(body, "name", required=required, max_length=200)
        if name is not MISSING:
            values["name"] = name
        priority = problems.integer(body, "priority", minimum=1, maximum=5)
        if priority is not MISSING:
            values["priority"] = priority
        image_url = problems.string(body, "imageUrl", max_length=2048, nullable=True)
        if image_url is not MISSING:
            if image_url is None or image_url.startswith(("http://", "https://")):
                values["image_url"] = image_url
            else:
                problems.add("imageUrl", "must be an http(s) URL or null")
        notes = problems.string(body, "notes", max_length=2000, allow_empty=True)
        if notes is not MISSING:
            values["notes"] = notes
        return values

    def _load(self, req: CoreRequest, principal: Principal) -> dict[str, Any]:
        item_id = parse_uuid(req.path_params.get("itemId", ""), "itemId")
        item = self.db.fetch_one(select(wishlist_items).where(wishlist_items.c.id == item_id))
        if item is None:
            raise not_found("Wishlist item")
        if item["owner_id"] != principal.user_id:
            raise forbidden("wishlist item")
        return item

    @staticmethod
    def _ids(conn: Connection, principal: Principal) -> list[str]:
        return [
            str(i)
            for i in conn.execute(
                select(wishlist_items.c.id)
                .where(wishlist_items.c.owner_id == principal.user_id)
                .order_by(*_ORDER)
            ).scalars()
        ]

    @staticmethod
    def _renumber(conn: Connection, ordered_ids: list[str]) -> None:
        for position, item_id in enumerate(ordered_ids, start=1):
            conn.execute(
                update(wishlist_items)
                .where(wishlist_items.c.id == item_id)
                .values(position=position)
            )

    def _page(self, principal: Principal, q: str | None, page: int, limit: int) -> dict[str, Any]:
        conditions = [wishlist_items.c.owner_id == principal.user_id]
        if q:
            conditions.append(
                text_match(
                    [wishlist_items.c.name, wishlist_items.c.set_number, wishlist_items.c.notes], q
                )
            )
        with self.db.read() as conn:
            total = int(
                conn.execute(
                    select(func.count()).select_from(wishlist_items).where(*conditions)
                ).scalar_one()
            )
            rows = conn.execute(
                select(wishlist_items)
                .where(*conditions)
                .order_by(*_ORDER)
                .limit(limit)
                .offset((page - 1) * limit)
            ).mappings()
            items = [_render(dict(r)) for r in rows]
        return list_data(items, page, limit, total)


def _render(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "setNumber": row["set_number"],
        "name": row["name"],
        "priority": row["priority"],
        "position": row["position"],
        "imageUrl": row["image_url"],
        "notes": row["notes"],
        "createdAt": row["created_at"],
    }
