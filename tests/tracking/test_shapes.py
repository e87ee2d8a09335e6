"""The result declarations (tracking/shapes.py) agree with what the tools return."""

import pytest

from tests.tracking.recording_helpers import SHA_A, asset, post, prompt
from tracking.tools.registry import TOOLS, call_tool

pytestmark = pytest.mark.django_db


def _check(name, result):
    TOOLS[name].result_model.model_validate(result)


def test_the_recording_results_match_their_declarations(alice):
    p = prompt(alice)
    the_post = post(alice)
    calls = [
        ("create_prompt", {"prompt_text": "x"}),
        (
            "create_asset",
            {
                "asset_url": "s3://b/1.png",
                "asset_type": "image",
                "asset_source": "upload",
                "sha256sum": SHA_A,
                "input_prompt_id": p["prompt_id"],
                "post_id": the_post["post_id"],
            },
        ),
        (
            "create_civitai_post",
            {"civitai_id": "77", "civitai_url": "https://civitai.com/posts/77"},
        ),
        ("find_asset", {"sha256sum": SHA_A}),
        ("find_asset", {"post_id": the_post["post_id"]}),
        ("find_asset", {"asset_id": "999"}),
        ("list_civitai_posts", {}),
        ("list_civitai_posts", {"include_details": True}),
        ("update_post", {"post_id": the_post["post_id"], "title": "t"}),
        ("get_workflow_guide", {}),
        ("get_media_engagement_guide", {}),
    ]
    for name, arguments in calls:
        _check(name, call_tool(name, user=alice, arguments=arguments))
    created = asset(alice)
    _check(
        "update_asset",
        call_tool("update_asset", user=alice, arguments={"asset_id": created["asset_id"]}),
    )


def test_every_tool_declares_its_result():
    assert all(spec.result_model is not None for spec in TOOLS.values())
