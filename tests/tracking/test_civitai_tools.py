"""The Civitai tools through both adapters: the same service, the same records, the same refusals."""

import json

import anyio
import pytest
from django.urls import reverse
from mcp import Client

from tests.conftest import table_counts
from tests.fakes.civitai_site import IMAGE_ID, POST_ID
from tracking.models import ApiToken, Asset, AssetStatsSnapshot, Post
from tracking.tools.mcp import build_server


@pytest.fixture
def token(alice):
    return ApiToken.issue(alice, name="tests")[1]


def post_tool(client, token, name, body):
    return client.post(
        reverse("api:tool", args=[name]),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.django_db
def test_it_imports_through_http_then_syncs_stats(client, token, fake_site, alice):
    dry = post_tool(client, token, "import_civitai_post", {"post": str(POST_ID), "dry_run": True})
    assert dry.status_code == 200, dry.content
    assert dry.json()["dry_run"] is True and not Post.objects.exists()

    done = post_tool(
        client, token, "import_civitai_post", {"post": f"https://civitai.com/posts/{POST_ID}"}
    )
    assert done.status_code == 200, done.content
    post = Post.objects.get(civitai_id=POST_ID)
    assert post.created_by == alice
    assert done.json()["post"]["post_id"] == str(post.pk)
    assert Asset.objects.filter(post=post, civitai_id=IMAGE_ID).exists()

    stats = post_tool(client, token, "sync_post_asset_stats", {"post_id": str(post.pk)})
    assert stats.status_code == 200, stats.content
    assert AssetStatsSnapshot.objects.filter(asset__post=post).count() == post.assets.count()


@pytest.mark.django_db
def test_it_refuses_a_wrong_answer_over_http_with_502_and_writes_nothing(client, token, fake_site):
    fake_site.set_fault("foreign_image")
    before = table_counts()
    response = post_tool(client, token, "import_civitai_post", {"post": str(POST_ID)})
    assert response.status_code == 502, response.content
    assert response.json()["error"]["code"] == "upstream_error"
    assert str(POST_ID) in response.json()["error"]["message"]
    assert table_counts() == before


@pytest.mark.django_db
def test_it_refuses_bad_tool_input_over_http(client, token, fake_site):
    response = post_tool(client, token, "import_civitai_post", {"post": "civitai.com/models/1"})
    assert response.status_code == 400
    response = post_tool(
        client, token, "import_civitai_post", {"post": str(POST_ID), "dry_run": "yes"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "dry_run must be true or false"
    response = post_tool(client, token, "sync_post_asset_stats", {"post_id": "999"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Record not found: post_id 999"
    assert fake_site.requests == []


@pytest.mark.django_db(transaction=True)
def test_it_fetches_live_assets_through_mcp_writing_nothing(alice, fake_site):
    async def main():
        async with Client(build_server(alice)) as mcp:
            ok = await mcp.call_tool("fetch_civitai_post_assets", {"post_id": str(POST_ID)})
            bad = await mcp.call_tool("fetch_civitai_post_assets", {"post_id": "abc"})
            return ok, bad

    before = table_counts()
    ok, bad = anyio.run(main)
    assert not ok.is_error
    assert ok.structured_content["post_id"] == str(POST_ID)
    assert str(IMAGE_ID) in {a["civitai_id"] for a in ok.structured_content["assets"]}
    assert json.loads(ok.content[0].text) == ok.structured_content
    assert bad.is_error
    assert "post_id must be a valid integer ID" in bad.content[0].text
    assert table_counts() == before
