"""The trace, both ways, on the demo data: asset → workflow/step/job/prompt/scan, job → asset/post."""

import pytest
from django.urls import reverse

from devdata import orchestration_demo, tracking_demo
from orchestration.models import Blob, Job
from tracking.errors import InvalidInput, RecordNotFound
from tracking.models import Asset, Post
from tracking.tools.registry import TOOLS

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(superuser):
    tracking_demo.load_demo(superuser)
    orchestration_demo.load_demo()
    shas = Asset.objects.exclude(sha256sum=None).values_list("sha256sum", flat=True)
    blob = Blob.objects.get(job__civitai_id=orchestration_demo.JOB_CLEAN, sha256__in=shas)
    asset = Asset.objects.get(sha256sum=blob.sha256)
    asset.post = Post.objects.order_by("id").first()  # published, to show the post too
    asset.save(update_fields=["post"])
    return asset, blob


def test_it_traces_an_asset_to_the_job_that_made_it(demo, superuser):
    asset, blob = demo
    result = TOOLS["trace_asset"].function(user=superuser, asset_id=str(asset.pk))
    assert result["found"] is True and result["sha256sum"] == asset.sha256sum
    assert result["asset"]["asset_id"] == str(asset.pk)
    assert result["post"]["post_id"] == str(asset.post_id)
    [row] = [r for r in result["orchestration"] if r["blob_id"] == blob.civitai_id]
    assert row["workflow"]["workflow_id"] == orchestration_demo.WF_CLEAN
    assert row["job"]["job_id"] == orchestration_demo.JOB_CLEAN
    assert row["step"]["name"] and row["prompt"]
    assert row["scan"] is not None and row["scan"]["is_blocked"] is False
    assert "url" not in str(row.keys())


def test_it_traces_by_sha256_alone_and_both_must_match(demo, superuser):
    asset, _blob = demo
    by_sha = TOOLS["trace_asset"].function(user=superuser, sha256sum=asset.sha256sum.upper())
    assert by_sha["asset"]["asset_id"] == str(asset.pk) and by_sha["found"]
    unknown = TOOLS["trace_asset"].function(user=superuser, sha256sum="0" * 64)
    assert unknown == {
        "sha256sum": "0" * 64,
        "found": False,
        "asset": None,
        "post": None,
        "orchestration": [],
    }
    with pytest.raises(RecordNotFound, match=f"Record not found: asset_id {asset.pk}"):
        TOOLS["trace_asset"].function(user=superuser, asset_id=str(asset.pk), sha256sum="0" * 64)
    with pytest.raises(InvalidInput, match="At least one of asset_id or sha256sum is required"):
        TOOLS["trace_asset"].function(user=superuser)


def test_the_asset_page_shows_workflow_step_job_prompt_and_scan(client, demo, superuser):
    asset, _blob = demo
    client.force_login(superuser)
    page = client.get(reverse("admin:tracking_asset_change", args=[asset.pk])).content.decode()
    assert reverse("orchestration:workflow_detail", args=[orchestration_demo.WF_CLEAN]) in page
    assert reverse("orchestration:job_detail", args=[orchestration_demo.JOB_CLEAN]) in page
    assert '<table class="trace">' in page


def test_the_job_page_shows_the_tracked_asset_and_its_post(client, demo, superuser):
    asset, _blob = demo
    client.force_login(superuser)
    job = Job.objects.get(civitai_id=orchestration_demo.JOB_CLEAN)
    page = client.get(reverse("orchestration:job_detail", args=[job.civitai_id])).content.decode()
    assert reverse("admin:tracking_asset_change", args=[asset.pk]) in page
    assert reverse("admin:tracking_post_change", args=[asset.post_id]) in page


def test_the_http_tool_answers_trace_asset(client, demo, superuser):
    from tracking.models import ApiToken

    asset, _blob = demo
    _, token = ApiToken.issue(superuser, name="trace")
    response = client.post(
        "/api/v1/tools/trace_asset",
        {"asset_id": str(asset.pk)},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    assert response.json()["orchestration"][0]["workflow"]["workflow_id"]
