"""Match local files to tracked assets by sha256 (``manage.py match_assets``).

The operator points the command at files or folders on their own machine, so the
paths are read directly: ``HASH_ALLOWED_ROOTS`` and ``HASH_MAX_BYTES`` guard what
*remote callers* may make the server read and do not apply here. Only regular
files are read (a FIFO or device in a folder would hang or never end), symlinked
folders are not descended into (no loops), and one unreadable file is reported
without stopping the run. Lookups are batched: a fixed number of queries per 500
files whatever the matches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tracking import file_facts
from tracking.errors import InvalidInput
from tracking.hashing import display, hash_open_file, open_for_hashing
from tracking.models import Asset
from tracking.serializers import id_str

LOOKUP_BATCH = 500


@dataclass
class FileResult:
    """One file: its digest and the asset with that digest (None for a miss)."""

    path: str
    sha256sum: str
    size_bytes: int
    asset: dict[str, Any] | None = None
    phash: int | None = None
    # With --perceptual: tracked assets that look like the file, nearest first.
    near: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None  # why a file has no perceptual hash


@dataclass
class FileError:
    path: str
    error: str


@dataclass
class MatchReport:
    matches: list[FileResult] = field(default_factory=list)
    near: list[FileResult] = field(default_factory=list)
    misses: list[FileResult] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    perceptual: bool = False

    @property
    def files_read(self) -> int:
        return len(self.matches) + len(self.near) + len(self.misses)

    def as_dict(self) -> dict[str, Any]:
        def row(r: FileResult) -> dict[str, Any]:
            item = {
                "path": r.path,
                "sha256sum": r.sha256sum,
                "size_bytes": r.size_bytes,
                "asset": r.asset,
            }
            if self.perceptual:
                item["near"] = r.near
                item["note"] = r.note
            return item

        report = {
            "matches": [row(r) for r in self.matches],
            "misses": [row(r) for r in self.misses],
            "errors": [{"path": e.path, "error": e.error} for e in self.errors],
            "summary": {
                "files": self.files_read + len(self.errors),
                "matched": len(self.matches),
                "missed": len(self.misses),
                "errors": len(self.errors),
            },
        }
        if self.perceptual:
            report["near"] = [row(r) for r in self.near]
            report["summary"]["near"] = len(self.near)
        return report


def collect_files(paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """Yield ``(path, None)`` for each file to hash, ``(path, error)`` for what cannot be.

    Folders are walked recursively in sorted order; symlinks to files are kept,
    symlinks to folders are not followed.
    """
    for path in paths:
        if os.path.isdir(path):
            errors: list[OSError] = []
            for folder, dirs, files in os.walk(path, onerror=errors.append):
                dirs.sort()
                for name in sorted(files):
                    yield os.path.join(folder, name), None
            for exc in errors:
                yield str(exc.filename or path), f"cannot list folder ({exc.strerror})"
        elif os.path.lexists(path):
            yield path, None
        else:
            yield path, "no such file or folder"


def asset_summary(asset: Asset) -> dict[str, Any]:
    """What an operator needs to act on a match: ids, Civitai links, the post."""
    post = asset.post
    return {
        "asset_id": id_str(asset.pk),
        "civitai_id": id_str(asset.civitai_id),
        "civitai_url": asset.civitai_url,
        "asset_url": asset.asset_url,
        "post": None
        if post is None
        else {
            "post_id": id_str(post.pk),
            "civitai_id": id_str(post.civitai_id),
            "civitai_url": post.civitai_url,
        },
    }


def hash_local_file(path: str, spool: file_facts.Spool | None = None) -> tuple[str, int]:
    """sha256 of an operator-given file: any place, no size cap, regular files only.

    With ``spool`` the bytes are also copied there for the file readers."""
    fd = open_for_hashing(path, display(path), follow_symlinks=True)
    try:
        result = hash_open_file(fd, display(path), max_bytes=None, spool=spool)
    finally:
        os.close(fd)
    return result.sha256sum, result.size_bytes


def _read_local(path: str, perceptual: bool) -> FileResult:
    if not perceptual:
        return FileResult(path, *hash_local_file(path))
    with file_facts.spool() as copy:
        result = FileResult(path, *hash_local_file(path, copy))
        facts = file_facts.read_facts(copy)
    result.phash = facts.phash
    if facts.phash is None:
        result.note = "; ".join(facts.problems) or "not an image or video"
    return result


def _near_assets(result: FileResult, max_distance: int, limit: int) -> list[dict[str, Any]]:
    near = Asset.objects.near(result.phash, max_distance).select_related("post")[:limit]
    return [{**asset_summary(asset), "distance": asset.distance} for asset in near]


def match_files(
    paths: Iterable[str],
    *,
    progress: Callable[[Iterable[tuple[str, str | None]]], Iterable] | None = None,
    perceptual: bool = False,
    max_distance: int | None = None,
    near_limit: int = 5,
) -> MatchReport:
    """Hash every file under ``paths`` and find the tracked asset with the same sha256.

    ``progress`` wraps the list of files (e.g. ``tqdm``) so a command can show a bar.
    With ``perceptual``, files without an exact match are compared by picture too
    (at most ``near_limit`` near assets each, within ``max_distance`` bits).
    """
    from tracking.perceptual import DEFAULT_MAX_DISTANCE

    if max_distance is None:
        max_distance = DEFAULT_MAX_DISTANCE
    entries = list(collect_files(paths))
    report = MatchReport(perceptual=perceptual)
    hashed: list[FileResult] = []
    for path, problem in progress(entries) if progress else entries:
        if problem:
            report.errors.append(FileError(path, problem))
            continue
        try:
            hashed.append(_read_local(path, perceptual))
        except InvalidInput as exc:
            # The path is already in the row; keep only the reason.
            reason = exc.message.removeprefix(f"Cannot hash {display(path)}: ")
            report.errors.append(FileError(path, reason))

    found: dict[str, dict[str, Any]] = {}
    digests = sorted({r.sha256sum for r in hashed})
    for start in range(0, len(digests), LOOKUP_BATCH):
        batch = digests[start : start + LOOKUP_BATCH]
        for asset in Asset.objects.filter(sha256sum__in=batch).select_related("post"):
            found[asset.sha256sum] = asset_summary(asset)
    for result in hashed:
        result.asset = found.get(result.sha256sum)
        if result.asset is None and result.phash is not None:
            result.near = _near_assets(result, max_distance, near_limit)
        if result.asset:
            report.matches.append(result)
        else:
            (report.near if result.near else report.misses).append(result)
    return report
