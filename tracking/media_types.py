"""What kind of media a file is, from its first bytes.

``create_asset`` hashes the file it records; the same read tells whether the bytes
are an image or a video, so an asset cannot be recorded as an image when the file is
a video (or the other way round). Only formats recognised with certainty count;
anything else is not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

HEAD_BYTES = 64  # enough for every signature below, the EBML doctype included

# ISO base media ("ftyp") brands that are still images; any other brand is a video.
_IMAGE_BRANDS = {b"avif": "AVIF", b"avis": "AVIF"}
_QUICKTIME_BRAND = b"qt  "
_OTHER_STILL_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"}


@dataclass(frozen=True)
class MediaKind:
    kind: str  # "image" or "video", as Asset.Type
    label: str  # the format, e.g. "PNG", for messages


def sniff(head: bytes) -> MediaKind | None:
    """The media kind of a file starting with ``head``, or None when not recognised."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind("image", "PNG")
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind("image", "JPEG")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return MediaKind("image", "GIF")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return MediaKind("image", "WebP")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return MediaKind("image", _IMAGE_BRANDS[brand])
        if brand in _OTHER_STILL_BRANDS:
            return None  # HEIF stills: not a format the workflow records, not judged
        if brand == _QUICKTIME_BRAND:
            return MediaKind("video", "MOV")
        return MediaKind("video", "MP4")
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free") and len(head) >= 8:
        return MediaKind("video", "MOV")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MediaKind("video", "WebM" if b"webm" in head else "MKV")
    return None
