"""Drop the indexes every create wrote and no query reads (issue 17, HTTP create_asset).

``tracking_asset``: the single-column ``created_at`` and ``created_by_id`` indexes. A
B-tree serves any prefix of its columns, in either direction, so
``asset_created_idx`` (created_at DESC, id DESC) already serves every created_at range,
sort and date filter of the list, and ``asset_creator_created_idx`` (created_by_id,
created_at DESC) every created_by filter and the ``UPDATE ... SET created_by_id = NULL
WHERE created_by_id IN (...)`` Django runs when a user is deleted. Checked with EXPLAIN
on the seeded data set: the same plans, served by the composites (docs/scale.md).
The foreign key itself stays; only its index is dropped (without the state-only trick
Django would drop and re-add the constraint, validating every row again).

History tables (``tracking.models.RecordedHistory.HISTORY_UNINDEXED``): simple_history
indexes every foreign key and unique column of the record in its history table, but
history is only ever read by record id (the admin's history pages); those indexes were
written on every save and read by nothing. The record id, ``history_date`` and
``history_user`` keep theirs.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0011_stats_reactions_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="asset",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created at"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="asset",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assets",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "tracking_asset_created_by_id_6623d77b"',
                    reverse_sql='CREATE INDEX "tracking_asset_created_by_id_6623d77b"'
                    ' ON "tracking_asset" ("created_by_id")',
                ),
            ],
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="civitai_id",
            field=models.BigIntegerField(
                blank=True,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(
                        1, "civitai_id must be a positive integer"
                    )
                ],
                verbose_name="civitai id",
            ),
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created at"
            ),
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="created by",
            ),
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="input_prompt",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="The prompt that generated this asset",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tracking.prompt",
                verbose_name="input prompt",
            ),
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="legacy_id",
            field=models.BigIntegerField(
                blank=True,
                editable=False,
                help_text="Id of this record in the civitai-records database it was imported from",
                null=True,
                verbose_name="civitai-records id",
            ),
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="output_prompt",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="A prompt derived from this asset (e.g. a caption)",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tracking.prompt",
                verbose_name="output prompt",
            ),
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="post",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tracking.post",
                verbose_name="post",
            ),
        ),
        migrations.AlterField(
            model_name="historicalasset",
            name="sha256sum",
            field=models.CharField(
                blank=True,
                max_length=64,
                null=True,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[0-9a-f]{64}$",
                        "sha256sum must be 64 lower-case hexadecimal characters",
                        code="invalid_sha256",
                    )
                ],
                verbose_name="sha256",
            ),
        ),
        migrations.AlterField(
            model_name="historicalpost",
            name="civitai_id",
            field=models.BigIntegerField(
                help_text="Numeric id from the post URL, e.g. 23602354 for https://civitai.com/posts/23602354",
                validators=[
                    django.core.validators.MinValueValidator(
                        1, "civitai_id must be a positive integer"
                    )
                ],
                verbose_name="civitai id",
            ),
        ),
        migrations.AlterField(
            model_name="historicalpost",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created at"
            ),
        ),
        migrations.AlterField(
            model_name="historicalpost",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="created by",
            ),
        ),
        migrations.AlterField(
            model_name="historicalpost",
            name="legacy_id",
            field=models.BigIntegerField(
                blank=True,
                editable=False,
                help_text="Id of this record in the civitai-records database it was imported from",
                null=True,
                verbose_name="civitai-records id",
            ),
        ),
        migrations.AlterField(
            model_name="historicalprompt",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created at"
            ),
        ),
        migrations.AlterField(
            model_name="historicalprompt",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="created by",
            ),
        ),
        migrations.AlterField(
            model_name="historicalprompt",
            name="legacy_id",
            field=models.BigIntegerField(
                blank=True,
                editable=False,
                help_text="Id of this record in the civitai-records database it was imported from",
                null=True,
                verbose_name="civitai-records id",
            ),
        ),
    ]
