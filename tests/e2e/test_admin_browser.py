"""Browser test of the main screen: the admin lists, previews, links, search and history."""

import pytest

from devdata import tracking_demo as demo
from tests.e2e.conftest import ARTIFACTS, log_in
from tracking.models import Asset, Post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def loaded_images(page) -> list[int]:
    """naturalWidth of every preview image on the page (0 means it did not load)."""
    return page.eval_on_selector_all(
        "#result_list img", "els => els.map(e => e.complete ? e.naturalWidth : -1)"
    )


def test_staff_browse_search_preview_and_edit_with_history(
    live_server, browser_page, django_user_model
):
    page = browser_page
    admin_user = django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    demo.load_demo(admin_user, base_url=live_server.url)

    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/asset/")
    page.wait_for_load_state("networkidle")
    widths = loaded_images(page)
    assert len(widths) == Asset.objects.count() == 5
    assert all(w > 0 for w in widths), widths  # every thumbnail really rendered
    page.screenshot(path=ARTIFACTS / "admin-assets.png", full_page=True)

    page.fill("#searchbar", "lantern")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=lantern**")
    assert page.locator("#result_list tbody tr").count() == 2

    lantern = Asset.objects.get(metadata__file="paper-lantern.png")
    page.goto(f"{live_server.url}/admin/tracking/asset/{lantern.pk}/change/")
    preview = page.locator("div.field-preview img")
    preview.wait_for()
    assert preview.evaluate("e => e.naturalWidth") == 384
    assert preview.get_attribute("loading") == "lazy"
    page.get_by_role("link", name=f"Post {lantern.post.civitai_id} — Lanterns").first.click()
    page.wait_for_url(f"**/admin/tracking/post/{lantern.post_id}/change/")
    assert page.locator("svg").count() >= 1  # engagement chart
    page.screenshot(path=ARTIFACTS / "admin-post.png", full_page=True)

    page.fill("#id_title", "Lanterns, final cut")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert Post.objects.get(pk=lantern.post_id).title == "Lanterns, final cut"
    page.click("a.historylink")
    page.wait_for_url("**/history/")
    history = page.content()
    assert "Lanterns, final cut" in history and "ada" in history
    page.screenshot(path=ARTIFACTS / "admin-post-history.png", full_page=True)
