"""Create the "reviewers" group holding orchestration.review_job.

Permissions are normally created after all migrations run (post_migrate), so this
migration creates the content type and permission itself; post_migrate then finds
them already there.
"""

from django.db import migrations

GROUP = "reviewers"
CODENAME = "review_job"
PERM_NAME = "Can review jobs: claim, decide, reveal media, export"


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    ct, _ = ContentType.objects.get_or_create(app_label="orchestration", model="job")
    perm, _ = Permission.objects.get_or_create(
        content_type=ct, codename=CODENAME, defaults={"name": PERM_NAME}
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(perm)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
