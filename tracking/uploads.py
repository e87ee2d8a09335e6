"""A file uploaded in the admin becomes an asset: hashed as it arrives, checked, then stored.

The bytes are read once. ``HashingUploadHandler`` sits in Django's upload pipeline and,
chunk by chunk as the request body comes in, feeds ``hashlib.sha256``, counts the size
against ``HASH_MAX_BYTES`` and sniffs the first bytes (``tracking.media_types``): a
file that is too large or not an image/video we recognise is refused at that chunk,
and what had arrived is deleted. Only then does ``record_upload`` look for an asset
with the same sha256 — before anything is stored — run the file readers
(``tracking.file_facts``: perceptual hashes, whatever else is registered) on the
temporary copy, store the file through Django's storage API (``default_storage``:
MEDIA_ROOT, or an S3-compatible bucket with ``ASSET_STORAGE=s3``) under a name made of
its sha256, and record the asset through ``services.create_uploaded_asset`` — the
same rules as ``create_asset``. If recording fails the stored file is removed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import SkipFile, StopUpload, TemporaryFileUploadHandler
from django.utils.translation import gettext

from tracking import file_facts, media_types, services
from tracking.errors import Duplicate
from tracking.models import Asset

UPLOAD_FIELD = "file"
# Multipart framing and the form's other fields, on top of the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
EXTENSIONS = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "GIF": ".gif",
    "WebP": ".webp",
    "AVIF": ".avif",
    "MP4": ".mp4",
    "MOV": ".mov",
    "WebM": ".webm",
    "MKV": ".mkv",
}
KNOWN_FORMATS = ", ".join(EXTENSIONS)


def too_large_message(max_bytes: int) -> str:
    return gettext(
        "The file is larger than HASH_MAX_BYTES (%(max)s bytes), the most civitrack hashes."
    ) % {"max": max_bytes}


def body_too_large(content_length: int | None) -> str | None:
    """Why a request body of this declared length is refused before it is read, or None."""
    limit = int(settings.HASH_MAX_BYTES)
    if content_length is not None and content_length > limit + FORM_OVERHEAD_BYTES:
        return too_large_message(limit)
    return None


@dataclass
class ReceivedFile:
    """An upload that arrived whole and passed the checks; ``file`` is its temporary copy."""

    name: str
    file: TemporaryUploadedFile
    sha256sum: str
    size: int
    media: media_types.MediaKind

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.media.label]


class HashingUploadHandler(TemporaryFileUploadHandler):
    """Hashes, counts and sniffs each chunk of the one file field as it arrives.

    A refusal sets ``error`` and stops the upload (``StopUpload``): the rest of the
    body is read and thrown away (so the browser gets the answer page, not a reset
    connection), never written. The view installs it for its own request only.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.max_bytes = int(settings.HASH_MAX_BYTES)
        self.error: str | None = None
        self.received: ReceivedFile | None = None
        self._digest: Any = None
        self._size = 0
        self._head = b""
        self._media: media_types.MediaKind | None = None

    def new_file(self, field_name, *args, **kwargs):
        if field_name != UPLOAD_FIELD:
            raise SkipFile  # no other file field exists; nothing else is kept
        if self._digest is not None:
            self._refuse(gettext("Upload one file at a time."))
        super().new_file(field_name, *args, **kwargs)
        self._digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data, start):
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self._refuse(too_large_message(self.max_bytes))
        if self._media is None:
            self._head += raw_data[: media_types.HEAD_BYTES - len(self._head)]
            if len(self._head) >= media_types.HEAD_BYTES:
                self._sniff()
        self._digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        if self._digest is None:
            return None
        if self._media is None and not self._sniff(refuse=False):
            return None
        uploaded = super().file_complete(file_size)
        self.received = ReceivedFile(
            name=uploaded.name,
            file=uploaded,
            sha256sum=self._digest.hexdigest(),
            size=file_size,
            media=self._media,
        )
        return uploaded

    def _sniff(self, *, refuse: bool = True) -> bool:
        self._media = media_types.sniff(self._head)
        if self._media is not None and self._media.label in EXTENSIONS:
            return True
        self._media = None
        message = (
            gettext("The file is empty.")
            if not self._size
            else gettext("The file is not an image or video civitrack recognises (%(formats)s).")
            % {"formats": KNOWN_FORMATS}
        )
        if refuse:
            self._refuse(message)
        self.error = message
        self._discard()
        return False

    def _refuse(self, message: str):
        self.error = message
        self._discard()
        raise StopUpload(connection_reset=False)

    def _discard(self) -> None:
        if getattr(self, "file", None) is not None:
            self.file.close()  # a TemporaryUploadedFile deletes itself on close


class DuplicateUpload(Duplicate):
    """The uploaded bytes are an asset already; ``existing`` is that asset."""

    def __init__(self, existing: Asset):
        super().__init__(f"An asset with this sha256sum already exists (asset_id {existing.pk})")
        self.existing = existing


@dataclass
class RecordedUpload:
    result: dict[str, Any]
    stored_name: str
    facts: file_facts.FileFacts | None = None
    similar: list[Asset] = field(default_factory=list)


def existing_with_sha(sha256sum: str) -> Asset | None:
    return Asset.objects.filter(sha256sum=sha256sum).order_by("pk").first()


def storage_name(received: ReceivedFile) -> str:
    """Content-addressed: ``assets/ab/abcdef….png``, so a name never collides with
    another file's and says which bytes it holds."""
    sha = received.sha256sum
    return f"assets/{sha[:2]}/{sha}{received.extension}"


def read_facts(received: ReceivedFile) -> file_facts.FileFacts | None:
    """The file readers' findings on the temporary copy (bounded like any ingest)."""
    if received.size > int(settings.PERCEPTUAL_MAX_BYTES):
        return None
    received.file.seek(0)
    return file_facts.read_facts(received.file, received.media.kind)


def record_upload(
    *,
    user,
    received: ReceivedFile,
    absolute_url: Callable[[str], str],
    asset_source: str = Asset.Source.UPLOAD,
    post_id: int | None = None,
    metadata: dict | None = None,
) -> RecordedUpload:
    """Check, store and record an upload; ``Duplicate`` (nothing stored) when its sha256
    is recorded already.

    A duplicate that slips in between the check and the write (another upload of the
    same bytes at the same moment) is refused by the unique constraint in
    ``create_uploaded_asset`` and its stored copy removed.

    ``absolute_url`` turns the storage's URL into the one recorded as ``asset_url``
    (a filesystem storage's ``/media/…`` path needs the site's scheme and host).
    """
    other = existing_with_sha(received.sha256sum)
    if other is not None:
        raise DuplicateUpload(other)
    facts = read_facts(received)
    received.file.seek(0)
    name = default_storage.save(storage_name(received), received.file)
    try:
        result = services.create_uploaded_asset(
            user=user,
            facts=facts,
            asset_url=absolute_url(default_storage.url(name)),
            asset_type=received.media.kind,
            asset_source=asset_source,
            sha256sum=received.sha256sum,
            post_id=post_id,
            metadata={"uploaded_file_name": received.name, "size_bytes": received.size}
            | (metadata or {}),
        )
    except BaseException:
        default_storage.delete(name)
        raise
    similar_ids = [int(s["asset_id"]) for s in result.get("similar_assets", [])]
    found = Asset.objects.in_bulk(similar_ids)
    return RecordedUpload(
        result=result,
        stored_name=name,
        facts=facts,
        similar=[found[i] for i in similar_ids if i in found],
    )
