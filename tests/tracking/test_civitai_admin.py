"""Admin support: sync/import actions, the stats chart, and the import view."""

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.management import call_command
from django.test import RequestFactory

from background.models import TaskRun
from background.tasks import execute
from tests.conftest import table_counts
from tests.fakes.civitai_site import IMAGE_ID, POST_ID
from tracking.admin.civitai import (
    import_again_action,
    latest_stats_for_asset,
    stats_for_post,
    sync_stats_action,
)
from tracking.civitai_import import import_civitai_post, sync_post_asset_stats
from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

pytestmark = pytest.mark.django_db
IMPORT_URL = "/admin/tracking/post/import/"


def action_request(user):
    request = RequestFactory().post("/admin/tracking/post/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def texts(request):
    return [(m.level_tag, m.message) for m in get_messages(request)]


# -- actions ---------------------------------------------------------------------------


def test_it_syncs_selected_posts_in_one_background_run(
    fake_site, superuser, django_capture_on_commit_callbacks
):
    import_civitai_post(post=str(POST_ID))
    Post.objects.create(civitai_id=5550001, civitai_url="https://civitai.com/posts/5550001")
    request = action_request(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        sync_stats_action(admin.ModelAdmin(Post, admin.site), request, Post.objects.all())
    assert AssetStatsSnapshot.objects.count() == 3
    run = TaskRun.objects.get()
    assert (run.kind, run.status, run.enqueued_by) == ("sync_stats", "succeeded", superuser)
    assert run.summary == "Stored 3 stats snapshot(s) for 1 of 2 post(s)"
    assert run.item_errors == [
        f"post {Post.objects.get(civitai_id=5550001).pk}: Civitai returned no images for post "
        "5550001: they may have been deleted, be restricted or never have existed"
    ]
    [(level, text)] = texts(request)
    assert level == "success" and f"/admin/background/taskrun/{run.pk}/" in text


def test_it_imports_selected_posts_again_in_the_background(
    fake_site, superuser, django_capture_on_commit_callbacks
):
    import_civitai_post(post=str(POST_ID))
    fake_site.posts[POST_ID]["payload"]["title"] = "Lanterns II"
    request = action_request(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        import_again_action(admin.ModelAdmin(Post, admin.site), request, Post.objects.all())
    assert Post.objects.get().title == "Lanterns II"
    run = TaskRun.objects.get()
    assert run.summary == f"Imported Civitai post {POST_ID}: 0 asset(s) created, 3 updated"
    assert Asset.objects.count() == 3


# -- chart -------------------------------------------------------------------------------


def test_it_says_when_there_are_no_stats_yet():
    html = stats_for_post(Post(civitai_id=1))
    assert "No stats yet" in html and "engagement-chart" not in html


def test_it_renders_read_only_fields_in_one_query(fake_site, django_assert_num_queries):
    import_civitai_post(post=str(POST_ID))
    post = Post.objects.get()
    asset = Asset.objects.get(civitai_id=IMAGE_ID)
    assert "No stats yet" in stats_for_post(post)
    sync_post_asset_stats(post_id=str(post.pk))
    fake_site.set_stats(IMAGE_ID, likeCount=100)
    sync_post_asset_stats(post_id=str(post.pk))
    with django_assert_num_queries(1):
        html = str(stats_for_post(post))
    # summed over the post's three assets per sync: 37+12+1 + 5+1 + 9+3 = 68, then +63
    assert "<td>68</td></tr>" in html and "<td>131</td></tr>" in html
    assert "2 snapshots, newest first" in html
    with django_assert_num_queries(1):
        html = str(latest_stats_for_asset(asset))
    assert "<td>100</td>" in html and "2 snapshots, newest first" in html
    assert "No stats yet" in stats_for_post(Post(civitai_id=1))


# -- import view ---------------------------------------------------------------------------


def test_it_guards_the_import_view(client, alice, django_user_model, fake_site):
    response = client.get(IMPORT_URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(alice)  # not staff: the admin sends them to its login page
    response = client.get(IMPORT_URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    bare = django_user_model.objects.create_user("bare", password="pw-bare-1", is_staff=True)
    client.force_login(bare)  # staff without tracking.add_post
    assert client.post(IMPORT_URL, {"post": str(POST_ID), "action": "import"}).status_code == 403
    assert fake_site.requests == [] and Post.objects.count() == 0


def test_it_previews_then_imports_from_the_admin(client, staff, fake_site):
    client.force_login(staff)
    page = client.get(IMPORT_URL)
    assert page.status_code == 200 and b"Civitai post URL or id" in page.content
    before = table_counts()
    preview = client.post(
        IMPORT_URL, {"post": f"https://civitai.com/posts/{POST_ID}", "action": "preview"}
    )
    assert preview.status_code == 200 and table_counts() == before
    assert b"Would record" in preview.content and b"Nothing was written." in preview.content
    done = client.post(
        IMPORT_URL, {"post": f"https://civitai.com/posts/{POST_ID}", "action": "import"}
    )
    # the import is enqueued, not run in the request; the page polls the run
    assert done.status_code == 200 and table_counts() == before
    run = TaskRun.objects.get()
    assert f"/background/runs/{run.pk}/status" in done.content.decode()
    execute(run.pk)
    status = client.get(f"/background/runs/{run.pk}/status").json()
    assert status["finished"] and status["status"] == "succeeded"
    assert status["summary"] == f"Imported Civitai post {POST_ID}: 3 asset(s) created, 0 updated"
    assert Post.objects.get().created_by == staff


def test_it_shows_refusals_in_the_form(client, staff, fake_site):
    client.force_login(staff)
    response = client.post(IMPORT_URL, {"post": "https://civitai.com/images/5", "action": "import"})
    assert "this is an image URL, not a post URL" in response.content.decode()
    fake_site.set_fault("foreign_image")
    before = table_counts()
    response = client.post(IMPORT_URL, {"post": str(POST_ID), "action": "preview"})
    assert f"for requested post {POST_ID}" in response.content.decode()
    assert table_counts() == before


def records():
    """Everything an import writes, without ids and timestamps."""
    posts = [
        (
            p.civitai_id,
            p.civitai_url,
            p.title,
            p.description,
            p.status,
            p.civitai_account,
            p.metadata,
            p.created_by.username,
        )
        for p in Post.objects.order_by("civitai_id")
    ]
    assets = [
        (
            a.civitai_id,
            a.civitai_url,
            a.asset_url,
            a.asset_type,
            a.asset_source,
            a.post.civitai_id,
            a.metadata,
            a.created_by.username,
            a.input_prompt
            and (
                a.input_prompt.prompt_text,
                a.input_prompt.purpose,
                a.input_prompt.metadata,
                a.input_prompt.created_by.username,
            ),
        )
        for a in Asset.objects.select_related("post", "input_prompt").order_by("civitai_id")
    ]
    return posts, assets, Prompt.objects.count()


def wipe():
    Asset.objects.all().delete()
    Prompt.objects.all().delete()
    Post.objects.all().delete()


def test_it_records_the_same_through_command_tool_and_admin(
    client, staff, fake_site, django_capture_on_commit_callbacks
):
    call_command("import_civitai_post", str(POST_ID), "--user", "staff", stdout=StringIO())
    by_command = records()
    wipe()
    import_civitai_post(post=str(POST_ID), user=staff)
    by_tool = records()
    wipe()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(IMPORT_URL, {"post": str(POST_ID), "action": "import"})
    by_admin = records()
    assert by_command[0] and len(by_command[1]) == 3 and by_command[2] == 2
    assert by_command == by_tool == by_admin
