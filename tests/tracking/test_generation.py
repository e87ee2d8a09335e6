"""Reading generation metadata from real files (tracking/generation.py), and its bounds."""

from __future__ import annotations

import json
import time
import zlib

import pytest

from tests.fakes.civitai_site import IMAGE_ID, default_images
from tests.tracking import generation_files as files
from tracking import generation
from tracking.generation import parse_a1111, parse_civitai, read_generation_bytes

EXPECTED_A1111 = {
    "source": "a1111",
    "prompt": "a paper lantern on a pond, <lora:lanternStyle:0.8>, night",
    "negative_prompt": "blurry, lowres",
    "steps": 28,
    "sampler": "DPM++ 2M Karras",
    "cfg_scale": 6.5,
    "seed": 4242,
    "width": 512,
    "height": 768,
    "model": "sdxl_base",
    "model_hash": "31e35c80fc",
    "loras": [{"name": "lanternStyle", "weight": 0.8, "hash": "9f2c1a2b3c4d"}],
    "extra": {"Denoising strength": "0.4", "Version": "v1.10.1"},
}


def subset(found: dict, expected: dict) -> dict:
    return {k: found.get(k) for k in expected}


@pytest.mark.parametrize(
    "data, read_from",
    [
        (files.a1111_png(), "png:parameters"),
        (files.png({"parameters": files.A1111_TEXT}, zip_=True), "png:parameters"),
        (files.exif_image("JPEG"), "jpeg:exif:UserComment"),
        (files.exif_image("WEBP"), "webp:exif:UserComment"),
    ],
    ids=["png-tEXt", "png-zTXt-iTXt", "jpeg", "webp"],
)
def test_it_reads_a1111_parameters_from_each_container(data, read_from):
    found = read_generation_bytes(data)
    assert subset(found, EXPECTED_A1111) == EXPECTED_A1111
    assert found["read_from"] == read_from
    assert "skipped" not in found


def test_it_reads_non_latin_text_from_an_itxt_chunk():
    found = read_generation_bytes(
        files.a1111_png("灯笼\uff0c荷塘\nSteps: 20, Sampler: Euler, Seed: 1")
    )
    assert found["prompt"] == "灯笼\uff0c荷塘"
    assert found["steps"] == 20


def test_it_reads_a_little_endian_user_comment():
    data = files.exif_image(
        "JPEG", comment=files.user_comment(files.A1111_TEXT, little_endian=True)
    )
    assert read_generation_bytes(data)["seed"] == 4242


def test_it_reads_a_comfyui_graph_following_the_sampler_links():
    found = read_generation_bytes(files.comfy_png())
    assert subset(found, {"source": 0, "read_from": 0}) == {
        "source": "comfyui",
        "read_from": "png:prompt",
    }
    assert found["prompt"] == "a koi pond at dawn"
    assert found["negative_prompt"] == "watermark"
    assert (found["steps"], found["cfg_scale"], found["seed"]) == (30, 7, 987654321)
    assert (found["sampler"], found["extra"]["scheduler"]) == ("euler", "normal")
    assert (found["width"], found["height"]) == (640, 896)
    assert found["model"] == "dreamshaper_8.safetensors"
    assert found["loras"] == [{"name": "koi.safetensors", "weight": 0.7, "hash": None}]
    assert found["graph"] == files.COMFY_PROMPT
    assert found["workflow"] == files.COMFY_WORKFLOW


def test_a_workflow_alone_is_kept_without_fields():
    data = files.png({"workflow": json.dumps(files.COMFY_WORKFLOW)})
    found = read_generation_bytes(data)
    assert found["read_from"] == "png:workflow"
    assert found["prompt"] is None
    assert found["workflow"] == files.COMFY_WORKFLOW


def test_files_without_generation_text_give_none():
    assert read_generation_bytes(files.png()) is None
    assert read_generation_bytes(files.png({"Software": "GIMP"})) is None
    assert read_generation_bytes(files.exif_image("JPEG", comment=b"UNICODE\x00")) is None
    assert read_generation_bytes(b"GIF89a" + b"\x00" * 20) is None
    assert read_generation_bytes(b"") is None


# --- the A1111 format -------------------------------------------------------------


def test_a_prompt_without_parameters_is_all_prompt():
    found = parse_a1111("just a prompt, with commas: and a colon\nsecond line")
    assert found["prompt"] == "just a prompt, with commas: and a colon\nsecond line"
    assert found["steps"] is None


def test_a_multiline_negative_prompt_and_unparseable_values_are_kept():
    found = parse_a1111(
        "cat\nNegative prompt: dog\nbird\nSteps: many, Seed: 12345678901234567890123, "
        'Size: huge, CFG scale: nan, Sampler: Euler, Hires prompt: "a, b \\"c\\""'
    )
    assert found["negative_prompt"] == "dog\nbird"
    assert found["steps"] is None and found["seed"] is None and found["cfg_scale"] is None
    assert found["extra"] == {
        "Steps": "many",
        "Seed": "12345678901234567890123",
        "Size": "huge",
        "CFG scale": "nan",
        "Hires prompt": 'a, b "c"',
    }
    assert found["sampler"] == "Euler"


def test_nul_characters_and_lone_surrogates_are_dropped_for_postgresql():
    found = parse_a1111("a\x00b \ud800\nSteps: 1, Sampler: x\x00, Seed: 2")
    assert found["prompt"] == "ab ?"
    assert found["sampler"] == "x"


def test_a_long_line_without_commas_parses_in_linear_time():
    text = "a a " * 200_000 + ":" + "\nSteps: 1, Seed: 2, Sampler: 3"
    started = time.monotonic()
    parse_a1111(text)
    parse_a1111("Steps:" + "b " * 300_000)
    assert time.monotonic() - started < 2


# --- Civitai meta -------------------------------------------------------------------


def test_civitai_meta_maps_to_the_same_shape():
    found = parse_civitai(
        {
            **default_images()[IMAGE_ID]["meta"],  # what the fake site serves
            "Size": "896x1152",
            "Model": "flux1-dev",
            "resources": [{"type": "lora", "name": "lantern", "weight": 0.6, "hash": "abc"}],
            "clipSkip": 2,
        }
    )
    assert subset(
        found, {"source": 0, "prompt": 0, "seed": 0, "width": 0, "cfg_scale": 0, "loras": 0}
    ) == {
        "source": "civitai",
        "prompt": "a paper lantern on a pond",
        "seed": 4242,
        "width": 896,
        "cfg_scale": 3.5,
        "loras": [{"name": "lantern", "weight": 0.6, "hash": "abc"}],
    }
    assert found["extra"]["civitaiResources"] == [{"type": "checkpoint", "modelVersionId": 222}]
    assert found["extra"]["clipSkip"] == 2
    assert parse_civitai(None) is None
    assert parse_civitai({}) is None


# --- bounds --------------------------------------------------------------------------


def test_a_text_chunk_above_the_limit_is_skipped_unread(settings):
    settings.GENERATION_MAX_CHUNK_BYTES = 1024
    data = files.a1111_png("x" * 2000 + "\nSteps: 1, Seed: 2, Sampler: s")
    assert read_generation_bytes(data) is None


def test_a_zip_bomb_is_inflated_only_up_to_the_limit(settings):
    settings.GENERATION_MAX_CHUNK_BYTES = 4096
    bomb = zlib.compress(b"A" * 50_000_000, 9)  # ~50 KB on disk, 50 MB inflated
    assert len(bomb) < 100_000
    settings.GENERATION_MAX_CHUNK_BYTES = 200_000
    chunk = files.png_chunk(b"zTXt", b"parameters\x00\x00" + bomb)
    good = files.png_chunk(b"tEXt", b"prompt\x00" + json.dumps(files.COMFY_PROMPT).encode())
    started = time.monotonic()
    found = read_generation_bytes(files.png_with_chunks(chunk, good))
    assert time.monotonic() - started < 1
    assert found["source"] == "comfyui"
    assert found["skipped"] == ["PNG zTXt 'parameters': more than 200000 bytes once decompressed"]


def test_a_chunk_length_larger_than_the_file_is_not_trusted():
    lying = files.png_chunk(b"tEXt", b"parameters\x00cat", length=2**31 - 1)
    assert read_generation_bytes(files.png_with_chunks(lying)) is None
    head = files.png()[: 8 + 8 + 13 + 4]
    truncated = head + files.png_chunk(b"tEXt", b"parameters\x00cat", length=900)[:-4]
    assert read_generation_bytes(truncated) is None


def test_a_json_graph_nested_too_deep_is_refused():
    deep = "[" * 10_000 + "]" * 10_000
    found = read_generation_bytes(files.png({"prompt": deep, "parameters": "cat"}))
    assert found["prompt"] == "cat"
    assert "graph" not in found
    assert found["skipped"][0].startswith("PNG text 'prompt': not valid JSON")
    assert generation.clean(json.loads("[" * 60 + "]" * 60)) is not None


def test_text_after_the_image_data_is_not_looked_for():
    data = files.png()
    iend = data.rindex(b"IEND") - 4
    late = files.png_chunk(b"tEXt", b"parameters\x00cat\nSteps: 1, Seed: 2, Sampler: s")
    assert read_generation_bytes(data[:iend] + late + data[iend:]) is None


def test_a_webp_exif_chunk_above_the_limit_is_skipped_unread(settings):
    settings.GENERATION_MAX_CHUNK_BYTES = 1024
    data = files.exif_image("WEBP", "x" * 2000 + "\nSteps: 1, Seed: 2, Sampler: s")
    assert read_generation_bytes(data) is None
    settings.GENERATION_MAX_CHUNK_BYTES = 8192
    assert read_generation_bytes(data)["seed"] == 2


def test_a_jpeg_comment_above_the_limit_is_not_parsed(settings):
    settings.GENERATION_MAX_CHUNK_BYTES = 1024
    data = files.exif_image("JPEG", "x" * 2000 + "\nSteps: 1, Seed: 2, Sampler: s")
    assert read_generation_bytes(data) is None
