"""Download blob media to disk safely: streamed, never inside-out, never what must not be seen.

Rules (docs/orchestration-cli.md):

- A blob that is blocked, unavailable, or whose job's scan flags possible CSAM
  (``orchestration.scan.blob_must_not_be_fetched``) is never requested - not even its
  redirect - and the caller is told why. A redirect to ``/blobs/blocked/`` is treated the
  same way: the placeholder image is not saved.
- Bytes are streamed (at no less than ``HTTP_MIN_DOWNLOAD_RATE``, no total deadline)
  in chunks to a temporary file beside the target and moved into
  place only when complete (and as long as announced), so a failed download never
  leaves a truncated file under the final name.
- The file name comes from the blob id, sanitised so it cannot leave ``directory``,
  with the extension the response's ``Content-Type`` names.
- A file already there with the announced size is skipped without reading the body.
"""

from __future__ import annotations

import mimetypes
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from civitrack.http import NotFound, UpstreamError, iter_at_min_rate
from orchestration.client import OrchestrationClient
from orchestration.errors import UnsafeTarget
from orchestration.scan import ScanResult, blob_must_not_be_fetched
from orchestration.types import Blob

CHUNK_SIZE = 64 * 1024
PROGRESS_MIN_BYTES = 1024 * 1024  # smaller files finish before a bar is useful
MAX_STEM = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,5}$")
# mimetypes answers oddly for a few common media types (".jpe", ".qt"); pin them.
PREFERRED_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "image/svg+xml": ".svg",
}


@dataclass
class DownloadOutcome:
    """What happened to one blob: ``downloaded``, ``skipped``, ``refused`` or ``failed``."""

    blob_id: str
    status: str
    path: Path | None = None
    size: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status in {"downloaded", "skipped", "refused"}


def split_id(blob_id: str) -> tuple[str, str | None]:
    """``("4C1D…B714", "jpeg")`` for ``"4C1D…B714.jpeg"``; no extension → ``None``."""
    stem, dot, ext = blob_id.rpartition(".")
    if dot and stem and _EXTENSION.match(ext):
        return stem, ext.lower()
    return blob_id, None


def safe_stem(blob_id: str) -> str:
    """A file-name stem from an opaque id: only ``[A-Za-z0-9._-]``, no leading dots."""
    stem, _ = split_id(blob_id)
    cleaned = _UNSAFE.sub("_", stem).strip("._")[:MAX_STEM]
    return cleaned or "blob"


def extension_for(content_type: str | None, blob_id: str) -> str:
    """The extension the Content-Type names, else the id's, else ``.bin``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and media != "application/octet-stream":
        ext = PREFERRED_EXTENSIONS.get(media) or mimetypes.guess_extension(media)
        if ext:
            return ext
    _, id_ext = split_id(blob_id)
    return f".{id_ext}" if id_ext else ".bin"


def target_path(directory: Path, blob_id: str, content_type: str | None) -> Path:
    """Where ``blob_id`` is saved; guaranteed to be a direct child of ``directory``."""
    root = directory.resolve()
    path = root / (safe_stem(blob_id) + extension_for(content_type, blob_id))
    if path.resolve().parent != root:  # belt and braces: sanitising should make this moot
        raise UnsafeTarget(f"refusing to write outside {root}")
    return path


def download_blob(
    client: OrchestrationClient,
    blob_id: str,
    directory: Path,
    *,
    nsfw_level: str | None = None,
    workflow_id: str | None = None,
    progress: IO[str] | None = None,
) -> DownloadOutcome:
    """Resolve ``blob_id``'s redirect and stream its bytes into ``directory``.

    A blocked redirect is refused without fetching the placeholder. Upstream errors
    are raised (``UpstreamError``); file-system errors become a ``failed`` outcome.
    """
    location = client.resolve_blob(blob_id, nsfw_level=nsfw_level, workflow_id=workflow_id)
    if location.blocked:
        return DownloadOutcome(blob_id, "refused", reason="blocked by the API (placeholder)")
    directory.mkdir(parents=True, exist_ok=True)
    with client.open_content(location.url, what=f"Blob {blob_id} content") as response:
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        path = target_path(directory, blob_id, response.headers.get("Content-Type"))
        if length is not None and path.is_file() and path.stat().st_size == length:
            return DownloadOutcome(blob_id, "skipped", path, length, "already downloaded")
        return _stream_to(response, path, length, progress, blob_id)


def _stream_to(response, path: Path, length: int | None, progress, blob_id: str):
    # Imported here: only a download draws a bar, and tqdm costs every other command
    # (``results`` without ``--download`` imports this module too) a few ms at start-up.
    from tqdm import tqdm

    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    written = 0
    try:
        with (
            os.fdopen(fd, "wb") as handle,
            tqdm(
                total=length,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=path.name,
                file=progress,
                leave=False,
                disable=progress is None or (length or 0) < PROGRESS_MIN_BYTES,
            ) as bar,
        ):
            for chunk in iter_at_min_rate(response, CHUNK_SIZE):
                if chunk:
                    handle.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
        if length is not None and written != length:
            raise UpstreamError(
                f"Blob {blob_id} content: got {written} of {length} bytes (connection cut)"
            )
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return DownloadOutcome(blob_id, "downloaded", path, written)


def job_scans(
    client: OrchestrationClient, blobs: Iterable[Blob]
) -> dict[str, ScanResult | UpstreamError]:
    """The v1 scan of every distinct job behind ``blobs`` (an error where it failed).

    Only blobs that could otherwise be fetched are looked up: a blocked or
    unavailable blob is refused anyway and costs no request.
    """
    scans: dict[str, ScanResult | UpstreamError] = {}
    for blob in blobs:
        if not blob.job_id or blob.job_id in scans:
            continue
        if blob_must_not_be_fetched(blob, None)[0]:
            continue
        try:
            scans[blob.job_id] = client.get_job(blob.job_id).scan
        except UpstreamError as exc:
            scans[blob.job_id] = exc
    return scans


def job_gone_reason(job_id: str | None) -> str:
    """The refusal for a blob whose job the v1 jobs API answers 404 for."""
    return (
        f"its job {job_id} is not known to the v1 jobs API (404), so its scan cannot be"
        " checked: not fetched"
    )


def fetch_refusal(blob: Blob, scans: dict[str, ScanResult | UpstreamError]) -> str:
    """Why ``blob`` must not be fetched (``""`` when it may), given its job's scan.

    A job whose scan could not be read fails closed: the blob is refused. A job the v1
    API does not know (404 for the id the v2 blob names) is said in so many words: it
    is a lasting state, not a passing error worth retrying.
    """
    scan = scans.get(blob.job_id) if blob.job_id else None
    if isinstance(scan, UpstreamError):
        refuse, reason = blob_must_not_be_fetched(blob, None)
        if refuse:
            return reason
        if isinstance(scan, NotFound):
            return job_gone_reason(blob.job_id)
        return f"its job's scan could not be read ({scan})"
    refuse, reason = blob_must_not_be_fetched(blob, scan)
    return reason if refuse else ""
