"""Browser test: an A1111 PNG recorded through the API shows its parameters on its asset page."""

import pytest

from tests.e2e.conftest import ARTIFACTS, log_in
from tests.fakes.media_server import MediaServer, Route
from tests.tracking import generation_files as files
from tests.tracking.recording_helpers import call_over_http
from tracking.models import ApiToken, Asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_a1111_pngs_parameters_appear_on_its_asset_page(
    live_server, browser_page, django_user_model, client, settings
):
    settings.HASH_ALLOW_PRIVATE_URLS = True  # the file is served on loopback
    page = browser_page
    staff = django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    token = ApiToken.issue(staff)[1]

    with MediaServer() as server:
        # "localhost": the browser resolves no other name, and maps IP literals away too.
        url = server.url("/lantern.png", host="localhost")
        server.route("/lantern.png", Route(body=files.a1111_png(), content_type="image/png"))
        body = {"asset_url": url, "asset_type": "image", "asset_source": "generated"}
        response = call_over_http(client, token, "create_asset", body)
        assert response.status_code == 201, response.content
        created = response.json()
        assert created["input_prompt_created"] is True
        asset = Asset.objects.get(pk=created["asset_id"])

        path = f"/admin/tracking/asset/{asset.pk}/change/"
        log_in(page, live_server, "ada", "pw-ada-12345", path)
        block = page.locator("div.field-generation table.generation")
        block.wait_for()
        rows = dict(
            zip(
                block.locator("th").all_inner_texts(),
                block.locator("td").all_inner_texts(),
                strict=True,
            )
        )
        preview = page.locator("div.field-preview img")
        preview.wait_for()
        page.wait_for_load_state("networkidle")
        assert preview.evaluate("e => e.naturalWidth") == 32  # the file itself, rendered
        block.scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "admin-asset-generation.png", full_page=True)

    assert rows["Read from"] == "A1111 parameters in the file"
    assert rows["Prompt"] == "a paper lantern on a pond, <lora:lanternStyle:0.8>, night"
    assert rows["Negative prompt"] == "blurry, lowres"
    assert (rows["Steps"], rows["Sampler"], rows["CFG scale"], rows["Seed"]) == (
        "28",
        "DPM++ 2M Karras",
        "6.5",
        "4242",
    )
    assert rows["Size"] == "512 \u00d7 768"
    assert rows["Model"] == "sdxl_base (31e35c80fc)"
    assert rows["LoRAs"] == "lanternStyle 0.8"
    assert rows["Denoising strength"] == "0.4"
    # The prompt recorded from the file is the asset's input prompt, linked on the page.
    link = page.locator("div.field-links a", has_text="a paper lantern on a pond")
    assert link.count() == 1
