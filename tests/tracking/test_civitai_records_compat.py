"""Agents written for the original civitai-records server keep working, through MCP (the
SDK's own client) and HTTP alike; every new rule refuses bad input clearly, with the
contract's status, and writes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from django.urls import reverse
from mcp import Client

from tests.conftest import table_counts
from tests.fakes.civitai_site import IMAGE_ID, POST_ID
from tests.fakes.media_server import MediaServer, Route
from tracking import guides
from tracking.models import ApiToken, Asset, Post
from tracking.tools.mcp import build_server

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64


@dataclass
class Outcome:
    status: int | None  # HTTP status; None through MCP
    result: dict[str, Any] | None
    message: str | None


class Adapter:
    def __init__(self, kind: str, user, client):
        self.kind, self.user, self.client = kind, user, client
        if kind == "http":
            self.token = ApiToken.issue(user, name="compat")[1]

    def __call__(self, name: str, arguments: dict[str, Any]) -> Outcome:
        if self.kind == "http":
            response = self.client.post(
                reverse("api:tool", args=[name]),
                data=json.dumps(arguments),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {self.token}",
            )
            body = response.json()
            if response.status_code >= 400:
                return Outcome(response.status_code, None, body["error"]["message"])
            return Outcome(response.status_code, body, None)

        async def main():
            async with Client(build_server(self.user)) as client:
                return await client.call_tool(name, arguments)

        result = anyio.run(main)
        if result.is_error:
            return Outcome(None, None, result.content[0].text)
        return Outcome(None, result.structured_content, None)

    def ok(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        outcome = self(name, arguments)
        assert outcome.message is None, outcome.message
        return outcome.result

    def refused(self, name: str, arguments: dict[str, Any], status: int, message: str) -> None:
        """Refused with ``message`` (and ``status`` over HTTP), and nothing written."""
        before = table_counts()
        outcome = self(name, arguments)
        assert outcome.message == message
        if self.kind == "http":
            assert outcome.status == status
        assert table_counts() == before


@pytest.fixture(params=["mcp", "http"])
def tool(request, alice, client):
    return Adapter(request.param, alice, client)


def test_on_behalf_of_is_taken_stored_returned_and_filtered(tool):
    prompt = tool.ok("create_prompt", {"prompt_text": "a lantern", "on_behalf_of": "Bob"})
    assert prompt["prompt"]["on_behalf_of"] == "Bob"
    asset = tool.ok(
        "create_asset",
        {"asset_url": "s3://b/1.png", "asset_type": "image", "asset_source": "generated"},
    )
    assert asset["asset"]["on_behalf_of"] == "alice"  # defaults to the creator
    post = tool.ok(
        "create_civitai_post",
        {
            "civitai_id": "23602354",
            "civitai_url": "https://civitai.com/posts/23602354",
            "on_behalf_of": "Bob",
        },
    )
    assert post["post"]["on_behalf_of"] == "Bob"
    updated = tool.ok("update_asset", {"asset_id": asset["asset_id"], "on_behalf_of": "Carol"})
    assert updated["asset"]["on_behalf_of"] == "Carol"
    listed = tool.ok("list_civitai_posts", {"on_behalf_of": "bob", "created_by": "ALICE"})
    assert [p["post_id"] for p in listed["posts"]] == [post["post_id"]]
    assert tool.ok("list_civitai_posts", {"on_behalf_of": "nobody"})["total"] == 0


def test_on_behalf_of_refuses_what_is_not_a_name(tool):
    tool.refused(
        "create_prompt",
        {"prompt_text": "x", "on_behalf_of": 42},
        400,
        "on_behalf_of must be a string",
    )
    tool.refused(
        "create_civitai_post",
        {
            "civitai_id": "5",
            "civitai_url": "https://civitai.com/posts/5",
            "on_behalf_of": "x" * 300,
        },
        400,
        "on_behalf_of must be at most 255 characters",
    )
    tool.refused(
        "list_civitai_posts", {"on_behalf_of": ""}, 400, "on_behalf_of must be a non-empty string"
    )


def test_find_asset_by_every_key_of_the_original_with_links_nested(tool):
    post = tool.ok(
        "create_civitai_post", {"civitai_id": "77", "civitai_url": "https://civitai.com/posts/77"}
    )
    prompt = tool.ok("create_prompt", {"prompt_text": "generator"})
    first = tool.ok(
        "create_asset",
        {
            "asset_url": "s3://b/first.png",
            "asset_type": "image",
            "asset_source": "generated",
            "civitai_id": "106432973",
            "civitai_url": "https://civitai.com/images/106432973",
            "post_id": post["post_id"],
            "input_prompt_id": prompt["prompt_id"],
        },
    )
    tool.ok(
        "create_asset",
        {
            "asset_url": "s3://b/second.png",
            "asset_type": "image",
            "asset_source": "generated",
            "post_id": post["post_id"],
        },
    )
    by_civitai = tool.ok("find_asset", {"civitai_id": "106432973"})
    assert by_civitai["found"] is True and by_civitai["asset"]["asset_id"] == first["asset_id"]
    assert by_civitai["asset"]["input_prompt"]["prompt_text"] == "generator"
    assert by_civitai["asset"]["output_prompt"] is None
    assert by_civitai["asset"]["post"]["civitai_id"] == "77"
    by_url = tool.ok("find_asset", {"civitai_url": "https://www.civitai.com/images/106432973"})
    assert by_url["asset"]["asset_id"] == first["asset_id"]
    by_post = tool.ok("find_asset", {"post_id": post["post_id"]})
    assert by_post["asset"]["asset_id"] == first["asset_id"] and by_post["post_asset_count"] == 2
    both = tool.ok("find_asset", {"post_id": post["post_id"], "civitai_id": "999"})
    assert both == {"found": False, "post_asset_count": 2}


def test_find_asset_refuses_bad_keys(tool):
    tool.refused(
        "find_asset",
        {},
        400,
        "At least one of asset_id or sha256sum is required (or civitai_id, civitai_url, post_id)",
    )
    tool.refused(
        "find_asset",
        {"civitai_url": "https://civitai.com/posts/5"},
        400,
        "civitai_url must be a valid integer ID or a Civitai image URL; got"
        " 'https://civitai.com/posts/5' (this is a post URL, not an image URL). Accepted: a"
        " Civitai image id (1 to 2147483647) or an image URL such as"
        " https://civitai.com/images/123456 (also http://, www., civitai.green, civitai.red,"
        " a trailing /edit, query string or #fragment)",
    )
    tool.refused("find_asset", {"post_id": "p1"}, 400, "post_id must be a valid integer ID")
    tool.refused(
        "find_asset",
        {"asset_id": "1", "uri": "s3://x"},
        400,
        "Unknown parameter for find_asset: uri. Allowed: asset_id, civitai_id, civitai_url,"
        " post_id, sha256sum",
    )


def test_the_guides_are_tools_too(tool):
    workflow = tool.ok("get_workflow_guide", {})
    assert workflow == {"name": "record_civitai_workflow", "guide": guides.text("recording")}
    engagement = tool.ok("get_media_engagement_guide", {})
    assert engagement["guide"] == guides.text("engagement")
    assert "sync_post_asset_stats" in engagement["guide"]
    tool.refused(
        "get_workflow_guide",
        {"topic": "x"},
        400,
        "Unknown parameter for get_workflow_guide: topic. It takes no parameters",
    )


def test_the_prompts_answer_under_the_originals_names(alice):
    async def main():
        async with Client(build_server(alice)) as client:
            names = [p.name for p in (await client.list_prompts()).prompts]
            workflow = await client.get_prompt("record_civitai_workflow")
            engagement = await client.get_prompt("civitai_media_engagement")
            return names, workflow, engagement

    names, workflow, engagement = anyio.run(main)
    assert {"record_civitai_workflow", "civitai_media_engagement"} <= set(names)
    assert workflow.messages[0].content.text == guides.text("recording")
    assert engagement.messages[0].content.text == guides.text("engagement")


def test_sync_post_asset_stats_by_civitais_post_id(tool, fake_site):
    tool.ok("import_civitai_post", {"post": str(POST_ID)})
    result = tool.ok("sync_post_asset_stats", {"civitai_post_id": str(POST_ID)})
    assert result["civitai_id"] == str(POST_ID) and result["snapshots_created"] == 3
    mine = str(Post.objects.get().pk)
    same = tool.ok("sync_post_asset_stats", {"post_id": mine, "civitai_post_id": POST_ID})
    assert same["post_id"] == mine


def test_sync_post_asset_stats_refuses_bad_post_ids(tool, fake_site):
    tool.refused(
        "sync_post_asset_stats", {}, 400, "At least one of post_id or civitai_post_id is required"
    )
    tool.refused(
        "sync_post_asset_stats",
        {"civitai_post_id": "5"},
        404,
        "Record not found: civitai_post_id 5",
    )
    tool.refused(
        "sync_post_asset_stats",
        {"civitai_post_id": "x5"},
        400,
        "civitai_post_id must be a valid integer ID",
    )
    assert fake_site.requests == []


def test_create_asset_checks_asset_type_against_the_bytes(tool):
    with MediaServer() as media:
        png = media.route("/render.png", Route(body=PNG, content_type="image/png"))
        mp4 = media.route("/clip.mp4", Route(body=MP4, content_type="video/mp4"))
        tool.refused(
            "create_asset",
            {"asset_url": png, "asset_type": "video", "asset_source": "generated"},
            400,
            'asset_type is "video" but the file at asset_url is PNG (image): send asset_type'
            ' "image"',
        )
        tool.refused(
            "create_asset",
            {"asset_url": mp4, "asset_type": "image", "asset_source": "upload"},
            400,
            'asset_type is "image" but the file at asset_url is MP4 (video): send asset_type'
            ' "video"',
        )
        created = tool.ok(
            "create_asset", {"asset_url": mp4, "asset_type": "video", "asset_source": "upload"}
        )
    assert created["sha256sum"] is not None


def test_create_asset_refuses_the_same_unhashable_url_twice(tool):
    params = {"asset_url": "s3://bucket/once.png", "asset_type": "image", "asset_source": "upload"}
    first = tool.ok("create_asset", params)
    assert first["sha256sum"] is None
    tool.refused(
        "create_asset",
        params,
        409,
        f"An asset with this asset_url already exists (asset_id {first['asset_id']})",
    )
    assert Asset.objects.count() == 1


def test_the_civitai_image_of_the_fake_is_findable_after_import(tool, fake_site):
    tool.ok("import_civitai_post", {"post": str(POST_ID)})
    found = tool.ok("find_asset", {"civitai_url": f"https://civitai.com/images/{IMAGE_ID}"})
    assert found["asset"]["post"]["civitai_id"] == str(POST_ID)


def test_an_asset_is_never_its_own_input(tool):
    created = tool.ok(
        "create_asset",
        {"asset_url": "s3://b/self.png", "asset_type": "image", "asset_source": "upload"},
    )
    tool.refused(
        "update_asset",
        {"asset_id": created["asset_id"], "input_asset_ids": [created["asset_id"]]},
        400,
        "input_asset_ids must not include the asset itself",
    )
