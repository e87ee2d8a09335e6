"""`make run`'s first-run step: one admin with a generated password, demo data once."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

pytestmark = pytest.mark.django_db


def run(capsys, *args):
    call_command("bootstrap_local", *args)
    return capsys.readouterr().out


def test_it_creates_one_admin_with_a_generated_password_and_demo_data(capsys):
    out = run(capsys)
    user = get_user_model().objects.get(is_superuser=True)
    password = out.split("password: ")[1].split()[0]
    assert len(password) >= 12
    assert user.check_password(password)
    assert "Loaded demo data: 3 posts, 5 assets, 6 prompts" in out
    again = run(capsys)
    assert password not in again and "password: " not in again and "Loaded demo" not in again
    # the second run says how to reset the password, as a command that can be pasted
    assert "DEBUG=true .venv/bin/python manage.py changepassword admin" in again
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    assert Post.objects.count() == 3


def test_it_never_uses_a_fixed_password(capsys):
    first = run(capsys, "--no-demo").split("password: ")[1].split()[0]
    get_user_model().objects.all().delete()
    second = run(capsys, "--no-demo").split("password: ")[1].split()[0]
    assert first != second


def test_its_demo_data_is_linked_both_ways_with_real_hashes(capsys):
    import hashlib

    from devdata.tracking_demo import DEMO_DIR

    run(capsys)
    lantern = Asset.objects.get(metadata__file="paper-lantern.png")
    assert (
        lantern.sha256sum
        == hashlib.sha256((DEMO_DIR / "paper-lantern.png").read_bytes()).hexdigest()
    )
    assert lantern.input_prompt and lantern.output_prompt
    assert lantern.derived_assets.count() == 1
    assert Prompt.objects.filter(purpose="caption").count() == 2
    assert AssetStatsSnapshot.objects.filter(asset=lantern).count() == 4
    assert Asset.objects.filter(post__isnull=True).count() == 2


def test_its_demo_links_a_tracked_asset_and_an_orchestration_blob_both_ways(
    capsys, client, superuser
):
    from django.urls import reverse

    from orchestration.models import Blob

    out = run(capsys)
    assert "Loaded demo Orchestration workflows" in out
    fox = Asset.objects.get(metadata__file="orchestration/fox.png")
    blob = Blob.objects.get(sha256=fox.sha256sum)
    client.force_login(superuser)
    asset_page = client.get(reverse("admin:tracking_asset_change", args=[fox.pk])).content.decode()
    workflow_url = reverse("orchestration:workflow_detail", args=[blob.workflow.civitai_id])
    assert workflow_url in asset_page
    workflow_page = client.get(workflow_url).content.decode()
    assert reverse("admin:tracking_asset_change", args=[fox.pk]) in workflow_page
