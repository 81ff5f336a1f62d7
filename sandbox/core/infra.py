"""Start and stop everything the application core stands on.

``start_infrastructure(settings)`` brings up, in order: moto's server (S3 + Cognito) on a
free port, the cache (fakeredis' TCP server on a free port, or a logical db of
``REDIS_URL`` claimed for this run), the database (SQLite in a temp dir, or a schema of
its own in ``DATABASE_URL``), the Cognito user pool, the S3 bucket and the seed data.
``Infrastructure.stop()`` undoes all of it and is idempotent; if start-up fails half-way,
what was started is stopped before the error propagates.

Note: moto keeps its state per *process*, so two infrastructures in one process share
S3 buckets (not user pools, which get fresh ids); the sandbox runs one per process.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from sandbox.core.awsmock import start_moto
from sandbox.core.cache import Cache
from sandbox.core.db import Database
from sandbox.core.identity import PoolInfo, TokenVerifier, setup_user_pool
from sandbox.core.seed import SeedInfo, seed
from sandbox.core.storage import Storage
from sandbox.settings import SandboxSettings

__all__ = ["REDIS_LOCK_PREFIX", "Infrastructure", "start_infrastructure"]

log = logging.getLogger(__name__)

REDIS_LOCK_PREFIX = "parity:sandbox:db-lock:"
_LOCK_TTL_S = 300  # a crashed sandbox frees its db after 5 minutes...
_HEARTBEAT_S = 60.0  # ...while a live one keeps extending the lock


@dataclass
class Infrastructure:
    settings: SandboxSettings
    moto_url: str
    redis_url: str  # includes the logical db index
    database_label: str  # no password
    pool: PoolInfo
    db: Database
    redis: redis.Redis
    storage: Storage
    verifier: TokenVerifier
    seed: SeedInfo
    startup_s: float = 0.0
    _stoppers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)
    _stop_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cache(self, flavour: str) -> Cache:
        """A cache handle with the key prefix of ``flavour`` (``v2:`` for serverless)."""
        return Cache(self.redis, self.settings.cache_prefix(flavour))

    def stop(self) -> None:
        """Release everything (idempotent; safe to call from a signal handler thread)."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
            stoppers, self._stoppers = self._stoppers, []
        _run_stoppers(stoppers)


def _run_stoppers(stoppers: list[Callable[[], None]]) -> None:
    for stop in reversed(stoppers):
        try:
            stop()
        except Exception:  # keep releasing the rest
            log.exception("sandbox: error while stopping %r", stop)


def start_infrastructure(settings: SandboxSettings) -> Infrastructure:
    started = time.perf_counter()
    stoppers: list[Callable[[], None]] = []
    try:
        moto_url = _start_moto(settings, stoppers)
        redis_url, client = _start_redis(settings, stoppers)
        db = _start_database(settings, stoppers)
        storage = Storage(moto_url, settings.bucket, settings.region)
        storage.ensure_bucket()
        pool = setup_user_pool(moto_url, settings.region)
        seeded = seed(db, storage, pool)
        verifier = TokenVerifier(pool.jwks_url, pool.issuer, pool.client_id)
        verifier.refresh()  # the first authenticated request should not pay for it
    except BaseException:
        _run_stoppers(stoppers)
        raise
    infra = Infrastructure(
        settings=settings,
        moto_url=moto_url,
        redis_url=redis_url,
        database_label=db.label,
        pool=pool,
        db=db,
        redis=client,
        storage=storage,
        verifier=verifier,
        seed=seeded,
        startup_s=time.perf_counter() - started,
        _stoppers=stoppers,
    )
    log.info("sandbox infrastructure up in %.2f s", infra.startup_s)
    return infra


def _start_moto(settings: SandboxSettings, stoppers: list[Callable[[], None]]) -> str:
    # werkzeug logs every request to stderr at INFO; the sandbox's output is its env lines
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    url, stop = start_moto(settings.host)
    stoppers.append(stop)
    return url


def _start_redis(
    settings: SandboxSettings, stoppers: list[Callable[[], None]]
) -> tuple[str, redis.Redis]:
    if settings.redis_url:
        url = _claim_redis_db(settings.redis_url, settings.run_id, stoppers)
    else:
        from fakeredis import TcpFakeServer

        server = TcpFakeServer((settings.host, 0))
        # do not let a lingering client connection block shutdown
        server.daemon_threads = True
        server.block_on_close = False
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-fakeredis",
            daemon=True,
        )
        thread.start()

        def stop_fakeredis() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        stoppers.append(stop_fakeredis)
        url = f"redis://{settings.host}:{server.server_address[1]}/0"
    client = redis.Redis.from_url(
        url,
        socket_timeout=3,
        socket_connect_timeout=3,
        health_check_interval=30,
        # redis-py's default retry spends ~4 s on a refused connection; with the cache
        # down, every request would pay that several times (and /health would hang)
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
    )
    stoppers.append(client.close)
    client.ping()
    return url, client


def _with_db(url: str, index: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{index}"))


def _claim_redis_db(url: str, run_id: str, stoppers: list[Callable[[], None]]) -> str:
    """Claim a free logical db (1..15) of a shared Redis for this run.

    Lock keys live in db 0 (``SET NX EX``); a heartbeat keeps the lock while we run, so
    concurrent sandboxes on one Redis never share a db, and a crashed one frees its db
    after the lock's TTL.
    """
    admin = redis.Redis.from_url(_with_db(url, 0), socket_timeout=3, socket_connect_timeout=3)
    stoppers.append(admin.close)
    for index in range(1, 16):
        lock = f"{REDIS_LOCK_PREFIX}{index}"
        if admin.set(lock, run_id, nx=True, ex=_LOCK_TTL_S):
            break
    else:
        raise RuntimeError(
            f"no free Redis logical db (1..15) on {url}: {REDIS_LOCK_PREFIX}* locks are all "
            f"held by other sandboxes; stop them, wait {_LOCK_TTL_S} s for stale locks to "
            "expire, or unset REDIS_URL to use the embedded fakeredis"
        )
    claimed = _with_db(url, index)
    owned = redis.Redis.from_url(claimed, socket_timeout=3, socket_connect_timeout=3)
    owned.flushdb()  # leftovers of a crashed earlier owner
    stop_heartbeat = threading.Event()

    def heartbeat() -> None:
        while not stop_heartbeat.wait(_HEARTBEAT_S):
            try:
                if admin.get(lock) == run_id.encode():
                    admin.expire(lock, _LOCK_TTL_S)
            except redis.RedisError as exc:
                log.warning("sandbox: cannot extend Redis db lock %s: %s", lock, exc)

    thread = threading.Thread(target=heartbeat, name="sandbox-redis-lock", daemon=True)
    thread.start()

    def release() -> None:
        stop_heartbeat.set()
        try:
            owned.flushdb()
        finally:
            owned.close()
            # delete the lock only if it is still ours (it may have expired and been
            # claimed by another run while we were suspended)
            with admin.pipeline() as pipe:
                try:
                    pipe.watch(lock)
                    if pipe.get(lock) == run_id.encode():
                        pipe.multi()
                        pipe.delete(lock)
                        pipe.execute()
                except redis.WatchError:
                    pass

    stoppers.append(release)
    return claimed


def _start_database(settings: SandboxSettings, stoppers: list[Callable[[], None]]) -> Database:
    if settings.database_url:
        db = Database(url=settings.database_url, schema=f"parity_sb_{settings.run_id}")
    else:
        directory = Path(tempfile.mkdtemp(prefix=f"parity-sb-{settings.run_id}-"))
        db = Database(sqlite_path=directory / "sandbox.db", owns_directory=directory)
    stoppers.append(db.drop)
    db.create()
    return db
