"""A large, realistic synthetic data set for benchmarks and load checks (``seed_scale``).

The point is to see the admin, the search indexes, the staff pages and the listing
tools at the size a busy team reaches in a few years (1M assets, 200k posts, 500k
prompts, 100k mirrored Orchestration workflows), in minutes, not the hours that
``save()`` per row (and its history rows) would take.

How it goes fast:

- Rows are plain tuples with ids assigned here (from the largest id present), so no
  model instances are built and no ids have to be read back; sequences are reset at
  the end.
- On PostgreSQL they go in with ``COPY … FROM STDIN`` (psycopg 3), with the foreign
  keys dropped and added back at the end (one validating join each instead of a
  trigger per row) and, for a large load (``INDEX_REBUILD_ROWS`` and up), the
  unique constraints and secondary indexes dropped and built once at the end (not
  the primary keys): one sorted build is many times cheaper than a million random
  B-tree or GIN trigram insertions. Elsewhere (SQLite in tests) ``bulk_create`` in batches.
- Everything is one transaction: a failure writes nothing.

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
- lineage rows (an asset made from one or two earlier assets) and engagement
  snapshots for some posted assets;
- mirrored Orchestration workflows (``workflows``), each with a step, a job, a blob and
  a scan as the sync stores them: mostly low CSAM scores, 1% over the threshold, 3%
  blocked, 3% flagged prompts, every NSFW level; a fifth of the unflagged jobs already
  cleared (what the bulk clear may take), the rest and every flagged job waiting in the
  review queue, so that even 1,000 workflows queue a page of blocked jobs and a page of
  flagged prompts; one blob in ten has the sha256 of a seeded asset (the trace from
  asset to workflow);
- ``created_at`` spread over the last year, rising with the id as in real life, so
  "newest first" pages and date filters behave as they would in production.

Seeded records have no django-simple-history rows, which is fine for measuring lists
and search.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

# From this many new rows in one table on PostgreSQL, its secondary indexes are rebuilt
# after the load instead of being maintained row by row.
INDEX_REBUILD_ROWS = 10_000

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


STEP_TYPES = ["textToImage", "imageGen", "videoGen"]
WORKFLOW_TAGS = ["civitai", "bench", "img2img", "txt2img", "flux", "sdxl", "video"]
WORKFLOW_STATUSES = ["succeeded"] * 8 + ["failed", "processing"]


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


def _next_id(model) -> int:
    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


class Rows:
    """Rows for one model as tuples in the order of ``columns`` (attnames); every other
    concrete column gets the field's default when the rows are written."""

    def __init__(self, model, columns: list[str]):
        self.model = model
        self.columns = columns
        self.rows: list[tuple] = []

    def add(self, *values) -> None:
        self.rows.append(values)

    def __len__(self) -> int:
        return len(self.rows)


def _bulk(model, rows: Rows, batch: int, label: str, show_progress: bool) -> int:
    """Write ``rows`` of ``model``: COPY on PostgreSQL, ``bulk_create`` elsewhere."""
    # Columns the database computes (``GeneratedField``) are never written.
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    given = {name: i for i, name in enumerate(rows.columns)}
    missing = [f for f in fields if f.attname not in given and not f.primary_key]
    for f in missing:
        if not (f.has_default() or f.null):
            raise ValueError(f"{model.__name__}.{f.attname} needs a value")
    with tqdm(total=len(rows), desc=label, unit="row", disable=not show_progress) as bar:
        if connection.vendor == "postgresql":
            _copy(model, fields, given, rows, bar)
        else:
            for chunk in _chunks(rows.rows, batch):
                objs = [model(**dict(zip(rows.columns, row, strict=True))) for row in chunk]
                model.objects.bulk_create(objs, batch_size=batch)
                bar.update(len(chunk))
    return len(rows)


def _copy(model, fields, given: dict[str, int], rows: Rows, bar) -> None:
    """``COPY table (every column) FROM STDIN``, JSON serialised, defaults filled in."""
    quote = connection.ops.quote_name
    # A key the rows do not give (the link and snapshot tables) comes from its sequence.
    fields = [f for f in fields if f.attname in given or not f.primary_key]
    plan = []  # per column: (index in the row or None, default, is_json)
    for f in fields:
        default = None if f.attname in given or not f.has_default() else f.get_default()
        is_json = isinstance(f, models.JSONField)
        if is_json and default is not None:
            default = json.dumps(default)
        plan.append((given.get(f.attname), default, is_json))
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for n, row in enumerate(rows.rows, 1):
            copy.write_row(
                [
                    default
                    if i is None
                    else (json.dumps(row[i]) if is_json and row[i] is not None else row[i])
                    for i, default, is_json in plan
                ]
            )
            if n % 10000 == 0:
                bar.update(10000)
        bar.update(len(rows) % 10000)


@contextmanager
def _bulk_load(models_and_counts: list[tuple[type[models.Model], int]]):
    """PostgreSQL's own advice for populating a database, inside the transaction.

    The foreign keys of every table written to are dropped and added back afterwards
    (one validating join per key instead of a trigger per row), and the unique
    constraints and other indexes (not the primary key, whose ids arrive in order) of
    tables getting ``INDEX_REBUILD_ROWS`` rows or more are dropped and built again once:
    a sorted build instead of a million random B-tree insertions, each dirtying a page
    that the WAL then copies whole. A duplicate is refused when its unique key is built
    again, and the transaction rolls back everything. Elsewhere, nothing.
    """
    if connection.vendor != "postgresql":
        yield
        return
    quote = connection.ops.quote_name
    written = [m._meta.db_table for m, n in models_and_counts if n]
    large = [m._meta.db_table for m, n in models_and_counts if n >= INDEX_REBUILD_ROWS]
    with connection.cursor() as cursor:
        # One sorted build per index in memory rather than spilled to disk; B-tree builds
        # may use a parallel worker (GIN builds are serial before PostgreSQL 18). The
        # load is one transaction that is re-run from scratch if it is lost, so its
        # commit need not wait for the WAL flush.
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Checks still pending from earlier in the transaction are run now: ALTER TABLE
        # and CREATE INDEX refuse a table with pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Foreign keys of every table written to; unique constraints of the large loads
        # (unless a foreign key elsewhere relies on them). Unique keys go back first.
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint c
            WHERE (contype = 'f' AND conrelid::regclass::text = ANY(%s))
               OR (contype = 'u' AND conrelid::regclass::text = ANY(%s)
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                                   WHERE f.contype = 'f' AND f.conindid = c.conindid))
            ORDER BY contype DESC
            """,
            [written, large],
        )
        keys = cursor.fetchall()
        for table, name, _definition in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s) AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            """,
            [large],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    yield
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


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
    workflows: int = 0,
    batch: int = 5000,
    seed: int = 0,
    force: bool = False,
    show_progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Add a synthetic data set of the given size in one transaction; return rows written.

    Refuses (``ScaleRefused``) when prompts, assets or posts already exist unless
    ``force``: the data is synthetic and would swamp real records. With ``force`` the
    new ids, Civitai ids and hash counters start above what exists, so nothing collides.
    The same ``seed`` on an empty database gives the same data.
    """
    sizes = [("posts", posts), ("assets", assets), ("prompts", prompts), ("workflows", workflows)]
    for name, value in sizes:
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

    started = time.perf_counter()

    def phase(what: str) -> None:
        log(f"{time.perf_counter() - started:6.1f} s  {what}")

    with transaction.atomic():
        tables = _generate(rng, now, posts, assets, prompts, workflows, seed)
        phase("rows generated")
        loads = [(rows.model, len(rows)) for _label, rows in tables]
        with _bulk_load(loads):
            phase("foreign keys and secondary indexes dropped")
            for label, rows in tables:
                _bulk(rows.model, rows, batch, label, show_progress)
            phase("rows written")
        phase("indexes built, foreign keys validated")
        if connection.vendor == "postgresql":
            written = [rows.model for _label, rows in tables]
            with connection.cursor() as cursor:
                for statement in connection.ops.sequence_reset_sql(no_style(), written):
                    cursor.execute(statement)
    counts = {label: len(rows) for label, rows in tables}
    if not workflows:
        counts = {k: v for k, v in counts.items() if k in MAIN_TABLES}
    written_models = [rows.model for _label, rows in tables]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # VACUUM (ANALYZE): fresh statistics so the next query is planned for the new size,
        # the GIN trigram indexes' pending lists merged, and the visibility map set for
        # index-only scans. Not possible inside a transaction (tests): ANALYZE there.
        with connection.cursor() as cursor:
            for model in written_models:
                cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in written_models:
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    phase("vacuumed and analysed")
    log("Wrote " + ", ".join(f"{n} {name}" for name, n in counts.items()) + ".")
    return counts


MAIN_TABLES = ("prompts", "posts", "assets", "lineage links", "stats snapshots")


def _generate(rng, now, n_posts, n_assets, n_prompts, n_workflows, seed) -> list[tuple[str, Rows]]:
    """Every row to write, per table in dependency order: ``[(label, Rows), ...]``."""
    creators = [u.pk for u in _creators()]

    def creator():
        # Most records have an owner; some came from scripts without one.
        return None if rng.random() < 0.1 else rng.choice(creators)

    recorded = ["id", "created_at", "updated_at", "created_by_id", "metadata"]

    # --- prompts: generation prompts and captions, interleaved in time
    prompts = Rows(Prompt, [*recorded, "prompt_text", "purpose", "llm_model_provider", "llm_model"])
    purposes = rng.choices(
        ["image_generation", "caption", "video_generation", None],
        weights=[68, 25, 5, 2],
        k=n_prompts,
    )
    generation_ids, video_ids, caption_ids = [], [], []
    pk = _next_id(Prompt)
    for purpose, created_at in zip(purposes, _timeline(rng, n_prompts, now), strict=True):
        provider, model = rng.choice(MODELS[purpose or "image_generation"])
        metadata = (
            {"seed": rng.randrange(2**31), "steps": rng.choice([20, 25, 30, 40])}
            if purpose != "caption"
            else {}
        )
        prompts.add(
            pk,
            created_at,
            created_at,
            creator(),
            metadata,
            prompt_text(rng, purpose or "image_generation"),
            purpose,
            provider if purpose else None,
            model if purpose else None,
        )
        {"caption": caption_ids, "video_generation": video_ids}.get(purpose, generation_ids).append(
            pk
        )
        pk += 1
    video_ids = video_ids or generation_ids

    # --- posts
    posts = Rows(
        Post,
        [
            *recorded,
            "civitai_id",
            "civitai_url",
            "civitai_account",
            "status",
            "title",
            "description",
        ],
    )
    first_post_id = (Post.objects.aggregate(m=Max("civitai_id"))["m"] or FIRST_POST_CIVITAI_ID) + 1
    post_list = []  # (pk, published)
    pk = _next_id(Post)
    for i, created_at in enumerate(_timeline(rng, n_posts, now)):
        civitai_id = first_post_id + i
        subject = rng.choice(SUBJECTS)
        status = rng.choices(["published", "pending", "failed"], weights=[85, 10, 5])[0]
        posts.add(
            pk,
            created_at,
            created_at,
            creator(),
            {"tags": rng.sample(TAGS, k=rng.randint(1, 3))},
            civitai_id,
            f"https://civitai.com/posts/{civitai_id}",
            rng.choice(ACCOUNTS),
            status,
            f"{subject.title()} — {rng.choice(STYLES)}" if rng.random() < 0.9 else None,
            f"{subject} {rng.choice(SETTINGS)}, {rng.choice(LIGHTING)}"
            if rng.random() < 0.5
            else None,
        )
        post_list.append((pk, status == "published"))
        pk += 1

    # --- assets: ~70% belong to a post close to them in time; lineage and stats beside
    assets = Rows(
        Asset,
        [*recorded, "asset_url", "asset_type", "asset_source", "sha256sum", "civitai_id",
         "civitai_url", "post_id", "input_prompt_id", "output_prompt_id"],
    )  # fmt: skip
    through = Asset.input_assets.through
    links = Rows(through, ["from_asset_id", "to_asset_id"])
    snapshots = Rows(
        AssetStatsSnapshot,
        ["asset_id", "captured_at", "like_count", "heart_count", "laugh_count", "cry_count",
         "dislike_count", "comment_count"],
    )  # fmt: skip
    first_asset_counter = Asset.objects.aggregate(m=Max("id"))["m"] or 0
    first_image_id = (
        Asset.objects.aggregate(m=Max("civitai_id"))["m"] or FIRST_IMAGE_CIVITAI_ID
    ) + 1
    image_counter = 0
    first_pk = pk = _next_id(Asset)
    digests = []
    for i, created_at in enumerate(_timeline(rng, n_assets, now)):
        is_video = rng.random() < 0.15
        generated = rng.random() < 0.8
        post = None
        if post_list and rng.random() < 0.7:
            near = int(i * len(post_list) / max(n_assets, 1))
            post = post_list[min(len(post_list) - 1, max(0, near + rng.randint(-3, 3)))]
        civitai_id = civitai_url = None
        if post is not None and post[1]:
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
        sha = digest if rng.random() < 0.95 else None
        assets.add(
            pk,
            created_at,
            created_at,
            creator(),
            {"width": 1024, "height": rng.choice([1024, 1536, 768])}
            if not is_video
            else {"duration_s": rng.choice([4, 5, 8, 10])},
            asset_url,
            "video" if is_video else "image",
            "generated" if generated else "upload",
            sha,
            civitai_id,
            civitai_url,
            post[0] if post else None,
            input_prompt_id,
            output_prompt_id,
        )
        digests.append(sha)
        # lineage: ~10% of assets were made from one or two of the 200 before them
        if i and rng.random() < 0.1:
            window = range(max(first_pk, pk - 200), pk)
            for parent in rng.sample(window, k=min(len(window), rng.choice([1, 1, 2]))):
                links.add(pk, parent)
        # engagement: 1-3 snapshots for a fifth of the assets on Civitai
        if civitai_id is not None and rng.random() < 0.2:
            likes = rng.randint(0, 50)
            captured = created_at
            for _ in range(rng.randint(1, 3)):
                captured = min(now, captured + timedelta(hours=rng.randint(6, 240)))
                likes += rng.randint(0, 40)
                snapshots.add(
                    pk, captured, likes, likes // 3, rng.randint(0, 5), rng.randint(0, 2),
                    rng.randint(0, 3), rng.randint(0, 12),
                )  # fmt: skip
        pk += 1

    tables = [
        ("prompts", prompts),
        ("posts", posts),
        ("assets", assets),
        ("lineage links", links),
        ("stats snapshots", snapshots),
    ]
    if n_workflows:
        tables += _generate_mirror(rng, now, n_workflows, seed, [d for d in digests if d])
    return tables


def _generate_mirror(rng, now, n, seed, asset_digests) -> list[tuple[str, Rows]]:
    """``n`` mirrored workflows, each with one step, job, blob and scan, as the sync
    stores them (without the raw API JSON, which no list reads)."""
    from django.conf import settings

    from orchestration.models import NSFW_RANK, Blob, Job, ScanResult, Step, Workflow

    workflows = Rows(
        Workflow,
        ["id", "synced_at", "civitai_id", "status", "tags", "tag_index", "prompt", "nsfw_level",
         "cost_total", "created_at", "started_at", "completed_at"],
    )  # fmt: skip
    steps = Rows(
        Step,
        ["id", "synced_at", "workflow_id", "name", "position", "step_type", "status", "prompt"],
    )
    jobs = Rows(
        Job,
        ["id", "synced_at", "civitai_id", "workflow_id", "step_id", "status", "job_type", "cost",
         "created_at", "completed_at", "review_status"],
    )  # fmt: skip
    blobs = Rows(
        Blob,
        ["id", "synced_at", "civitai_id", "workflow_id", "step_id", "job_id", "position", "kind",
         "available", "nsfw_level", "blocked_reason", "width", "height", "csam_score", "sha256"],
    )  # fmt: skip
    scans = Rows(
        ScanResult,
        ["job_id", "csam_scores", "csam_score_max", "vlm_summary", "blocked_reason", "is_blocked",
         "nsfw_level", "nsfw_rank", "prompt_sexual", "prompt_young", "prompt_cr", "prompt_scan",
         "prompt_flagged", "prompt", "event_type", "context", "fetched_at"],
    )  # fmt: skip
    levels = list(NSFW_RANK)
    threshold = settings.MODERATION_CSAM_THRESHOLD
    wf = _next_id(Workflow)
    st, jb, bl = _next_id(Step), _next_id(Job), _next_id(Blob)
    for created_at in _timeline(rng, n, now):
        step_type = rng.choice(STEP_TYPES)
        text = prompt_text(
            rng, "video_generation" if step_type == "videoGen" else "image_generation"
        )
        status = rng.choice(WORKFLOW_STATUSES)
        tags = rng.sample(WORKFLOW_TAGS, k=rng.randint(1, 3))
        level = rng.choice(levels)
        done = created_at + timedelta(seconds=rng.randint(5, 120))
        workflows.add(
            wf, now, f"scale-{seed}-wf-{wf}", status, tags, "|" + "|".join(tags) + "|", text,
            level, rng.randint(1, 40), created_at, created_at, done,
        )  # fmt: skip
        steps.add(st, now, wf, "0", 0, step_type, status, text)
        roll = rng.random()
        score = threshold + (1 - threshold) * rng.random() if roll < 0.01 else rng.random() / 10
        blocked = "csam_scan" if 0.01 <= roll < 0.04 else ""
        flagged = 0.04 <= roll < 0.07
        # Only a job the bulk clear may take (review_flow.bulk_clear_candidates: under the
        # threshold, not blocked, not prompt-flagged) is already cleared; every flagged
        # job waits for a reviewer. The draw is made for every job, so the rest of the
        # data is the same whatever the mix.
        cleared = rng.random() < 0.2 and roll >= 0.07
        jobs.add(
            jb, now, f"scale-{seed}-job-{jb}", wf, st, status, step_type, 1.0, created_at, done,
            "cleared" if cleared else "pending",
        )  # fmt: skip
        sha = (
            rng.choice(asset_digests)
            if asset_digests and rng.random() < 0.1
            else sha256_for(seed, -wf)
        )
        blobs.add(
            bl, now, f"scale-{seed}-blob-{bl}", wf, st, jb, 0,
            "video" if step_type == "videoGen" else "image", True, level, blocked,
            1024, 1024, round(score, 4), sha,
        )  # fmt: skip
        scans.add(
            jb, [round(score, 4)], round(score, 4), "a generated image", blocked, bool(blocked),
            level, NSFW_RANK[level], flagged, False, False, flagged, flagged, text, "Succeeded",
            {"hive_csam_score": round(score, 4), "nsfwLevel": level}, now,
        )  # fmt: skip
        wf, st, jb, bl = wf + 1, st + 1, jb + 1, bl + 1
    return [
        ("workflows", workflows),
        ("steps", steps),
        ("jobs", jobs),
        ("blobs", blobs),
        ("scans", scans),
    ]
