"""What civitrack learns from an asset's bytes besides its sha256: the file readers.

civitrack reads a file's bytes once, to hash them (``tracking.hashing``: a URL or
an allowed local file, within ``HASH_MAX_BYTES``). Downloading it a second time to
learn more would double the traffic and could see different bytes, so the hashing
read keeps a bounded copy, a ``Spool`` (memory up to ``PERCEPTUAL_SPOOL_MEMORY``,
then a temporary file, never more than ``PERCEPTUAL_MAX_BYTES``), and the readers
registered here run on that copy:

    with file_facts.spool() as copy:
        digest = hashing.hash_path(url, spool=copy)
        facts = file_facts.read_facts(copy, "image")

A reader is a function ``reader(stream, kind, facts)`` that reads the stream (a
binary file object positioned at 0) and fills in ``facts``. Adding one is one line,
``READERS.append(my_reader)`` (or ``@register``). A reader that refuses a file
(``PerceptualError``, a bomb, a corrupt file) records why in ``facts.problems``; an
unexpected exception in one reader is logged and recorded the same way, so one
hostile file never turns into a 500 and the other readers still run.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings

from tracking import generation, media_types, perceptual

logger = logging.getLogger(__name__)


@dataclass
class FileFacts:
    """What the readers found. Empty facts (every field None) are a valid answer."""

    kind: str | None = None  # "image"/"video" as the bytes say, else what the caller said
    phash: int | None = None
    dhash: int | None = None
    video_signature: str | None = None
    # Other readers' findings, by name (e.g. "generation": the parameters an image
    # generator wrote into the file).
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def has_perceptual(self) -> bool:
        return self.phash is not None

    def perceptual_fields(self) -> dict[str, Any]:
        """The ``Asset`` fields these facts set (``Asset.set_perceptual`` takes them)."""
        return {
            "phash": self.phash,
            "dhash": self.dhash,
            "video_signature": self.video_signature,
        }


Reader = Callable[[BinaryIO, "str | None", FileFacts], None]


class Spool:
    """A bounded copy of the bytes being hashed, written chunk by chunk.

    Past ``limit`` bytes the copy is dropped (``overflowed``) while the hash goes on:
    a file too large to read for facts still gets its sha256.
    """

    def __init__(self, limit: int | None = None, memory: int | None = None):
        self.limit = int(settings.PERCEPTUAL_MAX_BYTES if limit is None else limit)
        self.size = 0
        self.overflowed = False
        self.file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by close()
            max_size=int(settings.PERCEPTUAL_SPOOL_MEMORY if memory is None else memory)
        )

    def write(self, chunk: bytes | memoryview) -> None:
        if self.overflowed:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            self.overflowed = True
            self.file.seek(0)
            self.file.truncate()
            return
        self.file.write(chunk)

    def reset(self) -> None:
        """Forget what was written (a redirect or retry starts the body again)."""
        self.size = 0
        self.overflowed = False
        self.file.seek(0)
        self.file.truncate()

    def stream(self) -> BinaryIO:
        """The copy as a file object at position 0."""
        self.file.seek(0)
        return self.file  # type: ignore[return-value]

    def close(self) -> None:
        self.file.close()


@contextmanager
def spool(limit: int | None = None) -> Iterator[Spool]:
    """A ``Spool`` removed when the block ends."""
    copy = Spool(limit)
    try:
        yield copy
    finally:
        copy.close()


# --- readers -------------------------------------------------------------------


def perceptual_reader(stream: BinaryIO, kind: str | None, facts: FileFacts) -> None:
    """pHash/dHash of an image, the frame signature of a video (``tracking.perceptual``)."""
    if kind == "image":
        hashes = perceptual.image_hashes(stream)
    elif kind == "video":
        hashes = perceptual.video_hashes(stream)
    else:
        return
    facts.phash, facts.dhash = hashes.phash, hashes.dhash
    facts.video_signature = hashes.video_signature


READERS: list[Reader] = [perceptual_reader, generation.file_reader]


def register(reader: Reader) -> Reader:
    """Add ``reader`` to the readers every ingest runs (usable as a decorator)."""
    if reader not in READERS:
        READERS.append(reader)
    return reader


def _name(reader: Reader) -> str:
    return getattr(reader, "__name__", type(reader).__name__)


def read_facts(source: Spool | BinaryIO | bytes, kind: str | None = None) -> FileFacts:
    """Run every registered reader on the bytes; never raises for a bad file.

    ``kind`` is what the caller believes (the asset's ``asset_type``); the bytes' own
    signature (``tracking.media_types``) wins when it is recognised.
    """
    import io

    facts = FileFacts(kind=kind)
    if isinstance(source, Spool):
        if source.overflowed:
            facts.problems.append(
                f"the file is larger than PERCEPTUAL_MAX_BYTES ({source.limit} bytes);"
                " not read for perceptual hashes"
            )
            return facts
        stream = source.stream()
    elif isinstance(source, bytes | bytearray):
        stream = io.BytesIO(source)
    else:
        stream = source
    stream.seek(0)
    sniffed = media_types.sniff(stream.read(media_types.HEAD_BYTES))
    if sniffed is not None:
        facts.kind = sniffed.kind
    for reader in READERS:
        stream.seek(0)
        try:
            reader(stream, facts.kind, facts)
        except perceptual.PerceptualError as exc:
            facts.problems.append(f"{_name(reader)}: {exc}")
        except Exception as exc:
            # A reader is best effort: a hostile file must not become a 500 for the
            # upload it came with, nor stop the other readers.
            logger.warning("file reader %s failed: %r", _name(reader), exc)
            facts.problems.append(
                f"{_name(reader)}: the file could not be read ({type(exc).__name__})"
            )
    return facts


def facts_of_path(path: str, kind: str | None = None):
    """sha256 (``HashResult``) and ``FileFacts`` of a URL or allowed file, read once.

    Raises what ``hashing.hash_path`` raises for the hash itself; the facts never raise.
    """
    from tracking import hashing

    with spool() as copy:
        result = hashing.hash_path(path, spool=copy)
        return result, read_facts(copy, kind)
