"""create_asset reads the generation metadata of the file it hashes, and records its prompt.

Through the service, the HTTP API (bearer token) and MCP (the SDK's own client), with
real files the tests write, served over loopback HTTP or read from an allowed folder.
"""

from __future__ import annotations

import anyio
import pytest
from django.test import override_settings
from mcp import Client

from tests.conftest import table_counts
from tests.fakes.media_server import serving
from tests.tracking import generation_files as files
from tests.tracking.recording_helpers import call_over_http, prompt
from tracking import services
from tracking.errors import Duplicate
from tracking.models import ApiToken, Asset, Prompt
from tracking.tools.mcp import build_server

LOOPBACK = override_settings(HASH_ALLOW_PRIVATE_URLS=True)


def create(user, url, **extra):
    return services.create_asset(
        user=user, asset_url=url, asset_type="image", asset_source="generated", **extra
    )


@pytest.mark.django_db
@LOOPBACK
def test_an_a1111_png_gets_its_parameters_and_its_prompt(alice):
    with serving({"/lantern.png": files.a1111_png()}) as server:
        result = create(alice, server.url("/lantern.png"), on_behalf_of="Bo")

    asset = Asset.objects.select_related("input_prompt").get(pk=result["asset_id"])
    gen = asset.metadata["generation"]
    assert (gen["source"], gen["read_from"], gen["seed"]) == ("a1111", "png:parameters", 4242)
    assert result["asset"]["metadata"]["generation"] == gen
    assert result["input_prompt_created"] is True
    assert (
        result["input_prompt_id"]
        == str(asset.input_prompt_id)
        == result["asset"]["input_prompt_id"]
    )
    made = asset.input_prompt
    assert made.prompt_text == "a paper lantern on a pond, <lora:lanternStyle:0.8>, night"
    assert made.purpose == services.FILE_PROMPT_PURPOSE
    assert made.metadata == {
        "source": "a1111",
        "read_from": "png:parameters",
        "negative_prompt": "blurry, lowres",
    }
    assert (made.created_by, made.on_behalf_of) == (alice, "Bo")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, data, source",
    [
        ("a.jpg", files.exif_image("JPEG"), "a1111"),
        ("a.webp", files.exif_image("WEBP"), "a1111"),
        ("a.png", files.comfy_png(), "comfyui"),
    ],
)
def test_a_local_file_is_read_the_same_way(alice, tmp_path, settings, name, data, source):
    settings.HASH_ALLOWED_ROOTS = [str(tmp_path)]
    (tmp_path / name).write_bytes(data)
    result = create(alice, str(tmp_path / name))
    assert result["asset"]["metadata"]["generation"]["source"] == source
    assert result["input_prompt_created"] is True


@pytest.mark.django_db
@LOOPBACK
def test_a_given_input_prompt_is_kept_and_no_prompt_is_made(alice):
    mine = prompt(alice, "the prompt I wrote")
    with serving({"/a.png": files.a1111_png()}) as server:
        result = create(alice, server.url("/a.png"), input_prompt_id=mine["prompt_id"])
    assert result["asset"]["input_prompt_id"] == mine["prompt_id"]
    assert (result["input_prompt_created"], result["input_prompt_id"]) == (False, None)
    assert result["asset"]["metadata"]["generation"]["seed"] == 4242
    assert Prompt.objects.count() == 1


@pytest.mark.django_db
@LOOPBACK
def test_the_callers_generation_metadata_wins(alice):
    with serving({"/a.png": files.a1111_png()}) as server:
        result = create(alice, server.url("/a.png"), metadata={"generation": {"note": "mine"}})
    assert result["asset"]["metadata"]["generation"] == {"note": "mine"}


@pytest.mark.django_db
@LOOPBACK
def test_files_without_a_prompt_make_no_prompt(alice):
    with serving({"/plain.png": files.png(), "/graph.png": files.comfy_png({})}) as server:
        plain = create(alice, server.url("/plain.png"))
        graph = create(alice, server.url("/graph.png"))
    assert "generation" not in plain["asset"]["metadata"]
    assert graph["asset"]["metadata"]["generation"]["prompt"] is None
    assert not plain["input_prompt_created"] and not graph["input_prompt_created"]
    assert not Prompt.objects.exists()


@pytest.mark.django_db
@LOOPBACK
def test_a_given_sha256_means_the_file_is_not_read(alice):
    with serving({"/a.png": files.a1111_png()}) as server:
        result = create(alice, server.url("/a.png"), sha256sum="a" * 64)
        assert server.requests == []
    assert "generation" not in result["asset"]["metadata"]
    assert result["input_prompt_created"] is False


@pytest.mark.django_db
@LOOPBACK
def test_a_refused_asset_leaves_no_prompt_behind(alice):
    with serving({"/a.png": files.a1111_png(), "/b.png": files.a1111_png()}) as server:
        create(alice, server.url("/a.png"))
        before = table_counts()
        with pytest.raises(Duplicate):
            create(alice, server.url("/b.png"))  # the same bytes: the same sha256
    assert table_counts() == before


@pytest.mark.django_db
@LOOPBACK
def test_a_hostile_file_is_recorded_without_generation(alice):
    bomb = files.png_chunk(b"zTXt", b"parameters\x00\x00" + (b"x\x9c" + b"\x00" * 50))
    lying = files.png_chunk(b"tEXt", b"prompt\x00{", length=2**31)
    with serving({"/bad.png": files.png_with_chunks(bomb, lying)}) as server:
        result = create(alice, server.url("/bad.png"))
    assert "generation" not in result["asset"]["metadata"]
    assert result["input_prompt_created"] is False


# --- the adapters ------------------------------------------------------------------


@pytest.mark.django_db
@LOOPBACK
def test_the_http_api_says_a_prompt_was_created(client, alice):
    token = ApiToken.issue(alice)[1]
    with serving({"/a.png": files.a1111_png()}) as server:
        body = {
            "asset_url": server.url("/a.png"),
            "asset_type": "image",
            "asset_source": "generated",
        }
        response = call_over_http(client, token, "create_asset", body)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["input_prompt_created"] is True
    assert Prompt.objects.get(pk=body["input_prompt_id"]).prompt_text.startswith("a paper lantern")
    assert body["asset"]["metadata"]["generation"]["steps"] == 28


@pytest.mark.django_db(transaction=True)
@LOOPBACK
def test_the_mcp_tool_says_a_prompt_was_created(alice):
    with serving({"/a.png": files.comfy_png()}) as server:
        arguments = {
            "asset_url": server.url("/a.png"),
            "asset_type": "image",
            "asset_source": "generated",
        }

        async def main():
            async with Client(build_server(alice)) as client:
                return await client.call_tool("create_asset", arguments)

        result = anyio.run(main)
    data = result.structured_content
    assert data["input_prompt_created"] is True
    assert data["asset"]["metadata"]["generation"]["prompt"] == "a koi pond at dawn"
    assert Prompt.objects.get(pk=data["input_prompt_id"]).purpose == services.FILE_PROMPT_PURPOSE
