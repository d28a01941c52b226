"""Where incoming media is kept: a local directory (``media_dir``) or S3-compatible storage (``media_s3_*``).

A store takes a verified file (downloaded to its scratch directory) under a key, and hands it back as a
binary stream. The key is ``<phone_number_id>/<media_id><ext>``; the location recorded in the queue is
``file:<key>`` or ``s3://<bucket>/<key>``.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Protocol

#: Media ids and phone number ids are Graph ids: anything else in a key is refused (no path tricks).
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class MediaStoreError(Exception):
    """The media store refused a file or could not be reached (the download is retried)."""


def media_key(phone_number_id: str, media_id: str, mime_type: str | None) -> str:
    """``<phone_number_id>/<media_id><ext>`` (the extension from the MIME type, when one is known)."""
    if not _SAFE.match(phone_number_id) or not _SAFE.match(media_id):
        raise MediaStoreError(f"not a Graph id: {phone_number_id!r}/{media_id!r}")
    ext = mimetypes.guess_extension(mime_type.split(";")[0].strip()) if mime_type else None
    return f"{phone_number_id}/{media_id}{ext or ''}"


class MediaStore(Protocol):
    """A place to keep media files."""

    #: ``local`` or ``s3`` (for logs and the API's answers).
    kind: str

    def scratch_dir(self) -> Path:
        """A directory to download into before :meth:`put` (same file system as the store, if local)."""
        ...

    def put(self, key: str, path: Path, mime_type: str | None) -> str:
        """Keep the file at ``path`` under ``key`` (the file is moved or uploaded); returns its location."""
        ...

    def open(self, location: str) -> BinaryIO:
        """The kept file as a binary stream (the caller closes it); :class:`MediaStoreError` when gone."""
        ...


class LocalMediaStore:
    """Files under ``root`` (created when missing); downloads land in ``root/.incoming`` and are renamed."""

    kind = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self._scratch = self.root / ".incoming"
        self._scratch.mkdir(parents=True, exist_ok=True)

    def scratch_dir(self) -> Path:
        """``root/.incoming``."""
        return self._scratch

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise MediaStoreError(f"key {key!r} leaves the media directory")
        return path

    def put(self, key: str, path: Path, mime_type: str | None) -> str:
        """Move the file into place (atomic: a reader never sees half a file)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError as exc:
            raise MediaStoreError(f"cannot keep {key}: {exc}") from exc
        return f"file:{key}"

    def open(self, location: str) -> BinaryIO:
        """Open a kept file."""
        if not location.startswith("file:"):
            raise MediaStoreError(f"{location!r} is not in the local media directory")
        try:
            return self._path(location.removeprefix("file:")).open("rb")
        except OSError as exc:
            raise MediaStoreError(f"the kept file {location} is gone: {exc}") from exc


class S3MediaStore:
    """Objects in an S3-compatible bucket (``endpoint_url`` for MinIO, Ceph, R2…; None for AWS itself)."""

    kind = "s3"

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, access_key: str | None = None,
                 secret_key: str | None = None, region: str = "us-east-1", prefix: str = "") -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise MediaStoreError("S3 media storage needs boto3: pip install 'wacloud[s3]'") from exc
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client: Any = boto3.client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            region_name=region, config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                              connect_timeout=10, read_timeout=60),
        )
        self._scratch = Path(tempfile.mkdtemp(prefix="wacloud-media-"))

    def scratch_dir(self) -> Path:
        """A private temporary directory (files are removed once uploaded)."""
        return self._scratch

    def put(self, key: str, path: Path, mime_type: str | None) -> str:
        """Upload the file, then remove the local copy."""
        from botocore.exceptions import BotoCoreError, ClientError

        extra = {"ContentType": mime_type} if mime_type else {}
        try:
            self.client.upload_file(str(path), self.bucket, self.prefix + key, ExtraArgs=extra)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise MediaStoreError(f"cannot upload {key} to s3://{self.bucket}: {exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def open(self, location: str) -> BinaryIO:
        """The object's body as a stream."""
        from botocore.exceptions import BotoCoreError, ClientError

        head = f"s3://{self.bucket}/"
        if not location.startswith(head):
            raise MediaStoreError(f"{location!r} is not in the bucket {self.bucket}")
        try:
            body: BinaryIO = self.client.get_object(Bucket=self.bucket, Key=location.removeprefix(head))["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise MediaStoreError(f"the kept object {location} is not readable: {exc}") from exc
        return body
