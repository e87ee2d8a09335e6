"""POST /api/v1/tools/<tool_name>: token auth, statuses and the error shape."""

import json

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.conftest import table_counts
from tests.tracking.recording_helpers import SHA_A, asset, post
from tracking.models import ApiToken, Asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(alice):
    return ApiToken.issue(alice, name="tests")[1]


def call(client, name, body, token=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        reverse("api:tool", args=[name]),
        data=data,
        content_type="application/json",
        **headers,
        **extra,
    )


def assert_error(response, status, code, message=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    if message is not None:
        assert body["error"]["message"] == message
    return body


def test_it_creates_a_post_as_the_tokens_user_with_201(client, alice, token):
    response = call(
        client,
        "create_civitai_post",
        {"civitai_id": "23602354", "civitai_url": "https://civitai.com/posts/23602354"},
        token,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["post"]["created_by"] == "alice" and body["post_id"].isdigit()


def test_it_answers_200_for_a_read(client, alice, token):
    stored = asset(alice, sha256sum=SHA_A)
    response = call(client, "find_asset", {"sha256sum": SHA_A}, token)
    assert response.status_code == 200
    nested = {"input_prompt": None, "output_prompt": None, "post": None}
    assert response.json() == {"found": True, "asset": stored | nested}


def test_it_records_the_last_use_of_a_token(client, token):
    call(client, "find_asset", {"asset_id": "1"}, token)
    assert ApiToken.objects.get().last_used_at is not None


def test_it_refuses_a_request_without_a_token(client):
    before = table_counts()
    response = call(client, "create_prompt", {"prompt_text": "x"})
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert table_counts() == before


@pytest.mark.parametrize("header", ["Bearer ct_wrong", "Basic YWxpY2U6cHc=", "Bearer ", "ct_x"])
def test_it_refuses_a_bad_token(client, header):
    response = client.post(
        reverse("api:tool", args=["create_prompt"]),
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert_error(response, 401, "unauthorized")


def test_it_refuses_a_revoked_token(client, alice, token):
    ApiToken.objects.get().revoke()
    assert_error(call(client, "create_prompt", {"prompt_text": "x"}, token), 401, "unauthorized")


def test_it_refuses_the_token_of_an_inactive_user(client, alice, token):
    alice.is_active = False
    alice.save()
    assert_error(call(client, "create_prompt", {"prompt_text": "x"}, token), 401, "unauthorized")


def test_it_does_not_accept_a_session_login(client, staff):
    client.force_login(staff)
    assert_error(call(client, "create_prompt", {"prompt_text": "x"}), 401, "unauthorized")


def test_it_answers_400_with_the_contract_message(client, token):
    response = call(client, "update_asset", {"asset_id": "abc"}, token)
    assert_error(response, 400, "invalid_input", "asset_id must be a valid integer ID")


def test_it_answers_404_for_a_missing_record(client, token):
    response = call(client, "update_asset", {"asset_id": "999", "post_id": None}, token)
    assert_error(response, 404, "not_found", "Record not found: asset_id 999")


def test_it_answers_409_naming_the_existing_record(client, alice, token):
    first = post(alice, civitai_id=42)
    response = call(
        client,
        "create_civitai_post",
        {"civitai_id": "42", "civitai_url": "https://civitai.com/posts/42"},
        token,
    )
    assert_error(
        response,
        409,
        "duplicate",
        f"A post with this civitai_id already exists (post_id {first['post_id']})",
    )


def test_it_answers_403_when_the_user_may_not_change_the_record(
    client, staff, token, django_user_model
):
    created = post(staff, status="pending")
    response = call(
        client, "update_post", {"post_id": created["post_id"], "status": "published"}, token
    )
    assert_error(response, 403, "forbidden")


def test_it_answers_502_when_a_fetch_fails(client, token):
    from tests.fakes.media_server import serving

    with serving({}) as server:
        response = call(client, "calculate_sha256", {"path": server.url("/nope")}, token)
    assert_error(response, 502, "upstream_error")


def test_it_answers_404_for_an_unknown_tool(client, token):
    assert_error(
        call(client, "drop_tables", {}, token), 404, "not_found", "Unknown tool: drop_tables"
    )


def test_it_answers_405_to_a_get(client, token):
    response = client.get(
        reverse("api:tool", args=["find_asset"]), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    "body",
    ['{"prompt_text": ', "not json", b"\xff\xfe{}", '{"prompt_text": "x", "metadata": {"a": NaN}}'],
)
def test_it_answers_400_to_invalid_json_and_writes_nothing(client, token, body):
    before = table_counts()
    body = assert_error(call(client, "create_prompt", body, token), 400, "invalid_json")
    assert body["error"]["message"].startswith("Request body is not valid JSON")
    assert table_counts() == before


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "3"])
def test_it_answers_400_to_a_body_that_is_not_an_object(client, token, body):
    assert_error(
        call(client, "create_prompt", body, token),
        400,
        "invalid_input",
        "Request body must be a JSON object",
    )


def test_it_refuses_unknown_parameters(client, token):
    response = call(client, "create_prompt", {"prompt_text": "x", "prompt": "y"}, token)
    body = assert_error(response, 400, "invalid_input")
    assert body["error"]["message"].startswith("Unknown parameter for create_prompt: prompt.")


@override_settings(API_MAX_BODY_BYTES=200)
def test_it_answers_413_to_a_body_over_the_cap_and_writes_nothing(client, token):
    before = table_counts()
    response = call(client, "create_prompt", {"prompt_text": "x" * 500}, token)
    assert_error(response, 413, "payload_too_large", "Request body is larger than 200 bytes")
    assert table_counts() == before


@override_settings(API_MAX_BODY_BYTES=200)
def test_it_accepts_a_body_at_the_cap(client, token):
    body = json.dumps({"prompt_text": "x"})
    body = body[:-1] + " " * (200 - len(body)) + "}"
    assert len(body) == 200
    assert call(client, "create_prompt", body, token).status_code == 201


def test_it_stores_ids_as_given_in_the_body_and_links_records(client, alice, token):
    the_post = post(alice)
    created = call(
        client,
        "create_asset",
        {
            "asset_url": "s3://bucket/x.png",
            "asset_type": "image",
            "asset_source": "upload",
            "post_id": int(the_post["post_id"]),  # JSON integers are accepted too
        },
        token,
    )
    assert created.status_code == 201
    asset_id = created.json()["asset_id"]
    assert Asset.objects.get(pk=int(asset_id)).post_id == int(the_post["post_id"])
    unlinked = call(client, "update_asset", {"asset_id": asset_id, "post_id": None}, token)
    assert unlinked.status_code == 200 and unlinked.json()["asset"]["post_id"] is None


def test_it_attributes_history_to_the_tokens_user(client, alice, token):
    from tracking.models import Post

    call(
        client,
        "create_civitai_post",
        {"civitai_id": "8", "civitai_url": "https://civitai.com/posts/8"},
        token,
    )
    assert Post.history.get().history_user == alice
