"""Browser tests of duplicates caught in the admin: an upload through the file input, its
preview and the duplicate's link; the add form's duplicate error with its link."""

import hashlib

import pytest

from tests.e2e.conftest import ARTIFACTS, log_in
from tests.tracking.media_samples import encode
from tests.tracking.media_samples import picture as picture_of
from tracking.models import Asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
IMAGE_LOADED = "img => img.complete && img.naturalWidth > 0"


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_an_upload_is_previewed_stored_and_refused_the_second_time(
    live_server, browser_page, django_user_model, media_root, tmp_path
):
    page = browser_page
    django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    picture_image = picture_of(11)
    picture = tmp_path / "lantern.png"
    picture.write_bytes(encode(picture_image, "PNG"))
    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/asset/add/")

    page.click("#upload-a-file")
    page.wait_for_url("**/admin/tracking/asset/upload/")
    page.set_input_files("#id_file", str(picture))
    preview = page.locator("#upload-preview img")
    preview.wait_for()
    page.wait_for_function(IMAGE_LOADED, arg=preview.element_handle())
    assert "lantern.png" in page.locator("#upload-preview").inner_text()
    page.screenshot(path=ARTIFACTS / "upload-preview.png", full_page=True)

    page.get_by_role("button", name="Upload and record").click()
    page.wait_for_url("**/admin/tracking/asset/*/change/")
    asset = Asset.objects.get()
    assert asset.sha256sum == hashlib.sha256(picture.read_bytes()).hexdigest()
    assert "Stored lantern.png" in page.locator("ul.messagelist").inner_text()
    stored = page.locator(".field-preview img")
    page.wait_for_function(IMAGE_LOADED, arg=stored.element_handle())  # served from /media/

    page.goto(f"{live_server.url}/admin/tracking/asset/upload/")
    page.set_input_files("#id_file", str(picture))
    page.get_by_role("button", name="Upload and record").click()
    error = page.locator(".errorlist")
    assert "This file is already recorded:" in error.inner_text()
    assert Asset.objects.count() == 1
    page.screenshot(path=ARTIFACTS / "upload-duplicate.png", full_page=True)
    error.get_by_role("link").click()
    page.wait_for_url(f"**/admin/tracking/asset/{asset.pk}/change/")

    # a recompressed copy is other bytes: recorded, with the near-duplicate named
    copy = tmp_path / "lantern-copy.jpg"
    copy.write_bytes(encode(picture_image.convert("RGB"), "JPEG", quality=70))
    page.goto(f"{live_server.url}/admin/tracking/asset/upload/")
    page.set_input_files("#id_file", str(copy))
    page.get_by_role("button", name="Upload and record").click()
    page.wait_for_url("**/admin/tracking/asset/*/change/")
    warning = page.locator("ul.messagelist li.warning")
    assert "looks like 1 asset recorded before" in warning.inner_text()
    page.screenshot(path=ARTIFACTS / "upload-near-duplicate.png")
    warning.get_by_role("link").click()
    page.wait_for_url(f"**/admin/tracking/asset/{asset.pk}/change/")


def test_the_add_form_links_the_asset_with_the_same_sha256(
    live_server, browser_page, django_user_model
):
    page = browser_page
    django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    existing = Asset.objects.create(
        asset_url=f"{live_server.url}/static/demo/paper-lantern.png",
        asset_type="image",
        asset_source="generated",
        sha256sum="f619aeb4" + "0" * 56,
    )
    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/asset/add/")
    page.fill("#id_asset_url", "https://cdn.example.com/another-copy.png")
    page.select_option("#id_asset_type", "image")
    page.select_option("#id_asset_source", "upload")
    page.fill("#id_sha256sum", existing.sha256sum.upper())
    page.click("input[name=_save]")
    error = page.locator(".field-sha256sum .errorlist")
    assert "Asset with this Sha256 already exists:" in error.inner_text()
    page.screenshot(path=ARTIFACTS / "duplicate-add-form.png", full_page=True)
    error.get_by_role("link").click()
    page.wait_for_url(f"**/admin/tracking/asset/{existing.pk}/change/")
    assert Asset.objects.count() == 1
