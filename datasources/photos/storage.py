"""Where the photos' bytes live: a folder (the default) or an S3-compatible store.

One small interface, `PhotoStorage`: `put` and `get` by key. Keys are the photo's random id
and its size (`<id>/full.jpg`, `<id>/thumb.jpg`); nothing else is ever named, so a key cannot
climb out of the folder or the bucket.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from dashboard.settings import Settings

PHOTO_ID = re.compile(r"^[0-9a-f]{32}$")
SIZES = ("full", "thumb")


def photo_key(photo_id: str, size: str) -> str:
    """The key of one size of a photo; ValueError for anything but a photo id and a size."""
    if not PHOTO_ID.match(photo_id) or size not in SIZES:
        raise ValueError(f"not a photo key: {photo_id!r} {size!r}")
    return f"{photo_id}/{size}.jpg"


class PhotoStorage(Protocol):
    """A place for photos' bytes."""

    kind: str

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Keep `data` under `key` (a repeated put replaces it)."""

    def get(self, key: str) -> bytes | None:
        """The bytes under `key`, None when there are none."""


class LocalPhotos:
    """Photos as files under one folder (ZN_PHOTO_DIR, else ZN_DATA_DIR/photos)."""

    kind = "local"

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        photo_id, _, name = key.partition("/")
        photo_key(photo_id, name.removesuffix(".jpg"))  # only keys of ours
        # Two levels by the id's first characters: no folder of a million files.
        return self.root / photo_id[:2] / photo_id / name

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the file whole or not at all (a temporary file renamed into place)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        """The file's bytes, None when missing."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None


class S3Photos:
    """Photos in a bucket of an S3-compatible store (MinIO, Ceph, a cloud's object store),
    through the MinIO client."""

    kind = "s3"

    def __init__(self, url: str, bucket: str, access_key: str, secret_key: str,
                 region: str = ""):
        from minio import Minio  # only a town that set ZN_PHOTO_S3_URL loads it

        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"ZN_PHOTO_S3_URL must be http(s)://host[:port], not {url!r}")
        self.bucket = bucket
        self.client = Minio(parsed.netloc, access_key=access_key or None,
                            secret_key=secret_key or None, secure=parsed.scheme == "https",
                            region=region or None)
        self._ready = False

    def _bucket(self) -> None:
        if not self._ready:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
            self._ready = True

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload the object."""
        self._bucket()
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data),
                               content_type=content_type)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, None when the store has no such key."""
        from minio.error import S3Error

        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket"):
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()


def open_storage(settings: Settings) -> PhotoStorage:
    """The store the settings name: S3-compatible when ZN_PHOTO_S3_URL is set, else the
    folder."""
    if settings.photo_s3_url:
        return S3Photos(settings.photo_s3_url, settings.photo_s3_bucket,
                        settings.photo_s3_access_key, settings.photo_s3_secret_key,
                        settings.photo_s3_region)
    return LocalPhotos(settings.photos_path)
