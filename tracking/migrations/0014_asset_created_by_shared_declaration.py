"""Asset's ``created_by`` is declared by ``created_by_field()`` as Recorded's is.

State only: its ``related_name`` is now written ``"%(class)ss"``, which Django expands
to the same ``"assets"`` (``user.assets`` is unchanged), but a migration records the
pattern as written. A related name is not a database attribute, so this runs no SQL
(``sqlmigrate tracking 0013`` is empty).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0013_sha256sum_unique_without_like_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="asset",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="%(class)ss",
                to=settings.AUTH_USER_MODEL,
                verbose_name="created by",
            ),
        ),
    ]
