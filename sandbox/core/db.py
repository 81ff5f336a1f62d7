"""The sandbox database: table definitions and the ``Database`` handle (SQLAlchemy Core).

One schema, two engines: an SQLite file (the embedded default) or PostgreSQL, where each
sandbox run gets a schema of its own (``parity_sb_<run_id>``) that is dropped on stop, so
concurrent sandboxes sharing one database never see each other's rows.

Timestamps are stored as fixed-width ISO-8601 UTC text (``2026-11-24T10:00:00.000Z``):
both engines then return exactly what the API prints, and they sort correctly as text.
Tags are stored as JSON text for the same reason (no JSON column type differences).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url

__all__ = [
    "Database",
    "albums",
    "dump_tags",
    "format_timestamp",
    "images",
    "load_tags",
    "metadata",
    "moc_files",
    "mocs",
    "now_iso",
    "postgres_driver_url",
    "users",
    "wishlist_items",
]

metadata = MetaData()

_ID = 36  # canonical UUID text
_TS = 24  # "2026-11-24T10:00:00.000Z"

users = Table(
    "users",
    metadata,
    Column("id", String(_ID), primary_key=True),  # the Cognito ``sub``
    Column("username", String(128), nullable=False),
    Column("email", String(320), nullable=True),  # unknown for users created from a token
    Column("avatar_url", Text, nullable=True),
    Column("created_at", String(_TS), nullable=False),
)

mocs = Table(
    "mocs",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("theme", String(100), nullable=False),
    Column("piece_count", Integer, nullable=False),
    Column("tags", Text, nullable=False),
    Column("author_id", String(_ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", String(_TS), nullable=False),
    Column("updated_at", String(_TS), nullable=False),
)

moc_files = Table(
    "moc_files",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column(
        "moc_id", String(_ID), ForeignKey("mocs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("kind", String(32), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("s3_key", Text, nullable=False),
    Column("created_at", String(_TS), nullable=False),
)

albums = Table(
    "albums",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("owner_id", String(_ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    # no foreign key: albums <-> images would be a cycle; the service nulls it on delete
    Column("cover_image_id", String(_ID), nullable=True),
    Column("created_at", String(_TS), nullable=False),
)

images = Table(
    "images",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("owner_id", String(_ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("album_id", String(_ID), ForeignKey("albums.id", ondelete="SET NULL"), nullable=True),
    Column("title", String(200), nullable=False),
    Column("s3_key", Text, nullable=False),
    Column("thumbnail_key", Text, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("tags", Text, nullable=False),
    Column("created_at", String(_TS), nullable=False),
)

wishlist_items = Table(
    "wishlist_items",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("owner_id", String(_ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("set_number", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("image_url", Text, nullable=True),
    Column("notes", Text, nullable=False),
    Column("created_at", String(_TS), nullable=False),
)


def format_timestamp(moment: datetime) -> str:
    """``2026-11-24T10:00:00.000Z``: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return format_timestamp(datetime.now(UTC))


def dump_tags(tags: list[str]) -> str:
    return json.dumps(tags, ensure_ascii=False)


def load_tags(raw: str | None) -> list[str]:
    if not raw:
        return []
    value = json.loads(raw)
    return [str(t) for t in value] if isinstance(value, list) else []


_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def postgres_driver_url(url: str) -> str:
    """``postgresql://...`` -> ``postgresql+psycopg://...`` (psycopg 3 is what we ship)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


class Database:
    """Engine, tables and the two ways in: ``read()`` and ``write()``.

    Thread-safe: the adapters call the application from many threads. Each ``read()`` /
    ``write()`` checks a connection out of the pool. On SQLite, writes are serialized by
    a process-wide lock because SQLite allows one writer at a time and would otherwise
    answer "database is locked" under load; reads run concurrently (WAL journal).
    """

    def __init__(
        self,
        *,
        sqlite_path: str | Path | None = None,
        url: str | None = None,
        schema: str | None = None,
        owns_directory: Path | None = None,
    ) -> None:
        if (sqlite_path is None) == (url is None):
            raise ValueError("give exactly one of sqlite_path or url")
        self._write_lock = threading.Lock()
        self._owns_directory = owns_directory
        self._dropped = False
        self.schema: str | None = None
        if sqlite_path is not None:
            self.dialect = "sqlite"
            self.engine: Engine = create_engine(
                f"sqlite:///{Path(sqlite_path)}",
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            event.listen(self.engine, "connect", _sqlite_on_connect)
            self.label = f"sqlite:///{Path(sqlite_path)}"
        else:
            assert url is not None
            if schema is None or not _SCHEMA_RE.match(schema):
                raise ValueError(f"bad PostgreSQL schema name {schema!r}")
            self.dialect = "postgresql"
            self.schema = schema
            self.engine = create_engine(
                postgres_driver_url(url), pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            # every pooled connection works inside our schema only, so plain table names
            # (and any ad-hoc SQL) can never touch another run's rows
            event.listen(self.engine, "connect", _search_path_setter(schema))
            safe = make_url(url).set(password=None)
            self.label = f"{safe.render_as_string(hide_password=False)} (schema {schema})"

    # -- life cycle --------------------------------------------------------------------

    def create(self) -> None:
        """Create the schema (PostgreSQL) and the tables."""
        with self.engine.begin() as conn:
            if self.schema is not None:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            metadata.create_all(conn)

    def drop(self) -> None:
        """Drop everything this run created: the schema (PostgreSQL) or the temp dir.

        Idempotent. In-flight requests may fail afterwards, which is fine at shutdown.
        """
        if self._dropped:
            return
        self._dropped = True
        self.engine.dispose()
        if self.schema is not None:
            with self.engine.begin() as conn:
                # do not hang forever behind a stuck transaction of our own
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.engine.dispose()
        if self._owns_directory is not None:
            shutil.rmtree(self._owns_directory, ignore_errors=True)

    # -- access ------------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction; committed on success, rolled back on an exception."""
        if self.dialect == "sqlite":
            with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def fetch_one(self, query: Any) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row is not None else None

    def fetch_all(self, query: Any) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def count(self, query: Any) -> int:
        with self.read() as conn:
            return int(conn.execute(query).scalar_one())

    def sort_key(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """Byte-order collation on both engines, so ``sort=title`` orders identically
        (PostgreSQL's locale collation ignores spaces and punctuation; SQLite's does not)."""
        return column.collate("C") if self.dialect == "postgresql" else column


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets readers run while the (single) writer writes; foreign keys are off by
    # default in SQLite and the schema relies on ON DELETE CASCADE / SET NULL
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _search_path_setter(schema: str) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        # psycopg opens a transaction for the SET; end it so the pool gets an idle conn
        dbapi_conn.commit()

    return on_connect
