"""The shared Redis cache with moc-api.md's key scheme.

Keys are ``{prefix}{resource}:user:{userId}:{key}``, e.g.
``mocs:user:public:list:page=1&limit=20``; the serverless flavour prefixes them with
``v2:`` during the migration. Both backends invalidate identically, so a write through
either flavour removes the matching keys of *both* namespaces: otherwise a write on one
side would leave the other side serving a stale list for up to the TTL.

The cache is an optimisation: a Redis failure on read or write is logged and treated as
a miss, never as an error of the request. ``/health`` reports the outage.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

__all__ = ["NAMESPACES", "RESOURCES", "TTL_SECONDS", "Cache"]

log = logging.getLogger(__name__)

TTL_SECONDS = 30
NAMESPACES = ("", "v2:")  # the Express backend's and the serverless backend's
# The resources the migration flush removes (moc-api.md); images are cached as "gallery".
RESOURCES = ("mocs", "gallery", "wishlist", "albums")
PUBLIC_USER = "public"

_GLOB_SPECIAL = str.maketrans({c: "\\" + c for c in "*?[]\\"})


class Cache:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def key(self, resource: str, user_id: str | None, key: str) -> str:
        return f"{self.prefix}{resource}:user:{user_id or PUBLIC_USER}:{key}"

    def get(self, resource: str, user_id: str | None, key: str) -> Any | None:
        try:
            raw = self.client.get(self.key(resource, user_id, key))
        except redis.RedisError as exc:
            log.warning("cache read failed: %s", exc)
            return None
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def set(self, resource: str, user_id: str | None, key: str, value: Any) -> None:
        try:
            self.client.set(self.key(resource, user_id, key), json.dumps(value), ex=TTL_SECONDS)
        except redis.RedisError as exc:
            log.warning("cache write failed: %s", exc)

    def invalidate(self, resource: str, user_id: str | None = None) -> int:
        """Delete ``resource`` keys (of one user, or all users) in both namespaces.

        Uses SCAN, never KEYS: KEYS blocks a shared production Redis. Returns how many
        keys were deleted.
        """
        user_part = "*" if user_id is None else user_id.translate(_GLOB_SPECIAL)
        deleted = 0
        try:
            for namespace in NAMESPACES:
                pattern = f"{namespace}{resource}:user:{user_part}:*"
                batch: list[Any] = []
                for found in self.client.scan_iter(match=pattern, count=500):
                    batch.append(found)
                    if len(batch) >= 500:
                        deleted += int(self.client.delete(*batch))
                        batch = []
                if batch:
                    deleted += int(self.client.delete(*batch))
        except redis.RedisError as exc:
            log.warning("cache invalidation of %s failed: %s", resource, exc)
        return deleted

    def ping(self) -> None:
        self.client.ping()
