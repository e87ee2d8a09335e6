"""Prompts, assets and Civitai posts: what the team generated, published and derived.

Models own their rules: allowed values and uniqueness are database constraints
(so concurrent writers cannot slip past a prior SELECT), mirrored by field
validators so forms and ``full_clean`` give the same answer with a clear message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import connections, models, router, transaction
from django.db.models import F, Max, Min, OuterRef, Q, Subquery, signals
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history import signals as history_signals
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords

from civitrack.compiled import CompiledValues
from tracking import perceptual, prompt_search
from tracking.civitai_urls import check_page_url
from tracking.errors import InvalidInput

SHA256_RE = r"^[0-9a-f]{64}$"
sha256_validator = RegexValidator(
    SHA256_RE, "sha256sum must be 64 lower-case hexadecimal characters", code="invalid_sha256"
)
# Civitai ids are positive 32-bit-ish integers today; BigInteger leaves room.
civitai_id_validator = MinValueValidator(1, "civitai_id must be a positive integer")
ON_BEHALF_OF_MAX_LENGTH = 255


def _clean_civitai_url(obj, kind: str) -> None:
    """The contract's rule, for forms: ``civitai_url`` names the same record as ``civitai_id``."""
    try:
        check_page_url(obj.civitai_url or None, obj.civitai_id, kind)
    except InvalidInput as exc:
        raise ValidationError({"civitai_url": exc.message}) from None


def default_civitai_account() -> str:
    """Account recorded on new posts (``CIVITAI_ACCOUNT``, default ``c29``)."""
    return settings.CIVITAI_ACCOUNT


def legacy_id_field() -> models.BigIntegerField:
    """The record's id in a civitai-records database it was imported from (issue 18).

    Unique, so an import can be re-run and resumed (a row whose id is already here is
    not imported twice), and so links in old notes (``asset 1234``) still resolve.
    """
    return models.BigIntegerField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        verbose_name=_("civitai-records id"),
        help_text=_("Id of this record in the civitai-records database it was imported from"),
    )


def created_at_field(*, db_index: bool = True) -> models.DateTimeField:
    """When the record was made: set once, on creation.

    One declaration for ``TimeStamped`` and for the models that keep the column
    without its single-column index (``Asset``: a composite index leads with it).
    """
    return models.DateTimeField(
        _("created at"), default=timezone.now, editable=False, db_index=db_index
    )


def created_by_field(*, db_index: bool = True) -> models.ForeignKey:
    """The account that recorded the record (see ``Recorded``); cleared if it is deleted.

    ``related_name`` is per model (``user.assets``, ``user.posts``...). ``db_index=False``
    keeps the foreign key without its single-column index, for a model whose composite
    index leads with the column (``Asset``).
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="%(class)ss",
        verbose_name=_("created by"),
        db_index=db_index,
    )


class TimeStamped(models.Model):
    created_at = created_at_field()
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class RecordedHistory(HistoricalRecords):
    """simple_history's ``HistoricalRecords`` without a query that cannot find anything.

    The history row of a record just created ("+") copies the record's many-to-many
    links (an asset's ``input_assets``), but a row inserted a moment ago has none: the
    services add links after the save, and that change writes its own history row
    ("~") with the links. simple_history still reads the link table for the "+" row,
    one query on every ``create_asset`` (docs/benchmarks.md, HTTP API); here it is
    skipped for the "+" row, and only for it. No code listens to the m2m history
    signals that empty copy would send.

    History tables are read by record id (the admin's history pages, ``record.history``)
    and written on every save; simple_history indexes every foreign key and every
    unique field of the record in them too, though nothing looks history up by those.
    ``HISTORY_UNINDEXED`` names the columns whose history indexes are left out: each
    was one more index to update in every create's transaction (migration 0012).
    The record id, ``history_date`` and ``history_user`` (a deleted user's rows are set
    to NULL through it) keep theirs.
    """

    HISTORY_UNINDEXED = (
        "created_at",
        "created_by",
        "legacy_id",
        "civitai_id",
        "sha256sum",
        "post",
        "input_prompt",
        "output_prompt",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("no_db_index", list(self.HISTORY_UNINDEXED))
        super().__init__(*args, **kwargs)

    def creation_values(self, instance, using: str) -> dict[str, object]:
        """The history-only columns of ``instance``'s "+" row, as ``create_historical_record``
        sets them (``Asset.insert_new`` writes that row in the asset's own statement)."""
        return {
            "history_date": getattr(instance, "_history_date", timezone.now()),
            "history_change_reason": self.get_change_reason_for_object(instance, "+", using),
            "history_type": "+",
            "history_user": self.get_history_user(instance),
        }

    def create_historical_record_m2ms(self, history_instance, instance):
        if history_instance.history_type == "+":
            return
        super().create_historical_record_m2ms(history_instance, instance)

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if self.cls is not None and issubclass(sender, self.cls) and not sender._meta.abstract:
            sender._recorded_history = self  # for Asset.insert_new
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(sender, self.manager_name, _HistoryManagerDescriptor(descriptor))


class _HistoryManagerDescriptor(HistoryDescriptor):
    """``record.history`` with its manager class built once, not on every access.

    simple_history's descriptor calls ``HistoryManager.from_queryset(...)`` each time
    the attribute is read: a new class, its methods copied over with ``inspect``. Every
    save reads it once to write the history row, which made it a tenth of a
    ``create_asset`` request's Python (docs/benchmarks.md, HTTP API). The class is the
    same every time, so it is made once here; each access still gets its own manager
    bound to the instance, as before.
    """

    def __init__(self, original: HistoryDescriptor):
        super().__init__(
            original.model, manager=original.manager_class, queryset=original.queryset_class
        )
        self._manager = original.manager_class.from_queryset(original.queryset_class)

    def __get__(self, instance, owner):
        return self._manager(self.model, instance)


class Recorded(TimeStamped):
    """What every record the team writes carries: who recorded it, for whom, free-form
    metadata, and a history of every change.

    ``created_by`` is the acting account (a token's user, ``mcp --user``, the admin's
    user); ``on_behalf_of`` names the person the record was made for when an agent or
    a shared account records for someone else (the original civitai-records server's
    field). The services default it to the creator's username so it is never empty
    for new records.
    """

    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    legacy_id = legacy_id_field()
    created_by = created_by_field()
    on_behalf_of = models.CharField(  # noqa: DJ001 (null: records older than the field)
        _("on behalf of"),
        max_length=ON_BEHALF_OF_MAX_LENGTH,
        null=True,
        blank=True,
        help_text=_("Who the record was made for; defaults to the creator's username"),
    )
    history = RecordedHistory(inherit=True)

    class Meta(TimeStamped.Meta):
        abstract = True

    def attribute_to(self, user, on_behalf_of: str | None = None) -> None:
        """Record ``user`` as the creator and (unless given) the person it was made for.

        The one place the default of ``on_behalf_of`` is decided: the services, the
        admin and the importer all call it for a new record.
        """
        if user is not None:
            self.created_by = user
        self.on_behalf_of = on_behalf_of or (user.get_username() if user is not None else None)


class PostStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")


class AssetType(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")


class AssetSource(models.TextChoices):
    GENERATED = "generated", _("Generated")
    UPLOAD = "upload", _("Upload")


class PromptQuerySet(models.QuerySet):
    def search(self, query: str, *, also: Q | None = None) -> PromptQuerySet:
        """Prompts matching ``query`` by full-text search, best first (``tracking.prompt_search``).

        Each carries ``search_rank`` (higher is better, comparable within one query)
        and ``search_snippet`` (HTML, matches in ``<mark>``). ``also`` adds the rows
        it matches, ranked 0: the admin searches the model name too. A query with no
        word to look for is ``InvalidInput``; no query is a syntax error.
        """
        parsed = prompt_search.parse(query)
        condition, rank, headline = prompt_search.expressions(parsed, self.db)
        if also is not None:
            condition, rank = Q(condition) | also, prompt_search.rank_or_zero(rank)
        return (
            self.filter(condition)
            .annotate(search_rank=rank, search_headline=headline)
            .order_by(*prompt_search.RANKED_ORDER)
        )


class Prompt(Recorded):
    """A text prompt: what generated an asset, or what was derived from one (a caption)."""

    prompt_text = models.TextField(_("prompt text"))
    llm_model_provider = models.CharField(  # noqa: DJ001
        _("llm model provider"), max_length=100, null=True, blank=True
    )
    llm_model = models.CharField(_("llm model"), max_length=200, null=True, blank=True)  # noqa: DJ001
    purpose = models.CharField(_("purpose"), max_length=100, null=True, blank=True)  # noqa: DJ001

    objects = PromptQuerySet.as_manager()

    class Meta:
        verbose_name = _("prompt")
        verbose_name_plural = _("prompts")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["purpose"], name="prompt_purpose_idx"),
            models.Index(fields=["llm_model_provider", "llm_model"], name="prompt_model_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(prompt_text=""), name="prompt_text_not_empty"),
        ]

    def __str__(self) -> str:
        text = " ".join(self.prompt_text.split())
        return f"#{self.pk} {text[:60]}{'…' if len(text) > 60 else ''}"

    @property
    def search_snippet(self) -> str:
        """The search's highlighted excerpt as safe HTML (only on ``objects.search`` rows)."""
        return prompt_search.snippet_html(getattr(self, "search_headline", None))


class Post(Recorded):
    """A post published on Civitai, holding zero or more assets."""

    Status = PostStatus

    civitai_id = models.BigIntegerField(
        _("civitai id"),
        unique=True,
        validators=[civitai_id_validator],
        help_text=_(
            "Numeric id from the post URL, e.g. 23602354 for https://civitai.com/posts/23602354"
        ),
    )
    civitai_url = models.URLField(_("civitai url"), max_length=500)
    civitai_account = models.CharField(
        _("civitai account"), max_length=100, default=default_civitai_account
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PUBLISHED
    )
    title = models.CharField(_("title"), max_length=300, null=True, blank=True)  # noqa: DJ001
    description = models.TextField(_("description"), null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="post_status_created_idx"),
            models.Index(fields=["civitai_account"], name="post_account_idx"),
            models.Index(fields=["-created_at", "-id"], name="post_created_idx"),
            models.Index(fields=["created_by", "-created_at"], name="post_creator_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PostStatus.values),
                name="post_status_valid",
            ),
            models.CheckConstraint(condition=Q(civitai_id__gt=0), name="post_civitai_id_positive"),
        ]

    def __str__(self) -> str:
        return f"Post {self.civitai_id}" + (f" — {self.title}" if self.title else "")

    def clean(self) -> None:
        if self.civitai_id:
            _clean_civitai_url(self, "post")


SELF_INPUT_MESSAGE = "input_asset_ids must not include the asset itself"


class AssetInput(models.Model):
    """One lineage link: ``from_asset`` was made from ``to_asset``.

    The explicit through model of ``Asset.input_assets`` (same table and columns as
    Django's automatic one) exists to carry the rule that no asset is its own input.
    Declared before ``Asset`` because the history of the lineage needs the class itself.
    """

    from_asset = models.ForeignKey(
        "Asset", on_delete=models.CASCADE, related_name="input_links", verbose_name=_("from asset")
    )
    to_asset = models.ForeignKey(
        "Asset", on_delete=models.CASCADE, related_name="+", verbose_name=_("to asset")
    )

    class Meta:
        verbose_name = _("asset input")
        verbose_name_plural = _("asset inputs")
        db_table = "tracking_asset_input_assets"
        unique_together = [("from_asset", "to_asset")]  # as Django's automatic through had
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_asset=F("to_asset")),
                name="asset_input_not_self",
                violation_error_message=SELF_INPUT_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return f"Asset #{self.from_asset_id} made from #{self.to_asset_id}"


PHASH_BANDS = [f"phash_b{i}" for i in range(perceptual.BANDS)]


def _band_expression(i: int):
    """Band ``i`` of the stored pHash, as SQL: the rule the check constraint holds."""
    shift = perceptual.BAND_BITS * (perceptual.BANDS - 1 - i)
    expression = F("phash").bitrightshift(shift) if shift else F("phash")
    return expression.bitand(perceptual.BAND_MASK)


class Hamming(models.Func):
    """Number of differing bits between a BIGINT column and a 64-bit value.

    PostgreSQL counts them itself (``bit_count`` of the XOR's 8 bytes, PG 14+);
    SQLite calls ``civitrack_hamming``, registered on every connection by
    ``tracking.apps`` (SQLite has no popcount). Used only on the few candidates the
    band indexes found, so the Python function's cost does not grow with the table.
    """

    output_field = models.IntegerField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="civitrack_hamming", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="bit_count(int8send(%(expressions)s))",
            arg_joiner=" # ",
            **extra,
        )


class AssetQuerySet(models.QuerySet):
    def near(
        self, phash: int, max_distance: int = perceptual.DEFAULT_MAX_DISTANCE
    ) -> AssetQuerySet:
        """Assets whose pHash is within ``max_distance`` bits of ``phash``, nearest first,
        each annotated with its ``distance``.

        Multi-index search (docs/near-duplicates.md): the 64 bits are stored as 4
        indexed 16-bit bands; a hash within k bits has at least one band within
        a few bits of the query's band (pigeonhole, sharpened in
        ``perceptual.band_radii``), so the candidates are the rows whose band equals
        one of those few values (an index lookup each), and only they are compared
        bit by bit. The table is never scanned.
        """
        if not 0 <= max_distance <= perceptual.MAX_DISTANCE:
            raise InvalidInput(
                f"max_distance must be between 0 and {perceptual.MAX_DISTANCE}, got {max_distance}"
            )
        phash = perceptual.to_signed(phash)
        sql, params = _near_candidates_sql(connections[self.db], phash, max_distance)
        return (
            self.filter(pk__in=RawSQL(sql, params))  # noqa: S611 - fixed SQL, values as params
            .annotate(distance=Hamming(F("phash"), models.Value(phash)))
            .order_by("distance", "id")
        )


def _near_candidates_sql(connection, phash: int, max_distance: int) -> tuple[str, list]:
    """The ids within ``max_distance`` of ``phash``: a UNION of one scan per probed band.

    Each scan reads the (band, phash, id) index only, and the distance is checked on
    index entries, so candidates that fail it never cost a table read (an OR of the
    four bands would be one bitmap scan reading every candidate's row: 20x slower at
    1M assets). Written as SQL rather than four ORM querysets because compiling
    hundreds of IN parameters through the ORM cost more than the query itself.
    """
    table = connection.ops.quote_name(Asset._meta.db_table)
    column = connection.ops.quote_name("phash")
    pk = connection.ops.quote_name("id")
    postgres = connection.vendor == "postgresql"
    if postgres:
        distance = f"bit_count(int8send({column} # %s))"
    else:
        distance = f"civitrack_hamming({column}, %s)"
    parts, params = [], []
    radii = perceptual.band_radii(max_distance)
    for name, value, radius in zip(PHASH_BANDS, perceptual.bands(phash), radii, strict=True):
        if radius < 0:  # this band need not be probed (band_radii)
            continue
        probes = perceptual.within(value, radius)
        band = connection.ops.quote_name(name)
        if postgres:
            match, match_params = f"{band} = ANY(%s)", [probes]
        else:
            match, match_params = f"{band} IN ({', '.join(['%s'] * len(probes))})", probes
        parts.append(f"SELECT {pk} FROM {table} WHERE {match} AND {distance} <= %s")  # noqa: S608
        params.extend([*match_params, phash, max_distance])
    return " UNION ".join(parts), params


class Asset(Recorded):
    """An image or video: where it lives, what made it, what it became, where it was posted."""

    Type = AssetType
    Source = AssetSource

    # Recorded's two columns without their single-column indexes: every create wrote
    # them and no query needs them. A B-tree serves its leading column, so
    # ``asset_created_idx`` (created_at DESC, id DESC) serves every created_at range,
    # sort and date filter, and ``asset_creator_created_idx`` (created_by_id, created_at
    # DESC) every created_by filter and the ``SET NULL`` a deleted user's assets get
    # (migration 0012; docs/scale.md).
    created_at = created_at_field(db_index=False)
    created_by = created_by_field(db_index=False)
    asset_url = models.CharField(
        _("asset url"),
        max_length=2000,
        help_text=_("Where the file lives: https://…, s3://…, or a local path"),
    )
    asset_type = models.CharField(_("asset type"), max_length=8, choices=Type.choices)
    asset_source = models.CharField(_("asset source"), max_length=16, choices=Source.choices)
    # Unique by the constraint below, not ``unique=True``: on PostgreSQL that also makes
    # a second ``varchar_pattern_ops`` index for LIKE, which nothing reads (the prefix
    # search is a range on the unique index, tracking/search.py) and every create wrote.
    sha256sum = models.CharField(  # noqa: DJ001 (null: not hashed; NULLs never clash)
        max_length=64,
        null=True,
        blank=True,
        validators=[sha256_validator],
        verbose_name=_("sha256"),
    )
    civitai_id = models.BigIntegerField(
        _("civitai id"), null=True, blank=True, unique=True, validators=[civitai_id_validator]
    )
    civitai_url = models.URLField(_("civitai url"), max_length=500, null=True, blank=True)  # noqa: DJ001
    post = models.ForeignKey(
        Post,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assets",
        verbose_name=_("post"),
    )
    input_prompt = models.ForeignKey(
        Prompt,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generated_assets",
        help_text=_("The prompt that generated this asset"),
        verbose_name=_("input prompt"),
    )
    output_prompt = models.ForeignKey(
        Prompt,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_from_assets",
        help_text=_("A prompt derived from this asset (e.g. a caption)"),
        verbose_name=_("output prompt"),
    )
    input_assets = models.ManyToManyField(
        "self",
        through=AssetInput,
        through_fields=("from_asset", "to_asset"),
        symmetrical=False,
        blank=True,
        related_name="derived_assets",
        help_text=_("The assets this one was made from"),
        verbose_name=_("input assets"),
    )
    # Perceptual hashes of the file (tracking/perceptual.py), signed 64-bit; the
    # pHash is also stored as 4 indexed 16-bit bands for the near-duplicate search.
    phash = models.BigIntegerField(
        _("pHash"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Perceptual hash of the picture (or of a video's average frame)"),
    )
    dhash = models.BigIntegerField(
        _("dHash"), null=True, blank=True, editable=False, help_text=_("Gradient hash")
    )
    phash_b0 = models.IntegerField(null=True, blank=True, editable=False)
    phash_b1 = models.IntegerField(null=True, blank=True, editable=False)
    phash_b2 = models.IntegerField(null=True, blank=True, editable=False)
    phash_b3 = models.IntegerField(null=True, blank=True, editable=False)
    video_signature = models.CharField(  # noqa: DJ001 (null: not a video, or not read)
        _("video signature"),
        max_length=16 * 16,
        null=True,
        blank=True,
        editable=False,
        help_text=_("pHashes of evenly spaced frames, 16 hex digits each"),
    )
    perceptual_checked_at = models.DateTimeField(
        _("perceptual hashes read at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the file was last read for perceptual hashes (found or not)"),
    )
    # The lineage is part of the history too (Recorded's HistoricalRecords reads this).
    _history_m2m_fields = ["input_assets"]

    objects = AssetQuerySet.as_manager()

    class Meta:
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["asset_type", "asset_source"], name="asset_type_source_idx"),
            # The list's order, so a page is the first 50 entries of one index (issue 17).
            models.Index(fields=["-created_at", "-id"], name="asset_created_idx"),
            models.Index(fields=["created_by", "-created_at"], name="asset_creator_created_idx"),
            # (band, phash, id): AssetQuerySet.near reads these indexes only.
            *(
                models.Index(fields=[band, "phash", "id"], name=f"asset_{band}_idx")
                for band in PHASH_BANDS
            ),
        ]
        constraints = [
            # The name PostgreSQL gave the field's UNIQUE before (plans name this index).
            models.UniqueConstraint(fields=["sha256sum"], name="tracking_asset_sha256sum_key"),
            models.CheckConstraint(
                condition=Q(asset_type__in=AssetType.values), name="asset_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(asset_source__in=AssetSource.values), name="asset_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(sha256sum__isnull=True) | Q(sha256sum__regex=SHA256_RE),
                name="asset_sha256_hex64",
            ),
            models.CheckConstraint(
                condition=Q(civitai_id__isnull=True) | Q(civitai_id__gt=0),
                name="asset_civitai_id_positive",
            ),
            models.CheckConstraint(condition=~Q(asset_url=""), name="asset_url_not_empty"),
            models.CheckConstraint(
                condition=Q(phash__isnull=True, **{f"{b}__isnull": True for b in PHASH_BANDS})
                | Q(**{b: _band_expression(i) for i, b in enumerate(PHASH_BANDS)}),
                name="asset_phash_bands",
                violation_error_message="phash_b0..b3 must be the 16-bit bands of phash",
            ),
            models.CheckConstraint(
                condition=Q(video_signature__isnull=True)
                | Q(video_signature__regex=r"^([0-9a-f]{16})+$"),
                name="asset_video_signature_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"Asset #{self.pk} ({self.asset_type})"

    def save(self, *args, **kwargs):
        self._normalise()
        super().save(*args, **kwargs)

    def _normalise(self) -> None:
        if self.sha256sum:
            self.sha256sum = self.sha256sum.lower()
        for name, value in self.perceptual_values(self.phash).items():
            if name in PHASH_BANDS:
                setattr(self, name, value)

    def _save_atomically(self, using: str) -> None:
        """``save()``, in a transaction of its own unless the caller has one open."""
        if connections[using].in_atomic_block:
            self.save(using=using)
        else:
            with transaction.atomic(using=using):
                self.save(using=using)

    def inserts_in_one_statement(self, using: str | None = None) -> bool:
        """Whether ``insert_new`` writes this asset and its history in one statement."""
        return self._one_statement_history(using) is not None

    def _one_statement_history(self, using: str | None):
        """simple_history's ``RecordedHistory`` when ``insert_new`` may bypass ``save()``."""
        using = using or router.db_for_write(Asset, instance=self)
        records = getattr(type(self), "_recorded_history", None)
        if (
            connections[using].vendor != "postgresql"
            or type(self) is not Asset
            or records is None
            or self.pk is not None
            or not self._state.adding
            or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
            or hasattr(self, "skip_history_when_saving")
            or not _only_history_listens(records)
        ):
            return None
        return records

    def insert_new(self, using: str | None = None) -> None:
        """Save this new asset and its "+" history row; on PostgreSQL in one statement.

        ``save()`` costs two INSERTs, each built by the ORM (the history row by
        simple_history from the saved instance), and a transaction around them: four
        round trips, a fifth of a ``create_asset`` request's time under load
        (docs/scale.md, "What one create_asset writes"). On PostgreSQL the two rows
        are written by one ``WITH new AS (INSERT ... RETURNING *) INSERT INTO history
        SELECT ... FROM new``: the history row copies the inserted row's own columns,
        and its four history columns are what simple_history would have set (date,
        change reason, "+", user). One statement is atomic by itself, so a caller
        outside a transaction needs no BEGIN/COMMIT. The values are prepared as the
        ORM prepares an INSERT's (``pre_save``, ``get_db_prep_save``), so the stored
        rows are the ones ``save()`` writes; tests compare them.

        Anything ``save()`` would do beyond that falls back to ``save()`` (in a
        transaction of its own when the caller has none): another database, an id
        already set, history switched off, or any receiver of the model's save signals
        or of simple_history's record signals besides simple_history's own (none today:
        a receiver would expect ``save()``).
        """
        using = using or router.db_for_write(Asset, instance=self)
        connection = connections[using]
        records = self._one_statement_history(using)
        if records is None:
            self._save_atomically(using)
            return
        self._normalise()
        self._prepare_related_fields_for_save(operation_name="save")
        history = Asset.history.model
        sql, fields, history_fields = _insert_with_history_sql(connection, records)
        values = [f.pre_save(self, True) for f in fields]
        if any(hasattr(v, "resolve_expression") for v in values):
            self._save_atomically(using)  # an expression: the ORM compiles it
            return
        extra = records.creation_values(self, using)
        extra["history_user"] = getattr(extra["history_user"], "pk", extra["history_user"])
        params = [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
        params += [
            history._meta.get_field(name).get_db_prep_save(extra[name], connection)
            for name in history_fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            (self.pk,) = cursor.fetchone()
        self._state.adding = False
        self._state.db = using

    @staticmethod
    def perceptual_values(
        phash: int | None, dhash: int | None = None, video_signature: str | None = None
    ) -> dict:
        """The field values that store these hashes, bands included: for ``save`` and for
        ``QuerySet.update``/``bulk_create``, which bypass ``save``."""
        values = {"phash": None, "dhash": dhash, "video_signature": video_signature}
        values.update(dict.fromkeys(PHASH_BANDS))
        if phash is not None:
            values["phash"] = perceptual.to_signed(phash)
            values.update(zip(PHASH_BANDS, perceptual.bands(phash), strict=True))
        return values

    def set_perceptual(self, facts) -> None:
        """Take the hashes a ``tracking.file_facts.FileFacts`` found (and when)."""
        for name, value in self.perceptual_values(
            facts.phash, facts.dhash, facts.video_signature
        ).items():
            setattr(self, name, value)
        self.perceptual_checked_at = timezone.now()

    def clean(self) -> None:
        if self.civitai_id is None or self.civitai_id > 0:
            _clean_civitai_url(self, "image")

    def latest_stats(self) -> AssetStatsSnapshot | None:
        return self.stats_snapshots.order_by("-captured_at", "-id").first()

    def check_inputs(self, inputs) -> None:
        """Refuse a lineage that lists this asset as its own input (``InvalidInput``).

        The database refuses it too (``AssetInput``'s constraint); this gives every
        caller — services, admin form, commands — the same clear message first.
        """
        if self.pk is not None and any(getattr(a, "pk", a) == self.pk for a in inputs):
            raise InvalidInput(SELF_INPUT_MESSAGE)


_HISTORY_COLUMNS = ("history_date", "history_change_reason", "history_type", "history_user")
_insert_sql_cache: dict[tuple[str, int], tuple[str, list, tuple[str, ...]]] = {}


def _only_history_listens(records) -> bool:
    """True when simple_history's ``post_save`` is the only receiver ``insert_new`` skips."""
    history = Asset.history.model
    if (
        signals.pre_save.has_listeners(Asset)
        or history_signals.pre_create_historical_record.has_listeners(history)
        or history_signals.post_create_historical_record.has_listeners(history)
    ):
        return False
    sync, asynchronous = signals.post_save._live_receivers(Asset)
    return not asynchronous and len(sync) == 1 and sync[0] == records.post_save


def _insert_with_history_sql(connection, records) -> tuple[str, list, tuple[str, ...]]:
    """``Asset.insert_new``'s statement for ``connection``: (SQL, the asset fields whose
    values it takes in order, then the history columns' names). Built once per alias."""
    key = (connection.alias, id(records))
    try:
        return _insert_sql_cache[key]
    except KeyError:
        pass
    qn = connection.ops.quote_name
    fields = [f for f in Asset._meta.concrete_fields if f is not Asset._meta.auto_field]
    history = Asset.history.model
    copied = [f.column for f in records.fields_included(Asset)]
    extra = [history._meta.get_field(name).column for name in _HISTORY_COLUMNS]
    columns = ", ".join(qn(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"WITH {qn('new')} AS (INSERT INTO {qn(Asset._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({placeholders}) RETURNING *) "
        f"INSERT INTO {qn(history._meta.db_table)} ({', '.join(qn(c) for c in copied + extra)}) "
        f"SELECT {', '.join(f'{qn("new")}.{qn(c)}' for c in copied)}, "
        f"{', '.join(['%s'] * len(extra))} FROM {qn('new')} "
        f"RETURNING {qn(history._meta.get_field(Asset._meta.pk.attname).column)}"
    )
    built = (sql, fields, _HISTORY_COLUMNS)
    _insert_sql_cache[key] = built
    return built


class NearDuplicateVerdict(models.TextChoices):
    SAME_WORK = "same_work", _("Same work")
    NOT_DUPLICATE = "not_duplicate", _("Not a duplicate")


def canonical_pair(a: int, b: int) -> tuple[int, int]:
    """An unordered pair of asset ids as it is stored: the lower id first."""
    if a == b:
        raise InvalidInput("A near-duplicate pair needs two different assets")
    return (a, b) if a < b else (b, a)


class NearDuplicateDecision(models.Model):
    """Staff's verdict on two perceptually similar assets, so the pair is not shown again.

    The pair is unordered; it is stored once, lower asset id in ``low``, which a check
    constraint enforces and a unique constraint makes one row per pair (two staff
    deciding at once cannot leave two answers). ``distance`` is the Hamming distance
    shown when the decision was made, kept because hashes can be recomputed later.
    """

    Verdict = NearDuplicateVerdict

    low = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="+", verbose_name=_("asset (lower id)")
    )
    high = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="+", verbose_name=_("asset (higher id)")
    )
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    distance = models.PositiveSmallIntegerField(
        _("distance"), null=True, blank=True, help_text=_("Hamming distance when decided")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("near-duplicate decision")
        verbose_name_plural = _("near-duplicate decisions")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(low__lt=F("high")), name="near_dup_pair_ordered"),
            models.UniqueConstraint(fields=["low", "high"], name="near_dup_pair_unique"),
            models.CheckConstraint(
                condition=Q(verdict__in=NearDuplicateVerdict.values), name="near_dup_verdict_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.low_id} / #{self.high_id}: {self.get_verdict_display()}"

    @classmethod
    def decide(
        cls, user, a: int, b: int, verdict: str, *, distance: int | None = None
    ) -> NearDuplicateDecision:
        """Record (or change) the verdict on the pair ``a``/``b``; the last word wins.

        ``update_or_create`` against the unique pair: when two first decisions race,
        the unique constraint refuses the second insert and Django's
        ``update_or_create`` then finds the row and updates it, never a second row.
        """
        if verdict not in NearDuplicateVerdict.values:
            raise InvalidInput(f"verdict must be one of {', '.join(NearDuplicateVerdict.values)}")
        low, high = canonical_pair(a, b)
        defaults = {
            "verdict": verdict,
            "distance": distance,
            "decided_by": user,
            "decided_at": timezone.now(),
        }
        with transaction.atomic():
            return cls.objects.update_or_create(low_id=low, high_id=high, defaults=defaults)[0]


class AssetStatsSnapshotQuerySet(models.QuerySet):
    def growth_since(self, since: dt.datetime) -> models.QuerySet:
        """Each asset's reaction growth over the snapshots captured at or after ``since``
        (``MAX - MIN`` of ``reaction_total``), positive growth only, largest first (ties
        by asset id): ``{"asset_id", "low", "high", "growth"}`` rows.

        The one declaration of what "growth" means: the dashboard's tile, the fallback
        inside ``top_growth`` and the tests' brute-force reference all read it.
        """
        reactions = F("reaction_total")
        return (
            self.filter(captured_at__gte=since)
            .values("asset_id")
            .annotate(low=Min(reactions), high=Max(reactions))
            .annotate(growth=F("high") - F("low"))
            .filter(growth__gt=0)
            .order_by("-growth", "asset_id")
        )

    def top_growth(self, since: dt.datetime, now: dt.datetime, limit: int) -> list[dict]:
        """The first ``limit`` rows of ``growth_since(since)`` with each asset's
        ``civitai_id``, in ONE query whose cost does not grow with the week's snapshots.

        Why it is exact: ``AssetWeekGrowth`` holds, per asset, the growth over the
        ``WINDOW`` ending at its latest snapshot, kept by the database's triggers on
        every insert, update and delete of a snapshot. When no snapshot is later than
        ``now`` and ``now - since <= WINDOW``, the week read here holds a subset of the
        snapshots that stored value covers, so it is an upper bound of the asset's growth
        this week. The query takes the assets in descending bound order (per day of their
        latest snapshot, ``week_growth_day_idx``: an asset whose latest snapshot is older
        than ``since``'s day grew by nothing this week, and stale bounds never have to be
        skipped), computes the exact growth of the first ``CANDIDATES`` from their own
        snapshots (``stats_asset_captured_idx``), and keeps that answer only when the
        ``limit`` found rank above the next candidate's bound: no asset further down can
        then enter the list (a threshold algorithm: bounds in order, exact values checked).
        Otherwise, or when a snapshot lies in the future, the same statement answers with
        the full ``growth_since`` over every snapshot of the week instead (PostgreSQL
        runs only the branch it needs: a one-time filter). Same rows, same order, either
        way; ``tests/tracking/test_week_growth.py`` compares both on random histories.
        """
        full = self.growth_since(since)[:limit]
        if now - since > AssetWeekGrowth.WINDOW:
            return list(full.annotate(civitai_id=_civitai_id_of_asset()))
        connection = connections[self.db]
        quote = connection.ops.quote_name

        def compiled(queryset) -> tuple[str, list]:
            sql, params = queryset.query.get_compiler(self.db).as_sql()
            return sql, list(params)

        first_day = since.astimezone(dt.UTC).date()
        days = [
            first_day + dt.timedelta(days=i)
            for i in range((now.astimezone(dt.UTC).date() - first_day).days + 1)
        ]
        parts, params = [], []

        def add(sql: str, values=()) -> None:
            parts.append(sql)
            params.extend(values)

        # Each day's first CANDIDATES + 1 by bound: together they hold the first
        # CANDIDATES + 1 of all the days, so the candidate after the last evaluated one
        # is the true next bound.
        per_day = AssetWeekGrowth.CANDIDATES + 1
        growth_table = quote(AssetWeekGrowth._meta.db_table)
        one_day = (
            f"SELECT asset_id, growth FROM {growth_table} WHERE latest_day = {{day}} "  # noqa: S608 - quoted names
            "ORDER BY growth DESC, asset_id LIMIT %s"
        )
        add("WITH growth_candidate AS (SELECT asset_id, growth AS bound, ROW_NUMBER() OVER ")
        add("(ORDER BY growth DESC, asset_id) AS n FROM (")
        if connection.vendor == "postgresql":
            # one subquery run per day (LATERAL): planned once, not once per day
            add(
                "SELECT g.* FROM unnest(%s::date[]) AS d(day) CROSS JOIN LATERAL ("  # noqa: S608 - quoted names
                + one_day.format(day="d.day")
                + ") AS g",
                [days, per_day],
            )
        else:
            for i, day in enumerate(days):
                add(
                    f"{' UNION ALL ' if i else ''}SELECT * FROM ("  # noqa: S608 - quoted names
                    f"{one_day.format(day='%s')}) AS growth_day{i}",
                    [connection.ops.adapt_datefield_value(day), per_day],
                )
        # The exact growth of each evaluated candidate, from its own snapshots (a range
        # of stats_asset_captured_idx). A join of the candidates to the week's snapshots
        # was planned as a hash join over the whole week, which is what this replaces.
        one_asset = self.growth_since(since).filter(
            asset_id=RawSQL("growth_candidate.asset_id", ())
        )
        exact_sql, exact_params = compiled(one_asset.values("growth"))
        add(
            ") AS growth_days), growth_exact AS (SELECT asset_id, growth FROM (SELECT "  # noqa: S608 - compiled, values as params
            f"asset_id, ({exact_sql}) AS growth FROM growth_candidate WHERE n <= %s "
            # the LIMIT keeps the subquery whole: PostgreSQL otherwise ran the growth's
            # subquery twice per candidate, for the column and for the IS NOT NULL
            "LIMIT %s) AS e WHERE growth IS NOT NULL ORDER BY growth DESC, asset_id LIMIT %s",
            [*exact_params, AssetWeekGrowth.CANDIDATES, AssetWeekGrowth.CANDIDATES, limit],
        )
        future_sql, future_params = compiled(self.filter(captured_at__gt=now).values("pk")[:1])
        # settled: nothing in the future, and no candidate left whose bound could rank
        # it among the first ``limit`` (none left, a bound of 0, or ``limit`` exact rows
        # ahead of it in the list's order: more growth, or as much and a smaller id).
        add(
            "), growth_settled AS (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM ("  # noqa: S608 - compiled, values as params
            f"{future_sql}) AS growth_future) AND NOT EXISTS (SELECT 1 FROM growth_candidate c "
            "WHERE c.n = %s AND c.bound > 0 AND (SELECT COUNT(*) FROM growth_exact e "
            "WHERE e.growth > c.bound OR (e.growth = c.bound AND e.asset_id < c.asset_id)) "
            "< %s) THEN 1 ELSE 0 END AS ok) ",
            [*future_params, AssetWeekGrowth.CANDIDATES + 1, limit],
        )
        full_sql, full_params = compiled(full)
        asset = Asset._meta
        add(
            f"SELECT r.asset_id, r.growth, (SELECT a.{quote('civitai_id')} FROM "  # noqa: S608 - compiled, values as params
            f"{quote(asset.db_table)} a WHERE a.{quote(asset.pk.column)} = r.asset_id) "
            "AS civitai_id FROM (SELECT asset_id, growth FROM growth_exact "
            "WHERE (SELECT ok FROM growth_settled) = 1 UNION ALL SELECT asset_id, growth "
            f"FROM ({full_sql}) AS growth_all WHERE (SELECT ok FROM growth_settled) = 0) AS r "
            "ORDER BY r.growth DESC, r.asset_id",
            full_params,
        )
        with connection.cursor() as cursor:
            cursor.execute("".join(parts), params)
            return [
                {"asset_id": asset_id, "growth": growth, "civitai_id": civitai_id}
                for asset_id, growth, civitai_id in cursor.fetchall()
            ]


def _civitai_id_of_asset() -> Subquery:
    return Subquery(Asset.objects.filter(pk=OuterRef("asset_id")).order_by().values("civitai_id"))


class AssetStatsSnapshot(models.Model):
    """Engagement counts of one asset on Civitai at one moment; history is kept, not overwritten."""

    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="stats_snapshots", verbose_name=_("asset")
    )
    captured_at = models.DateTimeField(_("captured at"), default=timezone.now)
    like_count = models.PositiveIntegerField(_("like count"), default=0)
    heart_count = models.PositiveIntegerField(_("heart count"), default=0)
    laugh_count = models.PositiveIntegerField(_("laugh count"), default=0)
    cry_count = models.PositiveIntegerField(_("cry count"), default=0)
    dislike_count = models.PositiveIntegerField(_("dislike count"), default=0)
    comment_count = models.PositiveIntegerField(_("comment count"), default=0)
    legacy_id = legacy_id_field()
    # ``reactions`` (below) as a column the database computes, for the dashboard's
    # growth tile (``growth_since``; the triggers of ``AssetWeekGrowth`` read it too): the
    # tile used to group every snapshot of the week by asset over this sum, and
    # reading one stored integer from the index instead of adding four per row made that
    # query a third cheaper at 1M assets (issue 17). Never written by the application.
    # Summed as bigint: four integer counts can pass the integer range, and a sum that
    # overflowed would make the database refuse the snapshot.
    reaction_total = models.GeneratedField(
        expression=Cast("like_count", models.BigIntegerField())
        + Cast("heart_count", models.BigIntegerField())
        + Cast("laugh_count", models.BigIntegerField())
        + Cast("cry_count", models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
        verbose_name=_("Reactions"),
    )

    objects = AssetStatsSnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("asset stats snapshot")
        verbose_name_plural = _("asset stats snapshots")
        ordering = ["-captured_at", "-id"]
        get_latest_by = "captured_at"
        indexes = [
            models.Index(fields=["asset", "-captured_at"], name="stats_asset_captured_idx"),
            # The dashboard's "growth this week" and "last stats sync" read by time alone.
            # The reaction total and the asset are in the index too, so the week's
            # snapshots are an index-only scan (issue 17): at 1M assets, 10,000 rows
            # of a week were 10,000 heap visits. ``-id`` second makes it the list's
            # exact order (``ordering`` above): snapshots taken by one sync share a
            # ``captured_at``, and with the time alone the changelist sorted the whole
            # newest group (5,583 rows joined to their assets at 1M) to show 100.
            models.Index(
                fields=["-captured_at", "-id", "asset", "reaction_total"],
                name="stats_captured_reactions_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Stats of asset #{self.asset_id} at {self.captured_at:%Y-%m-%d %H:%M}"

    @property
    def reactions(self) -> int:
        return self.like_count + self.heart_count + self.laugh_count + self.cry_count


class AssetWeekGrowth(models.Model):
    """Per asset, its reaction growth over the ``WINDOW`` ending at its latest snapshot:
    the upper bound that lets ``AssetStatsSnapshotQuerySet.top_growth`` find the week's
    top growth without reading every snapshot of the week (issue 17).

    Kept by the database, never by the application: triggers on the snapshot table
    (tracking 0016, PostgreSQL and SQLite) recompute the row of every asset whose
    snapshots an INSERT, UPDATE or DELETE touched, in the same statement, so no writer
    (sync, legacy import, admin, seed's COPY, a psql session) can leave it behind. A
    value too high only costs the tile a fallback; one too low would hide an asset,
    which is why it is not left to the writers. On PostgreSQL the triggers lock the
    assets' rows first, so two transactions writing one asset's snapshots recompute it
    one after the other, each from the other's committed rows.
    """

    # The stored growth covers this much time before the latest snapshot; the
    # migration's triggers write it as 168 hours (PostgreSQL) and '-7 days' (SQLite).
    WINDOW = dt.timedelta(days=7)
    # How many assets top_growth evaluates exactly before it trusts the bounds. In the
    # 1M seed the top five settle after the seventh candidate: bounds are exact for the
    # assets whose latest snapshot is recent, which the top ones are.
    CANDIDATES = 20

    asset = models.OneToOneField(
        Asset,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="week_growth",
        verbose_name=_("asset"),
    )
    latest_at = models.DateTimeField(_("latest snapshot at"))
    # latest_at's day in UTC, the bucket top_growth reads its candidates from
    latest_day = models.DateField(_("latest snapshot day"))
    growth = models.BigIntegerField(_("growth over the week before the latest snapshot"))

    class Meta:
        verbose_name = _("asset week growth")
        verbose_name_plural = _("asset week growths")
        indexes = [
            models.Index(fields=["latest_day", "-growth", "asset"], name="week_growth_day_idx"),
        ]

    def __str__(self) -> str:
        return f"Growth of asset #{self.asset_id} up to {self.latest_at:%Y-%m-%d %H:%M}"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its sha256 is stored; the raw value is shown once."""

    PREFIX = "ct_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    hint = models.CharField(
        _("hint"),
        max_length=12,
        editable=False,
        help_text=_("First characters, to tell tokens apart"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.hint}… ({self.user}, {state})"

    @classmethod
    def issue(cls, user, name: str = "") -> tuple[ApiToken, str]:
        """Create a token for ``user``; return the record and the raw token (shown once)."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, token_hash=_hash_token(raw), hint=raw[: len(cls.PREFIX) + 6]
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        """The active token matching ``raw``, or None. Records when it was last used.

        Every API request asks this first, so the query (the token joined to its user,
        ``select_related`` as a ``values()`` row) is compiled once by
        ``civitrack.compiled`` instead of being built by the ORM each time (that cost
        more than the query; docs/benchmarks.md, HTTP API). The two instances are made
        from the row the way the ORM makes them (``Model.from_db``), so the token and
        its ``user`` are the same objects ``select_related("user")`` gives.
        """
        if not raw or len(raw) > 200:
            return None
        db = cls.objects.db
        rows = _ACTIVE_TOKEN.rows(using=db, token_hash=_hash_token(raw))
        token = _token_from_row(db, rows[0]) if rows else None
        if token is not None:
            now = timezone.now()
            if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
                cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


def _token_columns() -> tuple[list[str], list[str]]:
    """The token's and its user's concrete columns (attnames), in ``from_db`` order."""
    user_model = ApiToken.user.field.related_model
    return (
        [f.attname for f in ApiToken._meta.concrete_fields],
        [f.attname for f in user_model._meta.concrete_fields],
    )


def _active_token_query(token_hash: str):
    token_columns, user_columns = _token_columns()
    return (
        ApiToken.objects.active()
        .filter(token_hash=token_hash)
        .order_by()  # token_hash is unique: at most one row, no sort needed
        .values(*token_columns, *(f"user__{c}" for c in user_columns))
    )


_ACTIVE_TOKEN = CompiledValues(_active_token_query, {"token_hash": str})


def _token_from_row(db: str, row: dict) -> ApiToken:
    """The token and its cached ``user`` as ``select_related("user")`` builds them."""
    token_columns, user_columns = _token_columns()
    token = ApiToken.from_db(db, token_columns, [row[c] for c in token_columns])
    user_model = ApiToken.user.field.related_model
    user = user_model.from_db(db, user_columns, [row[f"user__{c}"] for c in user_columns])
    ApiToken.user.field.set_cached_value(token, user)
    return token
