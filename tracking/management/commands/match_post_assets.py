"""``manage.py match_post_assets <post URL or id> [--apply] [--max-distance K] [--user U]``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from tracking import inputs, services
from tracking.errors import ToolError
from tracking.permissions import OPERATOR
from tracking.users import active_user_named


class Command(BaseCommand):
    help = (
        "Match recorded assets without a Civitai id to the images of a Civitai post: each"
        " image is downloaded and hashed (sha256 and perceptual), identical bytes are"
        " proposed first, then the closest picture within --max-distance. --apply writes"
        " the unambiguous links (civitai_id, civitai_url, post) with update_asset's rules."
        " Exit status 1 when the post cannot be read, or when --apply was refused for an image."
    )

    def add_arguments(self, parser):
        parser.add_argument("post", help="Post URL (https://civitai.com/posts/123) or post id")
        parser.add_argument(
            "--apply", action="store_true", help="Write the unambiguous links (default: propose)"
        )
        parser.add_argument(
            "--max-distance",
            type=int,
            default=None,
            metavar="K",
            help=f"Largest pHash distance proposed (0-{inputs.MATCH_MAX_DISTANCE},"
            f" default {inputs.MATCH_DEFAULT_DISTANCE})",
        )
        parser.add_argument(
            "--asset",
            type=int,
            action="append",
            dest="asset_ids",
            metavar="ASSET_ID",
            help="Match only this asset (repeatable); default: the post's assets and the"
            " user's own (every asset without a Civitai id when no --user is given)",
        )
        parser.add_argument(
            "--user", help="Act as this user: whose assets are matched, and who may change them"
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )

    def handle(self, *args, post, apply, max_distance, asset_ids, user, as_json, **options):
        acting = active_user_named(user) if user else OPERATOR
        arguments = {"post": post, "apply": apply}
        if max_distance is not None:
            arguments["max_distance"] = max_distance
        if asset_ids:
            arguments["asset_ids"] = asset_ids
        try:
            result = services.match_post_assets(user=acting, **arguments)
        except ToolError as exc:
            raise CommandError(exc.message) from None
        if as_json:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            self.render_text(result)
        if result["counts"].get("refused"):
            raise CommandError(f"{result['counts']['refused']} link(s) were refused")

    def render_text(self, result: dict) -> None:
        post = result["post"]
        recorded = f"post record {post['post_id']}" if post["post_id"] else "not recorded here"
        self.stdout.write(f"Civitai post {post['civitai_id']} ({recorded}): {post['civitai_url']}")
        for row in result["images"]:
            head = f"{row['status'].upper():<15} image {row['civitai_id']} ({row['asset_type']})"
            if row["asset_id"] and row["status"] != "already_linked":
                head += f" -> asset {row['asset_id']}, {row['match']} distance {row['distance']}"
            self.stdout.write(head)
            for alt in row["alternatives"]:
                self.stdout.write(
                    f"{'':15} or asset {alt['asset_id']}, {alt['match']} distance {alt['distance']}"
                )
            if row["reason"]:
                self.stdout.write(f"{'':15} {row['reason']}")
        counts = ", ".join(f"{n} {status}" for status, n in sorted(result["counts"].items()))
        tail = "" if result["apply"] else " Nothing was written (use --apply)."
        self.stdout.write(self.style.SUCCESS(f"{len(result['images'])} images: {counts}.{tail}"))
