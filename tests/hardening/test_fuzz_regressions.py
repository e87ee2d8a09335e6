"""Bugs the fuzz suite found (each was a 500), pinned as plain tests with the fixed answers."""

import json

import pytest
from django.urls import reverse

from tests.conftest import table_counts
from tests.tracking.recording_helpers import post
from tracking import services
from tracking.errors import InvalidInput
from tracking.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(alice):
    return ApiToken.issue(alice, name="tests")[1]


def call(client, token, name, data: bytes):
    return client.post(
        reverse("api:tool", args=[name]),
        data=data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def error_of(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]


@pytest.mark.parametrize("depth", [990, 20000])
def test_it_refuses_a_deeply_nested_body_with_400(client, token, depth):
    """json.loads raised RecursionError (a 500) on deep nesting, depending on stack depth."""
    for data in (
        "[" * depth + "]" * depth,
        '{"metadata": ' + '{"a":' * depth + "1" + "}" * (depth + 1),
    ):
        error = error_of(call(client, token, "create_prompt", data.encode()), 400)
        assert error == {
            "code": "invalid_json",
            "message": "Request body is nested more than 64 levels deep",
        }


def test_it_accepts_metadata_nested_within_the_limit(client, token):
    metadata = '{"a":' * 60 + "1" + "}" * 60
    body = f'{{"prompt_text": "x", "metadata": {metadata}}}'.encode()
    assert call(client, token, "create_prompt", body).status_code == 201


@pytest.mark.parametrize(
    ("tool", "body", "field"),
    [
        ("create_prompt", '{"prompt_text": "a \\ud800 b"}', "prompt_text"),
        ("create_prompt", '{"prompt_text": "x", "metadata": {"k": ["\\udfff"]}}', "metadata"),
        ("create_prompt", '{"prompt_text": "x", "metadata": {"\\ud800": 1}}', "metadata"),
        ("calculate_sha256", '{"path": "http://127.0.0.1:1/\\ud800"}', "path"),
        ("list_civitai_posts", '{"created_by": "\\udc80"}', "created_by"),
        ("import_civitai_post", '{"post": "\\ud83d"}', "post"),
    ],
)
def test_it_refuses_lone_surrogates_naming_the_parameter(client, token, tool, body, field):
    """A JSON "\\ud800" escape reached the database driver and failed to encode (a 500)."""
    before = table_counts()
    error = error_of(call(client, token, tool, body.encode()), 400)
    assert error == {
        "code": "invalid_input",
        "message": f"{field} must be valid Unicode text (it contains a lone surrogate)",
    }
    assert table_counts() == before


def test_it_refuses_a_parameter_name_with_a_lone_surrogate(client, token):
    error = error_of(call(client, token, "find_asset", b'{"\\ud800": 1}'), 400)
    assert error["message"] == "Parameter names must be valid Unicode text"


def test_it_still_accepts_real_astral_characters(client, token):
    body = json.dumps({"prompt_text": "lantern \U0001f3ee"}).encode()  # a valid surrogate pair
    response = call(client, token, "create_prompt", body)
    assert response.status_code == 201
    assert response.json()["prompt"]["prompt_text"] == "lantern \U0001f3ee"


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ("import_civitai_post", "post is required"),
        ("fetch_civitai_post_assets", "post_id is required"),
        ("sync_post_asset_stats", "At least one of post_id or civitai_post_id is required"),
    ],
)
def test_it_answers_400_when_a_civitai_tool_misses_its_required_parameter(
    client, token, tool, message
):
    """The Civitai services have no default for it: a TypeError (a 500) before the fix."""
    error = error_of(call(client, token, tool, b"{}"), 400)
    assert error == {"code": "invalid_input", "message": message}


def test_it_calls_a_missing_required_parameter_by_name_in_the_service_too(alice):
    from tracking.tools.registry import call_tool

    with pytest.raises(InvalidInput, match=r"^post is required$"):
        call_tool("import_civitai_post", user=alice, arguments={"dry_run": True})


@pytest.mark.parametrize("offset", [2**63, 10**30, "9999999999999999999", 2**63 - 1])
def test_it_lists_nothing_for_an_offset_past_the_end_however_large(
    client, token, alice, offset, django_assert_max_num_queries
):
    """A huge offset overflowed the database's 64-bit OFFSET (a 500 on both backends)."""
    post(alice)
    body = json.dumps({"offset": offset}).encode()
    with django_assert_max_num_queries(4):
        response = call(client, token, "list_civitai_posts", body)
    assert response.status_code == 200, response.content
    assert response.json()["posts"] == [] and response.json()["total"] == 1
    assert response.json()["offset"] == int(offset)


def test_it_still_pages_normally(alice):
    for n in range(3):
        post(alice, civitai_id=100 + n)
    page = services.list_civitai_posts(user=alice, limit=2, offset=2)
    assert [p["civitai_id"] for p in page["posts"]] == ["100"] and page["total"] == 3
