"""import_civitai_post and sync_post_asset_stats management commands."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import table_counts
from tests.fakes.civitai_site import IMAGE_ID, POST_ID, SINGLE_POST_ID, VIDEO_ID
from tracking.models import Asset, AssetStatsSnapshot, Post

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_prints_a_dry_run_table_and_writes_nothing(fake_site):
    before = table_counts()
    output = run("import_civitai_post", f"https://civitai.com/posts/{POST_ID}", "--dry-run")
    assert table_counts() == before
    lines = output.splitlines()
    assert (
        lines[0]
        == f"Would record post {POST_ID} “Lanterns” (create): https://civitai.com/posts/{POST_ID}"
    )
    assert lines[1].split() == ["action", "civitai", "id", "type", "url", "prompt"]
    row = next(line for line in lines if str(IMAGE_ID) in line)
    assert row.split()[:3] == ["create", str(IMAGE_ID), "image"]
    assert fake_site.images[IMAGE_ID]["url"] in row and row.endswith("a paper lantern on a pond")
    video = next(line for line in lines if str(VIDEO_ID) in line)
    assert video.split()[2] == "video" and video.endswith("-")
    assert "3 assets would be created, 0 updated. Dry run: nothing was written." in output


def test_it_imports_as_the_given_user_and_reports_updates(fake_site, alice):
    output = run("import_civitai_post", str(POST_ID), "--user", "alice")
    assert "Recorded post" in output and "3 assets were created, 0 updated." in output
    assert Post.objects.get().created_by == alice
    output = run("import_civitai_post", str(POST_ID), "--dry-run")
    assert f"update  {IMAGE_ID}" in output and "0 assets would be created, 3 updated." in output


def test_it_exits_non_zero_with_the_reason(fake_site):
    with pytest.raises(CommandError, match="post must be a valid integer ID"):
        run("import_civitai_post", "https://civitai.com/images/1")
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("import_civitai_post", str(POST_ID), "--user", "nobody")
    fake_site.set_fault("foreign_image")
    before = table_counts()
    with pytest.raises(CommandError, match=f"for requested post {POST_ID}"):
        run("import_civitai_post", str(POST_ID))
    assert table_counts() == before


def test_it_syncs_every_post_reporting_a_failing_one_without_stopping(fake_site):
    run("import_civitai_post", str(POST_ID))
    run("import_civitai_post", str(SINGLE_POST_ID))
    gone = Post.objects.create(civitai_id=5550001, civitai_url="https://civitai.com/posts/5550001")
    Asset.objects.create(
        asset_url="https://x.test/a.png",
        asset_type="image",
        asset_source="upload",
        civitai_id=5550002,
        post=gone,
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=rf"1 post\(s\) failed: {gone.pk}"):
        call_command("sync_post_asset_stats", "--all", stdout=out, stderr=err)
    assert AssetStatsSnapshot.objects.count() == 4  # 3 + 1: the posts after the failure ran too
    assert f"post {gone.pk}: FAILED: Civitai returned no images for post 5550001" in err.getvalue()
    assert "2 of 3 posts synced." in out.getvalue()


def test_it_syncs_the_given_posts(fake_site):
    run("import_civitai_post", str(POST_ID))
    post = Post.objects.get()
    output = run("sync_post_asset_stats", str(post.pk))
    assert f"post {post.pk} (Civitai {POST_ID}): 3 snapshots" in output
    run("sync_post_asset_stats", str(post.pk))
    assert AssetStatsSnapshot.objects.count() == 6


def test_it_needs_post_ids_or_all(fake_site):
    with pytest.raises(CommandError, match="Give post ids or --all"):
        run("sync_post_asset_stats")
    with pytest.raises(CommandError, match=r"1 post\(s\) failed: abc"):
        run("sync_post_asset_stats", "abc")
