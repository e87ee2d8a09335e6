"""find_similar_assets through the MCP SDK's own client and through the HTTP API."""

import json

import anyio
import pytest
from django.test import override_settings
from django.urls import reverse
from mcp import Client

from tests.tracking import media_samples as media
from tracking import services
from tracking.models import ApiToken
from tracking.tools.mcp import build_server

IMAGE = {"asset_type": "image", "asset_source": "generated"}


@pytest.fixture
def recorded(tmp_path, alice):
    picture = media.picture(31)
    (tmp_path / "a.png").write_bytes(media.encode(picture))
    (tmp_path / "b.jpg").write_bytes(media.encode(media.resized(picture, 0.7), "JPEG", quality=60))
    (tmp_path / "c.png").write_bytes(media.png(32))
    with override_settings(HASH_ALLOWED_ROOTS=[str(tmp_path)]):
        ids = {
            name: services.create_asset(user=alice, asset_url=str(tmp_path / name), **IMAGE)[
                "asset_id"
            ]
            for name in ("a.png", "b.jpg", "c.png")
        }
        yield tmp_path, ids


@pytest.mark.django_db(transaction=True)
def test_it_answers_over_mcp(alice, recorded):
    folder, ids = recorded

    async def main():
        async with Client(build_server(alice)) as client:
            by_id = await client.call_tool("find_similar_assets", {"asset_id": ids["a.png"]})
            by_path = await client.call_tool(
                "find_similar_assets", {"path": str(folder / "b.jpg"), "max_distance": 6}
            )
            refused = await client.call_tool(
                "find_similar_assets", {"asset_id": ids["a.png"], "sha256sum": "a" * 64}
            )
            return by_id, by_path, refused

    by_id, by_path, refused = anyio.run(main)
    assert [s["asset_id"] for s in by_id.structured_content["similar_assets"]] == [ids["b.jpg"]]
    assert [s["asset_id"] for s in by_path.structured_content["similar_assets"]] == [ids["a.png"]]
    assert by_path.structured_content["asset_id"] == ids["b.jpg"]  # its sha256 is recorded
    assert refused.is_error
    assert "Exactly one of asset_id, sha256sum or path" in refused.content[0].text


@pytest.mark.django_db
def test_it_answers_over_http_with_a_token(client, alice, recorded):
    _folder, ids = recorded
    token = ApiToken.issue(alice, name="tests")[1]
    url = reverse("api:tool", args=["find_similar_assets"])
    response = client.post(
        url,
        data=json.dumps({"asset_id": ids["b.jpg"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    body = response.json()
    assert [s["asset_id"] for s in body["similar_assets"]] == [ids["a.png"]]
    assert body["similar_assets"][0]["distance"] <= 6
    bad = client.post(
        url,
        data=json.dumps({"asset_id": ids["b.jpg"], "max_distance": 99}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert bad.status_code == 400
    assert "max_distance" in bad.json()["error"]["message"]
    anonymous = client.post(url, data="{}", content_type="application/json")
    assert anonymous.status_code == 401
