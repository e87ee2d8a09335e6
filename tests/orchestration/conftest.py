"""Fixtures for the orchestration pages: a reviewer persona and the demo mirror."""

import pytest
from django.contrib.auth.models import Group, Permission

from devdata.orchestration_demo import load_demo


def reviewers_group() -> Group:
    """The "reviewers" group of the data migration.

    Transactional tests flush every table afterwards (the permission comes back through
    post_migrate, a data migration's rows do not), so recreate it when it is gone.
    """
    group, _ = Group.objects.get_or_create(name="reviewers")
    group.permissions.add(Permission.objects.get(codename="review_job"))
    return group


def make_reviewer(django_user_model, name: str):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", f"pw-{name}-1")
    user.is_staff = True
    user.save()
    user.groups.add(reviewers_group())
    return user


@pytest.fixture
def reviewer(django_user_model):
    """Staff in the "reviewers" group (created by a data migration)."""
    return make_reviewer(django_user_model, "rita")


@pytest.fixture
def reviewer2(django_user_model):
    return make_reviewer(django_user_model, "ravi")


@pytest.fixture
def demo(db):
    load_demo()


@pytest.fixture
def mirrored(db, fake_orchestration):
    """The fake's fixtures mirrored through a real sync; yields the fake."""
    from orchestration.sync import sync_workflows

    sync_workflows()
    return fake_orchestration


def make_scanned_job(
    n: int,
    *,
    csam: float | None = 0.001,
    nsfw: str = "pg",
    blocked: str = "",
    workflow=None,
    url: str = "https://blobs.example.test/img.png",
):
    """A workflow-less job with a scan result and one available image blob (for lists)."""
    from orchestration.models import Blob, Job, ScanResult, nsfw_rank

    job = Job.objects.create(civitai_id=f"00000000-0000-4000-8000-{n:012d}", workflow=workflow)
    ScanResult.objects.create(
        job=job,
        csam_scores=[] if csam is None else [csam],
        csam_score_max=csam,
        blocked_reason=blocked,
        is_blocked=bool(blocked),
        nsfw_level=nsfw,
        nsfw_rank=nsfw_rank(nsfw),
    )
    Blob.objects.create(
        civitai_id=f"{n:032X}.png",
        workflow=workflow,
        job=job,
        kind="image",
        available=True,
        url=url,
        nsfw_level=nsfw,
    )
    return job
