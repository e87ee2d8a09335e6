"""Demo data (no network) and the blob ↔ tracking asset link."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from devdata import orchestration_demo as demo
from orchestration.models import Blob, Job, ScanResult, Workflow, blobs_for_asset
from tests.conftest import table_counts

pytestmark = pytest.mark.django_db


def test_it_loads_a_clean_a_mature_and_a_blocked_case_with_an_open_queue(settings):
    settings.CIVITAI_API_URL = "http://127.0.0.1:9"  # nothing listens: any request would fail
    demo.load_demo()

    assert Workflow.objects.count() == 4 and ScanResult.objects.count() == 3
    assert Job.objects.needing_review().count() == 3
    policies = {b.civitai_id: b.media_policy() for b in Blob.objects.all()}
    shown = [k for k, p in policies.items() if p.show]
    blurred = [k for k, p in policies.items() if p.needs_reveal]
    withheld = [k for k, p in policies.items() if p.withheld]
    assert len(shown) == 2 and len(blurred) == 1 and len(withheld) == 1
    assert Job.objects.get(civitai_id=demo.JOB_BLOCKED).scan.csam_flagged


def test_it_loads_twice_without_duplicates():
    demo.load_demo()
    counts = table_counts()
    demo.load_demo()
    assert table_counts() == counts


def test_its_media_files_are_real_small_images():
    root = Path(settings.BASE_DIR) / "static" / "demo" / "orchestration"
    for name in ("lantern.png", "dusk.png", "fox.png"):
        path = root / name
        assert path.stat().st_size < 10_000
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (256, 256)


def test_demo_pages_render_for_a_reviewer(client, reviewer):
    demo.load_demo()
    client.force_login(reviewer)
    for url in (
        reverse("orchestration:workflow_list"),
        reverse("orchestration:review_queue"),
        reverse("orchestration:workflow_detail", args=[demo.WF_BLOCKED]),
        reverse("orchestration:job_detail", args=[demo.JOB_BLOCKED]),
    ):
        assert client.get(url).status_code == 200


def test_blobs_for_asset_matches_by_content_hash():
    from tracking.models import Asset

    demo.load_demo()
    sha = "cd" * 32
    asset = Asset.objects.create(
        asset_url="https://example.test/x.png",
        asset_type="image",
        asset_source="generated",
        sha256sum=sha,
    )
    no_hash = Asset.objects.create(
        asset_url="https://example.test/y.png", asset_type="image", asset_source="upload"
    )
    blob = Blob.objects.get(civitai_id="4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.png")
    Blob.objects.filter(pk=blob.pk).update(sha256=sha)

    assert list(blobs_for_asset(asset)) == [blob]
    assert list(blobs_for_asset(no_hash)) == []


def test_the_blob_hash_must_be_lower_case_hex():
    from django.db import IntegrityError

    demo.load_demo()
    with pytest.raises(IntegrityError):
        Blob.objects.update(sha256="NOT-A-HASH")


def test_the_admin_pages_of_the_mirror_render_without_urls(client, superuser):
    demo.load_demo()
    client.force_login(superuser)
    for model in ("workflow", "step", "job", "blob", "reviewdecision", "reveallog"):
        assert client.get(reverse(f"admin:orchestration_{model}_changelist")).status_code == 200
    blob = Blob.objects.get(civitai_id="77AE00112233445566778899AABBCCF0.png")
    page = client.get(reverse("admin:orchestration_blob_change", args=[blob.pk])).content.decode()
    assert "dusk.png" not in page and "[url hidden]" in page
    job = Job.objects.get(civitai_id=demo.JOB_BLOCKED)
    assert client.get(reverse("admin:orchestration_job_change", args=[job.pk])).status_code == 200
