"""MOC endpoints: public list/search/stats/get, owner writes and the three upload paths
(direct multipart, presign -> PUT to S3 -> complete)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, delete, func, insert, select, update

from sandbox.core.common import (
    MAX_FILE_BYTES,
    MISSING,
    NO_STORE,
    PUBLIC_CACHE,
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
    safe_filename,
    text_match,
)
from sandbox.core.db import dump_tags, load_tags, moc_files, mocs, now_iso
from sandbox.core.http import ApiError, CoreRequest, CoreResponse, Principal, success
from sandbox.core.imaging import sniff_image

__all__ = ["FILE_KINDS", "MAX_TITLE", "PRESIGN_EXPIRES_S", "SORTS", "MocService"]

SORTS = ("newest", "title", "pieces")
FILE_KINDS = ("instructions", "parts-list", "image")
PRESIGN_EXPIRES_S = 900
MAX_PIECES = 1_000_000  # keeps the value inside a 32-bit integer column
MAX_TITLE = 200  # characters; the title-length drift relaxes it on serverless
_MOC_FIELDS = frozenset({"title", "description", "theme", "pieceCount", "tags"})
_PRESIGN_FIELDS = frozenset({"filename", "contentType", "size"})
_COMPLETE_FIELDS = frozenset({"key", "filename", "kind", "sha256"})


class MocService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.db = ctx.db

    def handlers(self) -> dict[str, Callable[[CoreRequest], CoreResponse]]:
        return {
            "list_mocs": self.list_mocs,
            "search_mocs": self.search_mocs,
            "moc_stats": self.moc_stats,
            "get_moc": self.get_moc,
            "create_moc": self.create_moc,
            "update_moc": self.update_moc,
            "delete_moc": self.delete_moc,
            "upload_moc_file": self.upload_moc_file,
            "presign_moc_file": self.presign_moc_file,
            "complete_moc_file": self.complete_moc_file,
        }

    # -- reads (public) ----------------------------------------------------------------

    def list_mocs(self, req: CoreRequest) -> CoreResponse:
        problems = Problems()
        page, limit = pagination(req, problems)
        sort = self._sort(req, problems)
        problems.raise_if_any()
        theme = (req.query.get("theme") or "").strip()
        q = (req.query.get("q") or "").strip()
        key = f"list:page={page}&limit={limit}"
        if sort != "newest":
            key += f"&sort={sort}"
        if theme:
            key += f"&theme={quote(theme, safe='')}"
        if q:
            key += f"&q={quote(q, safe='')}"
        data = self.ctx.cache.get("mocs", None, key)
        if data is None:
            data = self._page(page, limit, sort, theme, q)
            self.ctx.cache.set("mocs", None, key, data)
        return success(data, "MOCs retrieved").with_headers(PUBLIC_CACHE)

    def search_mocs(self, req: CoreRequest) -> CoreResponse:
        problems = Problems()
        q = required_query(req, "q", problems)
        page, limit = pagination(req, problems)
        sort = self._sort(req, problems)
        problems.raise_if_any()
        theme = (req.query.get("theme") or "").strip()
        data = self._page(page, limit, sort, theme, q)
        return success(data, "Search results retrieved").with_headers(PUBLIC_CACHE)

    def moc_stats(self, req: CoreRequest) -> CoreResponse:
        with self.db.read() as conn:
            rows = conn.execute(
                select(mocs.c.theme, func.count(), func.coalesce(func.sum(mocs.c.piece_count), 0))
                .group_by(mocs.c.theme)
                .order_by(self.db.sort_key(mocs.c.theme))
            ).all()
        by_theme = {str(theme): int(count) for theme, count, _ in rows}
        data = {
            "total": sum(by_theme.values()),
            "byTheme": by_theme,
            "totalPieces": sum(int(pieces) for _, _, pieces in rows),
        }
        return success(data, "MOC stats retrieved").with_headers(PUBLIC_CACHE)

    def get_moc(self, req: CoreRequest) -> CoreResponse:
        moc = self._load(req)
        return success(self._render([moc])[0], "MOC retrieved").with_headers(PUBLIC_CACHE)

    # -- writes (owner) ----------------------------------------------------------------

    def create_moc(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, _MOC_FIELDS)
        title = problems.string(body, "title", required=True, max_length=MAX_TITLE)
        description = problems.string(body, "description", max_length=5000, allow_empty=True)
        theme = problems.string(body, "theme", required=True, max_length=100)
        pieces = problems.integer(body, "pieceCount", required=True, minimum=1, maximum=MAX_PIECES)
        tags = problems.string_list(body, "tags")
        problems.raise_if_any()
        now = now_iso()
        row = {
            "id": str(uuid.uuid4()),
            "title": title,
            "description": "" if description is MISSING else description,
            "theme": theme,
            "piece_count": pieces,
            "tags": dump_tags([] if tags is MISSING else tags),
            "author_id": principal.user_id,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.write() as conn:
            conn.execute(insert(mocs).values(**row))
        self.ctx.cache.invalidate("mocs")
        return success(self._render([row])[0], "MOC created", 201).with_headers(NO_STORE)

    def update_moc(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        moc = self._load(req)
        self._require_owner(moc, principal)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, _MOC_FIELDS)
        values: dict[str, Any] = {
            "title": problems.string(body, "title", max_length=MAX_TITLE),
            "description": problems.string(body, "description", max_length=5000, allow_empty=True),
            "theme": problems.string(body, "theme", max_length=100),
            "piece_count": problems.integer(body, "pieceCount", minimum=1, maximum=MAX_PIECES),
            "tags": problems.string_list(body, "tags"),
        }
        if not body:
            problems.add("body", "no fields to update")
        problems.raise_if_any()
        changes = {k: v for k, v in values.items() if v is not MISSING}
        if "tags" in changes:
            changes["tags"] = dump_tags(changes["tags"])
        changes["updated_at"] = now_iso()
        with self.db.write() as conn:
            conn.execute(update(mocs).where(mocs.c.id == moc["id"]).values(**changes))
        self.ctx.cache.invalidate("mocs")
        moc.update(changes)
        return success(self._render([moc])[0], "MOC updated").with_headers(NO_STORE)

    def delete_moc(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        moc = self._load(req)
        if moc["author_id"] != principal.user_id and not principal.is_admin:
            raise forbidden("MOC")
        keys = [f["s3_key"] for f in self._files([moc["id"]]).get(moc["id"], [])]
        with self.db.write() as conn:
            conn.execute(delete(moc_files).where(moc_files.c.moc_id == moc["id"]))
            conn.execute(delete(mocs).where(mocs.c.id == moc["id"]))
        self.ctx.cache.invalidate("mocs")
        for key in keys:  # after the commit: a failed S3 delete only leaves an orphan
            self.ctx.storage.discard(key)
        return success(None, "MOC deleted").with_headers(NO_STORE)

    # -- files -------------------------------------------------------------------------

    def upload_moc_file(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        moc = self._load(req)
        self._require_owner(moc, principal)
        problems = Problems()
        upload = req.files.get("file")
        kind = (req.form.get("kind") or "").strip()
        if upload is None:
            problems.add("file", "required")
        elif not upload.data:
            problems.add("file", "must not be empty")
        if not kind:
            problems.add("kind", "required")
        elif kind not in FILE_KINDS:
            problems.add("kind", "must be one of " + ", ".join(FILE_KINDS))
        problems.raise_if_any()
        assert upload is not None
        if len(upload.data) > MAX_FILE_BYTES:
            raise ApiError("PAYLOAD_TOO_LARGE", "File too large")
        content_type = upload.content_type or "application/octet-stream"
        if kind == "image":
            info = sniff_image(upload.data)
            if info is None:
                raise ApiError(
                    "VALIDATION_ERROR",
                    "File is not an image",
                    [{"field": "file", "issue": "must be a JPEG, PNG or WebP image"}],
                )
            content_type = info.content_type
        filename = (upload.filename or "file")[:255]
        file_id = str(uuid.uuid4())
        key = f"mocs/{moc['id']}/{file_id}/{safe_filename(filename)}"
        self.ctx.storage.put(key, upload.data, content_type)
        record = self._add_file(
            file_id,
            moc["id"],
            kind,
            filename,
            len(upload.data),
            hashlib.sha256(upload.data).hexdigest(),
            key,
        )
        return success(record, "File uploaded", 201).with_headers(NO_STORE)

    def presign_moc_file(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        moc = self._load(req)
        self._require_owner(moc, principal)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, _PRESIGN_FIELDS)
        filename = problems.string(body, "filename", required=True, max_length=255)
        content_type = problems.string(body, "contentType", required=True, max_length=255)
        size = body.get("size", MISSING)
        if size is MISSING:
            problems.add("size", "required")
        elif isinstance(size, bool) or not isinstance(size, int):
            problems.add("size", "must be an integer")
        elif size < 1:
            problems.add("size", "must be >= 1")
        elif size > MAX_FILE_BYTES:
            problems.add("size", f"must be at most {MAX_FILE_BYTES} bytes")
        problems.raise_if_any()
        key = f"uploads/{moc['id']}/{uuid.uuid4()}/{safe_filename(filename)}"
        url = self.ctx.storage.presign_put(key, content_type, PRESIGN_EXPIRES_S)
        data = {
            "uploadUrl": url,
            "key": key,
            "expiresIn": PRESIGN_EXPIRES_S,
            "maxBytes": MAX_FILE_BYTES,
        }
        return success(data, "Upload URL created").with_headers(NO_STORE)

    def complete_moc_file(self, req: CoreRequest) -> CoreResponse:
        principal = require_principal(req)
        moc = self._load(req)
        self._require_owner(moc, principal)
        body = json_body(req)
        problems = Problems()
        problems.unknown_fields(body, _COMPLETE_FIELDS)
        key = problems.string(body, "key", required=True, max_length=1024)
        filename = problems.string(body, "filename", required=True, max_length=255)
        kind = problems.string(body, "kind", required=True, max_length=32)
        sha = problems.string(body, "sha256", required=True, max_length=64)
        if kind is not MISSING and kind not in FILE_KINDS:
            problems.add("kind", "must be one of " + ", ".join(FILE_KINDS))
        if sha is not MISSING and not _is_sha256(sha):
            problems.add("sha256", "must be 64 hexadecimal characters")
        if key is not MISSING and not key.startswith(f"uploads/{moc['id']}/"):
            problems.add("key", "not an upload key of this MOC")
        problems.raise_if_any()
        size = self.ctx.storage.head(key)
        if size is None:
            fail("key", "not uploaded")
        assert size is not None
        if size > MAX_FILE_BYTES:
            fail("key", f"object larger than {MAX_FILE_BYTES} bytes")
        if self.db.fetch_one(select(moc_files.c.id).where(moc_files.c.s3_key == key)):
            fail("key", "already completed")
        actual, head = self.ctx.storage.sha256(key)
        if actual != sha.lower():
            fail("sha256", "does not match the uploaded object")
        if kind == "image" and sniff_image(head) is None:
            fail("kind", "the uploaded object is not a JPEG, PNG or WebP image")
        record = self._add_file(str(uuid.uuid4()), moc["id"], kind, filename, size, actual, key)
        return success(record, "File uploaded", 201).with_headers(NO_STORE)

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _sort(req: CoreRequest, problems: Problems) -> str:
        sort = (req.query.get("sort") or "newest").strip()
        if sort not in SORTS:
            problems.add("sort", "must be one of " + ", ".join(SORTS))
        return sort

    def _load(self, req: CoreRequest) -> dict[str, Any]:
        moc_id = parse_uuid(req.path_params.get("mocId", ""), "mocId")
        moc = self.db.fetch_one(select(mocs).where(mocs.c.id == moc_id))
        if moc is None:
            raise not_found("MOC")
        return moc

    @staticmethod
    def _require_owner(moc: dict[str, Any], principal: Principal) -> None:
        if moc["author_id"] != principal.user_id:
            raise forbidden("MOC")

    def _page(self, page: int, limit: int, sort: str, theme: str, q: str) -> dict[str, Any]:
        conditions: list[ColumnElement[bool]] = []
        if theme:
            # themes are a closed vocabulary in the frontend; match them exactly but
            # case-insensitively, like the Express backend's ILIKE
            conditions.append(func.lower(mocs.c.theme) == theme.lower())
        if q:
            conditions.append(
                text_match([mocs.c.title, mocs.c.description, mocs.c.theme, mocs.c.tags], q)
            )
        order: list[Any]
        if sort == "title":
            order = [self.db.sort_key(func.lower(mocs.c.title)), mocs.c.id]
        elif sort == "pieces":
            order = [mocs.c.piece_count.desc(), mocs.c.created_at.desc(), mocs.c.id]
        else:
            order = [mocs.c.created_at.desc(), mocs.c.id]
        query = select(mocs).where(*conditions)
        with self.db.read() as conn:
            total = int(
                conn.execute(select(func.count()).select_from(mocs).where(*conditions)).scalar_one()
            )
            rows = [
                dict(r)
                for r in conn.execute(
                    query.order_by(*order).limit(limit).offset((page - 1) * limit)
                ).mappings()
            ]
        return list_data(self._render(rows), page, limit, total)

    def _files(self, moc_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        if not moc_ids:
            return {}
        rows = self.db.fetch_all(
            select(moc_files)
            .where(moc_files.c.moc_id.in_(moc_ids))
            .order_by(moc_files.c.created_at, moc_files.c.id)
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["moc_id"], []).append(row)
        return grouped

    def _render(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        files = self._files([r["id"] for r in rows])
        return [
            {
                "id": r["id"],
                "title": r["title"],
                "description": r["description"],
                "theme": r["theme"],
                "pieceCount": r["piece_count"],
                "tags": load_tags(r["tags"]),
                "authorId": r["author_id"],
                "files": [self._file_record(f) for f in files.get(r["id"], [])],
                "createdAt": r["created_at"],
                "updatedAt": r["updated_at"],
            }
            for r in rows
        ]

    def _file_record(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"],
            "kind": row["kind"],
            "filename": row["filename"],
            "size": row["size"],
            "sha256": row["sha256"],
            "url": self.ctx.storage.public_url(row["s3_key"]),
            "createdAt": row["created_at"],
        }

    def _add_file(
        self, file_id: str, moc_id: str, kind: str, filename: str, size: int, sha: str, key: str
    ) -> dict[str, Any]:
        row = {
            "id": file_id,
            "moc_id": moc_id,
            "kind": kind,
            "filename": filename,
            "size": size,
            "sha256": sha,
            "s3_key": key,
            "created_at": now_iso(),
        }
        with self.db.write() as conn:
            conn.execute(insert(moc_files).values(**row))
            # a new file changes the MOC (its "files"), so it counts as an update
            conn.execute(
                update(mocs).where(mocs.c.id == moc_id).values(updated_at=row["created_at"])
            )
        self.ctx.cache.invalidate("mocs")
        return self._file_record(row)


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)
