"""The MCP adapter through the SDK's own client, connected in memory.

Tool calls run in Django's worker thread on its own database connection, so these
tests use committed data (``transactional_db``), as a real MCP session would.
"""

import json

import anyio
import pytest
from mcp import Client

from tests.tracking.recording_helpers import SHA_A
from tracking.models import Asset, Post, Prompt
from tracking.tools.mcp import GUIDE_PROMPT, build_server, recording_guide
from tracking.tools.registry import TOOLS

pytestmark = pytest.mark.django_db(transaction=True)


def session(user, steps):
    """Run ``steps(client)`` against a fresh in-memory session acting as ``user``."""

    async def main():
        async with Client(build_server(user)) as client:
            return await steps(client)

    return anyio.run(main)


def call(user, name, arguments):
    async def steps(client):
        return await client.call_tool(name, arguments)

    return session(user, steps)


def test_it_lists_every_registry_tool_with_its_schema(alice):
    async def steps(client):
        return (await client.list_tools()).tools

    tools = session(alice, steps)
    assert {t.name for t in tools} == set(TOOLS)
    for tool in tools:
        assert tool.input_schema == TOOLS[tool.name].input_schema
        assert tool.description == TOOLS[tool.name].description


def test_it_records_the_whole_workflow_as_the_acting_user(alice):
    async def steps(client):
        prompt = await client.call_tool(
            "create_prompt", {"prompt_text": "A serene mountain", "llm_model": "flux"}
        )
        prompt_id = prompt.structured_content["prompt_id"]
        created = await client.call_tool(
            "create_asset",
            {
                "asset_url": "s3://bucket/m.png",
                "asset_type": "image",
                "asset_source": "generated",
                "input_prompt_id": prompt_id,
                "sha256sum": SHA_A,
            },
        )
        post = await client.call_tool(
            "create_civitai_post",
            {"civitai_id": "23602354", "civitai_url": "https://civitai.com/posts/23602354"},
        )
        linked = await client.call_tool(
            "update_asset",
            {
                "asset_id": created.structured_content["asset_id"],
                "post_id": post.structured_content["post_id"],
            },
        )
        found = await client.call_tool("find_asset", {"sha256sum": SHA_A})
        listed = await client.call_tool("list_civitai_posts", {"include_details": True})
        return prompt, created, post, linked, found, listed

    prompt, created, post, linked, found, listed = session(alice, steps)
    for result in (prompt, created, post, linked, found, listed):
        assert result.is_error is False
        # The same JSON object as text and as structured content.
        assert json.loads(result.content[0].text) == result.structured_content
    assert created.structured_content["asset"]["created_by"] == "alice"
    assert linked.structured_content["asset"]["post_id"] == post.structured_content["post_id"]
    assert found.structured_content["found"] is True
    (listed_post,) = listed.structured_content["posts"]
    (nested,) = listed_post["assets"]
    assert nested["input_prompt"]["prompt_text"] == "A serene mountain"
    assert Asset.objects.get().created_by == alice
    assert Post.objects.get().created_by == alice and Prompt.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("update_asset", {"asset_id": "abc"}, "asset_id must be a valid integer ID"),
        ("update_asset", {"asset_id": "999"}, "Record not found: asset_id 999"),
        ("find_asset", {}, "At least one of asset_id or sha256sum is required"),
        (
            "create_asset",
            {"asset_url": "s3://x", "asset_type": "gif", "asset_source": "upload"},
            'asset_type must be "image" or "video"',
        ),
        (
            "list_civitai_posts",
            {"start_time": "noon"},
            "start_time must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z)",
        ),
        ("create_prompt", {"prompt_text": "x", "extra": 1}, "Unknown parameter for create_prompt"),
        ("no_such_tool", {}, "Unknown tool: no_such_tool"),
    ],
)
def test_it_returns_a_tool_error_whose_text_is_the_message(alice, name, arguments, message):
    result = call(alice, name, arguments)
    assert result.is_error is True
    assert message in result.content[0].text
    assert not Asset.objects.exists() and not Prompt.objects.exists()


def test_it_returns_a_tool_error_naming_the_duplicate(alice):
    arguments = {"civitai_id": "5", "civitai_url": "https://civitai.com/posts/5"}
    first = call(alice, "create_civitai_post", arguments)
    again = call(alice, "create_civitai_post", arguments)
    assert again.is_error is True
    assert again.content[0].text == (
        "A post with this civitai_id already exists"
        f" (post_id {first.structured_content['post_id']})"
    )


def test_it_offers_the_recording_guide_as_a_prompt(alice):
    async def steps(client):
        listed = await client.list_prompts()
        got = await client.get_prompt(GUIDE_PROMPT)
        return listed, got

    listed, got = session(alice, steps)
    assert [p.name for p in listed.prompts] == [
        GUIDE_PROMPT,
        "record_civitai_workflow",
        "civitai_media_engagement",
    ]
    text = got.messages[0].content.text
    assert text == recording_guide()
    assert "## Workflow Overview" in text and "create_civitai_post" in text
