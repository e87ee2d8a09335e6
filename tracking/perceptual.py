"""Perceptual hashes: numbers that stay close when a file is re-saved, resized or re-encoded.

sha256 changes with every byte, and Civitai re-encodes what it serves, so the
byte-identical match misses exactly the copies the recording workflow has to find.
A perceptual hash describes what the picture looks like instead: two copies of one
image differ in a few of its 64 bits, two unrelated images in about half of them.
The number of differing bits (the Hamming distance) is what near-duplicate search
compares; docs/near-duplicates.md says what the distances mean.

- Images: a 64-bit pHash (a DCT of the downscaled grey image: robust to resizing
  and recompression) and a dHash (the signs of neighbouring-pixel gradients: cheap,
  a second opinion), both from ``imagehash``.
- Videos: ``VIDEO_FRAMES`` frames at evenly spaced moments, decoded by PyAV (which
  ships its own FFmpeg). The video's pHash and dHash are those of the frames'
  average picture, so a video is searched with the same indexed bands as an image;
  the per-frame pHashes are kept as the video's signature for a finer comparison.

Hashes are stored as *signed* 64-bit integers (what a database BIGINT holds).
Everything here is pure: bytes or a file object in, numbers out. Hostile input is
refused with ``PerceptualError`` (a decompression bomb, a frame too large, a file
that does not decode), never a crash; the pixel limits are ``PERCEPTUAL_MAX_PIXELS``
(images) and ``PERCEPTUAL_MAX_FRAME_PIXELS`` (video frames).
"""

from __future__ import annotations

import functools
import io
import itertools
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from PIL import Image

HASH_BITS = 64
BANDS = 4  # the pHash is indexed as 4 bands of 16 bits (tracking.models.Asset)
BAND_BITS = HASH_BITS // BANDS
BAND_MASK = (1 << BAND_BITS) - 1
# Near-duplicate search (tracking.models.AssetQuerySet.near): the default and the
# largest distance asked for. Up to 15 the probes stay a few thousand index lookups
# (docs/near-duplicates.md); past ~20 bits unrelated images start to match anyway.
DEFAULT_MAX_DISTANCE = 8
MAX_DISTANCE = 15
VIDEO_FRAMES = 8
# Each frame is averaged at this size: enough for the 32x32 the pHash reads.
_AVERAGE_SIZE = (128, 128)
_MAX_VIDEO_STREAM_SECONDS = 24 * 3600
# Longer clips are sampled by seeking to each moment (decoding from the keyframe
# before it) rather than decoding the whole stream: an hour of video costs 8 short
# decodes, not 90,000 frames.
_SEEK_AFTER_SECONDS = 20.0
_MAX_FRAMES_AFTER_SEEK = 600  # keyframes are at most a few seconds apart in practice
_MAX_FRAMES_WITHOUT_DURATION = 2000


class PerceptualError(Exception):
    """The file cannot be hashed perceptually; the message says why, for a person."""


@dataclass(frozen=True)
class PerceptualHashes:
    """What ``image_hashes``/``video_hashes`` compute: signed 64-bit pHash and dHash,
    and for a video its per-frame pHashes."""

    phash: int
    dhash: int
    frames: tuple[int, ...] = ()

    @property
    def video_signature(self) -> str | None:
        """The per-frame pHashes as 16 hex digits each (unsigned), or None for an image."""
        if not self.frames:
            return None
        return "".join(f"{to_unsigned(h):016x}" for h in self.frames)


# --- numbers -------------------------------------------------------------------


def to_signed(value: int) -> int:
    """An unsigned 64-bit value as the signed integer a BIGINT column stores."""
    value &= (1 << HASH_BITS) - 1
    return value - (1 << HASH_BITS) if value >= 1 << (HASH_BITS - 1) else value


def to_unsigned(value: int) -> int:
    """A stored (signed) hash back as its 64 bits, 0 ≤ value < 2**64."""
    return value & ((1 << HASH_BITS) - 1)


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ between two hashes (signed or unsigned)."""
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def hamming_or_none(a: int | None, b: int | None) -> int | None:
    """``hamming`` that lets SQL NULL through (the SQLite function)."""
    if a is None or b is None:
        return None
    return hamming(a, b)


def bands(value: int) -> tuple[int, ...]:
    """The hash cut into ``BANDS`` unsigned ``BAND_BITS``-bit pieces, most significant first."""
    bits = to_unsigned(value)
    return tuple((bits >> (BAND_BITS * (BANDS - 1 - i))) & BAND_MASK for i in range(BANDS))


def band_radii(max_distance: int, bands: int = BANDS) -> tuple[int, ...]:
    """How many bits each band is probed within, so that every hash within
    ``max_distance`` of the query is found; -1 for a band that is not probed.

    Plain pigeonhole probes every band within ``k // bands``. It can be sharpened:
    write ``k = bands * r + s`` with ``0 <= s < bands``. A hash whose first ``s + 1``
    bands each differ in more than ``r`` bits and whose other bands each differ in
    more than ``r - 1`` differs in at least ``(s + 1)(r + 1) + (bands - s - 1) r = k + 1``
    bits, so it is not a match. Probing the first ``s + 1`` bands within ``r`` and the
    others within ``r - 1`` therefore misses nothing, and probes far fewer values when
    ``k`` is not one less than a multiple of ``bands``: at k = 8, 137 + 3 x 17 = 188
    probes instead of 4 x 137 = 548 (the same rows are found; a third of the candidates
    are read). The balanced split is the cheapest one: the probes grow faster than
    linearly with the radius.
    """
    r, s = divmod(max_distance, bands)
    return tuple(r if i <= s else r - 1 for i in range(bands))


def within(value: int, radius: int, bits: int = BAND_BITS) -> list[int]:
    """Every ``bits``-bit value at most ``radius`` bits away from ``value``, ``value`` first.

    The probes of one band: 1 + 16 + 120 + 560 values for radius 0..3 of a 16-bit band.
    """
    return [value ^ mask for mask in _flip_masks(bits, radius)]


@functools.cache
def _flip_masks(bits: int, radius: int) -> tuple[int, ...]:
    """XOR masks with at most ``radius`` of ``bits`` bits set, fewest first (computed once)."""
    masks = [0]
    for r in range(1, radius + 1):
        for positions in itertools.combinations(range(bits), r):
            masks.append(sum(1 << p for p in positions))
    return tuple(masks)


def _hash_int(h) -> int:
    """An ``imagehash.ImageHash`` as the signed integer stored."""
    return to_signed(int(str(h), 16))


def signature_frames(signature: str | None) -> list[int]:
    """The per-frame hashes of a stored video signature (signed), [] when there is none."""
    if not signature:
        return []
    return [to_signed(int(signature[i : i + 16], 16)) for i in range(0, len(signature), 16)]


def signature_distance(a: str | None, b: str | None) -> int | None:
    """Mean per-frame Hamming distance of two video signatures (rounded), None when either
    is missing or they have different frame counts."""
    fa, fb = signature_frames(a), signature_frames(b)
    if not fa or len(fa) != len(fb):
        return None
    return round(sum(hamming(x, y) for x, y in zip(fa, fb, strict=True)) / len(fa))


# --- images --------------------------------------------------------------------


def _max_pixels() -> int:
    return int(settings.PERCEPTUAL_MAX_PIXELS)


def open_image(source: bytes | BinaryIO) -> Image.Image:
    """Open and fully decode an image, refusing decompression bombs before decoding.

    Pillow reads the header first: a size above ``PERCEPTUAL_MAX_PIXELS`` is refused
    from the header alone, so a tiny file claiming 100 000 x 100 000 pixels costs
    nothing. Animated images are hashed by their first frame.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    limit = _max_pixels()
    try:
        image = Image.open(stream)
        width, height = image.size
        if width * height > limit:
            raise PerceptualError(
                f"the image is {width}x{height} pixels, more than PERCEPTUAL_MAX_PIXELS ({limit})"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except PerceptualError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PerceptualError("the image is a decompression bomb (too many pixels)") from None
    except Exception as exc:  # Pillow raises many types for a corrupt file
        raise PerceptualError(f"the image could not be decoded ({_reason(exc)})") from None
    return image


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _grey(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Composite on white so a transparent background hashes like a white one.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("L")


def hashes_of_picture(image: Image.Image) -> PerceptualHashes:
    """pHash and dHash of a decoded picture."""
    import imagehash  # here, not at import: numpy and scipy cost every process start

    grey = _grey(image)
    return PerceptualHashes(
        phash=_hash_int(imagehash.phash(grey)), dhash=_hash_int(imagehash.dhash(grey))
    )


def image_hashes(source: bytes | BinaryIO) -> PerceptualHashes:
    """pHash and dHash of an image file (bytes or a binary file object)."""
    return hashes_of_picture(open_image(source))


# --- videos --------------------------------------------------------------------


def _max_frame_pixels() -> int:
    return int(settings.PERCEPTUAL_MAX_FRAME_PIXELS)


def video_hashes(source: bytes | BinaryIO, frames: int = VIDEO_FRAMES) -> PerceptualHashes:
    """A video's hashes from ``frames`` frames at evenly spaced moments.

    The moments are fractions of the duration (1/(2n), 3/(2n), …), so a copy
    re-encoded at another bitrate, frame rate or size samples the same scenes.
    Frames larger than ``PERCEPTUAL_MAX_FRAME_PIXELS`` are refused from the stream
    header, before anything is decoded.
    """
    import av

    stream_source = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with av.open(stream_source, mode="r") as container:
            if not container.streams.video:
                raise PerceptualError("the file has no video stream")
            stream = container.streams.video[0]
            _check_frame_size(stream.codec_context.width, stream.codec_context.height)
            stream.thread_type = "AUTO"
            pictures = _sample_frames(container, stream, frames)
    except PerceptualError:
        raise
    except Exception as exc:  # PyAV raises FFmpeg's errors under many types
        raise PerceptualError(f"the video could not be decoded ({_reason(exc)})") from None
    if not pictures:
        raise PerceptualError("the video has no decodable frames")
    import imagehash
    import numpy as np

    per_frame = [_hash_int(imagehash.phash(p)) for p in pictures]
    mean = np.mean([np.asarray(p.resize(_AVERAGE_SIZE), dtype=np.float32) for p in pictures], 0)
    average = Image.fromarray(mean.round().astype(np.uint8), mode="L")
    return PerceptualHashes(
        phash=_hash_int(imagehash.phash(average)),
        dhash=_hash_int(imagehash.dhash(average)),
        frames=tuple(per_frame),
    )


def _check_frame_size(width: int, height: int) -> None:
    limit = _max_frame_pixels()
    if width * height > limit:
        raise PerceptualError(
            f"the video's frames are {width}x{height} pixels, more than"
            f" PERCEPTUAL_MAX_FRAME_PIXELS ({limit})"
        )


def _duration_seconds(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000  # av.time_base
    return None


def _sample_frames(container, stream, n: int) -> list[Image.Image]:
    """Grey frames nearest to n evenly spaced moments; the whole stream decoded in order
    when the duration is unknown (then the frames are picked from what was decoded)."""
    duration = _duration_seconds(container, stream)
    if duration and 0 < duration < _MAX_VIDEO_STREAM_SECONDS:
        targets = [duration * (2 * i + 1) / (2 * n) for i in range(n)]
        if duration > _SEEK_AFTER_SECONDS:
            return [_frame_after_seek(container, stream, t) for t in targets]
        return _frames_at(container, stream, targets)
    decoded = []
    for frame in container.decode(stream):
        _check_frame_size(frame.width, frame.height)
        decoded.append(frame.to_image().convert("L").resize(_AVERAGE_SIZE))
        if len(decoded) > _MAX_FRAMES_WITHOUT_DURATION:
            raise PerceptualError("the video has no duration and too many frames")
    if not decoded:
        return []
    return [decoded[min(len(decoded) - 1, (2 * i + 1) * len(decoded) // (2 * n))] for i in range(n)]


def _frame_after_seek(container, stream, target: float) -> Image.Image:
    """The first frame at or after ``target`` seconds, seeking to the keyframe before it."""
    container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    last = None
    for count, frame in enumerate(container.decode(stream)):
        _check_frame_size(frame.width, frame.height)
        last = frame
        if frame.pts is None or float(frame.pts * stream.time_base) >= target:
            break
        if count >= _MAX_FRAMES_AFTER_SEEK:
            break
    if last is None:
        raise PerceptualError(f"the video has no decodable frame near {target:.1f}s")
    return last.to_image().convert("L")


def _frames_at(container, stream, targets: list[float]) -> list[Image.Image]:
    """One decoded frame per target moment: the first frame at or after it, decoding
    forward in one pass (short clips: a seek per frame would cost more than it saves)."""
    pictures: list[Image.Image] = []
    remaining = list(targets)
    last = None
    for frame in container.decode(stream):
        _check_frame_size(frame.width, frame.height)
        moment = float(frame.pts * stream.time_base) if frame.pts is not None else None
        last = frame
        while remaining and (moment is None or moment >= remaining[0]):
            pictures.append(frame.to_image().convert("L"))
            remaining.pop(0)
        if not remaining:
            break
    while remaining and last is not None:  # targets past the last decoded frame
        pictures.append(last.to_image().convert("L"))
        remaining.pop(0)
    return pictures
