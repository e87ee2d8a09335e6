"""Asset.sha256sum: unique by a constraint, without the LIKE index (issue 17, create_asset).

``unique=True`` on a text column makes Django create, on PostgreSQL, a second index
with ``varchar_pattern_ops`` for ``LIKE 'prefix%'``. Nothing runs LIKE on sha256sum:
the admin's prefix search is a range on the unique index (tracking/search.py; its plan
in bench_admin and tests/tracking/test_admin_search.py reads
``tracking_asset_sha256sum_key``), and every create wrote the unused index. A
``UniqueConstraint`` keeps the uniqueness in the database, under the name PostgreSQL
had given the field's UNIQUE, and makes no LIKE index. The unique index is rebuilt
once (seconds at 1M assets, inside the migration's transaction).
"""

import django.core.validators
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0012_drop_unused_create_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="asset",
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
        migrations.AddConstraint(
            model_name="asset",
            constraint=models.UniqueConstraint(
                fields=("sha256sum",), name="tracking_asset_sha256sum_key"
            ),
        ),
    ]
