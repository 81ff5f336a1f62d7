"""The core's building blocks: settings, identity (tokens from moto's pool), image
sniffing, cache key scheme, database behaviour under threads, infrastructure life cycle."""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select, text

from sandbox.core.cache import Cache
from sandbox.core.db import format_timestamp, mocs
from sandbox.core.http import Principal
from sandbox.core.identity import (
    InvalidToken,
    TokenVerifier,
    get_id_token,
    mint_expired_token,
    sign_claims,
)
from sandbox.core.imaging import make_png, sniff_image
from sandbox.core.infra import (
    REDIS_LOCK_PREFIX,
    Infrastructure,
    _claim_redis_db,
    start_infrastructure,
)
from sandbox.core.service import Application
from sandbox.settings import SandboxSettings

from .conftest import _call

# -- settings -------------------------------------------------------------------------


def test_settings_defaults_and_env() -> None:
    default = SandboxSettings.from_env({})
    assert default.database_url is None and default.redis_url is None
    assert default.migration_mode is True and default.production is False
    assert default.drifts == frozenset() and len(default.run_id) == 8
    s = SandboxSettings.from_env(
        {
            "DATABASE_URL": "postgresql://u@h:5432/db",
            "REDIS_URL": "redis://h:6379/0",
            "PARITY_SANDBOX_DRIFT": "a, b,,",
            "PARITY_SANDBOX_PRODUCTION": "yes",
            "MIGRATION_MODE": "false",
            "PARITY_SANDBOX_GATEWAY_TIMEOUT": "2.5",
            "PARITY_SANDBOX_FAULT_TIMEOUT": "0",
            "PARITY_SANDBOX_LATENCY": "40",
            "PARITY_SANDBOX_ERROR_RATE": "0.25",
        }
    )
    assert s.drifts == {"a", "b"} and s.production and not s.migration_mode
    assert (s.gateway_timeout_s, s.fault_timeout_s, s.latency_ms, s.error_rate) == (
        2.5,
        0,
        40,
        0.25,
    )
    assert s.cache_prefix("serverless") == "" and default.cache_prefix("serverless") == "v2:"
    assert default.cache_prefix("express") == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "http://x"),
        ("PARITY_SANDBOX_PRODUCTION", "maybe"),
        ("PARITY_SANDBOX_GATEWAY_TIMEOUT", "0"),
        ("PARITY_SANDBOX_LATENCY", "-1"),
        ("PARITY_SANDBOX_LATENCY", "1.5"),
        ("PARITY_SANDBOX_ERROR_RATE", "2"),
    ],
)
def test_settings_errors_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        SandboxSettings.from_env({name: value})


# -- identity -------------------------------------------------------------------------


def test_moto_id_token_verifies(infra: Infrastructure) -> None:
    token = get_id_token(infra.pool, "admin")
    claims = infra.verifier.verify(token)
    assert claims["sub"] == infra.pool.subs["admin"]
    assert claims["iss"] == infra.pool.issuer and claims["aud"] == infra.pool.client_id
    principal = Principal.from_claims(claims)
    assert principal.is_admin and principal.username == "admin"
    assert not Principal.from_claims(
        infra.verifier.verify(get_id_token(infra.pool, "bob"))
    ).is_admin


def test_a_browser_can_preflight_cognito_and_s3(infra: Infrastructure) -> None:
    """The web app signs in from the browser: its preflight of Cognito's ``OPTIONS /`` must
    pass (moto 5.2.6 alone answers it 500), and a bucket path's preflight still reaches moto."""
    origin = "http://127.0.0.1:9"
    asked = "content-type,x-amz-target"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    cognito = httpx.options(
        infra.moto_url + "/", headers={**preflight, "Access-Control-Request-Headers": asked}
    )
    assert cognito.status_code == 200, cognito.text[:300]
    assert cognito.headers["access-control-allow-origin"] == origin
    assert cognito.headers["access-control-allow-headers"] == asked
    assert "POST" in cognito.headers["access-control-allow-methods"]
    bucket = httpx.options(
        f"{infra.moto_url}/{infra.settings.bucket}/uploads/x.png",
        headers={**preflight, "Access-Control-Request-Method": "PUT"},
    )
    assert "x-amzn-requestid" in bucket.headers  # moto's own answer, not the middleware's
    # a real sign-in still works through the wrapped server
    assert infra.verifier.verify(get_id_token(infra.pool, "alice"))["cognito:username"] == "alice"


def test_bad_tokens_are_rejected(infra: Infrastructure) -> None:
    good = get_id_token(infra.pool, "alice")
    claims = infra.verifier.verify(good)
    bad = {
        "expired": mint_expired_token(good),
        "foreign": sign_claims(claims, foreign=True),
        "audience": sign_claims({**claims, "aud": "someone-else"}),
        "issuer": sign_claims({**claims, "iss": "https://evil.example.com"}),
        "access": sign_claims({**claims, "token_use": "access"}),
        "garbage": "not.a.token",
        "empty": "",
        "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    }
    for name, token in bad.items():
        with pytest.raises(InvalidToken):
            infra.verifier.verify(token)
            pytest.fail(f"{name} token accepted")
    with pytest.raises(InvalidToken, match="expired"):
        infra.verifier.verify(bad["expired"])
    assert infra.verifier.verify(sign_claims(claims))["sub"] == claims["sub"]  # re-signed is fine


def test_verifier_with_unreachable_jwks_rejects() -> None:
    verifier = TokenVerifier("http://127.0.0.1:1/jwks.json", None, "client")
    with pytest.raises(InvalidToken, match="JWKS"):
        verifier.verify(sign_claims({"sub": "x", "aud": "client", "exp": time.time() + 60}))


# -- imaging --------------------------------------------------------------------------


def test_sniff_png_jpeg_webp() -> None:
    png = sniff_image(make_png(7, 3))
    assert png is not None and (png.format, png.width, png.height) == ("png", 7, 3)
    jpeg = (
        b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\0" * 9
        + b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 480, 640) + b"\0" * 10
    )  # fmt: skip
    info = sniff_image(jpeg)
    assert info is not None and (info.format, info.width, info.height) == ("jpeg", 640, 480)
    vp8x = (
        b"VP8X"
        + struct.pack("<I", 10)
        + b"\0" * 4
        + (99).to_bytes(3, "little")
        + (49).to_bytes(3, "little")
    )
    webp = b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x
    info = sniff_image(webp)
    assert info is not None and (info.content_type, info.width, info.height) == (
        "image/webp",
        100,
        50,
    )
    assert sniff_image(b"GIF89a\x01\x00\x01\x00") is None
    assert sniff_image(b"\x89PNG\r\n\x1a\n") is None  # truncated
    assert sniff_image(b"") is None


# -- cache ----------------------------------------------------------------------------


def test_cache_key_scheme_and_scoped_invalidation(infra: Infrastructure) -> None:
    r = infra.redis
    express, serverless = infra.cache("express"), infra.cache("serverless")
    assert (
        express.key("mocs", None, "list:page=1&limit=20") == "mocs:user:public:list:page=1&limit=20"
    )
    assert serverless.key("gallery", "u1", "x") == "v2:gallery:user:u1:x"
    u1, u2 = f"u1-{uuid.uuid4()}", f"u2-{uuid.uuid4()}"
    for cache in (express, serverless):
        cache.set("wishlist", u1, "list", {"n": 1})
        cache.set("wishlist", u2, "list", {"n": 2})
    r.set(f"sessions:user:{u1}:list", "keep")  # never touched by invalidation
    assert express.get("wishlist", u1, "list") == {"n": 1}
    assert express.invalidate("wishlist", u1) == 2
    assert (
        express.get("wishlist", u1, "list") is None
        and serverless.get("wishlist", u1, "list") is None
    )
    assert serverless.get("wishlist", u2, "list") == {"n": 2}
    assert r.get(f"sessions:user:{u1}:list") == b"keep"
    assert serverless.invalidate("wishlist") >= 2
    assert express.get("wishlist", u2, "list") is None
    r.delete(f"sessions:user:{u1}:list")


def test_cache_outage_is_a_miss() -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = Cache(redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0)), "")
    assert dead.get("mocs", None, "k") is None
    dead.set("mocs", None, "k", {"a": 1})  # no exception
    assert dead.invalidate("mocs") == 0


# -- database -------------------------------------------------------------------------


def test_timestamp_format() -> None:
    moment = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-11-24T10:00:00.123Z"


def test_concurrent_writes(express: Application, infra: Infrastructure) -> None:
    """Many threads writing at once (SQLite serializes them; PostgreSQL just copes)."""
    users = [Principal(str(uuid.uuid4()), f"t{n}") for n in range(4)]

    def create(n: int) -> int:
        body = {"title": f"Concurrent {n}", "theme": "Threads", "pieceCount": n + 1}
        return _call(express, "POST", "/api/mocs", user=users[n % 4], json_body=body).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(40)))
    assert statuses == [201] * 40
    with infra.db.read() as conn:
        count = conn.execute(select(func.count()).where(mocs.c.theme == "Threads")).scalar_one()
    assert count == 40


# -- infrastructure -------------------------------------------------------------------


def test_second_infrastructure_is_isolated_and_cleans_up(
    infra: Infrastructure, settings: SandboxSettings
) -> None:
    other_settings = SandboxSettings(
        database_url=settings.database_url, redis_url=settings.redis_url
    )
    started = time.perf_counter()
    other = start_infrastructure(other_settings)
    elapsed = time.perf_counter() - started
    try:
        assert elapsed < 5, f"start-up took {elapsed:.1f} s"
        assert other.pool.pool_id != infra.pool.pool_id
        assert other.database_label != infra.database_label
        if settings.redis_url:
            assert other.redis_url != infra.redis_url  # another logical db
        other.redis.set("mocs:user:public:list:x", "1")
        assert not infra.redis.exists("mocs:user:public:list:x")
        with other.db.read() as conn:
            assert conn.execute(select(func.count()).select_from(mocs)).scalar_one() == 12
    finally:
        other.stop()
        other.stop()  # idempotent
    if other.db.schema is not None:
        with infra.db.read() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"),
                {"n": other.db.schema},
            ).scalar_one()
        assert left == 0
    else:
        assert not Path(other.db.label.removeprefix("sqlite:///")).parent.exists()
    if settings.redis_url:
        lock_db = redis.Redis.from_url(settings.redis_url)
        index = other.redis_url.rsplit("/", 1)[1]
        assert lock_db.get(f"{REDIS_LOCK_PREFIX}{index}") is None
        lock_db.close()


def test_redis_db_claims_do_not_collide(infra: Infrastructure) -> None:
    """Two runs on one Redis get different logical dbs; releasing frees the lock."""
    base = infra.redis_url.rsplit("/", 1)[0] + "/0"
    first: list[Callable[[], None]] = []
    second: list[Callable[[], None]] = []
    url_a = _claim_redis_db(base, "run-a", first)
    url_b = _claim_redis_db(base, "run-b", second)
    try:
        assert url_a != url_b
        assert {url_a.rsplit("/", 1)[1], url_b.rsplit("/", 1)[1]} <= {str(n) for n in range(1, 16)}
    finally:
        for stop in reversed(first + second):
            stop()
    admin = redis.Redis.from_url(base)
    for url in (url_a, url_b):
        assert admin.get(REDIS_LOCK_PREFIX + url.rsplit("/", 1)[1]) is None
    admin.close()
