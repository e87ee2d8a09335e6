"""Browser test of issue 14's rough edges, walked through as a staff user would."""

import pytest

from devdata import orchestration_demo as orch_demo
from devdata import tracking_demo as demo
from tests.e2e.conftest import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def crumb_text(page) -> str:
    """The breadcrumbs as drawn, with ">" for the separator the admin's CSS adds after an item."""
    return page.eval_on_selector_all(
        "ol.breadcrumbs li",
        r"""els => els.map(li => li.innerText.trim() +
            (getComputedStyle(li, '::after').content.includes('\u203A') ? ' >' : '')).join(' ')""",
    )


def test_staff_meet_none_of_the_rough_edges(live_server, browser_page, django_user_model):
    page = browser_page
    admin_user = django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    demo.load_demo(admin_user, base_url=live_server.url)
    orch_demo.load_demo()

    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/post/")
    page.get_by_role("link", name="Import from Civitai").click()
    page.wait_for_url("**/admin/tracking/post/import/")
    assert crumb_text(page) == "Home > Tracking > Posts > Import a Civitai post"
    bar = page.locator("ol.breadcrumbs").bounding_box()
    assert bar["x"] == 0 and bar["width"] == 1280  # the admin's full-width bar
    page.screenshot(path=ARTIFACTS / "rough-import-breadcrumbs.png")

    page.goto(f"{live_server.url}/admin/tracking/prompt/")
    width = page.locator("#result_list td.field-excerpt").first.bounding_box()["width"]
    assert width > 300, width

    page.goto(f"{live_server.url}/admin/tracking/asset/add/")
    page.fill("#id_asset_url", "https://cdn.example.com/new.png")
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    assert page.locator("img[alt='asset None']").count() == 0
    assert "preview once the asset is saved" in page.locator("div.field-preview").inner_text()

    page.goto(f"{live_server.url}/orchestration/")
    assert crumb_text(page) == "Home > Orchestration"
    button = page.get_by_role("button", name="Filter")
    assert button.evaluate("e => getComputedStyle(e).borderTopWidth") == "0px"  # admin style
    page.get_by_role("link", name="Cost", exact=True).click()
    page.wait_for_url("**o=-cost")
    first = page.locator("table.orch-table tbody tr").first
    assert orch_demo.WF_RUNNING in first.inner_text()
    assert page.locator("th[aria-sort=descending]").text_content().strip() == "Cost"
    page.screenshot(path=ARTIFACTS / "rough-workflows-sorted.png", full_page=True)

    page.fill("#orch-lookup-q", orch_demo.WF_RUNNING)
    with page.expect_request("**/orchestration/lookup/?q=*") as lookup:
        page.press("#orch-lookup-q", "Enter")
    assert lookup.value.method == "GET"  # a plain, bookmarkable URL
    page.wait_for_url(f"**/orchestration/workflows/{orch_demo.WF_RUNNING}/")
    assert "Not scanned yet" in page.locator("table.orch-table").inner_text()
    assert "Needs review" not in page.content()

    page.goto(f"{live_server.url}/orchestration/jobs/{orch_demo.JOB_CLEAN}/")
    crumbs = crumb_text(page)
    assert (
        crumbs
        == f"Home > Orchestration > Workflow {orch_demo.WF_CLEAN} > Job {orch_demo.JOB_CLEAN}"
    )
    caption = page.locator("figure.orch-media figcaption").first
    # "image 256x256" stays whole: the only break allowed is inside the long id
    lines = caption.evaluate(
        """e => { const r = document.createRange(); const out = [];
        for (const n of e.childNodes) if (n.nodeType === 3 && n.textContent.toLowerCase().includes('image')) {
          r.selectNodeContents(n); out.push(r.getClientRects().length); }
        return out; }"""
    )
    assert lines == [1], lines
    page.screenshot(path=ARTIFACTS / "rough-job-caption.png", full_page=True)
