"""S3 access for the sandbox (moto's server by default): put, get, head, presigned PUT.

The boto3 client is created once and shared: boto3 *clients* are thread-safe (resources
are not, so none are used here).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import quote, unquote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

__all__ = ["Storage"]

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024


class Storage:
    def __init__(self, endpoint_url: str, bucket: str, region: str) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                signature_version="s3v4",
                # path style: moto on 127.0.0.1 has no wildcard DNS for virtual hosts
                s3={"addressing_style": "path"},
                connect_timeout=3,
                read_timeout=60,
                # fail fast: /health must report "down" promptly, not after retries
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.client.create_bucket(**kwargs)
        # file/image "url"s are plain object URLs (no signature), like a public CDN origin,
        # so the web app and the tests can fetch them: allow anonymous GetObject
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{self.bucket}/*",
                }
            ],
        }
        self.client.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(policy))

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        return bytes(response["Body"].read())

    def head(self, key: str) -> int | None:
        """Size of the object in bytes, or None when there is no such object."""
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return int(response["ContentLength"])

    def sha256(self, key: str) -> tuple[str, bytes]:
        """(hex sha256, first bytes) of an object, read in chunks so a 100 MB upload is
        never held in memory; the first bytes let callers sniff the file type."""
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        digest = hashlib.sha256()
        head = b""
        for chunk in response["Body"].iter_chunks(_CHUNK):
            if len(head) < 64 * 1024:
                head += chunk[: 64 * 1024 - len(head)]
            digest.update(chunk)
        return digest.hexdigest(), head

    def presign_put(self, key: str, content_type: str, expires: int = 900) -> str:
        return str(
            self.client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
                ExpiresIn=expires,
            )
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def discard(self, key: str) -> None:
        """Delete, logging instead of raising: for clean-up after the database row is
        gone already, where a failure only leaves an orphaned object."""
        try:
            self.delete(key)
        except Exception as exc:  # any failure: the request itself has succeeded
            log.warning("could not delete s3://%s/%s: %s", self.bucket, key, exc)

    def public_url(self, key: str) -> str:
        return f"{self.endpoint_url}/{self.bucket}/{quote(key)}"

    def key_of(self, url: str | None) -> str | None:
        """The key behind one of this bucket's public URLs (``None`` for anything else)."""
        base = f"{self.endpoint_url}/{self.bucket}/"
        return unquote(url[len(base) :]) if url and url.startswith(base) else None
