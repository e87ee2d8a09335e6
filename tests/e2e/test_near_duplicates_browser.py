"""Browser test: staff open the near-duplicate pairs page, see the demo's two lanterns side
by side, mark them "not a duplicate", and the pair is gone."""

import pytest

from devdata import tracking_demo as demo
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.fakes.images import demo_bytes
from tracking import file_facts
from tracking.models import Asset, NearDuplicateDecision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = "/admin/tracking/asset/near-duplicates/"


def test_staff_decide_a_pair_and_it_disappears(live_server, browser_page, django_user_model):
    page = browser_page
    ada = django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    demo.load_demo(ada, base_url=live_server.url)
    for asset in Asset.objects.all():
        asset.set_perceptual(file_facts.read_facts(demo_bytes(asset.metadata["file"]), "image"))
        asset.save()
    lantern = Asset.objects.get(metadata__file="paper-lantern.png")
    upscaled = Asset.objects.get(metadata__file="paper-lantern-upscaled.jpg")
    low, high = sorted([lantern.pk, upscaled.pk])

    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/asset/")
    page.get_by_role("link", name="Near-duplicate pairs").click()
    page.wait_for_url(f"**{PAGE}")
    pair = page.locator(f'section[data-pair="{low}-{high}"]')
    assert pair.is_visible()
    assert "distance 0" in pair.inner_text()
    # Both previews were loaded by the browser (the preview rules allow static demo media).
    images = pair.locator("img")
    assert images.count() == 2
    page.wait_for_function(
        "els => els.every(i => i.complete && i.naturalWidth > 0)",
        arg=images.element_handles(),
    )
    page.screenshot(path=ARTIFACTS / "near-duplicates-pair.png", full_page=True)

    pair.get_by_role("button", name="Not a duplicate").click()
    page.wait_for_url(f"**{PAGE}?k=*")
    assert page.locator(f'section[data-pair="{low}-{high}"]').count() == 0
    assert page.locator(".messagelist .success").is_visible()
    page.screenshot(path=ARTIFACTS / "near-duplicates-decided.png", full_page=True)

    decision = NearDuplicateDecision.objects.get()
    assert (decision.low_id, decision.high_id, decision.verdict) == (low, high, "not_duplicate")
    assert decision.decided_by == ada
