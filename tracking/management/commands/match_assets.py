"""``manage.py match_assets PATH [PATH ...]``: which local files are already tracked assets."""

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tracking.matching import MatchReport, match_files
from tracking.perceptual import DEFAULT_MAX_DISTANCE, MAX_DISTANCE


class Command(BaseCommand):
    help = (
        "Hash local files (folders are searched recursively) and report which ones match a"
        " tracked asset by sha256: asset id, Civitai id and URL, post. Unreadable files are"
        " reported and skipped. With --perceptual, files without an exact match are compared"
        " by picture (perceptual hash) and the tracked assets that look alike are reported"
        " with their distance (differing bits of 64). Exit status 0 even with misses;"
        " 1 when no file could be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--perceptual",
            action="store_true",
            help="also report near matches by perceptual hash (re-saved, resized, re-encoded)",
        )
        parser.add_argument(
            "--max-distance",
            type=int,
            default=DEFAULT_MAX_DISTANCE,
            metavar="K",
            help=f"with --perceptual: largest distance reported (0-{MAX_DISTANCE},"
            f" default {DEFAULT_MAX_DISTANCE})",
        )

    def handle(
        self,
        *args,
        paths: list[str],
        as_json: bool,
        no_progress: bool,
        perceptual: bool,
        max_distance: int,
        **options,
    ):
        if not 0 <= max_distance <= MAX_DISTANCE:
            raise CommandError(f"--max-distance must be between 0 and {MAX_DISTANCE}")

        def progress(entries):
            return tqdm(
                entries,
                desc="Hashing",
                unit="file",
                file=self.stderr._out,  # the raw stream: OutputWrapper adds newlines
                disable=no_progress or None,  # None: only when stderr is a terminal
            )

        report = match_files(
            paths, progress=progress, perceptual=perceptual, max_distance=max_distance
        )
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.render_text(report)
        if report.files_read == 0:
            raise CommandError(
                "No file could be read" if report.errors else "No files found in the given paths"
            )

    def render_text(self, report: MatchReport) -> None:
        for row in report.matches:
            asset = row.asset
            post = asset["post"]
            parts = [f"asset {asset['asset_id']}"]
            parts.append(f"civitai_id {asset['civitai_id'] or '-'}")
            parts.append(asset["civitai_url"] or "no civitai_url")
            parts.append(
                f"post {post['post_id']} (civitai {post['civitai_id']}, {post['civitai_url']})"
                if post
                else "no post"
            )
            self.stdout.write(f"MATCH  {row.path} -> " + ", ".join(parts))
        for row in report.near:
            self.stdout.write(f"NEAR   {row.path} (sha256 {row.sha256sum})")
            for asset in row.near:
                self.stdout.write(
                    f"       distance {asset['distance']:>2}: asset {asset['asset_id']},"
                    f" civitai_id {asset['civitai_id'] or '-'}, {asset['asset_url']}"
                )
        for row in report.misses:
            note = f"; {row.note}" if report.perceptual and row.note else ""
            self.stdout.write(f"MISS   {row.path} (sha256 {row.sha256sum}{note})")
        for error in report.errors:
            self.stderr.write(f"ERROR  {error.path}: {error.error}")
        summary = report.as_dict()["summary"]
        near = f" {summary['near']} near," if report.perceptual else ""
        self.stdout.write(
            f"{summary['files']} files: {summary['matched']} matched,{near}"
            f" {summary['missed']} not tracked, {summary['errors']} unreadable"
        )
