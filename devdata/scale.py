"""A large, realistic synthetic data set for benchmarks and load checks (``seed_scale``).

The point is to see the admin, the search indexes and the listing tools at the size a
busy team reaches in a year or two, quickly: rows go in with ``bulk_create`` in
batches inside one transaction, so 20k posts, 100k assets and 50k prompts take
seconds, not the minutes that ``save()`` per row (and its history rows) would.

What it builds, and why it looks the way it does:

- a few creator accounts (unusable passwords: they are owners, not logins);
- prompts assembled from word lists (subjects, settings, styles, lighting, quality
  tags), so text search has words of varied selectivity to find; a quarter are
  captions, as derived prompts are in real use;
- posts with a status mix (mostly published), several accounts, titles and
  descriptions, unique Civitai ids and matching post URLs;
- assets, mostly images with some videos, mostly generated with some uploads, each
  with a unique sha256 derived from a counter (a real hash of a string, so it passes
  the hex64 constraint); assets of published posts carry unique Civitai image ids;
  generated assets link their input prompt, some a caption as output prompt;
- lineage rows (an asset made from one or two earlier assets) through the M2M
  through model, and engagement snapshots for some posted assets;
- ``created_at`` spread over the last year, rising with the id as in real life, so
  "newest first" pages and date filters behave as they would in production.

``bulk_create`` writes no django-simple-history rows: seeded records have an empty
history, which is fine for measuring lists and search.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

CREATOR_NAMES = ["scale-agent", "scale-alice", "scale-bob", "scale-carol", "scale-dave"]
ACCOUNTS = ["c29"] * 8 + ["c29-studio", "c29-archive"]
FIRST_POST_CIVITAI_ID = 23_000_000
FIRST_IMAGE_CIVITAI_ID = 100_000_000

SUBJECTS = [
    "paper lantern", "red fox", "mountain landscape", "blood elf", "cyberpunk city",
    "lighthouse", "koi pond", "samurai", "space station", "dragon", "tea house", "robot",
    "wolf", "castle ruins", "desert caravan", "jellyfish", "owl", "clockwork heart",
    "street market", "waterfall", "astronaut", "witch", "sailing ship", "bonsai tree",
    "train station", "snow leopard", "knight", "greenhouse", "old library", "hummingbird",
    "volcano", "portrait of a woman", "portrait of an old man", "mech", "phoenix",
    "fishing village", "cathedral", "butterfly", "tiger", "ballerina",
]  # fmt: skip
ACTIONS = [
    "standing", "floating", "resting", "running", "glowing", "sleeping", "dancing",
    "reading", "walking", "flying", "watching the horizon", "in the rain",
]  # fmt: skip
SETTINGS = [
    "on a dark pond at night", "in a green meadow", "under a violet sky", "in a neon alley",
    "at sunset", "in a misty forest", "on a frozen lake", "in a desert", "above the clouds",
    "in a flower field", "by the sea", "in an abandoned factory", "at dawn", "in autumn",
]  # fmt: skip
STYLES = [
    "oil painting", "watercolor", "low-poly", "photorealistic", "anime style", "ukiyo-e",
    "pixel art", "concept art", "studio ghibli style", "charcoal sketch", "3d render",
    "art nouveau", "vaporwave", "film photograph", "isometric",
]  # fmt: skip
LIGHTING = [
    "warm glow", "soft reflections", "volumetric light", "rim lighting", "golden hour",
    "moonlight", "dramatic shadows", "cinematic lighting", "bioluminescent", "overcast",
]  # fmt: skip
QUALITY = [
    "score_9, score_8_up, score_7_up", "masterpiece, best quality", "highly detailed",
    "8k", "sharp focus", "intricate details", "award-winning",
]  # fmt: skip
CAMERA = ["35mm", "85mm portrait lens", "wide angle", "macro", "long exposure", "bokeh"]
CAPTION_OPENERS = ["A", "An image of a", "A close-up of a", "A wide shot of a", "A painting of a"]
MODELS = {
    "image_generation": [
        ("black-forest-labs", "flux-1-dev"),
        ("black-forest-labs", "flux-1-schnell"),
        ("openai", "dall-e-3"),
        ("stability", "sdxl-1.0"),
        ("civitai", "pony-diffusion-v6"),
    ],
    "caption": [("anthropic", "claude-sonnet"), ("openai", "gpt-4o"), ("google", "gemini-pro")],
    "video_generation": [("google", "veo-2"), ("kuaishou", "kling-1.6")],
}
TAGS = ["landscape", "portrait", "ai-art", "fantasy", "sci-fi", "animals", "still life", "anime"]


class ScaleRefused(ValueError):
    """The database is not empty and ``force`` was not given (or the counts are invalid)."""


def _chunks[T](items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _timeline(rng: random.Random, count: int, now: datetime, days: int = 365) -> list[datetime]:
    """``count`` instants over the last ``days`` days, ascending (ids rise with time)."""
    span = days * 86400
    offsets = sorted(rng.random() * span for _ in range(count))
    start = now - timedelta(seconds=span)
    return [start + timedelta(seconds=s) for s in offsets]


def sha256_for(seed: int, counter: int) -> str:
    """A unique, valid sha256 hex digest for the ``counter``-th synthetic asset."""
    return hashlib.sha256(f"civitrack-scale:{seed}:{counter}".encode()).hexdigest()


def prompt_text(rng: random.Random, purpose: str) -> str:
    subject = rng.choice(SUBJECTS)
    if purpose == "caption":
        return (
            f"{rng.choice(CAPTION_OPENERS)} {subject} {rng.choice(ACTIONS)} "
            f"{rng.choice(SETTINGS)}, rendered as {rng.choice(STYLES)} with "
            f"{rng.choice(LIGHTING)}."
        )
    parts = [rng.choice(QUALITY)] if rng.random() < 0.6 else []
    parts.append(f"{subject} {rng.choice(ACTIONS)} {rng.choice(SETTINGS)}")
    parts += rng.sample(STYLES, k=rng.randint(1, 2))
    parts += rng.sample(LIGHTING, k=rng.randint(1, 2))
    if rng.random() < 0.5:
        parts.append(rng.choice(CAMERA))
    if purpose == "video_generation":
        parts.append(f"slow camera pan, {rng.choice([4, 5, 8, 10])} seconds")
    return ", ".join(parts)


def _creators() -> list:
    user_model = get_user_model()
    users = []
    for name in CREATOR_NAMES:
        user, created = user_model.objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


def _bulk(model, objs: list, batch: int, label: str, show_progress: bool) -> list:
    """``bulk_create`` in batches with a progress bar; returns the objects with their pks."""
    created: list = []
    with tqdm(total=len(objs), desc=label, unit="row", disable=not show_progress) as bar:
        for chunk in _chunks(objs, batch):
            created.extend(model.objects.bulk_create(chunk, batch_size=batch))
            bar.update(len(chunk))
    return created


def existing_counts() -> dict[str, int]:
    return {
        "posts": Post.objects.count(),
        "assets": Asset.objects.count(),
        "prompts": Prompt.objects.count(),
    }


def seed_scale(
    *,
    posts: int,
    assets: int,
    prompts: int,
    batch: int = 5000,
    seed: int = 0,
    force: bool = False,
    show_progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Add a synthetic data set of the given size in one transaction; return rows written.

    Refuses (``ScaleRefused``) when prompts, assets or posts already exist unless
    ``force``: the data is synthetic and would swamp real records. With ``force`` the
    new Civitai ids and hash counters start above what exists, so nothing collides.
    The same ``seed`` on an empty database gives the same data.
    """
    for name, value in [("posts", posts), ("assets", assets), ("prompts", prompts)]:
        if value < 0:
            raise ScaleRefused(f"--{name} must not be negative")
    if batch < 1:
        raise ScaleRefused("--batch must be at least 1")
    existing = existing_counts()
    if any(existing.values()) and not force:
        raise ScaleRefused(
            "The database is not empty ({posts} posts, {assets} assets, {prompts} prompts): "
            "seed_scale adds a large synthetic data set meant for an empty database. "
            "Use --force to add it anyway.".format(**existing)
        )
    log = log or (lambda message: None)
    rng = random.Random(seed)
    now = timezone.now()

    with transaction.atomic():
        counts = _seed(rng, now, posts, assets, prompts, batch, seed, show_progress)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # VACUUM (ANALYZE): fresh statistics so the next query is planned for the new size,
        # the GIN trigram indexes' pending lists merged (with 100k rows pending, the planner
        # rightly prefers a sequential scan), and the visibility map set for index-only
        # scans. Autovacuum would get there too, later. Not possible inside a transaction
        # (tests), where a plain ANALYZE does.
        with connection.cursor() as cursor:
            for model in (Prompt, Post, Asset, Asset.input_assets.through, AssetStatsSnapshot):
                cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Prompt, Post, Asset, Asset.input_assets.through, AssetStatsSnapshot):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    log("Wrote " + ", ".join(f"{n} {name}" for name, n in counts.items()) + ".")
    return counts


def _seed(rng, now, n_posts, n_assets, n_prompts, batch, seed, show_progress) -> dict[str, int]:
    creators = _creators()

    def creator():
        # Most records have an owner; some came from scripts without one.
        return None if rng.random() < 0.1 else rng.choice(creators)

    # --- prompts: generation prompts and captions, interleaved in time
    purposes = rng.choices(
        ["image_generation", "caption", "video_generation", None],
        weights=[68, 25, 5, 2],
        k=n_prompts,
    )
    prompt_objs = []
    for purpose, created_at in zip(purposes, _timeline(rng, n_prompts, now), strict=True):
        provider, model = rng.choice(MODELS[purpose or "image_generation"])
        prompt_objs.append(
            Prompt(
                prompt_text=prompt_text(rng, purpose or "image_generation"),
                purpose=purpose,
                llm_model_provider=provider if purpose else None,
                llm_model=model if purpose else None,
                metadata={"seed": rng.randrange(2**31), "steps": rng.choice([20, 25, 30, 40])}
                if purpose != "caption"
                else {},
                created_by=creator(),
                created_at=created_at,
            )
        )
    prompt_objs = _bulk(Prompt, prompt_objs, batch, "prompts", show_progress)
    generation_ids = [p.pk for p in prompt_objs if p.purpose in ("image_generation", None)]
    video_ids = [p.pk for p in prompt_objs if p.purpose == "video_generation"] or generation_ids
    caption_ids = [p.pk for p in prompt_objs if p.purpose == "caption"]

    # --- posts
    first_post_id = (Post.objects.aggregate(m=Max("civitai_id"))["m"] or FIRST_POST_CIVITAI_ID) + 1
    post_objs = []
    for i, created_at in enumerate(_timeline(rng, n_posts, now)):
        civitai_id = first_post_id + i
        subject = rng.choice(SUBJECTS)
        post_objs.append(
            Post(
                civitai_id=civitai_id,
                civitai_url=f"https://civitai.com/posts/{civitai_id}",
                civitai_account=rng.choice(ACCOUNTS),
                status=rng.choices(["published", "pending", "failed"], weights=[85, 10, 5])[0],
                title=f"{subject.title()} — {rng.choice(STYLES)}" if rng.random() < 0.9 else None,
                description=f"{subject} {rng.choice(SETTINGS)}, {rng.choice(LIGHTING)}"
                if rng.random() < 0.5
                else None,
                metadata={"tags": rng.sample(TAGS, k=rng.randint(1, 3))},
                created_by=creator(),
                created_at=created_at,
            )
        )
    post_objs = _bulk(Post, post_objs, batch, "posts", show_progress)

    # --- assets: ~70% belong to a post close to them in time
    first_asset_counter = Asset.objects.aggregate(m=Max("id"))["m"] or 0
    first_image_id = (
        Asset.objects.aggregate(m=Max("civitai_id"))["m"] or FIRST_IMAGE_CIVITAI_ID
    ) + 1
    asset_objs = []
    image_counter = 0
    for i, created_at in enumerate(_timeline(rng, n_assets, now)):
        is_video = rng.random() < 0.15
        generated = rng.random() < 0.8
        post = None
        if post_objs and rng.random() < 0.7:
            near = int(i * len(post_objs) / max(n_assets, 1))
            post = post_objs[min(len(post_objs) - 1, max(0, near + rng.randint(-3, 3)))]
        civitai_id = civitai_url = None
        if post is not None and post.status == "published":
            civitai_id = first_image_id + image_counter
            image_counter += 1
            civitai_url = f"https://civitai.com/images/{civitai_id}"
        ext = "mp4" if is_video else rng.choice(["png", "png", "jpg", "webp"])
        digest = sha256_for(seed, first_asset_counter + i)
        if rng.random() < 0.9:
            asset_url = f"https://cdn.civitrack.example/{created_at:%Y/%m}/{digest[:16]}.{ext}"
        else:
            asset_url = f"s3://civitrack-assets/raw/{digest[:2]}/{digest[:16]}.{ext}"
        input_prompt_id = output_prompt_id = None
        pool = video_ids if is_video else generation_ids
        if pool and generated and rng.random() < 0.9:
            input_prompt_id = rng.choice(pool)
        if caption_ids and not is_video and rng.random() < 0.3:
            output_prompt_id = rng.choice(caption_ids)
        asset_objs.append(
            Asset(
                asset_url=asset_url,
                asset_type="video" if is_video else "image",
                asset_source="generated" if generated else "upload",
                sha256sum=digest if rng.random() < 0.95 else None,
                civitai_id=civitai_id,
                civitai_url=civitai_url,
                post=post,
                input_prompt_id=input_prompt_id,
                output_prompt_id=output_prompt_id,
                metadata={"width": 1024, "height": rng.choice([1024, 1536, 768])}
                if not is_video
                else {"duration_s": rng.choice([4, 5, 8, 10])},
                created_by=creator(),
                created_at=created_at,
            )
        )
    asset_objs = _bulk(Asset, asset_objs, batch, "assets", show_progress)
    if asset_objs and asset_objs[0].pk is None:  # pragma: no cover - every supported DB returns pks
        raise RuntimeError("The database did not return primary keys from bulk_create")

    # --- lineage: ~10% of assets were made from one or two earlier assets
    through = Asset.input_assets.through
    links = []
    for index in range(1, len(asset_objs)):
        if rng.random() < 0.1:
            window = asset_objs[max(0, index - 200) : index]
            for parent in rng.sample(window, k=min(len(window), rng.choice([1, 1, 2]))):
                links.append(through(from_asset_id=asset_objs[index].pk, to_asset_id=parent.pk))
    _bulk(through, links, batch, "lineage", show_progress)

    # --- engagement: 1-3 snapshots for a fifth of the assets on Civitai
    snapshots = []
    for asset in asset_objs:
        if asset.civitai_id is None or rng.random() >= 0.2:
            continue
        likes = rng.randint(0, 50)
        captured = asset.created_at
        for _ in range(rng.randint(1, 3)):
            captured = min(now, captured + timedelta(hours=rng.randint(6, 240)))
            likes += rng.randint(0, 40)
            snapshots.append(
                AssetStatsSnapshot(
                    asset_id=asset.pk,
                    captured_at=captured,
                    like_count=likes,
                    heart_count=likes // 3,
                    laugh_count=rng.randint(0, 5),
                    cry_count=rng.randint(0, 2),
                    dislike_count=rng.randint(0, 3),
                    comment_count=rng.randint(0, 12),
                )
            )
    _bulk(AssetStatsSnapshot, snapshots, batch, "stats snapshots", show_progress)
    return {
        "prompts": len(prompt_objs),
        "posts": len(post_objs),
        "assets": len(asset_objs),
        "lineage links": len(links),
        "stats snapshots": len(snapshots),
    }
