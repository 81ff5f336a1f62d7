"""The bucket sweep (parity/engine/storage.py) on moto's in-process S3: which keys a run id and an
age select, dry runs, prefixes, batches, and the errors a wrong bucket or endpoint gives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from parity.core.config import Settings
from parity.core.errors import StorageError, UsageError
from parity.engine import storage
from parity.engine.storage import Bucket, file_prefix, sweep, sweep_run

RUN = "ab12cd34"
KEYS = [
    f"uploads/m1/u1/{file_prefix(RUN)}presigned.pdf",  # the run's: swept
    f"uploads/m2/u2/{file_prefix(RUN)}wrong.pdf",  # the run's: swept
    f"{file_prefix(RUN)}at-the-root.bin",  # the run's, no folder: swept
    "uploads/m3/u3/parity-ab12cd345-other-run.pdf",  # another run (a longer id)
    "uploads/m4/u4/parity-ff00ff00-old-run.pdf",  # another run: only an age selects it
    "uploads/m5/u5/my-parity-ab12cd34-x.pdf",  # not at the start of a segment: a user's
    "avatars/u6/9f3e.png",  # no marker at all
]


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        b = Bucket("moc-files", region="us-east-1")
        b._client.create_bucket(Bucket="moc-files")
        for key in KEYS:
            b.put(key, b"x")
        yield b


def _left(bucket: Bucket) -> set[str]:
    return {o.key for o in bucket.objects()}


def test_run_id_selects_only_the_runs_objects(bucket: Bucket) -> None:
    found = sweep(bucket, run_id=RUN)
    assert sorted(o.key for o in found) == sorted(KEYS[:3])
    assert {o.state for o in found} == {"deleted"}
    assert _left(bucket) == set(KEYS[3:])


def test_dry_run_deletes_nothing(bucket: Bucket) -> None:
    found = sweep(bucket, run_id=RUN, dry_run=True)
    assert len(found) == 3 and {o.state for o in found} == {"would delete"}
    assert _left(bucket) == set(KEYS)


def test_older_than_selects_any_suite_object_before_the_cutoff(bucket: Bucket) -> None:
    assert sweep(bucket, older_than=timedelta(hours=2)) == []  # all just written
    later = datetime.now(UTC) + timedelta(hours=3)
    found = sweep(bucket, older_than=timedelta(hours=2), now=later)
    assert sorted(o.key for o in found) == sorted(KEYS[:5])
    assert _left(bucket) == set(KEYS[5:])  # a user's file and an avatar stay


def test_prefix_limits_the_listing(bucket: Bucket) -> None:
    found = sweep(bucket, run_id=RUN, prefix="uploads/m1/")
    assert [o.key for o in found] == [KEYS[0]]


def test_deletes_in_batches(bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "_BATCH", 2)
    for n in range(5):
        bucket.put(f"uploads/b/{file_prefix(RUN)}{n}.pdf", b"x")
    found = sweep(bucket, run_id=RUN)
    assert len(found) == 8 and all(o.state == "deleted" for o in found)
    assert _left(bucket) == set(KEYS[3:])


def test_a_selection_is_required(bucket: Bucket) -> None:
    with pytest.raises(UsageError, match="--run-id"):
        sweep(bucket)


def test_missing_bucket_is_a_storage_error_naming_it(bucket: Bucket) -> None:
    other = Bucket("no-such-bucket", region="us-east-1")
    with pytest.raises(StorageError) as info:
        sweep(other, run_id=RUN)
    text = str(info.value)
    assert "s3://no-such-bucket" in text and "NoSuchBucket" in text
    assert "PARITY_S3_BUCKET" in text  # the fix


def test_unreachable_endpoint_is_a_storage_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = Bucket("moc-files", endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(StorageError, match=f"127.0.0.1:{port}.*PARITY_S3_ENDPOINT"):
        list(dead.objects())


def test_sweep_run_follows_the_settings(bucket: Bucket) -> None:
    none = Settings.load(environ={})
    assert sweep_run(none, RUN) is None  # no bucket named: nothing to sweep with
    prod = Settings.load(
        environ={"PARITY_S3_BUCKET": "moc-files", "PARITY_TARGET_ENV": "production"}
    )
    assert sweep_run(prod, RUN) is None  # writes refused: the run uploaded nothing
    assert _left(bucket) == set(KEYS)
    named = Settings.load(environ={"PARITY_S3_BUCKET": "moc-files", "PARITY_S3_PREFIX": "uploads/"})
    found = sweep_run(named, RUN)
    assert found is not None and sorted(o.key for o in found) == sorted(KEYS[:2])
