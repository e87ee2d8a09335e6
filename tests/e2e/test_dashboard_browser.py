"""Browser test of the dashboard: a reviewer reads the tiles and follows one to its list."""

import pytest

from devdata import orchestration_demo
from devdata import tracking_demo as demo
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.orchestration.conftest import reviewers_group

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_follows_a_dashboard_tile_to_the_filtered_list(
    live_server, browser_page, django_user_model
):
    page = browser_page
    ada = django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    ada.groups.add(reviewers_group())
    demo.load_demo(ada, base_url=live_server.url)
    orchestration_demo.load_demo()

    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/")
    dashboard = page.locator("#workspace-dashboard")
    assert dashboard.locator(".ws-tile").count() == 4
    csam = dashboard.get_by_role("row", name="CSAM score at threshold")
    assert csam.locator("td").inner_text() == "1"
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

    csam.get_by_role("link").click()
    page.wait_for_url("**/orchestration/review/?min_csam=0.5")
    assert page.locator("table.review-queue tbody tr").count() == 1

    page.go_back()
    pending = dashboard.get_by_role("row", name="posts pending")
    assert pending.locator("td").inner_text() == "1"
    pending.get_by_role("link").click()
    page.wait_for_url("**/admin/tracking/post/?status__exact=pending")
    assert page.locator("#result_list tbody tr").count() == 1
