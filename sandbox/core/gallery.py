"""Gallery endpoints: a user's own images (upload, list, search, edit, delete) and albums.

Everything here is private to its owner: another user's image or album answers 403.
Images are cached under the ``gallery`` resource, albums under ``albums``; an image
write invalidates both for its owner (album image counts change).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update

from sandbox.core.common import (
    MAX_FILE_BYTES,
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
from sandbox.core.db import albums, dump_tags, images, load_tags, now_iso
from sandbox.core.http import ApiError, CoreRequest, CoreResponse, Principal, success
from sandbox.core.imaging import sniff_image

__all__ = ["GalleryService"]

_IMAGE_FIELDS = frozenset({"title", "albumId", "tags"})
_ALBUM_FIELDS = frozenset({"title", "coverImageId"})


class GalleryService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.db = ctx.db

    def handlers(self) -> dict[str, Callable[[CoreRequest], CoreResponse]]:
        return {
            "list_images": self.list_images,
            "search_images": self.search_images,
            "get_image": self.get_image,
            "upload_image": self.upload_image,
            "update_image": self.update_image,
            "delete_image": self.delete_image,
            "list_albums": self.list_albums,
            "create_album": self.create_album,
            "get_album": self.get_album,
            "delete_album": self.delete_album,
        }

    # -- images ------------------------------------------------------------------------

    def list_images(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        problems = Problems()
        page, limit = pagination(req, problems)
        album_id = None
        if req.query.get("albumId"):
            album_id = problems.uuid_field(req.query, "albumId", nullable=False)
        problems.raise_if_any()
        key = f"list:page={page}&limit={limit}" + (f"&albumId={album_id}" if album_id else "")
        data = self.ctx.cache.get("gallery", principal.user_id, key)
        if data is None:
            conditions = [images.c.owner_id == principal.user_id]
            if album_id:
                conditions.append(images.c.album_id == album_id)
            data = self._image_page(conditions, page, limit)
            self.ctx.cache.set("gallery", principal.user_id, key, data)
        return success(data, "Images retrieved").with_headers(NO_STORE)

    def search_images(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        problems = Problems()
        q = required_query(req, "q", problems)
        page, limit = pagination(req, problems)
        problems.raise_if_any()
        conditions = [
            images.c.owner_id == principal.user_id,
            text_match([images.c.title, images.c.tags], q),
        ]
        data = self._image_page(conditions, page, limit)
        return success(data, "Search results retrieved").with_headers(NO_STORE)

    def get_image(self, req: CoreRequest) -> CoreResponse:
        image = self._load_image(req, require_principal(req))
        return success(self._render_image(image), "Image retrieved").with_headers(NO_STORE)

    def upload_image(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        problems = Problems()
        form: dict[str, Any] = dict(req.form)
        upload = req.files.get("file")
        if upload is None:
            problems.add("file", "required")
        title = problems.string(form, "title", required=True, max_length=200)
        album_id = problems.uuid_field(form, "albumId") if form.get("albumId") else None
        tags = _form_tags(form.get("tags"), problems)
        problems.raise_if_any()
        assert upload is not None
        if len(upload.data) > MAX_FILE_BYTES:
            raise ApiError("PAYLOAD_TOO_LARGE", "File too large")
        info = sniff_image(upload.data)
        if info is None:
            raise ApiError(
                "VALIDATION_ERROR",
                "File is not an image",
                [{"field": "file", "issue": "must be a JPEG, PNG or WebP image"}],
            )
        album = self._own_album(album_id, principal) if album_id else None
        image_id = str(uuid.uuid4())
        base = f"gallery/{principal.user_id}/{image_id}"
        key, thumb = f"{base}/original.{info.extension}", f"{base}/thumb.{info.extension}"
        self.ctx.storage.put(key, upload.data, info.content_type)
        # no image library in the sandbox: the "thumbnail" is a copy of the original
        self.ctx.storage.put(thumb, upload.data, info.content_type)
        row = {
            "id": image_id,
            "owner_id": principal.user_id,
            "album_id": album["id"] if album else None,
            "title": title,
            "s3_key": key,
            "thumbnail_key": thumb,
            "width": info.width,
            "height": info.height,
            "size": len(upload.data),
            "sha256": hashlib.sha256(upload.data).hexdigest(),
            "tags": dump_tags(tags),
            "created_at": now_iso(),
        }
        with self.db.write() as conn:
            conn.execute(insert(images).values(**row))
            if album is not None and album["cover_image_id"] is None:
                conn.execute(
                    update(albums).where(albums.c.id == album["id"]).values(cover_image_id=image_id)
                )
        self._invalidate(principal)
        return success(self._render_image(row), "Image uploaded", 201).with_headers(NO_STORE)

    def update_image(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        image = self._load_image(req, principal)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, _IMAGE_FIELDS)
        title = problems.string(body, "title", max_length=200)
        album_id = problems.uuid_field(body, "albumId", nullable=True)
        tags = problems.string_list(body, "tags")
        if not body:
            problems.add("body", "no fields to update")
        problems.raise_if_any()
        changes: dict[str, Any] = {}
        if title is not MISSING:
            changes["title"] = title
        if tags is not MISSING:
            changes["tags"] = dump_tags(tags)
        if album_id is not MISSING:
            changes["album_id"] = self._own_album(album_id, principal)["id"] if album_id else None
        with self.db.write() as conn:
            conn.execute(update(images).where(images.c.id == image["id"]).values(**changes))
        self._invalidate(principal)
        image.update(changes)
        return success(self._render_image(image), "Image updated").with_headers(NO_STORE)

    def delete_image(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        image = self._load_image(req, principal)
        with self.db.write() as conn:
            conn.execute(
                update(albums)
                .where(albums.c.cover_image_id == image["id"])
                .values(cover_image_id=None)
            )
            conn.execute(delete(images).where(images.c.id == image["id"]))
        self._invalidate(principal)
        for key in (image["s3_key"], image["thumbnail_key"]):
            self.ctx.storage.discard(key)  # after the commit: at worst an orphan
        return success(None, "Image deleted").with_headers(NO_STORE)

    # -- albums ------------------------------------------------------------------------

    def list_albums(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        problems = Problems()
        page, limit = pagination(req, problems)
        problems.raise_if_any()
        key = f"list:page={page}&limit={limit}"
        data = self.ctx.cache.get("albums", principal.user_id, key)
        if data is None:
            mine = albums.c.owner_id == principal.user_id
            with self.db.read() as conn:
                total = int(
                    conn.execute(select(func.count()).select_from(albums).where(mine)).scalar_one()
                )
                rows = conn.execute(
                    self._album_query()
                    .where(mine)
                    .order_by(albums.c.created_at.desc(), albums.c.id)
                    .limit(limit)
                    .offset((page - 1) * limit)
                ).mappings()
                items = [self._render_album(dict(r)) for r in rows]
            data = list_data(items, page, limit, total)
            self.ctx.cache.set("albums", principal.user_id, key, data)
        return success(data, "Albums retrieved").with_headers(NO_STORE)

    def create_album(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, _ALBUM_FIELDS)
        title = problems.string(body, "title", required=True, max_length=200)
        cover = problems.uuid_field(body, "coverImageId", nullable=True)
        problems.raise_if_any()
        if cover:  # MISSING and None are falsy
            image = self.db.fetch_one(select(images).where(images.c.id == cover))
            if image is None:
                fail("coverImageId", "image not found")
            elif image["owner_id"] != principal.user_id:
                raise forbidden("image")
        row = {
            "id": str(uuid.uuid4()),
            "owner_id": principal.user_id,
            "title": title,
            "cover_image_id": cover or None,
            "created_at": now_iso(),
        }
        with self.db.write() as conn:
            conn.execute(insert(albums).values(**row))
        self.ctx.cache.invalidate("albums", principal.user_id)
        album = {**row, "image_count": 0}
        return success(self._render_album(album), "Album created", 201).with_headers(NO_STORE)

    def get_album(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        album_id = parse_uuid(req.path_params.get("albumId", ""), "albumId")
        album = self.db.fetch_one(self._album_query().where(albums.c.id == album_id))
        if album is None:
            raise not_found("Album")
        if album["owner_id"] != principal.user_id:
            raise forbidden("album")
        rows = self.db.fetch_all(
            select(images)
            .where(images.c.album_id == album_id)
            .order_by(images.c.created_at.desc(), images.c.id)
        )
        data = self._render_album(album)
        data["images"] = [self._render_image(r) for r in rows]
        return success(data, "Album retrieved").with_headers(NO_STORE)

    def delete_album(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        album = self._own_album_from_path(req, principal)
        with self.db.write() as conn:
            # the images stay in the gallery, just outside any album
            conn.execute(
                update(images).where(images.c.album_id == album["id"]).values(album_id=None)
            )
            conn.execute(delete(albums).where(albums.c.id == album["id"]))
        self._invalidate(principal)
        return success(None, "Album deleted").with_headers(NO_STORE)

    # -- helpers -----------------------------------------------------------------------

    def _invalidate(self, principal: Principal) -> None:
        self.ctx.cache.invalidate("gallery", principal.user_id)
        self.ctx.cache.invalidate("albums", principal.user_id)

    def _load_image(self, req: CoreRequest, principal: Principal) -> dict[str, Any]:
        image_id = parse_uuid(req.path_params.get("imageId", ""), "imageId")
        image = self.db.fetch_one(select(images).where(images.c.id == image_id))
        if image is None:
            raise not_found("Image")
        if image["owner_id"] != principal.user_id:
            raise forbidden("image")
        return image

    def _own_album_from_path(self, req: CoreRequest, principal: Principal) -> dict[str, Any]:
        album_id = parse_uuid(req.path_params.get("albumId", ""), "albumId")
        album = self.db.fetch_one(select(albums).where(albums.c.id == album_id))
        if album is None:
            raise not_found("Album")
        if album["owner_id"] != principal.user_id:
            raise forbidden("album")
        return album

    def _own_album(self, album_id: str, principal: Principal) -> dict[str, Any]:
        """An album named in a body or form: unknown -> 400, someone else's -> 403."""
        album = self.db.fetch_one(select(albums).where(albums.c.id == album_id))
        if album is None:
            fail("albumId", "album not found")
        if album["owner_id"] != principal.user_id:
            raise forbidden("album")
        return album

    @staticmethod
    def _album_query() -> Any:
        count = (
            select(func.count())
            .select_from(images)
            .where(images.c.album_id == albums.c.id)
            .scalar_subquery()
        )
        return select(albums, count.label("image_count"))

    def _image_page(
        self, conditions: list[ColumnElement[bool]], page: int, limit: int
    ) -> dict[str, Any]:
        with self.db.read() as conn:
            total = int(
                conn.execute(
                    select(func.count()).select_from(images).where(*conditions)
                ).scalar_one()
            )
            rows = conn.execute(
                select(images)
                .where(*conditions)
                .order_by(images.c.created_at.desc(), images.c.id)
                .limit(limit)
                .offset((page - 1) * limit)
            ).mappings()
            items = [self._render_image(dict(r)) for r in rows]
        return list_data(items, page, limit, total)

    def _render_image(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"],
            "title": row["title"],
            "albumId": row["album_id"],
            "url": self.ctx.storage.public_url(row["s3_key"]),
            "thumbnailUrl": self.ctx.storage.public_url(row["thumbnail_key"]),
            "width": row["width"],
            "height": row["height"],
            "size": row["size"],
            "sha256": row["sha256"],
            "tags": load_tags(row["tags"]),
            "createdAt": row["created_at"],
        }

    @staticmethod
    def _render_album(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"],
            "title": row["title"],
            "imageCount": int(row["image_count"]),
            "coverImageId": row["cover_image_id"],
            "createdAt": row["created_at"],
        }


def _form_tags(raw: str | None, problems: Problems) -> list[str]:
    """Multipart has no lists: ``tags`` is comma-separated (``"castle, medieval"``)."""
    if not raw:
        return []
    tags = [t.strip() for t in raw.split(",") if t.strip()]
    if len(tags) > 20 or any(len(t) > 50 for t in tags):
        problems.add("tags", "at most 20 comma-separated tags of 1 to 50 characters")
        return []
    return tags
