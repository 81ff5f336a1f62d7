"""The test bucket: the suite's objects that no API call can delete.

A presigned upload that is never completed (the ``sha256-mismatch`` scenario, a run killed
between the PUT and the complete, a complete the backend refused) leaves an object in S3
with no row pointing at it: no list shows it, no delete reaches it. So every file the suite
uploads is named ``parity-<run id>-...`` (the catalog's ``{run_id}``), backends keep the
file name in the key (``uploads/<moc>/<uuid>/parity-<run id>-x.pdf``), and this module
deletes such objects straight from the bucket, when the suite knows it:

- ``s3_bucket`` / ``PARITY_S3_BUCKET`` names it (the sandbox's env file does), with
  ``s3_endpoint`` for a stand-in such as moto and ``s3_prefix`` to list less of a big one;
  credentials come from the AWS chain (a stand-in without any gets moto's dummies);
- the pytest plugin and ``parity contracts capture`` sweep their own run's objects when
  they end (also after a failed check or Ctrl-C), ``parity cleanup`` a killed run's;
- an object is the run's when a key segment starts with ``parity-<run id>``; with
  ``older_than``, any suite-made object (a segment starting with ``parity-``) last
  modified before the cutoff.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from parity.core.config import Settings
from parity.core.errors import StorageError, UsageError
from parity.engine.cleanup import MARKER

__all__ = ["Bucket", "StoredObject", "file_prefix", "sweep", "sweep_run"]

#: Every file name the suite uploads starts with this, then the run id: ``parity-ab12cd34-``
#: (titles carry ``parity <run id>``: the same marker, spelt for a file name).
FILE_MARKER = f"{MARKER}-"
_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def file_prefix(run_id: str) -> str:
    """The start of every file name the run uploads (``parity-<run id>-``)."""
    return f"{FILE_MARKER}{run_id}-"


def _run_key(run_id: str) -> re.Pattern[str]:
    # a key segment starting with parity-<run id>, not parity-<run id>0 (another run)
    return re.compile(rf"(?:^|/){re.escape(FILE_MARKER + run_id)}(?![A-Za-z0-9])")


_ANY_RUN = re.compile(rf"(?:^|/){re.escape(FILE_MARKER)}[A-Za-z0-9]")


@dataclass
class StoredObject:
    """An object found in the bucket (and deleted, unless it was a dry run)."""

    key: str
    size: int
    last_modified: datetime | None
    state: str = "found"  # deleted | would delete | failed: <why>

    @property
    def failed(self) -> bool:
        return self.state.startswith("failed")


class Bucket:
    """The test bucket through boto3 (a thin layer: list by prefix, delete in batches)."""

    def __init__(
        self, name: str, *, endpoint: str | None = None, region: str | None = None
    ) -> None:
        import boto3  # deferred: slow to import, and most runs never sweep
        from botocore.config import Config

        self.name = name
        self.endpoint = endpoint
        where = endpoint or f"AWS region {region or '(default)'}"
        self.where = f"s3://{name} at {where}"
        session = boto3.session.Session()
        # a stand-in (moto, MinIO without auth) with no AWS credentials configured: dummies
        dummy = "testing" if endpoint and session.get_credentials() is None else None
        self._client: Any = session.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            config=Config(
                s3={"addressing_style": "path"} if endpoint else {},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
            aws_access_key_id=dummy,
            aws_secret_access_key=dummy,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Bucket | None:
        """The settings' bucket, or ``None`` when none is named."""
        if not settings.s3_bucket:
            return None
        return cls(settings.s3_bucket, endpoint=settings.s3_endpoint, region=settings.s3_region)

    def _error(self, action: str, exc: Exception) -> StorageError:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            why = f"{err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(": ")
        else:
            why = str(exc) or type(exc).__name__
        return StorageError(
            f"cannot {action} {self.where} ({why})",
            hint="Check --s3-bucket / PARITY_S3_BUCKET, --s3-endpoint / PARITY_S3_ENDPOINT and "
            "the AWS credentials (they need s3:ListBucket and s3:DeleteObject)",
        )

    def objects(self, prefix: str = "") -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(
                        item["Key"], int(item.get("Size", 0)), item.get("LastModified")
                    )
        except (BotoCoreError, ClientError) as exc:
            raise self._error("list", exc) from None

    def delete(self, keys: list[str]) -> dict[str, str]:
        """Delete ``keys``; returns the ones that failed, with why."""
        from botocore.exceptions import BotoCoreError, ClientError

        failed: dict[str, str] = {}
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            try:
                answer = self._client.delete_objects(
                    Bucket=self.name,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except (BotoCoreError, ClientError) as exc:
                raise self._error("delete from", exc) from None
            for err in answer.get("Errors", []):
                failed[err.get("Key", "?")] = f"{err.get('Code', 'Error')}"
        return failed

    def put(self, key: str, body: bytes) -> None:
        """Write one object (the suite's own tests plant stragglers with it)."""
        self._client.put_object(Bucket=self.name, Key=key, Body=body)


def _selected(obj: StoredObject, run: re.Pattern[str] | None, cutoff: datetime | None) -> bool:
    if run is not None and run.search(obj.key):
        return True
    if cutoff is not None and obj.last_modified is not None and _ANY_RUN.search(obj.key):
        moment = obj.last_modified
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment < cutoff
    return False


def sweep(
    bucket: Bucket,
    *,
    run_id: str | None = None,
    older_than: timedelta | None = None,
    prefix: str = "",
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[StoredObject]:
    """Find the run's (or the old) suite-made objects under ``prefix`` and delete them."""
    if run_id is None and older_than is None:
        raise UsageError(
            "nothing to select in the bucket: give a run id, an age, or both",
            hint="Pass --run-id ID or --older-than DURATION",
        )
    run = _run_key(run_id) if run_id is not None else None
    cutoff = (now or datetime.now(UTC)) - older_than if older_than is not None else None
    found = [o for o in bucket.objects(prefix) if _selected(o, run, cutoff)]
    if dry_run:
        for obj in found:
            obj.state = "would delete"
        return found
    failed = bucket.delete([o.key for o in found]) if found else {}
    for obj in found:
        obj.state = f"failed: {failed[obj.key]}" if obj.key in failed else "deleted"
    return found


def sweep_run(settings: Settings, run_id: str) -> list[StoredObject] | None:
    """End-of-run sweep: delete this run's objects when the settings name a bucket and
    writes are allowed (``None`` when there is nothing to sweep with)."""
    if not settings.s3_bucket or not settings.writes_allowed:
        return None
    bucket = Bucket.from_settings(settings)
    assert bucket is not None
    return sweep(bucket, run_id=run_id, prefix=settings.s3_prefix)
