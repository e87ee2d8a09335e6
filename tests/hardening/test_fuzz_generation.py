"""Property-based fuzzing of the generation-metadata readers with malformed and hostile files.

Real files (A1111 PNG/JPEG/WebP, ComfyUI PNG) are mutated by hypothesis: truncated,
bytes flipped or overwritten, chunks inserted with lying lengths, zlib garbage and
zip bombs, deep JSON. ``HARDENING_FUZZ_EXAMPLES`` examples per property (200 by
default, as tests/hardening/test_fuzz_tools.py). What must hold for every input:

- the reader returns None or a dict, and never raises;
- what it returns is storable as it is: JSON without NaN, no NUL character, valid
  UTF-8 (PostgreSQL's ``jsonb`` refuses the other two);
- every source is one of the documented three;
- through ``create_asset`` (HTTP API, files served on loopback): no 500, a prompt only
  when one was read, and a refused call leaves every table as it was.
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.fakes.media_server import MediaServer, Route
from tests.hardening.helpers import REPORT, db_snapshot, install_network_guard
from tests.tracking import generation_files as files
from tracking.generation import (
    SOURCES,
    parse_a1111,
    parse_civitai,
    parse_comfyui,
    read_generation_bytes,
)
from tracking.models import ApiToken, Prompt

FUZZ_EXAMPLES = int(os.environ.get("HARDENING_FUZZ_EXAMPLES", "200"))
SEEDS = [
    files.a1111_png(),
    files.png({"parameters": files.A1111_TEXT + " 灯笼"}, zip_=True),
    files.comfy_png(),
    files.exif_image("JPEG"),
    files.exif_image("WEBP"),
]
fuzz = hsettings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def storable(found) -> None:
    if found is None:
        return
    assert isinstance(found, dict)
    assert found["source"] in SOURCES
    text = json.dumps(found, allow_nan=False, ensure_ascii=False)
    assert "\x00" not in text and "\\u0000" not in text
    text.encode("utf-8")  # no lone surrogate


@st.composite
def mutated_file(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert_chunk"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if action == "truncate":
            del data[at:]
        elif action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "overwrite":
            data[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
        else:
            ctype = draw(st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"IHDR", b"\x00\xffab"]))
            keyword = draw(st.sampled_from([b"parameters", b"prompt", b"workflow", b"x"]))
            body = (
                keyword
                + b"\x00"
                + draw(
                    st.one_of(
                        st.binary(max_size=200),
                        st.just(b"\x00" + zlib.compress(b"{" * 100_000)),
                        st.just(b"\x01\x00en\x00\x00" + zlib.compress(b"\xff\xfe" * 1000)),
                    )
                )
            )
            length = draw(st.one_of(st.none(), st.integers(0, 2**32 - 1)))
            chunk = files.png_chunk(ctype, body, length=length)
            data[at:at] = chunk
    return bytes(data)


@fuzz
@given(mutated_file())
def test_mutated_files_never_raise_and_give_storable_metadata(data):
    storable(read_generation_bytes(data))
    REPORT["generation: mutated files"]["files"] += 1


@fuzz
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(data):
    for prefix in (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x00\x00\x00\x00WEBP"):
        storable(read_generation_bytes(prefix + data))
    REPORT["generation: random bytes"]["files"] += 4


params_line = st.lists(
    st.tuples(
        st.sampled_from(["Steps", "Seed", "CFG scale", "Size", "Lora hashes", "Model", "X y"]),
        st.one_of(st.text(max_size=30), st.integers().map(str), st.floats().map(str)),
    ),
    max_size=8,
).map(lambda pairs: ", ".join(f"{k}: {v}" for k, v in pairs))


@fuzz
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=100)), params_line)
def test_any_infotext_parses(prompt, negative, params):
    text = prompt + (f"\nNegative prompt: {negative}" if negative is not None else "")
    storable(parse_a1111(text + "\n" + params))
    REPORT["generation: infotexts"]["texts"] += 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@fuzz
@given(
    st.dictionaries(
        st.sampled_from(["1", "2", "3", "10"]),
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "class_type": st.sampled_from(
                        ["KSampler", "CLIPTextEncode", "LoraLoader", "CheckpointLoaderSimple"]
                    ),
                    "inputs": st.dictionaries(
                        st.sampled_from(
                            [
                                "text",
                                "positive",
                                "negative",
                                "model",
                                "seed",
                                "steps",
                                "cfg",
                                "lora_name",
                                "ckpt_name",
                                "latent_image",
                                "width",
                            ]
                        ),
                        st.one_of(
                            json_values,
                            st.tuples(
                                st.sampled_from(["1", "2", "3", "10"]), st.integers(0, 2)
                            ).map(list),
                        ),
                    ),
                }
            ),
        ),
    ),
    json_values,
)
def test_any_comfyui_graph_parses(graph, meta):
    storable(parse_comfyui(graph, meta))
    storable(parse_civitai(meta if isinstance(meta, dict) else {"prompt": meta}))
    storable(parse_civitai({"resources": meta, "prompt": meta, "Size": meta, "seed": meta}))
    REPORT["generation: graphs and meta"]["values"] += 1


# --- through the API: hostile files given to create_asset -------------------------------


@pytest.mark.django_db
def test_create_asset_records_hostile_files_without_a_500(client, alice, settings, monkeypatch):
    """Mutated files served on loopback and recorded through ``POST create_asset``: every
    call answers 201 (the asset, with whatever metadata could be read and a prompt only
    when one was read) or 409 (the same bytes twice), and a refusal writes nothing."""
    settings.HASH_ALLOW_PRIVATE_URLS = True
    guard = install_network_guard(monkeypatch)
    record, token = ApiToken.issue(alice, name="fuzz")
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now() + timedelta(days=1))
    url = reverse("api:tool", args=["create_asset"])
    before = db_snapshot()
    stats = REPORT["generation: create_asset with hostile files"]
    counter = iter(range(10**9))

    with MediaServer() as server:

        @fuzz
        @given(mutated_file())
        def call(data):
            path = f"/f{next(counter)}.png"
            server.route(path, Route(body=data, content_type="image/png"))
            body = {"asset_url": server.url(path), "asset_type": "image", "asset_source": "upload"}
            with transaction.atomic():
                response = client.post(
                    url,
                    data=json.dumps(body),
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}",
                )
                stats[response.status_code] += 1
                payload = response.json()
                if response.status_code == 201:
                    generation = payload["asset"]["metadata"].get("generation")
                    storable(generation)
                    made = Prompt.objects.filter(pk=payload["input_prompt_id"] or 0).first()
                    assert payload["input_prompt_created"] is (made is not None)
                    assert made is None or made.prompt_text == generation["prompt"]
                else:
                    # 400: the bytes turned into another kind of media (asset_type check)
                    assert response.status_code in (400, 409), payload
                    assert db_snapshot() == before
                transaction.set_rollback(True)

        call()
    assert not [a for a in guard.attempts if a.startswith("connect")], guard.attempts
    assert db_snapshot() == before
