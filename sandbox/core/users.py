"""User endpoints (profile, avatar) and the users row behind every principal.

A users row is created on a principal's first authenticated request (the Cognito ``sub``
is the id), because other tables reference it and the real backends do the same.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from sandbox.core.common import NO_STORE, Context, Problems, require_principal
from sandbox.core.db import now_iso, users
from sandbox.core.http import ApiError, CoreRequest, CoreResponse, Principal, success
from sandbox.core.imaging import sniff_image

__all__ = ["MAX_AVATAR_BYTES", "UserService"]

MAX_AVATAR_BYTES = 2 * 1024 * 1024  # 2 MB


class UserService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self._known: set[str] = set()  # ids known to have a row: skips a query per request
        self._lock = threading.Lock()

    def handlers(self) -> dict[str, Callable[[CoreRequest], CoreResponse]]:
        return {"get_profile": self.get_profile, "upload_avatar": self.upload_avatar}

    def ensure_user(self, principal: Principal) -> None:
        with self._lock:
            if principal.user_id in self._known:
                return
        if self.db.fetch_one(select(users.c.id).where(users.c.id == principal.user_id)) is None:
            try:
                with self.db.write() as conn:
                    conn.execute(
                        insert(users).values(
                            id=principal.user_id,
                            username=principal.username or principal.user_id,
                            email=None,
                            avatar_url=None,
                            created_at=now_iso(),
                        )
                    )
            except IntegrityError:
                pass  # created concurrently (by another thread or the other flavour)
        with self._lock:
            self._known.add(principal.user_id)

    def get_profile(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        return success(self._profile(principal), "Profile retrieved").with_headers(NO_STORE)

    def upload_avatar(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        upload = req.files.get("file")
        if upload is None:
            problems = Problems()
            problems.add("file", "required")
            problems.raise_if_any()
        assert upload is not None
        if len(upload.data) > MAX_AVATAR_BYTES:
            raise ApiError("PAYLOAD_TOO_LARGE", "Avatar must be at most 2 MB")
        info = sniff_image(upload.data)
        if info is None:
            raise ApiError(
                "VALIDATION_ERROR",
                "File is not an image",
                [{"field": "file", "issue": "must be a JPEG, PNG or WebP image"}],
            )
        key = f"avatars/{principal.user_id}/{uuid.uuid4()}.{info.extension}"
        self.ctx.storage.put(key, upload.data, info.content_type)
        previous = self.db.fetch_one(
            select(users.c.avatar_url).where(users.c.id == principal.user_id)
        )
        with self.db.write() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == principal.user_id)
                .values(avatar_url=self.ctx.storage.public_url(key))
            )
        # the replaced avatar goes (after the commit: a failed delete only leaves an orphan)
        old = self.ctx.storage.key_of(previous["avatar_url"] if previous else None)
        if old is not None and old != key:
            self.ctx.storage.discard(old)
        return success(self._profile(principal), "Avatar updated").with_headers(NO_STORE)

    def _profile(self, principal: Principal) -> dict[str, Any]:
        row = self.db.fetch_one(select(users).where(users.c.id == principal.user_id))
        if row is None:  # ensure_user ran, so only a concurrently dropped database gets here
            raise ApiError("NOT_FOUND", "User not found")
        return {
            "id": row["id"],
            "username": row["username"],
            "avatarUrl": row["avatar_url"],
            "createdAt": row["created_at"],
        }
