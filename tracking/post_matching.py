"""Map recorded assets to the images of a Civitai post (``match_post_assets``).

The recording recipe used to be "find the local asset whose sha256 is the Civitai
image's". Civitai re-encodes what it serves, so the bytes differ and that recipe
fails on exactly the files it is for. This module compares what the pictures look
like instead (``tracking.perceptual``), keeping the exact sha256 match as the
strongest evidence:

1. The post's images come from the validated site client (``tracking.civitai_site``):
   a listing that is not the post asked for raises, and nothing is written.
2. Each image or video is downloaded once through ``tracking.hashing`` (address
   checks, ``HASH_TIMEOUT``, ``HASH_MAX_BYTES``) and read by the file readers
   (``tracking.file_facts``) for its perceptual hash. One unreadable file is reported
   in its row; the others go on. All of this happens before any transaction opens.
3. Candidates are the recorded assets *without a Civitai id* of the same media type
   (see ``candidate_assets`` for which ones). A candidate whose sha256 is the
   image's is an exact match (distance 0); otherwise the pHash distance must be at
   most ``max_distance``.
4. Each image is proposed its best candidate. A proposal is *ambiguous* when the
   image has more than one candidate, or its asset is the best candidate of another
   image too (an exact sha256 match is never ambiguous: identical bytes are the
   same file). Ambiguous proposals are shown with their alternatives and never
   applied.
5. ``apply`` links each unambiguous proposal through ``services.update_asset``
   (``civitai_id``, ``civitai_url``, ``post_id``): the ownership rule and the unique
   ``civitai_id`` apply as for any update, and a refusal is reported in its row
   without undoing the others. Applying needs the post to be recorded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from tracking import file_facts, hashing
from tracking.civitai_import import site_client, upstream_errors
from tracking.civitai_site import SiteImage
from tracking.civitai_urls import image_url, post_url
from tracking.errors import InvalidInput, RecordNotFound, ToolError
from tracking.models import Asset, Post
from tracking.permissions import OPERATOR, check_can_change
from tracking.serializers import id_str

MEDIA_KINDS = ("image", "video")  # audio has no perceptual hash


class Status:
    """What became of one image of the post (the ``status`` of its row)."""

    APPLIED = "applied"
    PROPOSED = "proposed"
    AMBIGUOUS = "ambiguous"
    REFUSED = "refused"  # apply was asked and update_asset refused
    NO_MATCH = "no_match"
    ALREADY_LINKED = "already_linked"
    UNREADABLE = "unreadable"
    SKIPPED = "skipped"  # audio: nothing to compare


@dataclass
class Candidate:
    asset: Asset
    distance: int
    match: str  # "sha256" or "perceptual"

    @property
    def rank(self) -> tuple[int, int, int]:
        return (0 if self.match == "sha256" else 1, self.distance, self.asset.pk)

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset_id": id_str(self.asset.pk),
            "asset_url": self.asset.asset_url,
            "match": self.match,
            "distance": self.distance,
        }


@dataclass
class ImageRow:
    image: SiteImage
    sha256sum: str | None = None
    phash: int | None = None
    status: str = Status.NO_MATCH
    reason: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    linked_asset_id: int | None = None

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "civitai_id": id_str(self.image.id),
            "civitai_url": image_url(self.image.id),
            "image_url": self.image.url,
            "asset_type": self.image.type,
            "sha256sum": self.sha256sum,
            "status": self.status,
            "reason": self.reason,
            "asset_id": id_str(self.linked_asset_id)
            if self.linked_asset_id
            else (id_str(best.asset.pk) if best else None),
            "match": best.match if best else None,
            "distance": best.distance if best else None,
            "alternatives": [c.as_dict() for c in self.candidates[1:]],
        }


def candidate_assets(user, post: Post | None, asset_ids: list[int] | None) -> QuerySet[Asset]:
    """The recorded assets a post's images may be matched to: no Civitai id yet, and

    - with ``asset_ids``: those assets (each must exist and pass the ownership rule,
      as ``update_asset`` will ask when applying);
    - otherwise the assets already in the recorded post, and the assets ``user``
      created or that were recorded on their behalf; the shell operator (a command
      without ``--user``) gets every asset without a Civitai id.

    "The caller's own" rather than "every asset staff may change" by default: a staff
    member's unlinked assets are few, everyone's are not, and a proposal to link a
    colleague's asset is better made on purpose (``asset_ids``).
    """
    qs = Asset.objects.filter(civitai_id__isnull=True).select_related("created_by")
    if asset_ids is not None:
        found = {a.pk: a for a in Asset.objects.filter(pk__in=asset_ids)}
        for pk in asset_ids:
            if pk not in found:
                raise RecordNotFound(f"Record not found: asset_ids {pk}")
            check_can_change(user, found[pk], field="asset_ids")
        return qs.filter(pk__in=asset_ids)
    if user is OPERATOR:
        return qs
    own = Q(created_by_id=user.pk) | Q(on_behalf_of=user.get_username())
    if post is not None:
        own |= Q(post=post)
    return qs.filter(own)


def _read_image(row: ImageRow) -> None:
    """Download the image once: its sha256 and (from the same bytes) its pHash."""
    try:
        with file_facts.spool() as copy:
            digest = hashing.hash_url(row.image.url, spool=copy)
            facts = file_facts.read_facts(copy, row.image.type)
    except ToolError as exc:
        row.status, row.reason = Status.UNREADABLE, exc.message
        return
    row.sha256sum = digest.sha256sum
    row.phash = facts.phash
    if facts.phash is None:
        row.reason = "no perceptual hash: " + ("; ".join(facts.problems) or "unsupported file")


def _find_candidates(rows: list[ImageRow], pool: QuerySet[Asset], max_distance: int) -> None:
    """Fill each row's candidates, best first: exact sha256 matches, then by distance."""
    readable = [r for r in rows if r.sha256sum]
    digests = {r.sha256sum for r in readable}
    exact: dict[str, list[Asset]] = {}
    for asset in pool.filter(sha256sum__in=digests):
        exact.setdefault(asset.sha256sum, []).append(asset)
    for row in readable:
        found: dict[int, Candidate] = {}
        for asset in exact.get(row.sha256sum, []):
            if asset.asset_type == row.image.type:
                found[asset.pk] = Candidate(asset, 0, "sha256")
        if row.phash is not None:
            near = perceptual_candidates(
                pool.filter(asset_type=row.image.type), row.phash, max_distance
            )
            for asset, distance in near:
                found.setdefault(asset.pk, Candidate(asset, distance, "perceptual"))
        row.candidates = sorted(found.values(), key=lambda c: c.rank)


def perceptual_candidates(
    pool: QuerySet[Asset], phash: int, max_distance: int
) -> list[tuple[Asset, int]]:
    """Assets of ``pool`` within ``max_distance`` bits of ``phash`` (the band index,
    ``Asset.objects.near``), nearest first, with their distance."""
    return [(asset, asset.distance) for asset in pool.near(phash, max_distance)]


def _already_linked(rows: list[ImageRow]) -> None:
    """Images some asset already carries as its Civitai id: nothing to propose."""
    ids = [r.image.id for r in rows]
    linked = dict(Asset.objects.filter(civitai_id__in=ids).values_list("civitai_id", "pk"))
    for row in rows:
        if row.image.id in linked:
            row.status, row.linked_asset_id = Status.ALREADY_LINKED, linked[row.image.id]
            row.candidates = []
            row.reason = f"asset {linked[row.image.id]} already has this Civitai id"


def _judge(rows: list[ImageRow]) -> None:
    """Mark each row proposed, ambiguous or unmatched (see the module docstring, step 4)."""
    best_of: dict[int, list[ImageRow]] = {}
    for row in rows:
        if row.best is not None and row.status == Status.NO_MATCH:
            best_of.setdefault(row.best.asset.pk, []).append(row)
    for row in rows:
        best = row.best
        if row.status != Status.NO_MATCH or best is None:
            if row.status == Status.NO_MATCH and row.reason is None:
                row.reason = "no recorded asset without a Civitai id looks like it"
            continue
        rivals = best_of[best.asset.pk]
        if best.match == "sha256" and sum(c.match == "sha256" for c in row.candidates) == 1:
            exact_rivals = [r for r in rivals if r is not row and r.best.match == "sha256"]
            ambiguous = bool(exact_rivals)
        else:
            ambiguous = len(row.candidates) > 1 or len(rivals) > 1
        if ambiguous:
            row.status = Status.AMBIGUOUS
            others = [f"#{c.asset.pk} at {c.distance}" for c in row.candidates[1:]]
            shared = [f"image {r.image.id}" for r in rivals if r is not row]
            row.reason = "; ".join(
                part
                for part in (
                    f"other candidates: {', '.join(others)}" if others else "",
                    f"asset #{best.asset.pk} is also the best match of {', '.join(shared)}"
                    if shared
                    else "",
                )
                if part
            )
        else:
            row.status = Status.PROPOSED


def _apply(rows: list[ImageRow], user, post: Post) -> None:
    from tracking import services  # services imports this module's neighbours

    for row in rows:
        if row.status != Status.PROPOSED:
            continue
        try:
            services.update_asset(
                user=user,
                asset_id=row.best.asset.pk,
                civitai_id=row.image.id,
                civitai_url=image_url(row.image.id),
                post_id=post.pk,
            )
        except ToolError as exc:
            row.status, row.reason = Status.REFUSED, exc.message
        else:
            row.status, row.linked_asset_id = Status.APPLIED, row.best.asset.pk


def match_post_assets(
    *,
    post: int,
    user,
    apply: bool = False,
    max_distance: int,
    asset_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Propose (and with ``apply`` write) links from recorded assets to post ``post``'s images.

    ``post`` is Civitai's post id. See the module docstring for the rules.
    """
    recorded = Post.objects.filter(civitai_id=post).first()
    if apply and recorded is None:
        raise InvalidInput(
            f"Civitai post {post} is not recorded here: record it first (create_civitai_post"
            " or import_civitai_post), then apply the links"
        )
    pool = candidate_assets(user, recorded, asset_ids)
    client = site_client()
    with upstream_errors():
        images = client.get_post_images(post)

    rows = [ImageRow(image) for image in images]
    for row in rows:
        if row.image.type not in MEDIA_KINDS:
            row.status, row.reason = Status.SKIPPED, f"{row.image.type} has no perceptual hash"
        else:
            _read_image(row)
    _already_linked(rows)
    _find_candidates([r for r in rows if r.status == Status.NO_MATCH], pool, max_distance)
    _judge(rows)
    if apply:
        _apply(rows, user, recorded)

    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return {
        "post": {
            "civitai_id": id_str(post),
            "civitai_url": post_url(post),
            "post_id": id_str(recorded.pk) if recorded else None,
        },
        "apply": apply,
        "max_distance": max_distance,
        "images": [row.as_dict() for row in rows],
        "counts": counts,
    }
