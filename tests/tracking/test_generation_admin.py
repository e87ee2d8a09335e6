"""The asset page's Generation block: readable, escaped, and only for signed-in staff."""

import pytest
from django.urls import reverse

from tests.tracking import generation_files as files
from tracking.generation import parse_a1111, read_generation_bytes
from tracking.models import Asset

pytestmark = pytest.mark.django_db


def make_asset(generation) -> Asset:
    return Asset.objects.create(
        asset_url="s3://bucket/a.png",
        asset_type="image",
        asset_source="generated",
        metadata={"generation": generation},
    )


def block(client, asset) -> str:
    response = client.get(reverse("admin:tracking_asset_change", args=[asset.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<table class="generation">')
    return html[start : html.index("</table>", start)]


def test_it_shows_the_parameters_of_an_a1111_file(client, staff):
    client.force_login(staff)
    shown = block(client, make_asset(read_generation_bytes(files.a1111_png())))
    for text in (
        "A1111 parameters in the file",
        "a paper lantern on a pond, &lt;lora:lanternStyle:0.8&gt;, night",
        "blurry, lowres",
        "<th>Steps</th><td>28</td>",
        "<th>Sampler</th><td>DPM++ 2M Karras</td>",
        "<th>CFG scale</th><td>6.5</td>",
        "<th>Seed</th><td>4242</td>",
        "512 \u00d7 768",
        "sdxl_base (31e35c80fc)",
        "<th>LoRAs</th><td>lanternStyle 0.8</td>",
        "<th>Version</th><td>v1.10.1</td>",
    ):
        assert text in shown, text


def test_it_escapes_what_the_file_says(client, staff):
    client.force_login(staff)
    hostile = parse_a1111(
        '<script>alert(1)</script>\nSteps: 1, Seed: 2, <img src=x onerror=alert(1)>: "<b>"'
    )
    shown = block(client, make_asset(hostile))
    assert "<script>" not in shown and "<img" not in shown and "<b>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_it_copes_with_any_metadata_a_caller_sent(client, staff):
    client.force_login(staff)
    odd = {"source": 3, "prompt": ["x"], "loras": "no", "extra": [1], "width": 5}
    shown = block(client, make_asset(odd))
    assert '["x"]' in shown.replace("&quot;", '"')
    asset = make_asset("not an object")
    response = client.get(reverse("admin:tracking_asset_change", args=[asset.pk]))
    assert response.status_code == 200


def test_it_cuts_a_very_long_prompt(client, staff):
    client.force_login(staff)
    shown = block(client, make_asset(parse_a1111("word " * 5000)))
    assert len(shown) < 6000 and "…" in shown


def test_the_page_needs_a_login(client):
    asset = make_asset(read_generation_bytes(files.a1111_png()))
    response = client.get(reverse("admin:tracking_asset_change", args=[asset.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
