"""The rough edges of issue 14 item 7, each pinned by the page that showed it."""

import pytest
from django.urls import reverse

from devdata import orchestration_demo as demo
from orchestration.models import Job, Workflow
from tracking.admin.civitai import latest_stats_for_asset
from tracking.admin.records import media_preview
from tracking.models import Asset, Post, Prompt

pytestmark = pytest.mark.django_db


def crumbs(html: str) -> str:
    return html.split('<ol class="breadcrumbs">', 1)[1].split("</ol>", 1)[0]


def test_it_gives_the_import_page_the_admins_breadcrumbs(client, superuser):
    client.force_login(superuser)
    html = crumbs(client.get(reverse("admin:tracking_post_import")).content.decode())
    assert '<a href="/admin/tracking/">Tracking</a>' in html
    assert '<a href="/admin/tracking/post/">Posts</a>' in html
    assert '<li aria-current="page">Import a Civitai post</li>' in html


def test_it_ends_orchestration_breadcrumbs_on_the_current_page(client, superuser):
    demo.load_demo()
    client.force_login(superuser)
    listing = crumbs(client.get(reverse("orchestration:workflow_list")).content.decode())
    assert listing.rstrip().endswith('<li aria-current="page">Orchestration</li>')
    job = crumbs(
        client.get(reverse("orchestration:job_detail", args=[demo.JOB_MATURE])).content.decode()
    )
    # every item on its own line: the separator after each needs the space between them
    assert "</li><li" not in job
    assert job.rstrip().endswith(f'<li aria-current="page">Job {demo.JOB_MATURE}</li>')


@pytest.mark.parametrize(
    "order, first",
    [
        ("-created", demo.WF_RUNNING),
        ("created", demo.WF_CLEAN),
        ("-cost", demo.WF_RUNNING),
        ("cost", demo.WF_BLOCKED),  # 4 like WF_MATURE; ties go newest id first
        ("-blobs", demo.WF_CLEAN),
        ("bogus", demo.WF_RUNNING),  # unknown keys fall back to newest first
    ],
)
def test_it_sorts_the_workflows_list_by_a_column(client, superuser, order, first):
    demo.load_demo()
    client.force_login(superuser)
    response = client.get(reverse("orchestration:workflow_list"), {"o": order})
    rows = [wf.civitai_id for wf in response.context["page_obj"]]
    assert rows[0] == first
    assert len(rows) == Workflow.objects.count()


def test_it_links_every_sortable_header_and_marks_the_sorted_one(client, superuser):
    demo.load_demo()
    client.force_login(superuser)
    html = client.get(reverse("orchestration:workflow_list"), {"o": "cost"}).content.decode()
    assert 'aria-sort="ascending"><a href="?o=-cost">Cost</a>' in html
    assert '<a href="?o=-created">Created</a>' in html


def test_it_sorts_with_the_same_number_of_queries(client, superuser, django_assert_num_queries):
    demo.load_demo()
    client.force_login(superuser)
    client.get(reverse("orchestration:workflow_list"))  # session, content types warm
    for order in ("-blobs", "cost", "status", "id"):
        with django_assert_num_queries(5):
            client.get(reverse("orchestration:workflow_list"), {"o": order})


def test_it_looks_up_with_a_bookmarkable_get(client, superuser):
    demo.load_demo()
    client.force_login(superuser)
    response = client.get(reverse("orchestration:lookup"), {"q": demo.WF_MATURE})
    assert response.status_code == 302
    assert response["Location"] == reverse("orchestration:workflow_detail", args=[demo.WF_MATURE])
    toolbar = client.get(reverse("orchestration:workflow_list")).content.decode()
    assert '<form method="get" action="/orchestration/lookup/"' in toolbar


def test_it_says_a_job_without_a_scan_is_not_scanned_yet(client, superuser):
    demo.load_demo()
    client.force_login(superuser)
    running = Job.objects.get(civitai_id=demo.JOB_RUNNING)
    assert running.scan_or_none is None and running.review_status == "pending"
    html = client.get(
        reverse("orchestration:workflow_detail", args=[demo.WF_RUNNING])
    ).content.decode()
    assert "Not scanned yet (not in the review queue)" in html
    assert "Needs review" not in html
    mature = Job.objects.get(civitai_id=demo.JOB_MATURE)
    assert mature.review_label == "Needs review"


def test_it_gives_demo_workflows_the_cost_of_their_jobs(db):
    demo.load_demo()
    for workflow in Workflow.objects.prefetch_related("jobs"):
        assert workflow.cost_total == sum(job.cost for job in workflow.jobs.all()), workflow


def test_it_shows_no_broken_preview_for_an_unsaved_asset(client, superuser):
    unsaved = Asset(asset_url="https://cdn.example.com/x.png", asset_type="image")
    assert "<img" not in media_preview(unsaved)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_asset_add"),
        {
            "asset_url": "https://cdn.example.com/x.png",
            "asset_type": "image",
            "asset_source": "nonsense",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and "errornote" in html
    assert "asset None" not in html and "preview once the asset is saved" in html


def test_it_explains_missing_stats_by_what_the_asset_lacks(db):
    local = Asset.objects.create(
        asset_url="https://cdn.example.com/a.png", asset_type="image", asset_source="upload"
    )
    assert "not on Civitai" in latest_stats_for_asset(local)
    loose = Asset.objects.create(
        asset_url="https://cdn.example.com/b.png",
        asset_type="image",
        asset_source="upload",
        civitai_id=5,
        civitai_url="https://civitai.com/images/5",
    )
    assert "in no post" in latest_stats_for_asset(loose)
    assert "on the post" not in latest_stats_for_asset(loose)
    post = Post.objects.create(civitai_id=42, civitai_url="https://civitai.com/posts/42")
    loose.post = post
    loose.save()
    assert "on post 42" in latest_stats_for_asset(loose)


def test_it_shows_metadata_changes_as_json_in_history(client, superuser):
    prompt = Prompt.objects.create(prompt_text="a lantern", metadata={"seed": 1, "ok": True})
    prompt.metadata = {"seed": 2, "ok": True, "note": "été"}
    prompt.save()
    client.force_login(superuser)
    html = client.get(reverse("admin:tracking_prompt_history", args=[prompt.pk])).content.decode()
    assert "{&quot;ok&quot;: true, &quot;seed&quot;: 1}" in html
    assert "&quot;note&quot;: &quot;été&quot;" in html
    assert "True" not in html.split('id="change-history"', 1)[1]
